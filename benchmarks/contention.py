"""Questions while the machine is busy: warm ``ask`` idle, during a build, during an update, and
through the app with concurrent sessions while updates run.

Staff update the index on the machine that serves citizens, so a question must stay fast while
``python -m assistant build`` or ``update`` runs beside it on the same cores. In a temporary
folder (the project's corpus and index are not touched):

1. the seed corpus is indexed, and one ``Assistant`` in this process answers from it;
2. **idle**: ``--questions`` questions, one after the other;
3. **during a build**: ``python -m assistant build`` of the XQuAD dev corpus (all but its last
   article) runs as a child process; questions are asked until it has finished (and at least
   ``--questions`` were asked), and only those asked entirely while it ran count;
4. **during an update**: the same for two runs of ``python -m assistant update`` on that XQuAD
   index, the first adding the last article as a new document (which it embeds), the second
   removing it again;
5. **the app**: ``python -m assistant serve`` over the seed index, ``--sessions`` gradio_client
   sessions asking ``--app-questions`` questions each (a pause of ``--think`` seconds between a
   session's answer and its next question), first with nothing else running, then, on and on,
   until a loop that adds and removes a document of the served corpus has run ``update`` twice;
6. **repeated questions**: the seed corpus's example questions asked twice in this process; the
   second round is answered from the question-vector cache (hits and misses shown).

The timed phases run without the question cache (in process, and in the app), so every question
is embedded however often it comes round. Printed: median and p95 per phase and their ratio to
the idle phase (in process) or the idle app.

    python benchmarks/contention.py [--questions 150]   # results/contention.json and .md
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from common import PROJECT, SHARED, ask_app, free_port, percentile, questions, start_app, stop, table, write_result

from assistant.index.embedding import embedder_for
from assistant.library import Library
from assistant.session import Assistant
from assistant.settings import Settings

XQUAD_CORPUS = SHARED / "xquad-de-dev" / "corpus.jsonl"
EXAMPLES = ["Wer ist für Potenzialförderung zuständig?", "Wann wurde RuhrFutur gegründet?",
            "Wie erreiche ich ZukunftsBildung Ruhr?", "Welche Städte sind neu bei RuhrFutur?"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def topic(record: dict) -> str:
    """The XQuAD article a paragraph comes from: its id without the paragraph number."""
    return record["_id"].rsplit("_", 1)[0]


def xquad_corpus(folder: Path) -> str:
    """XQuAD dev paragraphs of all but the last article as ``folder/corpus.jsonl``; the last
    article's text is returned, as the new document an update adds."""
    records = [json.loads(line) for line in XQUAD_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    last = topic(records[-1])
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records
                                                 if topic(r) != last), encoding="utf-8")
    return f"{last.replace('_', ' ')}\n\n" + "\n\n".join(r["text"] for r in records if topic(r) == last) + "\n"


class Background:
    """Runs one command after the other (``commands()`` gives the next) in a thread until stopped,
    and tells whether one is running now."""

    def __init__(self, commands: Callable[[int], list[str]], before: Callable[[int], None] = lambda n: None):
        self._commands, self._before = commands, before
        self._running = threading.Event()
        self._stop = threading.Event()
        self.runs = 0
        self.failures: list[str] = []
        self._child: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._before(self.runs)
            self._child = subprocess.Popen(self._commands(self.runs), cwd=PROJECT, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
            self._running.set()
            if self._stop.is_set():
                self._child.terminate()
            output = self._child.communicate()[0]
            self._running.clear()
            if self._stop.is_set():  # ended by __exit__, not a run to count
                break
            self.runs += 1
            if self._child.returncode != 0:
                self.failures.append(output[-500:])

    def __enter__(self) -> Background:
        self._thread.start()
        self._running.wait(60)
        time.sleep(1.0)  # past the child's start-up, into its work
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._child is not None and self._child.poll() is None:
            self._child.terminate()  # a build or update stopped midway leaves the index as it was
        self._thread.join()

    @property
    def running(self) -> bool:
        return self._running.is_set()


def ask_while(assistant: Assistant, asked: list[str], busy: Background | None = None, runs: int = 1) -> list[float]:
    """Milliseconds per question. Idle: each of ``asked`` once. With ``busy``: ``asked`` over and
    over until ``busy`` has finished ``runs`` whole runs and every question was asked once,
    counting only questions asked entirely while a run was going on."""
    timings = []
    for count, question in enumerate(itertools.cycle(asked)):
        if busy is None:
            if count == len(asked):
                break
        elif busy.runs >= runs and count >= len(asked):
            break
        elif not busy.running:
            while not busy.running and busy.runs < runs:  # between two runs of the command: wait for the next
                time.sleep(0.01)
            continue
        started = time.perf_counter()
        assistant.ask(question)
        milliseconds = 1000 * (time.perf_counter() - started)
        if busy is None or busy.running:
            timings.append(milliseconds)
    return timings


def cache_counts(assistant: Assistant) -> tuple[int, int]:
    """(hits, misses) of the question-vector cache so far; (0, 0) for an embedder without one."""
    info = getattr(assistant.embedder, "cache_info", None)
    if info is None:
        return 0, 0
    counts = info()
    return counts.hits, counts.misses


def app_sessions(port: int, sessions: int, per_session: int, asked: list[str], think: float,
                 busy: Background | None = None, runs: int = 2) -> dict:
    """``sessions`` gradio_client sessions asking ``per_session`` questions each (with ``busy``: on
    and on, until it finished ``runs`` whole runs); latencies and errors."""
    from gradio_client import Client

    url = f"http://127.0.0.1:{port}/"
    clients = [Client(url, verbose=False) for _ in range(sessions)]
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions)

    def session(number: int) -> None:
        start.wait()
        for turn in itertools.count():
            if turn >= per_session and (busy is None or busy.runs >= runs):
                break
            question = asked[number * per_session + turn % per_session]
            began = time.perf_counter()
            problem = ask_app(clients[number], question)
            with lock:
                timings.append(1000 * (time.perf_counter() - began))
                if problem:
                    errors.append(problem)
            time.sleep(think)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"timings": timings, "errors": errors}


def stats(timings: list[float]) -> dict[str, float]:
    return {"n": len(timings), "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 0.95), 1), "max_ms": round(max(timings), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=150, help="questions per in-process phase (default 150)")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent app sessions (default 8)")
    parser.add_argument("--app-questions", type=int, default=12, help="questions per app session and phase")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds a session waits after an answer before its next question (default 0)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    pool = list(dict.fromkeys(q for q in questions() if q not in EXAMPLES))
    n, per_app = args.questions, args.sessions * args.app_questions
    if 3 * n + 2 * per_app > len(pool):
        raise SystemExit(f"only {len(pool)} distinct questions: ask fewer")
    phases = [pool[i * n:(i + 1) * n] for i in range(3)]
    app_pool = pool[3 * n:]

    with tempfile.TemporaryDirectory(prefix="contention-") as folder:
        work = Path(folder)
        seed_corpus, seed_index = work / "seed-corpus", work / "seed-index"
        shutil.copytree(PROJECT / "corpus", seed_corpus)
        subprocess.run(cli("build", "--corpus", str(seed_corpus), "--index", str(seed_index)), cwd=PROJECT,
                       check=True, stdout=subprocess.DEVNULL)
        # The timed phases ask questions again and again while a build or update runs, so the
        # question cache is off there (every question is embedded); the repeated-questions phase
        # and the app use it as configured.
        settings = Settings.load().replace(corpus_dir=seed_corpus, index_dir=seed_index)
        kb = Library(settings).load()
        assistant = Assistant(settings, kb, embedder_for(settings.replace(embedding={"question_cache_size": 0})))
        for question in EXAMPLES:  # warm-up: model, thread pools
            assistant.ask(question + " ?")

        rows, result = [], {"questions_per_phase": n, "sessions": args.sessions, "think_s": args.think, "phases": {}}

        def record(name: str, timings: list[float], cache: tuple[int, int], **extra: object) -> None:
            result["phases"][name] = {**stats(timings), "cache_hits": cache[0], "cache_misses": cache[1], **extra}
            print(name, result["phases"][name], flush=True)

        def measured(name: str, asked: list[str], busy: Background | None, runs: int = 1) -> None:
            before = cache_counts(assistant)
            timings = ask_while(assistant, asked, busy, runs)
            after = cache_counts(assistant)
            record(name, timings, (after[0] - before[0], after[1] - before[1]))

        measured("idle", phases[0], None)

        xquad, xquad_index = work / "xquad-corpus", work / "xquad-index"
        new_document = xquad_corpus(xquad)
        build = Background(lambda run: cli("build", "--corpus", str(xquad), "--index", str(xquad_index)))
        with build:
            measured("during a build", phases[1], build)
        result["phases"]["during a build"].update(runs=build.runs, failures=len(build.failures))

        added = xquad / "neue-mitteilung.txt"

        def toggle(corpus_file: Path, text: str) -> Callable[[int], None]:
            def change(run: int) -> None:
                if run % 2 == 0:
                    corpus_file.write_text(text, encoding="utf-8")
                else:
                    corpus_file.unlink(missing_ok=True)
            return change

        update = Background(lambda run: cli("update", "--corpus", str(xquad), "--index", str(xquad_index)),
                            before=toggle(added, new_document))
        with update:
            measured("during an update", phases[2], update, runs=2)
        result["phases"]["during an update"].update(runs=update.runs, failures=len(update.failures))

        assistant = Assistant(settings, kb)
        repeated_before = cache_counts(assistant)
        first = ask_while(assistant, EXAMPLES)
        second = ask_while(assistant, EXAMPLES)
        repeated_after = cache_counts(assistant)
        result["repeated"] = {"first_ms": [round(t, 1) for t in first], "second_ms": [round(t, 1) for t in second],
                              "cache_hits": repeated_after[0] - repeated_before[0],
                              "cache_misses": repeated_after[1] - repeated_before[1]}
        print("repeated", result["repeated"], flush=True)

        port = free_port()
        app = start_app(port, "--corpus", str(seed_corpus), "--index", str(seed_index),
                        env={"ASSISTANT_EMBEDDING_QUESTION_CACHE_SIZE": "0"})  # sessions ask their questions again
        try:
            from gradio_client import Client
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict(EXAMPLES[0], [], api_name="/ask")  # warm-up
            quiet = app_sessions(port, args.sessions, args.app_questions, app_pool[:per_app], args.think)
            result["app_idle_errors"] = quiet["errors"][:3]
            record("app, idle", quiet["timings"], (0, 0), errors=len(quiet["errors"]))
            served_update = Background(
                lambda run: cli("update", "--corpus", str(seed_corpus), "--index", str(seed_index)),
                before=toggle(seed_corpus / "neue-mitteilung.txt", new_document))
            with served_update:
                loaded = app_sessions(port, args.sessions, args.app_questions, app_pool[per_app:2 * per_app],
                                      args.think, served_update)
            result["app_update_errors"] = loaded["errors"][:3]
            record("app, during updates", loaded["timings"], (0, 0), errors=len(loaded["errors"]),
                   runs=served_update.runs, failures=len(served_update.failures))
        finally:
            stop(app)

    phases_ = result["phases"]
    for name, data in phases_.items():
        base = phases_["app, idle" if name.startswith("app") else "idle"]
        data["median_ratio"] = round(data["median_ms"] / base["median_ms"], 2)
        data["p95_ratio"] = round(data["p95_ms"] / base["p95_ms"], 2)
        rows.append([name, data["n"], data["median_ms"], data["p95_ms"], data["max_ms"], data["median_ratio"],
                     data["p95_ratio"], data.get("errors", ""), data.get("runs", "")])
    repeated = result["repeated"]
    text = (f"Warm `ask` while the machine is busy; milliseconds; ratios to the idle phase (in process) or "
            f"the idle app ({args.sessions} sessions, think time {args.think:g} s)\n\n"
            + table(["phase", "questions", "median_ms", "p95_ms", "max_ms", "median x idle", "p95 x idle",
                     "errors", "background runs"], rows)
            + f"\n\nRepeated questions ({len(EXAMPLES)} examples asked twice): first round median "
              f"{statistics.median(repeated['first_ms']):.1f} ms, second round median "
              f"{statistics.median(repeated['second_ms']):.1f} ms; question cache {repeated['cache_hits']} hits, "
              f"{repeated['cache_misses']} misses")
    write_result("contention", result, text)


if __name__ == "__main__":
    main()
