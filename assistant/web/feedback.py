"""👍/👎 from the chat, kept with question, answer and citations: one JSON object per line.

The file (setting ``app.feedback_file``) is read back by the admin tab, newest last; each entry also
keeps the earlier questions of its conversation, so that "Warum?" explains a follow-up as it was asked.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..datatypes import Answer


class FeedbackLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def record(self, question: str, answer: Answer, liked: bool, history: Sequence[str] = ()) -> None:
        """Keep a rating; ``history``: the earlier questions of the conversation, oldest first."""
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rating": "up" if liked else "down",
                 "question": question, "answer": answer.text, "answered": answer.answered,
                 "citations": [c.to_dict() for c in answer.citations], "history": list(history)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a lone surrogate sent through the API is written as its JSON escape
        with self._lock, self.path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def recent(self, last: int = 50) -> list[dict[str, Any]]:
        """The ``last`` entries, oldest first ([] before the first)."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()[-last:]
        return [json.loads(line) for line in lines if line.strip()]

    def disliked(self, last: int = 50) -> list[dict[str, Any]]:
        """The 👎 entries among the ``last`` ones, newest first, each with its ``key`` (time and question)."""
        return [{**entry, "key": f"{entry.get('time', '')} {entry.get('question', '')}"}
                for entry in reversed(self.recent(last)) if entry.get("rating") == "down"]
