"""The soak benchmark's checks (benchmarks/soak.py): they must catch a source from the wrong version."""

from assistant.datatypes import Chunk, Citation, DocumentMeta
from assistant.web.render import source_html

import soak  # benchmarks/soak.py (conftest puts benchmarks/ on the path)


def test_sources_are_read_back_exactly_as_the_panel_shows_them():
    texts = ['Kontakt <b>"Büro"</b> & Co. <mark>alt</mark>\nBernd Kreuzinger: k@t.de', "Zweite Passage"]
    chunks = [Chunk(f"d.txt#{i}", "d.txt", text, 0, len(text), None, DocumentMeta(title="T"))
              for i, text in enumerate(texts)]
    panel = source_html(Citation(1, chunks[0], ((8, 20), (46, 62))), full_text="<blockquote>x</blockquote>")
    panel += source_html(Citation(2, chunks[1]))
    assert "<mark>" in panel and soak.shown_passages(panel) == tuple(texts)


def test_a_source_from_a_version_not_current_at_the_time_is_reported():
    run = soak.Run(versions=[soak.Version("alt", frozenset({"Dienstag"}), 0.0, 10.0),
                             soak.Version("neu", frozenset({"Donnerstag"}), 8.0)])
    run.replies = [soak.Reply("q", 1.0, 2.0, ("Dienstag",)),
                   soak.Reply("q", 9.0, 9.5, ("Dienstag",)),  # during the update: either version
                   soak.Reply("q", 9.0, 9.5, ("Donnerstag",)),
                   soak.Reply("q", 11.0, 12.0, ("Dienstag",)),  # the old version after the switch
                   soak.Reply("q", 9.0, 9.5, ("Dienstag", "Donnerstag"))]  # two versions mixed
    problems, served = soak.check_sources(run)
    assert len(problems) == 2 and served == {"alt", "neu"}
