"""What the benchmark scripts share: question sets, the app as a subprocess, statistics, output.

Every script prints a Markdown table and writes the same figures as JSON to
``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
SHARED = PROJECT.parent / "shared" / "benchmarks"
RESULTS = HERE / "results"
CACHE = HERE / ".cache"

sys.path.insert(0, str(PROJECT))


def questions(limit: int | None = None, xquad: bool = True) -> list[str]:
    """Varied questions: the initiatives dev questions, the hand-written unanswerable ones, then
    (``xquad``) the German XQuAD questions, on other topics: on the seed corpus most of those
    end in "not found", which is a path worth timing too."""
    records = [json.loads(line) for path in (SHARED / "initiatives-qa-dev.jsonl", HERE / "unanswerable-dev.jsonl")
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = [record["question"] for record in records]
    if xquad:
        found += [json.loads(line)["text"] for line in (SHARED / "xquad-de-dev" / "queries.jsonl")
                  .read_text(encoding="utf-8").splitlines() if line.strip()]
    return found[:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, *options: str, env: dict[str, str] | None = None, log: IO[str] | None = None,
              timeout: float = 120) -> subprocess.Popen:
    """``python -m assistant serve`` on ``port`` with ``options`` and extra environment ``env``, once
    it accepts connections (the index must exist); its output goes to ``log`` (default: discarded)."""
    output = log if log is not None else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port), *options],
                               cwd=PROJECT, stdout=output, stderr=output,
                               env={**os.environ, "ASSISTANT_APP_FEEDBACK_FILE": os.devnull, **(env or {})})
    if not wait_for_port(port, timeout, process):
        status = process.poll()
        process.kill()
        raise SystemExit(f"the app exited with status {status}" if status is not None
                         else f"the app did not start within {timeout:.0f} s")
    return process


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(milliseconds: Sequence[float]) -> dict[str, float]:
    """Median, p95 and max of timings in milliseconds, rounded for tables."""
    return {"median_ms": round(statistics.median(milliseconds), 2),
            "p95_ms": round(percentile(milliseconds, 0.95), 2),
            "max_ms": round(max(milliseconds), 2)}


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def rows_table(rows: Sequence[dict]) -> str:
    """A Markdown table of records with the same keys, one column per key."""
    columns = list(rows[0])
    return table(columns, [[row[c] for c in columns] for row in rows])


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def write_result(name: str, result: dict, text: str) -> None:
    """Print ``text`` (the tables) and save ``result`` with the machine it ran on."""
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine(), **result}, indent=1, ensure_ascii=False),
                                          encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(text + "\n", encoding="utf-8")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (no extra package needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ask_app(client, question: str) -> str:
    """Ask ``question`` through a gradio_client session of the app: "" if an answer came back,
    else what went wrong (any exception, or a chat without an answer, counts)."""
    try:
        output = client.predict(question, [], api_name="/ask")
    except Exception as error:  # noqa: BLE001 - every failure is counted, whatever it is
        return f"{type(error).__name__}: {error}"
    chat = output[1]  # outputs: question box, chat messages, sources, documents
    answered = chat and chat[-1]["role"] == "assistant" and str(chat[-1]["content"]).strip()
    return "" if answered else "no answer in the chat"


class StageClock:
    """Milliseconds spent per stage during the current question, by wrapping callables."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, owner: object, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.current[stage] += 1000 * (time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def take(self) -> dict[str, float]:
        taken, self.current = dict(self.current), defaultdict(float)
        return taken
