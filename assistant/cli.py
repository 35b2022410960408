"""Command line: ``python -m assistant <command>`` (also installed as ``assistant``).

A thin layer over the ``Library`` (build, update, index versions) and the ``Assistant`` (search,
ask): it reads the options, calls them and prints what they return. Every command takes
``--corpus DIR`` and ``--index DIR`` (defaults: ``corpus/`` and ``index/`` in the working
directory, or the settings) and ``--config FILE``. Results go to standard output, progress and
warnings to standard error, so output can be piped. Messages are German, as for staff.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import evaluation
from .datatypes import Answer, Document
from .documents.ocr import page_label
from .exceptions import AssistantError
from .library import Library
from .records import answer_record, explain_record, search_record
from .session import Assistant
from .settings import FUSIONS, Settings

log = logging.getLogger("assistant")


def main(argv: Sequence[str] | None = None) -> int:
    offline()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    # The assistant's warnings (files skipped, a damaged index version) and, with -v, its progress
    # go to standard error as plain lines.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        settings = Settings.load(args.config).replace(corpus_dir=args.corpus, index_dir=args.index)
        return args.handler(args, Library(settings)) or 0
    except AssistantError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 1
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def offline() -> None:
    """No network and no telemetry in this process: the Hugging Face hub (sentence-transformers
    models are loaded from local files only) and Gradio's analytics are switched off before
    either library is imported."""
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("GRADIO_ANALYTICS_ENABLED", "False")):
        os.environ.setdefault(name, value)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, help="Ordner der Dokumente (Standard: corpus/)")
    common.add_argument("--index", type=Path, help="Ordner des Index (Standard: index/)")
    common.add_argument("--config", type=Path, help="Einstellungsdatei, TOML (Standard: assistant.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="Fortschritt auf der Standardfehlerausgabe melden")
    as_json = argparse.ArgumentParser(add_help=False, parents=[common])
    as_json.add_argument("--json", action="store_true",
                         help="JSON statt Text ausgeben (bei Fragen: eine Zeile je Frage)")
    asked = argparse.ArgumentParser(add_help=False, parents=[as_json])  # questions as arguments or on standard input
    asked.add_argument("question", nargs="*", help="Frage(n); ohne: JSON-Zeilen von der Standardeingabe")

    parser = argparse.ArgumentParser(prog="assistant", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(metavar="BEFEHL")

    def command(group, name: str, handler, parent: argparse.ArgumentParser, text: str, description: str = ""):
        sub = group.add_parser(name, parents=[parent], help=text, description=description or text)
        sub.set_defaults(handler=handler)
        return sub

    command(commands, "build", cmd_build, common, "den Index aus dem Korpus neu bauen")
    update = command(commands, "update", cmd_update, common, "Änderungen des Korpus in den Index übernehmen",
                     "Vergleicht den Korpus über Prüfsummen mit dem Index, bettet nur neue oder geänderte Dokumente "
                     "ein und schaltet auf die neue Version um, sobald sie vollständig ist.")
    update.add_argument("--dry-run", action="store_true", help="nur anzeigen, was sich ändern würde")
    update.add_argument("--check", type=Path, metavar="DATEI", help="Prüffragen (wie initiatives-qa-dev.jsonl): "
                        "nicht umschalten, wenn die Antworten schlechter werden")
    update.add_argument("--force", action="store_true",
                        help="auch umschalten, wenn --check schlechtere Antworten findet")

    versions = commands.add_parser("index", help="Index-Versionen").add_subparsers(metavar="AKTION")
    command(versions, "list", cmd_index_list, common, "die aufbewahrten Versionen zeigen (* = aktiv)")
    rollback = command(versions, "rollback", cmd_index_rollback, common, "eine frühere Version wieder einschalten")
    rollback.add_argument("version", nargs="?", help="Name der Version (Standard: die vor der aktiven)")
    export = command(versions, "export", cmd_index_export, common, "den Index in ein anderes Backend kopieren",
                     "Kopiert die aktive Version des Index-Ordners in die PostgreSQL-Datenbank von database_url "
                     "(unter ihrem Namen, dort aktiv), ohne etwas neu einzubetten.")
    export.add_argument("--to", choices=["postgres"], required=True, help="wohin kopiert wird")
    export.add_argument("--database-url", help="PostgreSQL-URL (Standard: die Einstellung database_url)")

    search = command(commands, "search", cmd_search, asked, "Passagen zu Fragen suchen",
                     'Fragen als Argumente, oder JSON-Zeilen auf der Standardeingabe: {"id": ..., "question": ...} '
                     '(BEIR-Zeilen mit _id und text gehen auch); mit --json je Frage {"id", "hits": [...]}.')
    search.add_argument("--k", type=int, default=10, help="Dokumente je Frage (Standard 10)")
    search.add_argument("--document", action="append", help="nur in diesem Dokument suchen (mehrfach möglich)")
    ask = command(commands, "ask", cmd_ask, asked, "Fragen mit Quellen beantworten",
                  'Eine Frage als Argumente, oder JSON-Zeilen auf der Standardeingabe: {"id", "question", "history": '
                  '[frühere Fragen, die älteste zuerst]}; mit --json je Frage {"id", "answer", "answered", "marks", '
                  '"citations": [...]}.')
    ask.add_argument("--explain", action="store_true",
                     help="über der Antwort zeigen, warum: die Frage, wie sie verstanden wurde, die Passagen, die "
                          "Kandidaten und Regeln, und welche Stufe entschied (mit --json: \"explanation\")")
    serve = command(commands, "serve", cmd_serve, common, "die Chat-Anwendung und die JSON-Schnittstelle starten")
    serve.add_argument("--host", help="Adresse (Standard 127.0.0.1, aus den Einstellungen)")
    serve.add_argument("--port", type=int, help="Port (Standard 7860)")

    kinds = commands.add_parser("eval", help="Suche und Antworten messen").add_subparsers(metavar="ART")
    beir = command(kinds, "beir", cmd_eval_beir, as_json, "Suchqualität auf einem Datensatz im BEIR-Format")
    beir.add_argument("--data", type=Path, required=True, help="Ordner mit corpus.jsonl, queries.jsonl, qrels.tsv")
    beir.add_argument("--methods", default="bm25,vector,rrf,convex",
                      help=f"durch Kommas getrennt, aus {', '.join(FUSIONS)} (Standard: alle)")
    beir.add_argument("--no-answers", action="store_true", help="answer_hit auslassen (jede Antwort zusammenstellen)")
    qa = command(kinds, "qa", cmd_eval_qa, as_json, "Antwortqualität auf einer Fragendatei",
                 "Bewertet den Index des Projekts, oder mit --corpus DATEI_ODER_ORDNER einen Wegwerf-Index dieses "
                 "Korpus (ein Ordner oder eine Datei wie ein JSON-Zeilen-Export).")
    qa.add_argument("--questions", type=Path, required=True, help="JSON-Zeilen wie initiatives-qa-dev.jsonl "
                    "(id, question, history, evidence, answer_any, answer_all)")
    qa.add_argument("--explain-failures", action="store_true",
                    help="nach der Tabelle für jede nicht bestandene Frage zeigen, welche Stufe warum entschied")
    return parser


def corpus_documents(library: Library) -> list[Document]:
    """The corpus documents (of a folder, or of one file such as a JSON-lines export); each file
    that cannot be read is reported on standard error (by the loader's log)."""
    return library.corpus().documents


def batch_embedder(library: Library):
    """The embedder for a build or update: all cores (``embedding.build_threads``), after lowering
    this process's CPU priority to ``embedding.build_nice``, so that questions answered on the same
    machine come first (benchmarks/contention.py)."""
    os.nice(max(0, library.settings.embedding.build_nice - os.nice(0)))
    return library.embedder(batch_job=True)


def open_assistant(library: Library) -> Assistant:
    """The assistant over the version being served (built first when there is none)."""
    embedder = library.embedder()
    index = library.open(embedder, lambda: corpus_documents(library), progress=sys.stderr.isatty())
    return Assistant(library.settings, index, embedder)


def cmd_build(args: argparse.Namespace, library: Library) -> int:
    embedder = batch_embedder(library)
    report = library.build(embedder, corpus_documents(library), progress=sys.stderr.isatty())
    counts = report.index.manifest.counts
    print(f"Indexiert: {counts.documents} Dokumente, {counts.chunks} Abschnitte in {report.seconds:.1f} s; "
          f"aktive Version {report.version}")
    return 0


def cmd_update(args: argparse.Namespace, library: Library) -> int:
    embedder = batch_embedder(library)
    check = evaluation.quality_check(args.check, library.settings, embedder) if args.check else None
    report = library.update(embedder, corpus_documents(library), check, force=args.force, dry_run=args.dry_run,
                            progress=sys.stderr.isatty())
    print(("Geplant: " if args.dry_run else "Änderungen: ") + report.plan.describe())
    if args.dry_run:
        print("(--dry-run: nichts geändert)")
    elif not report.switched:
        print("Index ist aktuell; nichts zu tun.")
    else:
        if report.check:
            print(f"Prüfung: {report.check}")
        print(f"Eingebettet: {report.chunks_embedded} Abschnitte ({report.texts_embedded} Texte mit Sätzen); "
              f"Index hat {report.chunks} Abschnitte; {report.seconds:.1f} s; aktive Version {report.version}")
    return 0


def cmd_index_list(args: argparse.Namespace, library: Library) -> int:
    versions = library.versions()
    if not versions:
        print(f"{library.where()}: noch keine Index-Versionen")
    for version in versions:
        print(f"{'*' if version.serving else ' '} {version.name}  {version.created}  "
              f"{version.documents} Dokumente, {version.chunks} Abschnitte")
    return 0


def cmd_index_rollback(args: argparse.Namespace, library: Library) -> int:
    print(f"Aktive Version: {library.rollback(args.version)}")
    return 0


def cmd_index_export(args: argparse.Namespace, library: Library) -> int:
    source = Library(library.settings.replace(index_backend="memory"))
    target = Library(library.settings.replace(index_backend=args.to, database_url=args.database_url))
    try:
        name = source.export(target)
        exported = next(version for version in target.versions() if version.name == name)
        print(f"Exportiert (ohne neu einzubetten): {exported.documents} Dokumente, {exported.chunks} Abschnitte "
              f"aus {source.where(name)} -> {target.where(name)}, dort aktiv")
    finally:
        target.close()
    return 0


def read_questions(stream: TextIO) -> Iterator[dict[str, Any]]:
    """JSON lines with ``id``/``question`` (or BEIR ``_id``/``text``); a plain line is a question."""
    for number, line in enumerate(stream, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = line
        if not isinstance(record, dict):
            record = {"id": str(number), "question": str(record)}
        question = record.get("question", record.get("text", ""))
        yield {**record, "id": record.get("id", record.get("_id", str(number))), "question": str(question)}


def questions_of(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The questions given as arguments (as one question for ``ask``), else read from standard input."""
    if not args.question:
        return read_questions(sys.stdin)
    if args.handler is cmd_ask:
        return iter([{"id": "1", "question": " ".join(args.question), "history": []}])
    return iter({"id": str(i), "question": q} for i, q in enumerate(args.question, start=1))


def cmd_search(args: argparse.Namespace, library: Library) -> int:
    assistant = open_assistant(library)
    for record in questions_of(args):
        hits = assistant.search(record["question"], args.k, args.document)
        if args.json:
            print(json.dumps(search_record(record["id"], hits), ensure_ascii=False), flush=True)
            continue
        print(f"# {record['question']}")
        for rank, hit in enumerate(hits, start=1):
            page = f", S. {hit.chunk.page}" if hit.chunk.page else ""
            snippet = " ".join(hit.chunk.text.split())[:160]
            print(f"{rank:2d}. [{hit.score:.3f}] {hit.chunk.document}{page}: {snippet}")
        print()
    return 0


def cmd_ask(args: argparse.Namespace, library: Library) -> int:
    assistant = open_assistant(library)
    for record in questions_of(args):
        history = [str(earlier) for earlier in record.get("history") or []]
        if args.explain:
            answer, explanation = assistant.explain(record["question"], history)
            if args.json:
                print(json.dumps(explain_record(record["id"], answer, explanation), ensure_ascii=False), flush=True)
            else:
                print(explanation.text() + "\n" + format_answer(answer), flush=True)
            continue
        answer = assistant.ask(record["question"], history)
        if args.json:
            print(json.dumps(answer_record(record["id"], answer), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer), flush=True)
    return 0


def format_answer(answer: Answer) -> str:
    """The answer and its sources as plain text for a terminal."""
    lines = [answer.notice, answer.text, ""] if answer.notice else [answer.text, ""]
    sources = answer.citations or answer.related
    if sources and not answer.answered:
        lines.append("Vielleicht hilfreich:")
    for citation in sources:
        meta = citation.chunk.meta
        where = ", ".join(x for x in (meta.title or citation.chunk.document, meta.date,
                                      page_label(citation.chunk.page, meta, "S.")) if x)
        lines.append(f"[{citation.n}] {where}")
        lines.append("    " + " ".join(citation.chunk.text.split())[:300])
    return "\n".join(lines) + "\n"


def cmd_serve(args: argparse.Namespace, library: Library) -> int:
    from .web.server import serve  # Gradio and the web server only where they serve

    assistant = open_assistant(library)
    serve(library, assistant.kb, args.host, args.port)
    return 0


def cmd_eval_qa(args: argparse.Namespace, library: Library) -> int:
    cases = evaluation.load_qa(args.questions)
    if args.corpus is None:
        return report_qa(args, open_assistant(library), cases)
    # a throwaway index of the given corpus file or folder, searched as the backend searches
    embedder = library.embedder()
    kb = library.index_in_memory(corpus_documents(library), embedder, progress=sys.stderr.isatty())
    with library.searchable(kb) as index:
        return report_qa(args, Assistant(library.settings, index, embedder), cases)


def report_qa(args: argparse.Namespace, assistant: Assistant, cases: Sequence[evaluation.QaCase]) -> int:
    """``eval qa``'s table (or JSON), and with ``--explain-failures`` the trace of each failed question."""
    rows, totals = evaluation.score_qa(assistant, cases)
    failures = evaluation.explain_failures(assistant, cases, rows) if args.explain_failures else {}
    if args.json:
        rows = [{**row, "explanation": failures[row["id"]].to_dict()} if row["id"] in failures else row
                for row in rows]
        print(json.dumps({"questions": str(args.questions), "totals": totals, "results": rows},
                         ensure_ascii=False, indent=1))
        return 0

    def mark(value: Any) -> str:
        return "–" if value is None else ("ja" if value else "NEIN")
    print(evaluation.format_table(
        [{"id": r["id"], "answered": mark(r["answered"]), "evidence@3": mark(r["evidence@3"]),
          "answer_hit": mark(r["answer_hit"]), "refusal_ok": mark(r["refusal_ok"]),
          "passed": mark(r["passed"]), "question": r["question"]} for r in rows],
        ["id", "answered", "evidence@3", "answer_hit", "refusal_ok", "passed", "question"]))
    print()
    print(evaluation.format_table([{k: ("–" if v is None else v) for k, v in totals.items()}], list(totals)))
    for row in rows:
        if row["id"] in failures:
            print(f"\n## {row['id']}: {row['question']} (nicht bestanden)\n{failures[row['id']].text()}", end="")
    return 0


def cmd_eval_beir(args: argparse.Namespace, library: Library) -> int:
    settings = library.settings
    data = evaluation.load_beir(args.data)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    embedder = library.embedder(batch_job=True)
    started = time.perf_counter()
    kb = library.index_in_memory(evaluation.beir_documents(data), embedder, progress=sys.stderr.isatty())
    build_seconds = time.perf_counter() - started
    with library.searchable(kb) as index:
        assistant = Assistant(settings, index, embedder)
        reports = [evaluation.score_retrieval(assistant.retriever, data, method) for method in methods]
        answer_hit = None if args.no_answers else evaluation.answer_hit_rate(assistant, data)
    if args.json:
        print(json.dumps({"data": str(args.data), "embedding_model": embedder.model_id,
                          "chunks": len(kb.chunks), "build_seconds": round(build_seconds, 1),
                          "index_backend": settings.index_backend,
                          "methods": {r.method: r.metrics for r in reports}, "answer_hit": answer_hit}, indent=1))
    else:
        print(f"{args.data}: {len(data.queries)} questions, {kb.manifest.counts.documents} documents, "
              f"{len(kb.chunks)} chunks (index built in {build_seconds:.1f} s; backend {settings.index_backend})\n")
        print(evaluation.format_table([{"method": r.method, **r.metrics} for r in reports],
                                      ["method", "recall@1", "recall@5", "recall@10", "mrr@10", "ms_per_query"]))
        if answer_hit is not None:
            print(f"\nanswer_hit (a gold answer string in the composed answer, fused retrieval): {answer_hit:.3f}")
    return 0
