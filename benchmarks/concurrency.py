"""Many visitors at once: concurrent sessions against the running app over loopback.

For each worker count (``ASSISTANT_WORKERS``: questions the app answers at the same time), the
app is started, ``--sessions`` clients (each its own ``gradio_client`` session, as a browser tab
is) connect, and then all ask ``--questions`` questions each as fast as answers come back. The
load is bounded: sessions x questions requests in all. Reported: throughput, latency median and
p95 per question, and errors (any exception or an answer without text counts).

    python benchmarks/concurrency.py [--sessions 32] [--questions 8] [--workers 1 2 4]
    # results/concurrency.json and .md
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from common import ask_app, free_port, questions, start_app, stop, summary, table, write_result


def run(port: int, sessions: int, per_session: int, asked: list[str]) -> dict:
    from gradio_client import Client

    url = f"http://127.0.0.1:{port}/"
    clients = [Client(url, verbose=False) for _ in range(sessions)]
    clients[0].predict(asked[0], [], api_name="/ask")  # warm-up
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions + 1)

    def session(number: int) -> None:
        start.wait()
        for turn in range(per_session):
            question = asked[(number * per_session + turn) % len(asked)]
            began = time.perf_counter()
            problem = ask_app(clients[number], question)
            with lock:
                timings.append(1000 * (time.perf_counter() - began))
                if problem:
                    errors.append(problem)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"requests": len(timings), "errors": len(errors), "error_examples": errors[:3],
            "seconds": round(wall, 1), "questions_per_s": round(len(timings) / wall, 2), **summary(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--questions", type=int, default=8, help="questions per session")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    asked = questions(limit=200)
    rows = []
    for workers in args.workers:
        port = free_port()
        app = start_app(port, env={"ASSISTANT_WORKERS": str(workers)})
        try:
            rows.append({"workers": workers, "sessions": args.sessions,
                         **run(port, args.sessions, args.questions, asked)})
        finally:
            stop(app)
        print(rows[-1], flush=True)
    columns = ["workers", "sessions", "requests", "errors", "seconds", "questions_per_s", "median_ms", "p95_ms",
               "max_ms"]
    write_result("concurrency", {"rows": rows},
                 f"{args.sessions} concurrent sessions x {args.questions} questions over loopback\n\n"
                 + table(columns, [[row[c] for c in columns] for row in rows]))


if __name__ == "__main__":
    main()
