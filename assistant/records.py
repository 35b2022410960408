"""The JSON records the assistant answers with: ``ask --json`` and ``search --json`` write them,
and the JSON API (``/api/ask``, ``/api/search``) returns them, made by the same functions; so do
``ask --explain --json`` and ``/api/explain`` (the answer's record with its trace beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .answers.explanation import Explanation
from .datatypes import Answer, Hit


def answer_record(record_id: Any, answer: Answer) -> dict[str, Any]:
    """``{"id", "answer", "answered", "marks", "citations"}``."""
    return {"id": record_id, "answer": answer.text, "answered": answer.answered,
            "marks": [list(span) for span in answer.marks],
            "citations": [c.to_dict() for c in answer.citations]}


def search_record(record_id: Any, hits: Sequence[Hit]) -> dict[str, Any]:
    """``{"id", "hits": [{"document", "chunk", "score", "text", "page"}]}``."""
    return {"id": record_id, "hits": [{"document": h.chunk.document, "chunk": h.chunk.id, "score": round(h.score, 6),
                                       "text": h.chunk.text, "page": h.chunk.page} for h in hits]}


def explain_record(record_id: Any, answer: Answer, explanation: Explanation) -> dict[str, Any]:
    """``answer_record`` with ``"explanation"``: the trace (``Explanation.to_dict``) of how it came about."""
    return {**answer_record(record_id, answer), "explanation": explanation.to_dict()}
