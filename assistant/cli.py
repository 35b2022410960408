"""Command line: ``python -m assistant <command>`` (also installed as ``assistant``).

Every command takes ``--corpus DIR`` and ``--index DIR`` (defaults: the project's ``corpus/``
and ``index/`` folders, or the settings). Results go to standard output, progress and warnings
to standard error, so output can be piped.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import evaluation, indexing
from .embedding import Embedder, EmbeddingError, embedder_for
from .loading import LoadError, load_corpus
from .ocr import page_label
from .datatypes import Answer, Hit
from .retrieval import FUSIONS, Retriever, one_per_document
from .session import Assistant, ChatSession
from .updating import update_index
from .settings import Settings

log = logging.getLogger("assistant")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    settings = Settings.load(args.config).replace(corpus_dir=args.corpus, index_dir=args.index)
    try:
        return args.handler(args, settings) or 0
    except (LoadError, EmbeddingError, indexing.IndexProblem, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, help="folder of documents (default: corpus/)")
    common.add_argument("--index", type=Path, help="index folder (default: index/)")
    common.add_argument("--config", type=Path, help="TOML settings file (default: assistant.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress to standard error")

    parser = argparse.ArgumentParser(prog="assistant", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(metavar="COMMAND")

    build = commands.add_parser("build", parents=[common], help="build the index from the corpus")
    build.set_defaults(handler=cmd_build)

    update = commands.add_parser("update", parents=[common], help="apply corpus changes to the index",
                                 description="Compare the corpus with the index by content hash and embed only "
                                             "new or changed documents; switch to the new version when complete.")
    update.add_argument("--dry-run", action="store_true", help="only report what would change")
    update.add_argument("--check", type=Path, metavar="FILE",
                        help="question file (as initiatives-qa-dev.jsonl): refuse to switch if answers get worse")
    update.add_argument("--force", action="store_true", help="switch even if --check finds it worse")
    update.set_defaults(handler=cmd_update)

    index = commands.add_parser("index", help="index versions")
    versions = index.add_subparsers(metavar="ACTION")
    listing = versions.add_parser("list", parents=[common], help="list the kept versions")
    listing.set_defaults(handler=cmd_index_list)
    rollback = versions.add_parser("rollback", parents=[common], help="serve an earlier version again")
    rollback.add_argument("version", nargs="?", help="version name (default: the one before the current)")
    rollback.set_defaults(handler=cmd_index_rollback)

    search = commands.add_parser("search", parents=[common], help="retrieve passages for questions",
                                 description="Questions as arguments, or JSON lines on standard input: "
                                             '{"id": ..., "question": ...} (BEIR lines with _id and text work too).')
    search.add_argument("question", nargs="*", help="a question (else JSON lines are read from standard input)")
    search.add_argument("--k", type=int, default=10, help="documents per question (default 10)")
    search.add_argument("--json", action="store_true", help="one JSON line per question")
    search.add_argument("--document", action="append", help="only search this document id (repeatable)")
    search.set_defaults(handler=cmd_search)

    ask = commands.add_parser("ask", parents=[common], help="answer questions with cited passages",
                              description="One question as an argument, or JSON lines on standard input: "
                                          '{"id", "question", "history": [earlier questions, oldest first]}.')
    ask.add_argument("question", nargs="*", help="the question (else JSON lines are read from standard input)")
    ask.add_argument("--json", action="store_true",
                     help='one line per question: {"id", "answer", "answered", "citations": [...]}')
    ask.set_defaults(handler=cmd_ask)

    serve = commands.add_parser("serve", parents=[common], help="start the chat web app")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, from the settings)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.set_defaults(handler=cmd_serve)

    evaluate = commands.add_parser("eval", help="measure retrieval and answers")
    kinds = evaluate.add_subparsers(metavar="KIND")
    beir = kinds.add_parser("beir", parents=[common], help="retrieval metrics on a BEIR-layout data set")
    beir.add_argument("--data", type=Path, required=True, help="folder with corpus.jsonl, queries.jsonl, qrels.tsv")
    beir.add_argument("--methods", default="bm25,vector,rrf,convex",
                      help=f"comma-separated, from {', '.join(FUSIONS)} (default: all)")
    beir.add_argument("--json", action="store_true", help="print the report as JSON")
    beir.add_argument("--no-answers", action="store_true", help="skip answer_hit (composing every answer)")
    beir.set_defaults(handler=cmd_eval_beir)
    qa = kinds.add_parser("qa", parents=[common], help="answer quality on a question file",
                          description="Scores the project's index, or with --corpus FILE_OR_DIR a throwaway "
                                      "index of that corpus (a folder, or one file such as a JSON-lines export).")
    qa.add_argument("--questions", type=Path, required=True,
                    help="JSON lines as in initiatives-qa-dev.jsonl (id, question, history, evidence, answer_any, answer_all)")
    qa.add_argument("--json", action="store_true", help="print the report as JSON")
    qa.set_defaults(handler=cmd_eval_qa)
    return parser


def load_documents(settings: Settings):
    """The corpus documents (of a folder, or of one file such as a JSON-lines export); each
    unreadable file is reported on standard error."""
    result = load_corpus(settings.corpus_dir, settings.max_file_mb, settings.ocr)
    for problem in result.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    return result.documents


def open_knowledge_base(settings: Settings, progress: bool = True) -> indexing.KnowledgeBase:
    """The current index; built first when there is none or it was made with other settings."""
    embedder = embedder_for(settings)
    return indexing.open_index(settings, lambda: load_documents(settings), embedder, progress=progress)


def batch_embedder(settings: Settings) -> Embedder:
    """The embedder for a build or update: all cores (``build_threads``), after lowering this
    process's CPU priority to ``build_nice``, so that questions answered on the same machine
    come first (benchmarks/contention.py)."""
    os.nice(max(0, settings.build_nice - os.nice(0)))
    return embedder_for(settings, batch_job=True)


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    embedder = batch_embedder(settings)
    documents = load_documents(settings)
    with indexing.exclusive(settings.index_dir):
        kb = indexing.build_knowledge_base(documents, embedder, settings, progress=sys.stderr.isatty())
        path = indexing.save(kb, settings.index_dir, settings.keep_versions)
    counts = kb.manifest["counts"]
    print(f"Indexed {counts['documents']} documents, {counts['chunks']} chunks in "
          f"{time.perf_counter() - started:.1f} s -> {path}")
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    embedder = batch_embedder(settings)
    documents = load_documents(settings)
    report = update_index(settings, documents, embedder, progress=sys.stderr.isatty(), dry_run=args.dry_run,
                          check=args.check, force=args.force)
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


def cmd_index_list(args: argparse.Namespace, settings: Settings) -> int:
    current = indexing.current_version(settings.index_dir)
    versions = indexing.list_versions(settings.index_dir)
    if not versions:
        print(f"{settings.index_dir}: no index versions yet")
    for path in versions:
        manifest = json.loads((path / indexing.MANIFEST_FILE).read_text("utf-8"))
        marker = "*" if current is not None and path.name == current.name else " "
        counts = manifest["counts"]
        print(f"{marker} {path.name}  {manifest['created']}  {counts['documents']} Dokumente, {counts['chunks']} Abschnitte")
    return 0


def cmd_index_rollback(args: argparse.Namespace, settings: Settings) -> int:
    name = args.version or indexing.previous_version_name(settings.index_dir)
    indexing.switch(settings.index_dir, name)
    print(f"Aktive Version: {name}")
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


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    kb = open_knowledge_base(settings)
    retriever = Retriever(kb, embedder_for(settings), settings)
    questions = ([{"id": str(i), "question": q} for i, q in enumerate(args.question, start=1)]
                 if args.question else read_questions(sys.stdin))
    for record in questions:
        hits = best_passages(retriever, record["question"], args.k, args.document)
        if args.json:
            print(json.dumps(search_record(record["id"], hits), ensure_ascii=False), flush=True)
        else:
            print(f"# {record['question']}")
            for rank, hit in enumerate(hits, start=1):
                page = f", S. {hit.chunk.page}" if hit.chunk.page else ""
                snippet = " ".join(hit.chunk.text.split())[:160]
                print(f"{rank:2d}. [{hit.score:.3f}] {hit.chunk.document}{page}: {snippet}")
            print()
    return 0


def best_passages(retriever: Retriever, question: str, k: int, documents: Sequence[str] | None = None) -> list[Hit]:
    """The ``k`` best documents for ``question``, each at its best passage (``search``, the JSON API)."""
    return one_per_document(retriever.search(question, k=4 * k, documents=documents))[:k]


def search_record(record_id: Any, hits: Sequence[Hit]) -> dict[str, Any]:
    """What ``search --json`` writes and the JSON API's /api/search returns."""
    return {"id": record_id, "hits": [{"document": h.chunk.document, "chunk": h.chunk.id, "score": round(h.score, 6),
                                       "text": h.chunk.text, "page": h.chunk.page} for h in hits]}


def open_assistant(settings: Settings) -> Assistant:
    return Assistant(settings, open_knowledge_base(settings))


def answer_record(record_id: Any, answer: Answer) -> dict[str, Any]:
    """What ``ask --json`` writes and the JSON API's /api/ask returns."""
    return {"id": record_id, "answer": answer.text, "answered": answer.answered,
            "marks": [list(span) for span in answer.marks],
            "citations": [c.to_dict() for c in answer.citations]}


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings)
    records = ([{"id": "1", "question": " ".join(args.question), "history": []}] if args.question
               else read_questions(sys.stdin))
    for record in records:
        session = ChatSession(assistant)
        for earlier in record.get("history") or []:
            session.ask(str(earlier))
        answer = session.ask(record["question"])
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


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .server import serve

    serve(settings, open_knowledge_base(settings), args.host, args.port)
    return 0


def cmd_eval_qa(args: argparse.Namespace, settings: Settings) -> int:
    cases = evaluation.load_qa(args.questions)
    if args.corpus is None:
        rows, totals = evaluation.score_qa(open_assistant(settings), cases)
    else:  # a throwaway index of the given corpus file or folder
        embedder = embedder_for(settings)
        documents = load_documents(settings)
        with tempfile.TemporaryDirectory(prefix="qa-index-") as folder:
            kb = indexing.build_knowledge_base(documents, embedder, settings.replace(index_dir=folder),
                                               progress=sys.stderr.isatty())
        rows, totals = evaluation.score_qa(Assistant(settings, kb, embedder), cases)
    if args.json:
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
    return 0


def cmd_eval_beir(args: argparse.Namespace, settings: Settings) -> int:
    data = evaluation.load_beir(args.data)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    embedder = embedder_for(settings, batch_job=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="beir-index-") as folder:
        kb = evaluation.build_beir_index(data, embedder, settings.replace(index_dir=folder), progress=sys.stderr.isatty())
    build_seconds = time.perf_counter() - started
    retriever = Retriever(kb, embedder, settings)
    reports = [evaluation.score_retrieval(retriever, data, method) for method in methods]
    answer_hit = None if args.no_answers else evaluation.answer_hit_rate(Assistant(settings, kb, embedder), data)
    if args.json:
        print(json.dumps({"data": str(args.data), "embedding_model": embedder.model_id,
                          "chunks": len(kb.chunks), "build_seconds": round(build_seconds, 1),
                          "methods": {r.method: r.metrics for r in reports}, "answer_hit": answer_hit}, indent=1))
    else:
        print(f"{args.data}: {len(data.queries)} questions, {kb.manifest['counts']['documents']} documents, "
              f"{len(kb.chunks)} chunks (index built in {build_seconds:.1f} s)\n")
        print(evaluation.format_table([{"method": r.method, **r.metrics} for r in reports],
                                      ["method", "recall@1", "recall@5", "recall@10", "mrr@10", "ms_per_query"]))
        if answer_hit is not None:
            print(f"\nanswer_hit (a gold answer string in the composed answer, fused retrieval): {answer_hit:.3f}")
    return 0
