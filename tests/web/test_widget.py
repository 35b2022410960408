"""The widget on another website: a page served from another local port (another origin) embeds
the snippet from the README; in real Chromium it asks the real running app through the JSON API,
shows the answer with numbered sources that open their passage, shows a document's markup as text,
and passes axe-core. A page from an origin not in api_origins gets a refusal, no answer."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from assistant.library import Library
from conftest import SEED_CORPUS, indexed, pinned_settings, serving, violations

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>'


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """Two websites on their own ports, each a page with the widget snippet; (listed, unlisted) URLs
    and a function that writes the snippet for the app's address."""
    folder = tmp_path_factory.mktemp("website")
    servers, urls = [], []
    for _ in range(2):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{server.server_address[1]}")

    def page(app_url: str) -> None:
        (folder / "index.html").write_text(
            '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Bildungsbüro Musterstadt</title></head>'
            "<body><main><h1>Bildungsbüro Musterstadt</h1>"
            '<div id="ruhr-assistent"></div>'
            f'<script src="{app_url}api/widget.js" data-ziel="ruhr-assistent" defer></script>'
            "</main></body></html>", encoding="utf-8")
    yield urls[0], urls[1], page
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="module")
def app_for_sites(sites, embedder, tmp_path_factory):
    listed, _, page = sites
    corpus = tmp_path_factory.mktemp("widget-corpus")
    for name in ("zukunftsbildung-ruhr-initiative-und-kontakte.txt", "ruhrfutur-kreis-unna-tritt-bei.txt"):
        shutil.copy(SEED_CORPUS / name, corpus / name)
    (corpus / "anmeldung.txt").write_text(
        "Hinweise zur Anmeldung\n\nDie Anmeldung zum Ferienprogramm erfolgt im Bürgerbüro Essen am Kennedyplatz. "
        f"{HOSTILE}\n", encoding="utf-8")
    index = tmp_path_factory.mktemp("widget-index")
    settings = indexed(pinned_settings(corpus_dir=corpus, index_dir=index,
                                       app={"api_origins": (listed,), "feedback_file": index / "feedback.jsonl"}),
                       embedder)
    app, url = serving(settings, Library(settings).load())
    page(url)
    yield url
    app.close()


def open_site(browser, url: str):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url + "/index.html", wait_until="load")
    page.locator("#ruhr-assistent input").wait_for(timeout=10_000)  # inside the widget's shadow root
    return page


def ask(page, question: str, turns: int = 1) -> None:
    """Ask in the widget and wait for its ``turns``-th answer or a refusal."""
    page.locator("#ruhr-assistent input").fill(question)
    page.locator("#ruhr-assistent input").press("Enter")
    page.locator(f"#ruhr-assistent .runde:nth-child({turns}) .antwort, #ruhr-assistent .fehler:not(:empty)").first.wait_for(
        timeout=60_000)


def test_the_widget_answers_on_a_listed_website_with_sources_that_open(browser, sites, app_for_sites):
    listed, _, _ = sites
    page = open_site(browser, listed)
    ask(page, "Wer ist für Potenzialförderung zuständig?")
    answer = page.locator("#ruhr-assistent .antwort").last
    assert "Bernd Kreuzinger" in answer.inner_text(), page.locator("#ruhr-assistent section").inner_text()
    number = answer.locator("button.nummer").first
    assert number.inner_text() == "[1]" and number.get_attribute("aria-label").startswith("Quelle 1: ")
    passage = page.locator("#ruhr-assistent details blockquote").first
    assert not passage.is_visible()
    number.click()  # the passage opens
    assert passage.is_visible() and "Kreuzinger" in passage.inner_text()
    assert page.evaluate("document.activeElement.id") == "ruhr-assistent"  # focus moved into the widget
    assert violations(page) == []
    # a follow-up question knows whom it means
    ask(page, "Und wie lautet seine E-Mail-Adresse?", turns=2)
    assert "kreuzinger@talentmetropoleruhr.de" in page.locator("#ruhr-assistent .antwort").nth(1).inner_text()


def test_document_markup_is_shown_as_text_in_the_widget(browser, sites, app_for_sites):
    listed, _, _ = sites
    page = open_site(browser, listed)
    ask(page, "Wo erfolgt die Anmeldung zum Ferienprogramm?")
    assert "Bürgerbüro" in page.locator("#ruhr-assistent .antwort").last.inner_text()
    page.locator("#ruhr-assistent button.nummer").first.click()
    assert HOSTILE in page.locator("#ruhr-assistent details blockquote").first.inner_text()
    assert page.locator("#ruhr-assistent img, #ruhr-assistent blockquote script").count() == 0
    assert page.evaluate("window.pwned === undefined")


def test_a_website_not_listed_is_refused(browser, sites, app_for_sites):
    _, unlisted, _ = sites
    page = open_site(browser, unlisted)
    ask(page, "Wer ist für Potenzialförderung zuständig?")
    assert "nicht erreichbar" in page.locator("#ruhr-assistent [role=alert]").inner_text()
    assert page.locator("#ruhr-assistent .antwort").count() == 0
