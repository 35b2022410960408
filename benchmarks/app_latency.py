"""Time questions answered by the running chat app over loopback, as a browser would ask them.

Starts ``python -m assistant serve`` on a free port (the index must exist: ``python -m assistant
build``), asks each question of the initiatives dev set and the unanswerable set through the
app's API with ``gradio_client`` (a few warm-up questions first), one at a time.

    python benchmarks/app_latency.py [--rounds 3]     # results/app_latency.json and .md
"""

from __future__ import annotations

import argparse
import os
import time

from common import free_port, questions, start_app, stop, summary, table, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (default 3)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    asked = questions(xquad=False)
    port = free_port()
    app = start_app(port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for question in asked[:3]:
            client.predict(question, [], api_name="/ask")
        timings = []
        for _ in range(args.rounds):
            for question in asked:
                started = time.perf_counter()
                client.predict(question, [], api_name="/ask")
                timings.append(1000 * (time.perf_counter() - started))
    finally:
        stop(app)
    result = {"questions": len(timings), **summary(timings)}
    write_result("app_latency", result, "One question at a time through the app over loopback; milliseconds\n\n"
                 + table(["questions", "median ms", "p95 ms", "max ms"],
                         [[len(timings), result["median_ms"], result["p95_ms"], result["max_ms"]]]))


if __name__ == "__main__":
    main()
