"""Soak test: the running app answers without pause while its index is updated underneath it.

    python benchmarks/soak.py [--minutes 5] [--sessions 8] [--churn 4] [--pause 5]
    # prints a table, writes benchmarks/results/soak.json; exit status 1 if anything failed

In a temporary folder (the project's corpus and index are not touched): a copy of the seed
corpus plus a notice whose weekday changes every round, its index (``python -m assistant build``),
and ``python -m assistant serve`` on a free loopback port over both. For ``--minutes``:

- ``--sessions`` gradio_client sessions ask, one question after the other, the dev and
  unanswerable questions, and every third time the question about the changing notice; ``--churn``
  of them are replaced by a new visitor's session after every question (thousands of sessions:
  the app keeps ``max_sessions`` of them, 1000 by default), the others keep one long conversation;
- meanwhile a loop rewrites the notice, adds or removes another document every other round,
  runs ``python -m assistant update`` as a subprocess and waits ``--pause`` seconds, so the app
  switches versions while it answers.

Checked: every request gets an answer (failures are counted with their message); every update
succeeds; every answer's sources, as the sources panel shows them (citations, or the "Vielleicht
hilfreich" passages), are passages of one single index version that was current at some moment
between sending the question and receiving the answer (a version counts as current from the
start of the update that wrote it until the end of the next one). The app's resident memory
(``VmRSS``/``VmHWM`` from /proc, so Linux only) is recorded after warm-up, every 10 s, and at
the end; the table shows it at half-time too, as memory that levels off grows less in the second
half. The app's log is scanned for tracebacks.
"""

from __future__ import annotations

import argparse
import html
import itertools
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import PROJECT, free_port, percentile, questions, start_app, write_result

from assistant.library import Library
from assistant.settings import Settings

NOTICE = "soak-sprechstunde.txt"
NOTICE_QUESTION = "Wann ist die Sprechstunde des Bildungsbüros Bottrop?"
WEEKDAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"]
REQUEST_TIMEOUT = 180.0
PASSAGE = re.compile(r"<blockquote>(.*?)</blockquote>", re.DOTALL)


@dataclass
class Version:
    """An index version, its passages, and when it was current (monotonic seconds)."""

    name: str
    passages: frozenset[str]
    since: float
    until: float = float("inf")


@dataclass
class Reply:
    question: str
    sent: float
    received: float
    passages: tuple[str, ...]


@dataclass
class Run:
    """What the threads record, guarded by ``lock``."""

    versions: list[Version] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_round(corpus: Path, n: int) -> None:
    """Round ``n`` of the changing documents: the notice gets a new weekday and hours; every
    other round a further document is added, and removed again in the next."""
    (corpus / NOTICE).write_text(
        f"Bildungsbüro Bottrop: Sprechstunde (Stand {n})\n\nDie Sprechstunde des Bildungsbüros Bottrop findet "
        f"jeden {WEEKDAYS[n % 5]} von {8 + n % 3} bis 12 Uhr im Rathaus statt (Stand {n}).\n", encoding="utf-8")
    for old in corpus.glob("soak-zusatz-*.txt"):
        old.unlink()
    if n % 2:
        (corpus / f"soak-zusatz-{n}.txt").write_text(
            f"Zusatzmeldung {n}\n\nDas Bildungsbüro Herne lädt zum {n}. Elternabend in die Volkshochschule ein.\n",
            encoding="utf-8")


def version_passages(index: Path) -> tuple[str, frozenset[str]]:
    """The current version's name and the texts of its passages."""
    kb = Library(Settings.load().replace(index_dir=index)).load()
    return kb.version, frozenset(chunk.text for chunk in kb.chunks)


def shown_passages(sources_html: str) -> tuple[str, ...]:
    """The passages of the sources panel, as text (the highlights' <mark> tags removed)."""
    return tuple(html.unescape(re.sub(r"</?mark>", "", quoted)) for quoted in PASSAGE.findall(sources_html))


def resident_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {key: round(int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M)[1]) / 1024, 1)
            for key in ("VmRSS", "VmHWM")}


def ask(url: str, questions: list[str], offset: int, one_question_visitors: bool, deadline: float,
        run: Run) -> None:
    """Questions until ``deadline``: all in one chat session, or each from a new visitor (a new
    session) if ``one_question_visitors``."""
    from gradio_client import Client

    for asked, question in enumerate(itertools.islice(itertools.cycle(questions), offset, None)):
        if time.monotonic() >= deadline:
            return
        if asked == 0 or one_question_visitors:
            client = Client(url, verbose=False)
            with run.lock:
                run.sessions += 1
        sent = time.monotonic()
        try:
            _, messages, sources, _ = client.submit(question, [], api_name="/ask").result(timeout=REQUEST_TIMEOUT)
            if not messages or messages[-1]["role"] != "assistant" or not messages[-1]["content"]:
                raise ValueError(f"no answer in {str(messages)[:200]}")
        except Exception as error:  # every kind of failure is what this run counts
            with run.lock:
                run.errors.append(f"{question}: {type(error).__name__}: {error}"[:400])
            continue
        with run.lock:
            run.replies.append(Reply(question, sent, time.monotonic(), shown_passages(sources)))


def update_repeatedly(corpus: Path, index: Path, deadline: float, pause: float, run: Run) -> None:
    """Change the corpus and run ``python -m assistant update`` until ``deadline``."""
    for n in itertools.count(1):
        if time.monotonic() >= deadline:
            return
        write_round(corpus, n)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "assistant", "update", "--corpus", str(corpus), "--index",
                               str(index)], cwd=PROJECT, capture_output=True, text=True, timeout=600)
        finished = time.monotonic()
        record = {"round": n, "seconds": round(finished - started, 1), "ok": done.returncode == 0}
        if done.returncode == 0:
            name, passages = version_passages(index)
            with run.lock:
                if name != run.versions[-1].name:
                    run.versions[-1].until = finished
                    run.versions.append(Version(name, passages, started))
            record["version"] = name
        else:
            record["error"] = done.stderr[-500:]
        with run.lock:
            run.updates.append(record)
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))


def check_sources(run: Run) -> tuple[list[str], set[str]]:
    """Answers whose sources are not all passages of one version current while they were
    answered; and the versions that answers can be attributed to with certainty."""
    problems, served = [], set()
    for reply in run.replies:
        candidates = [v for v in run.versions if v.since <= reply.received and v.until >= reply.sent]
        matching = [v.name for v in candidates if set(reply.passages) <= v.passages]
        if not matching:
            problems.append(f"{reply.question}: {len(reply.passages)} sources, none of versions "
                            f"{[v.name for v in candidates]} holds them all")
        elif len(matching) == 1 and reply.passages:
            served.add(matching[0])
    return problems, served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to ask and update (default 5)")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent chat sessions (default 8)")
    parser.add_argument("--churn", type=int, default=4,
                        help="of those sessions, how many are replaced by a new visitor after every question "
                             "(default 4; the others keep one long conversation)")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between updates (default 5)")
    args = parser.parse_args()

    asked = [q for i, question in enumerate(questions(xquad=False))
             for q in ((question, NOTICE_QUESTION) if i % 2 else (question,))]
    run = Run()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        corpus, index, log_path = Path(folder) / "corpus", Path(folder) / "index", Path(folder) / "app.log"
        shutil.copytree(PROJECT / "corpus", corpus, ignore=shutil.ignore_patterns("README.md"))
        write_round(corpus, 0)
        built = subprocess.run([sys.executable, "-m", "assistant", "build", "--corpus", str(corpus), "--index",
                                str(index)], cwd=PROJECT, capture_output=True, text=True, timeout=900)
        if built.returncode != 0:
            raise SystemExit(f"build failed: {built.stderr}")
        run.versions.append(Version(*version_passages(index), since=0.0))
        port = free_port()
        with log_path.open("w", encoding="utf-8") as log:
            app = start_app(port, "--corpus", str(corpus), "--index", str(index), log=log,
                            env={"ASSISTANT_ADMIN_PASSWORD": ""})
            try:
                result = soak(app, f"http://127.0.0.1:{port}/", asked, corpus, index, args, run)
            finally:
                app.terminate()
                app.wait(timeout=30)
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
    result["app_tracebacks"] = log_text.count("Traceback")
    result["app_log_warnings"] = [line for line in log_text.splitlines() if "WARNING" in line or "ERROR" in line][:10]
    report(result)
    failed = (result["errors"] or result["sources_not_in_a_current_version"] or result["updates_failed"]
              or result["app_tracebacks"] or not result["updates"])
    return 1 if failed else 0


def soak(app: subprocess.Popen, url: str, questions: list[str], corpus: Path, index: Path,
         args: argparse.Namespace, run: Run) -> dict:
    """Warm up, then ask and update in parallel for ``args.minutes``; the figures."""
    from gradio_client import Client

    Client(url, verbose=False).predict(questions[0], [], api_name="/ask")
    memory = [resident_mb(app.pid)]
    deadline = time.monotonic() + 60 * args.minutes
    threads = [threading.Thread(target=ask, args=(url, questions, i * 7, i < args.churn, deadline, run))
               for i in range(args.sessions)]
    threads.append(threading.Thread(target=update_repeatedly, args=(corpus, index, deadline, args.pause, run)))
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(10)
        if app.poll() is not None:
            run.errors.append(f"the app exited with status {app.returncode}")
            break
        memory.append(resident_mb(app.pid))
    for thread in threads:
        thread.join()
    problems, served = check_sources(run)
    latencies = [1000 * (r.received - r.sent) for r in run.replies]
    return {
        "minutes": args.minutes, "sessions": args.sessions, "sessions_opened": run.sessions,
        "max_sessions": Settings.load().app.max_sessions,
        "questions_answered": len(run.replies), "errors": len(run.errors), "error_examples": run.errors[:5],
        "answers_with_sources": sum(bool(r.passages) for r in run.replies),
        "sources_not_in_a_current_version": len(problems), "source_problems": problems[:5],
        "updates": len(run.updates), "updates_failed": sum(not u["ok"] for u in run.updates),
        "versions_written": len(run.versions), "versions_answered_from": len(served),
        "notice_answers": sum(r.question == NOTICE_QUESTION for r in run.replies),
        "latency_ms": {"median": round(statistics.median(latencies), 1) if latencies else None,
                       "p95": round(percentile(latencies, 0.95), 1) if latencies else None},
        "rss_mb": {"after_warm_up": memory[0]["VmRSS"], "half_time": memory[len(memory) // 2]["VmRSS"],
                   "end": memory[-1]["VmRSS"], "peak": memory[-1]["VmHWM"]},
        "rss_samples_mb": [m["VmRSS"] for m in memory],
        "update_log": run.updates,
    }


def report(result: dict) -> None:
    rows = [("minutes, concurrent sessions", f"{result['minutes']:g}, {result['sessions']}"),
            ("sessions opened (the app keeps)", f"{result['sessions_opened']} ({result['max_sessions']})"),
            ("questions answered", result["questions_answered"]),
            ("failed requests", result["errors"]),
            ("answers with sources (checked)", result["answers_with_sources"]),
            ("sources not in a version current at the time", result["sources_not_in_a_current_version"]),
            ("updates (failed)", f"{result['updates']} ({result['updates_failed']})"),
            ("versions written / answered from", f"{result['versions_written']} / {result['versions_answered_from']}"),
            ("latency median / p95 ms", f"{result['latency_ms']['median']} / {result['latency_ms']['p95']}"),
            ("app memory after warm-up / half-time / end / peak MB",
             " / ".join(str(result["rss_mb"][key]) for key in ("after_warm_up", "half_time", "end", "peak"))),
            ("tracebacks in the app's log", result["app_tracebacks"])]
    problems = result["error_examples"] + result["source_problems"] + result["app_log_warnings"]
    write_result("soak", result, "\n".join(["| soak | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows),
                                            *("  " + line for line in problems)]))


if __name__ == "__main__":
    raise SystemExit(main())
