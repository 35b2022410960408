"""The JSON records the assistant answers with: ``ask --json`` and ``search --json`` write them,
and the JSON API (``/api/ask``, ``/api/search``) returns them, made by the same functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
