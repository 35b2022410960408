"""Main text of web pages: the assistant's own extraction against trafilatura (adopted by ``loading.read_html``).

``html-pages/`` holds initiative-style pages written for this comparison (navigation, cookie
banners, footers, teaser lists, sidebars, comments, and the article with its date), from clean
HTML5 (``<main>``, ``<article>``) to the ``<div>`` layouts many small sites still have.
``html-pages/expected.json`` names, per page, passages of the article that must be kept, pieces
of boilerplate that must go, and the publication date. Reported per extractor: the share of
article passages kept (recall), the share of boilerplate pieces left out, and dates found.

    python benchmarks/html_extraction.py     # results/html_extraction.json and .md
"""

from __future__ import annotations

import json
import re

from common import HERE, table, write_result

from selectolax.lexbor import LexborHTMLParser

from assistant.documents.loading import DROPPED_TAGS, date_in_text, own_main_text, read_html

PAGES = HERE / "html-pages"


def own(html: str) -> tuple[str, str]:
    """The extraction the assistant had before: <main>/<article>/<body> without the tags that mark
    navigation and such (``loading.own_main_text``, now the fallback)."""
    tree = LexborHTMLParser(html)
    for node in tree.css(",".join(DROPPED_TAGS)):
        node.decompose()
    text = own_main_text(tree)
    return text, read_html(html)[1].date or date_in_text(text)


def adopted(html: str) -> tuple[str, str]:
    """What ``loading.read_html`` does now: those tags dropped, then trafilatura."""
    text, meta = read_html(html)
    return text, meta.date or date_in_text(text)  # as load_file: a dateline in the text fills a missing date


def flat(text: str) -> str:
    return " ".join(text.split())


def score(extract, expected: dict) -> dict:
    rows = []
    for name, wanted in expected.items():
        text, date = extract((PAGES / name).read_text(encoding="utf-8"))
        text = flat(text)
        kept = [passage for passage in wanted["article"] if flat(passage) in text]
        leaked = [piece for piece in wanted["boilerplate"] if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text)]
        rows.append({"page": name, "article_kept": len(kept) / len(wanted["article"]),
                     "boilerplate_left_out": 1 - len(leaked) / len(wanted["boilerplate"]),
                     "date": date == wanted["date"], "missing": [p for p in wanted["article"] if p not in kept],
                     "leaked": leaked})
    return {"pages": rows,
            "article_kept": round(sum(r["article_kept"] for r in rows) / len(rows), 3),
            "boilerplate_left_out": round(sum(r["boilerplate_left_out"] for r in rows) / len(rows), 3),
            "dates": sum(r["date"] for r in rows)}


def main() -> None:
    expected = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
    results = {"own (before)": score(own, expected), "trafilatura (now read_html)": score(adopted, expected)}
    summary = table(["extractor", "article passages kept", "boilerplate left out", f"dates right (of {len(expected)})"],
                    [[name, r["article_kept"], r["boilerplate_left_out"], r["dates"]] for name, r in results.items()])
    pages = table(["page", *[f"{name}: kept / left out / date" for name in results]],
                  [[row["page"], *[f"{r['pages'][i]['article_kept']:.2f} / {r['pages'][i]['boilerplate_left_out']:.2f} / "
                                   f"{'ja' if r['pages'][i]['date'] else 'nein'}" for r in results.values()]]
                   for i, row in enumerate(next(iter(results.values()))["pages"])])
    write_result("html_extraction", results, f"Main text of {len(expected)} initiative-style pages\n\n{summary}\n\n{pages}")


if __name__ == "__main__":
    main()
