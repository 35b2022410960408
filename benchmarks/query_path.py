"""Where a warm question's time goes, what the verifier adds, and how it compares with a tutorial pipeline.

On the seed corpus (the index in ``index/``, built first if missing), each distinct question is
asked once to ``Assistant.ask``, once to the same assistant without the verifier (setting
``answering.verifier = false``) and once to the baseline of ``baseline.py``, alternating, so all
see the same machine noise; no question vector comes from the cache. The assistant's stages are
timed by wrapping the very functions ``ask`` calls (question embedding, BM25, vector search,
fusion, answer composition, and within composition the verifier); "other" is what ``ask`` spends
outside them (cleaning, spelling, classifying the question).

    python benchmarks/query_path.py [--questions 300]   # results/query_path.json and .md
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from common import StageClock, questions, summary, table, write_result

from assistant import session
from assistant.index.embedding import embedder_for
from assistant.library import Library
from assistant.session import Assistant
from assistant.settings import Settings
from baseline import STAGES, TutorialPipeline


def instrumented(assistant: Assistant) -> StageClock:
    clock = StageClock()
    clock.wrap(assistant.embedder, "embed_queries", "embed")
    clock.wrap(assistant.kb.lexical, "scores", "bm25")
    clock.wrap(assistant.kb, "nearest_chunks", "vector")
    clock.wrap(assistant.retriever, "_convex", "fusion")
    clock.wrap(assistant.retriever, "_best", "fusion")
    clock.wrap(session, "compose_answer", "compose")
    if assistant.verifier is not None:
        clock.wrap(assistant.verifier, "logits", "verifier")  # inside "compose"
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    settings = Settings.load()
    kb = Library(settings).open(embedder_for(settings))
    embedder = embedder_for(settings.replace(embedding={"question_cache_size": 0}))
    assistant = Assistant(settings, kb, embedder)
    plain = Assistant(settings.replace(answering={"verifier": False}), kb, embedder)
    baseline = TutorialPipeline([chunk.text for chunk in kb.chunks], settings.retrieval.candidates)
    clock = instrumented(assistant)
    asked = questions(args.questions + 10)
    # warm-up (allocator, thread pools) on questions not timed later, which the question cache would answer
    asked, warm_up = asked[:args.questions], asked[args.questions:]
    for question in warm_up:
        assistant.ask(question)
        plain.ask(question)
        baseline.ask(question)
    clock.take()
    ours: dict[str, list[float]] = defaultdict(list)
    theirs: dict[str, list[float]] = defaultdict(list)
    for question in asked:
        started = time.perf_counter()
        assistant.ask(question)
        total = 1000 * (time.perf_counter() - started)
        stages = clock.take()
        for stage in STAGES:
            ours[stage].append(stages.get(stage, 0.0))
        ours["verifier"].append(stages.pop("verifier", 0.0))
        ours["other"].append(total - sum(stages.values()))
        ours["ask"].append(total)
        started = time.perf_counter()
        plain.ask(question)
        ours["ask without verifier"].append(1000 * (time.perf_counter() - started))
        clock.take()
        for stage, milliseconds in baseline.ask(question)[1].items():
            theirs[stage].append(milliseconds)

    rows, result = [], {"questions": len(asked), "chunks": len(kb.chunks), "vectors": len(kb.vectors),
                        "ours": {}, "baseline": {}}
    for stage in (*STAGES, "verifier", "other", "ask", "ask without verifier"):
        mine = summary(ours[stage])
        result["ours"][stage] = mine
        base = summary(theirs[stage]) if stage in theirs else None
        if base:
            result["baseline"][stage] = base
        rows.append([stage, mine["median_ms"], mine["p95_ms"],
                     base["median_ms"] if base else "", base["p95_ms"] if base else ""])
    ratio = statistics.median(ours["ask"]) / statistics.median(theirs["ask"])
    ratio_p95 = result["ours"]["ask"]["p95_ms"] / result["baseline"]["ask"]["p95_ms"]
    result["ratio_median"], result["ratio_p95"] = round(ratio, 3), round(ratio_p95, 3)
    added = summary([a - b for a, b in zip(ours["ask"], ours["ask without verifier"])])
    result["verifier_adds"] = added
    text = (f"Warm query path, {len(asked)} distinct questions, seed corpus ({len(kb.chunks)} chunks, "
            f"{len(kb.vectors)} vectors); milliseconds (\"verifier\" is part of \"compose\")\n\n"
            + table(["stage", "ours median", "ours p95", "baseline median", "baseline p95"], rows)
            + f"\n\nthe verifier adds per question (ask minus ask without verifier, same question): "
              f"median {added['median_ms']} ms, p95 {added['p95_ms']} ms"
            + f"\nours / baseline, whole ask: {ratio:.2f} (median), {ratio_p95:.2f} (p95)")
    write_result("query_path", result, text)


if __name__ == "__main__":
    main()
