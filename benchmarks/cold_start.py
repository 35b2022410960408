"""Cold start with a built index: process start to the first answer, and to the app's page.

"First answer" runs ``python -m assistant ask "<question>"`` (a new process: imports, index load,
model load, one answer) and times it until the process exits with the answer. "App serving"
starts ``python -m assistant serve`` and times until ``GET /`` returns the page. Each is
repeated; the index must exist (``python -m assistant build``).

    python benchmarks/cold_start.py [--runs 5]   # results/cold_start.json and .md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request

from common import PROJECT, free_port, start_app, stop, summary, table, write_result

QUESTION = "Wer ist für Potenzialförderung zuständig?"


def first_answer() -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant", "ask", QUESTION], cwd=PROJECT,
                          capture_output=True, text=True, check=True)
    if "Kreuzinger" not in done.stdout:
        raise SystemExit(f"unexpected answer: {done.stdout}")
    return 1000 * (time.perf_counter() - started)


def app_serving() -> float:
    port = free_port()
    started = time.perf_counter()
    app = start_app(port)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    if response.status == 200 and b"gradio" in response.read().lower():
                        return 1000 * (time.perf_counter() - started)
            except OSError:
                time.sleep(0.05)
    finally:
        stop(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    first_answer()  # the first run after a build also fills the OS file cache; not counted
    answers = [first_answer() for _ in range(args.runs)]
    pages = [app_serving() for _ in range(args.runs)]
    result = {"runs": args.runs, "first_answer": summary(answers), "app_serving": summary(pages)}
    rows = [[what, round(result[key]["median_ms"] / 1000, 2), round(result[key]["max_ms"] / 1000, 2)]
            for what, key in (("process start to first answer (CLI ask)", "first_answer"),
                              ("process start to app page served", "app_serving"))]
    write_result("cold_start", result, f"Cold start with a built index, {args.runs} runs each; seconds\n\n"
                 + table(["", "median s", "max s"], rows))


if __name__ == "__main__":
    main()
