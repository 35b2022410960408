"""End to end in a real browser: headless Chromium (Debian's package) drives the running app."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from assistant.library import Library
from conftest import (PROJECT_DIR, SEED_CORPUS, answered, ask_in_page, indexed, open_page, pinned_settings,
                      serving, wait_for, write_release)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(seed_kb, seed_settings, tmp_path_factory):
    """The real app over the prebuilt seed index, without an admin password."""
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    app, url = serving(seed_settings.replace(app={"feedback_file": feedback}), seed_kb)
    yield url, feedback
    app.close()


def test_example_question_is_answered_with_its_source(browser, app_url, tmp_path):
    url, _ = app_url
    page, foreign = open_page(browser, url)
    page.locator("#beispiele").get_by_text("Wer ist für Potenzialförderung zuständig?").first.click()
    page.wait_for_function("document.querySelector('#frage textarea').value.includes('Potenzialförderung')",
                           timeout=10_000)
    page.locator("#frage textarea").press("Enter")
    answered(page, "Kreuzinger")
    answer = page.locator("#chat .message-row").last
    assert "Bernd Kreuzinger" in answer.inner_text()
    sources = page.locator("#quellen")
    assert "Bernd Kreuzinger: kreuzinger@talentmetropoleruhr.de" in sources.inner_text()
    assert "Kreuzinger" in sources.locator("mark").first.inner_text()  # the answering lines are highlighted
    page.locator('#chat a[href="#quelle-1"]').first.click()  # citation number leads to the source
    page.wait_for_selector("#quelle-1.aktiv", timeout=5_000)
    # The README's screenshot: written into docs/ only when asked (UPDATE_SCREENSHOT=1), so that a
    # test run leaves the checkout as it was.
    screenshot = PROJECT_DIR / "docs" if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path
    page.screenshot(path=str(screenshot / "screenshot.png"), full_page=True)
    assert foreign == []  # nothing fetched from other hosts
    # no admin tab, and no login or upload field, without a password
    assert page.get_by_role("tab", name="Verwaltung").count() == 0
    assert page.locator("#admin-passwort, #admin-datei").count() == 0


def test_question_and_document_markup_are_shown_as_text(browser, app_url):
    url, _ = app_url
    page, foreign = open_page(browser, url)
    hostile = 'Was ist <img src=x onerror="window.pwned=1"> ![x](http://example.invalid/x.png) **fett**?'
    page.locator("#frage textarea").fill(hostile)
    page.locator("#frage textarea").press("Enter")
    user_message = page.locator("#chat .message-row").filter(has_text="onerror").first
    user_message.wait_for(timeout=30_000)
    assert "<img src=x" in user_message.inner_text() and "![x](http://example.invalid/x.png)" in user_message.inner_text()
    assert page.locator("#chat img[src='x']").count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert not any("example.invalid" in u for u in foreign)


def test_follow_up_and_new_conversation(browser, app_url):
    url, _ = app_url
    page, _ = open_page(browser, url)
    ask_in_page(page, "Wer ist Ansprechpartnerin für Digitalisierung?", "Schröder")
    ask_in_page(page, "Und wie lautet ihre E-Mail-Adresse?", "schroeder@talentmetropoleruhr.de", turn=2)
    page.locator("#neues-gespraech").click()
    page.wait_for_function("document.querySelectorAll('#chat .message-row').length == 0", timeout=10_000)


def test_feedback_is_stored_with_question_and_citations(browser, app_url):
    url, feedback = app_url
    page, _ = open_page(browser, url)
    ask_in_page(page, "Wann wurde die Bildungsinitiative RuhrFutur gegründet?", "2013")
    page.locator("#chat button[aria-label='Gefällt mir']").last.click()
    wait_for(lambda: feedback.exists() and feedback.read_text(encoding="utf-8").endswith("\n"), timeout=10,
             what="the feedback entry")
    entry = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["rating"] == "up" and "RuhrFutur" in entry["question"] and "2013" in entry["answer"]
    assert entry["citations"] and entry["citations"][0]["text"]


def test_phone_width_layout_stacks_without_horizontal_scrolling(browser, app_url):
    url, _ = app_url
    page, _ = open_page(browser, url, width=390)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("#frage textarea").is_visible()


ADMIN_PASSWORD = "richtig-geheim-42"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory, embedder):
    """The real app with an admin password over two seed documents of its own."""
    folder = tmp_path_factory.mktemp("admin-app")
    corpus = folder / "corpus"
    corpus.mkdir()
    for name in ("ruhrfutur-pressemitteilung-fuenf-weitere-staedte-2023.txt", "ruhrfutur-kreis-unna-tritt-bei.txt"):
        shutil.copy(SEED_CORPUS / name, corpus / name)
    settings = pinned_settings(corpus_dir=corpus, index_dir=folder / "index", admin={"password": ADMIN_PASSWORD},
                               app={"feedback_file": folder / "feedback.jsonl"})
    indexed(settings, embedder)
    app, url = serving(settings, Library(settings).load())
    yield url, corpus
    app.close()


def test_admin_uploads_a_release_updates_and_the_chat_answers_from_it(browser, admin_app, tmp_path):
    url, corpus = admin_app
    page, foreign = open_page(browser, url)
    page.get_by_role("tab", name="Verwaltung").click()
    page.locator("#admin-passwort input").fill("falsch")
    page.locator("#admin-anmelden").click()
    page.locator("#admin-status").get_by_text("Falsches Passwort").wait_for(timeout=10_000)
    assert not page.locator("#admin-datei").is_visible()

    page.locator("#admin-passwort input").fill(ADMIN_PASSWORD)
    page.locator("#admin-anmelden").click()
    page.locator("#admin-datei").wait_for(state="visible", timeout=10_000)
    release = tmp_path / "Pressemitteilung Bottrop.pdf"
    write_release(release)
    page.locator("#admin-datei input[type=file]").set_input_files(str(release))
    page.locator("#admin-datei").get_by_text("Pressemitteilung Bottrop.pdf").first.wait_for(timeout=20_000)  # uploaded
    page.locator("#admin-hinzufuegen").click()
    page.wait_for_function("document.querySelector('#admin-bericht textarea').value.includes('hinzugefügt')",
                           timeout=20_000)
    assert (corpus / "Pressemitteilung-Bottrop.pdf").is_file()
    page.locator("#admin-aktualisieren").click()
    page.wait_for_function("document.querySelector('#admin-bericht textarea').value.includes('1 neu')",
                           timeout=120_000)
    assert "Pressemitteilung-Bottrop.pdf" in page.locator("#admin-dokumente").inner_text()

    page.get_by_role("tab", name="Fragen").click()
    ask_in_page(page, "Wann ist die Sprechstunde des Bildungsbüros Bottrop?", "Dienstag")
    assert "Sprechstunde" in page.locator("#quellen").inner_text()
    assert foreign == []


def test_markup_inside_a_document_is_shown_as_text(browser, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "anmeldung.txt").write_text(
        "Hinweise zur Anmeldung\n\nDie Anmeldung zum Ferienprogramm erfolgt im Bürgerbüro Essen am Kennedyplatz. "
        '<img src=x onerror="window.pwned=1"> ![x](http://example.invalid/x.png) <script>window.pwned=2</script>\n',
        encoding="utf-8")
    settings = indexed(pinned_settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                                       app={"feedback_file": tmp_path / "feedback.jsonl"}), embedder)
    app, url = serving(settings, Library(settings).load())
    try:
        page, foreign = open_page(browser, url)
        ask_in_page(page, "Wo erfolgt die Anmeldung zum Ferienprogramm?", "Bürgerbüro")
        shown = page.locator("#chat").inner_text() + page.locator("#quellen").inner_text()
        assert '<img src=x onerror="window.pwned=1">' in shown
        assert "![x](http://example.invalid/x.png)" in shown and "<script>" in shown
        assert page.locator("img[src='x'], #quellen script, #chat script").count() == 0
        assert page.evaluate("window.pwned === undefined")
        assert not any("example.invalid" in u for u in foreign) and foreign == []
    finally:
        app.close()
