"""Put the latest results into benchmarks/README.md, so the README shows exactly what ran.

Everything below the line ``<!-- results -->`` is replaced by each script's table
(``results/<name>.md``), with the command that produced it and the machine it ran on.

    python benchmarks/report.py
"""

from __future__ import annotations

import json

from common import HERE, RESULTS

MARKER = "<!-- results -->"
SECTIONS = [
    ("query_path", "Warm query path and the tutorial baseline", "python benchmarks/query_path.py"),
    ("cold_start", "Cold start", "python benchmarks/cold_start.py"),
    ("build", "Build and update", "python benchmarks/build.py"),
    ("scale", "Scale: 10 thousand to 1 million passages", "python benchmarks/scale.py"),
    ("scale_build", "Scale: real build throughput", "python benchmarks/scale.py --real-build 3000"),
    ("contention", "Questions while a build or update runs", "python benchmarks/contention.py"),
    ("engines", "Embedding engines: the same retrieval", "python benchmarks/engines.py"),
    ("concurrency", "Concurrent sessions over loopback", "python benchmarks/concurrency.py"),
    ("app_latency", "One visitor through the app", "python benchmarks/app_latency.py"),
    ("soak", "Soak: questions during updates", "python benchmarks/soak.py"),
    ("postgres_query", "The index in PostgreSQL: warm ask, storage and CPU per search",
     "python benchmarks/postgres_query.py"),
]


def main() -> None:
    readme = HERE / "README.md"
    head = readme.read_text(encoding="utf-8").split(MARKER)[0].rstrip()
    parts = [head, "", MARKER, ""]
    for name, title, command in SECTIONS:
        table = RESULTS / f"{name}.md"
        if not table.exists():
            continue
        machine = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))["machine"]
        parts += [f"### {title}", "", f"`{command}` ({machine['when'][:10]}, {machine['cpus']} cores)", "",
                  table.read_text(encoding="utf-8").strip(), ""]
        if (RESULTS / f"{name}.png").exists():
            parts += [f"![{title}](results/{name}.png)", ""]
    readme.write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
