"""Time questions answered by the running chat app over loopback, as a browser would ask them.

Starts ``python -m assistant serve`` on a free port (the index must exist: ``python -m assistant
build``), asks each question of the dev sets through the app's API with ``gradio_client``
(a few warm-up questions first), and prints median and p95 per question.

    python benchmarks/app_latency.py [--rounds 3]     # also writes benchmarks/results/app_latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
QUESTIONS = [PROJECT.parent / "shared" / "benchmarks" / "initiatives-qa-dev.jsonl", HERE / "unanswerable-dev.jsonl"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, *options: str, log: IO[str] | None = None, **env: str) -> subprocess.Popen:
    """``python -m assistant serve`` on ``port`` with ``options`` and ``ASSISTANT_*`` ``env``, once it
    accepts connections; its output goes to ``log`` (default: discarded)."""
    output = log if log is not None else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port), *options],
                               cwd=PROJECT, stdout=output, stderr=output,
                               env=dict(os.environ, ASSISTANT_FEEDBACK_FILE=os.devnull, **env))
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.3)
    status = process.poll()
    process.kill()
    raise SystemExit(f"the app exited with status {status}" if status is not None
                     else "the app did not start within 120 s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (default 3)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    questions = [json.loads(line)["question"] for path in QUESTIONS
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    port = free_port()
    app = start_app(port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for question in questions[:3]:
            client.predict(question, [], api_name="/ask")
        timings = []
        for _ in range(args.rounds):
            for question in questions:
                started = time.perf_counter()
                client.predict(question, [], api_name="/ask")
                timings.append(1000 * (time.perf_counter() - started))
    finally:
        app.terminate()
        app.wait(timeout=20)
    result = {"questions": len(timings), "median_ms": round(statistics.median(timings), 1),
              "p95_ms": round(percentile(timings, 0.95), 1), "max_ms": round(max(timings), 1)}
    print("| questions | median ms | p95 ms | max ms |\n|---|---|---|---|")
    print(f"| {result['questions']} | {result['median_ms']} | {result['p95_ms']} | {result['max_ms']} |")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "app_latency.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
