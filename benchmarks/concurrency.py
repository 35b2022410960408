"""Many visitors at once: concurrent sessions against the running app over loopback.

Two ways in. The chat page's path: for each worker count (``ASSISTANT_APP_WORKERS``: questions the
app answers at the same time), the app is started, ``--sessions`` clients (each its own
``gradio_client`` session, as a browser tab is) connect, and then all ask ``--questions``
questions each as fast as answers come back. The JSON API's path (what the widget and other
websites use): as many clients, each its own httpx connection and its own address (sent as
X-Forwarded-For, as the local reverse proxy would, so the per-address rate limit applies as in
service), POST the same questions to /api/ask. The load is bounded: sessions x questions
requests per run. Reported: throughput, latency median and p95 per question, and errors (any
exception, any status but 200, or an answer without text counts).

    python benchmarks/concurrency.py [--sessions 32] [--questions 8] [--workers 1 2 4] [--paths gradio api]
    # results/concurrency.json and .md
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from common import ask_app, free_port, questions, start_app, stop, summary, table, write_result


def gradio_asker(port: int, sessions: int):
    """One ``ask(number, question) -> problem`` over Gradio sessions (the chat page's way)."""
    from gradio_client import Client

    url = f"http://127.0.0.1:{port}/"
    clients = [Client(url, verbose=False) for _ in range(sessions)]

    def ask(number: int, question: str) -> str:
        return ask_app(clients[number], question)
    return ask


def api_asker(port: int, sessions: int):
    """One ``ask(number, question) -> problem`` over the JSON API, a connection and address per client."""
    import httpx

    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=120,
                            headers={"X-Forwarded-For": f"198.51.100.{number + 1}"}) for number in range(sessions)]

    def ask(number: int, question: str) -> str:
        response = clients[number].post("/ask", json={"question": question})
        if response.status_code != 200:
            return f"status {response.status_code}: {response.text[:200]}"
        return "" if str(response.json().get("answer", "")).strip() else "no answer text"
    return ask


def run(ask, sessions: int, per_session: int, asked: list[str]) -> dict:
    ask(0, asked[0])  # warm-up
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions + 1)

    def session(number: int) -> None:
        start.wait()
        for turn in range(per_session):
            question = asked[(number * per_session + turn) % len(asked)]
            began = time.perf_counter()
            try:
                problem = ask(number, question)
            except Exception as error:  # noqa: BLE001 - every failure is counted, whatever it is
                problem = f"{type(error).__name__}: {error}"
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
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4],
                        help="Gradio worker counts to try (the API is run once, with the default workers)")
    parser.add_argument("--paths", nargs="+", choices=["gradio", "api"], default=["gradio", "api"])
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    asked = questions(limit=200)
    runs = [("gradio", workers) for workers in args.workers if "gradio" in args.paths]
    runs += [("api", 2)] if "api" in args.paths else []
    rows = []
    for path, workers in runs:
        port = free_port()
        app = start_app(port, env={"ASSISTANT_APP_WORKERS": str(workers)})
        try:
            asker = (gradio_asker if path == "gradio" else api_asker)(port, args.sessions)
            rows.append({"path": path, "workers": workers, "sessions": args.sessions,
                         **run(asker, args.sessions, args.questions, asked)})
        finally:
            stop(app)
        print(rows[-1], flush=True)
    columns = ["path", "workers", "sessions", "requests", "errors", "seconds", "questions_per_s", "median_ms",
               "p95_ms", "max_ms"]
    text = (f"{args.sessions} concurrent sessions x {args.questions} questions over loopback "
            "(gradio: the chat page's way; api: POST /api/ask)\n\n"
            + table(columns, [[row[c] for c in columns] for row in rows]))
    best = {path: max((r["questions_per_s"] for r in rows if r["path"] == path), default=0) for path in ("gradio", "api")}
    if best["gradio"] and best["api"]:
        text += f"\n\nAPI throughput / best Gradio throughput: {best['api'] / best['gradio']:.1f}x"
    write_result("concurrency", {"rows": rows}, text)


if __name__ == "__main__":
    main()
