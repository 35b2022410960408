"""Build throughput and memory: a full build, then an update that adds one document.

Runs the real command line in a child process on a copy of a corpus (the seed corpus, and the
German XQuAD paragraphs as a larger one) with a fresh index folder, and takes the child's peak
resident memory from the kernel (``wait4``). The added document is new text (XQuAD paragraphs
on one topic), so the update has to embed it.

    python benchmarks/build.py   # results/build.json and .md
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PROJECT, SHARED, rows_table, write_result

from assistant.library import Library
from assistant.settings import Settings

XQUAD_CORPUS = SHARED / "xquad-de-dev" / "corpus.jsonl"


def run_cli(*args: str) -> tuple[float, float, str]:
    """Seconds, peak memory in MB, and the output of ``python -m assistant <args>``."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=PROJECT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"assistant {' '.join(args)} failed: {output}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, output


def topic(record: dict) -> str:
    """The XQuAD article a paragraph comes from: its id without the paragraph number."""
    return record["_id"].rsplit("_", 1)[0]


def new_release(folder: Path) -> Path:
    """One new document: the XQuAD paragraphs of the last article, as a text file."""
    records = [json.loads(line) for line in XQUAD_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    last = topic(records[-1])
    text = "\n\n".join(r["text"] for r in records if topic(r) == last)
    path = folder / "neue-mitteilung.txt"
    path.write_text(f"{last.replace('_', ' ')}\n\n{text}\n", encoding="utf-8")
    return path


def measure(name: str, source: Path, work: Path) -> list[dict]:
    corpus, index = work / f"{name}-corpus", work / f"{name}-index"
    if source.is_dir():
        shutil.copytree(source, corpus)
    else:
        corpus.mkdir()
        # all but the last article: that one is added by the update
        records = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        last = topic(json.loads(records[-1]))
        (corpus / source.name).write_text("\n".join(r for r in records if topic(json.loads(r)) != last) + "\n",
                                          encoding="utf-8")
    where = ["--corpus", str(corpus), "--index", str(index)]
    seconds, memory, output = run_cli("build", *where)
    counts = Library(Settings.load().replace(corpus_dir=corpus, index_dir=index)).load().manifest.counts
    documents, chunks, texts = counts.documents, counts.chunks, counts.embedded_texts
    rows = [{"corpus": name, "step": "full build", "documents": documents, "chunks": chunks,
             "embedded_texts": texts, "seconds": round(seconds, 1), "documents_per_s": round(documents / seconds, 2),
             "chunks_per_s": round(chunks / seconds, 2), "texts_per_s": round(texts / seconds, 1),
             "peak_mb": round(memory)}]
    new_release(corpus)
    seconds, memory, output = run_cli("update", *where)
    embedded, texts = map(int, re.search(r"Eingebettet: (\d+) Abschnitte \((\d+) Texte", output).groups())
    rows.append({"corpus": name, "step": "update: 1 document added", "documents": 1, "chunks": embedded,
                 "embedded_texts": texts, "seconds": round(seconds, 1),
                 "documents_per_s": round(1 / seconds, 2), "chunks_per_s": round(embedded / seconds, 2),
                 "texts_per_s": round(texts / seconds, 1), "peak_mb": round(memory)})
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        rows = measure("seed", PROJECT / "corpus", Path(work)) + measure("xquad", XQUAD_CORPUS, Path(work))
    engine = Settings.load().embedding.engine
    write_result("build", {"rows": rows, "embedding_engine": engine},
                 f"Build and update (whole process: start, load, chunk, embed, index, save; embedding engine "
                 f"{engine}; texts = passages and their sentences, each distinct text embedded once)\n\n"
                 + rows_table(rows))


if __name__ == "__main__":
    main()
