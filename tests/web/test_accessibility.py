"""Accessibility (BITV 2.0 / WCAG 2.1 AA) in a real browser: axe-core, installed from npm by
scripts/setup.sh --test and injected from node_modules (nothing is fetched), checks the chat on
four views at desktop and phone width, and the admin tab's "Warum?" trace of a 👎, and must find no
violation of the WCAG 2.0/2.1 A and AA rules; a keyboard-only visitor asks a question and opens its
first source."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest import NO_TRANSITION, answered, ask_in_page, open_page, serving, violations, wait_for

pytestmark = pytest.mark.browser

PASSWORD = "barrierefrei-pruefen-7"
QUESTION = "Wer ist für Potenzialförderung zuständig?"


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    return tmp_path_factory.mktemp("a11y") / "feedback.jsonl"


@pytest.fixture(scope="module")
def app_with_admin(seed_kb, seed_settings, feedback):
    """The real app over the seed index, with the admin tab."""
    app, url = serving(seed_settings.replace(admin={"password": PASSWORD}, app={"feedback_file": feedback}), seed_kb)
    yield url
    app.close()


def ask(page) -> None:
    ask_in_page(page, QUESTION, "Kreuzinger")


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_no_wcag_violations_on_start_answer_sources_and_admin_views(browser, app_with_admin, width):
    page, foreign = open_page(browser, app_with_admin, width=width)
    found = {"start page": violations(page)}
    ask(page)
    found["after an answer"] = violations(page)
    page.locator('#chat a[href="#quelle-1"]').first.click()
    page.wait_for_selector("#quelle-1.aktiv", timeout=5_000)
    page.locator("#quelle-1 summary").click()  # the whole document, shown in its scrolling box
    page.locator("#quelle-1 pre").wait_for(state="visible", timeout=5_000)
    found["with the sources open"] = violations(page)
    page.get_by_role("tab", name="Verwaltung").click()
    page.locator("#admin-passwort input").fill(PASSWORD)
    page.locator("#admin-anmelden").click()
    page.locator("#admin-datei").wait_for(state="visible", timeout=10_000)
    page.locator("#admin-dokumente table tr td").first.wait_for(timeout=10_000)  # the documents listed
    found["admin tab"] = violations(page)
    # While an action runs, Gradio marks what it will replace as pending (and faded it to 20 %).
    pending = "#admin-dokumente .html-container, #admin-status [data-testid='markdown-wrapper']"
    page.evaluate("selector => document.querySelectorAll(selector).forEach((e) => e.classList.add('pending'))", pending)
    found["admin tab, lists being replaced"] = violations(page, NO_TRANSITION)
    opacity = "selector => [...document.querySelectorAll(selector)].map((e) => getComputedStyle(e).opacity)"
    assert page.evaluate(opacity, pending) == ["1", "1"]  # not faded: the text keeps its contrast
    assert {view: problems for view, problems in found.items() if problems} == {}
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    assert foreign == []


def log_in(page) -> None:
    page.get_by_role("tab", name="Verwaltung").click()
    page.locator("#admin-passwort input").fill(PASSWORD)
    page.locator("#admin-anmelden").click()
    page.locator("#admin-datei").wait_for(state="visible", timeout=10_000)


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_the_why_trace_of_a_thumbs_down_is_shown_and_has_no_wcag_violations(browser, app_with_admin, feedback,
                                                                              width):
    question = f"Wann wurde das Jugendzentrum in Gladbeck eröffnet? ({width})"  # no document says it
    page, foreign = open_page(browser, app_with_admin, width=width)
    ask_in_page(page, question, "keine Angaben")
    page.locator("#chat button[aria-label='Gefällt mir nicht']").last.click()
    wait_for(lambda: feedback.is_file() and any(json.loads(line)["question"] == question and
                                                json.loads(line)["rating"] == "down"
                                                for line in feedback.read_text(encoding="utf-8").splitlines()),
             timeout=10, what="the 👎 entry")
    log_in(page)
    page.locator("#admin-warum-wahl input").click()
    page.get_by_role("option", name=re.compile(re.escape(question))).click()
    page.locator("#admin-warum-rueckmeldung").click()
    trace = page.locator("#admin-warum-ergebnis .warum")
    trace.get_by_text("Entscheidung: abgelehnt – Ursache: ").wait_for(timeout=60_000)
    assert "Rückmeldung 👎 vom" in trace.inner_text() and question in trace.inner_text()
    assert trace.locator("details").count() == 4 and trace.locator("details[open]").count() == 1
    for index in range(4):  # every section opened, for axe to read
        section = trace.locator("details").nth(index)
        if section.get_attribute("open") is None:
            section.locator("summary").click()
    assert trace.locator("details[open]").count() == 4
    assert "BM25" in trace.inner_text() and "Schwelle" in trace.inner_text()
    assert violations(page) == []
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    assert foreign == []


def test_the_page_is_german_for_any_browser_language(browser, app_with_admin):
    served = httpx.get(app_with_admin).text
    assert '<html\n\tlang="de"' in served or '<html lang="de"' in served
    page = browser.new_page(locale="en-US")  # Gradio would switch its texts and lang to the browser's language
    page.goto(app_with_admin, wait_until="load")
    page.locator("#frage textarea").wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.lang") == "de"
    ask(page)
    assert page.locator("#chat button[aria-label='Gefällt mir']").count() >= 1
    assert page.locator("#chat button[aria-label='Nachricht kopieren']").count() >= 1


def test_answers_arrive_in_a_polite_live_region_with_named_citation_links(browser, app_with_admin):
    page, _ = open_page(browser, app_with_admin)
    ask(page)
    log = page.locator('#chat [role="log"][aria-live="polite"]')
    assert log.get_attribute("aria-label") == "Gespräch"
    assert "Bernd Kreuzinger" in log.inner_text()
    link = page.locator('#chat a[href="#quelle-1"]').first
    title = page.locator("#quelle-1 .kopf").inner_text().removeprefix("[1] ")
    assert link.get_attribute("aria-label") == f"Quelle 1: {title}" and title


def test_a_keyboard_alone_asks_a_question_and_opens_its_first_source(browser, app_with_admin):
    page, _ = open_page(browser, app_with_admin)
    focused = "() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 120) : ''; }"
    for _ in range(40):  # from the top of the page to the question box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#frage') !== null"):
            break
    else:
        pytest.fail(f"the question box is not reachable by Tab; focus on {page.evaluate(focused)}")
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    answered(page, "Kreuzinger")
    for _ in range(20):  # back up to the answer's first citation number
        if page.evaluate("document.activeElement.matches('#chat a[href=\"#quelle-1\"]')"):
            break
        page.keyboard.press("Shift+Tab")
    else:
        pytest.fail(f"the citation [1] is not reachable by keyboard; focus on {page.evaluate(focused)}")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_selector("#quelle-1.aktiv", timeout=5_000)
    assert page.evaluate("document.activeElement.id") == "quelle-1"  # reading goes on at the source
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")  # the whole document
    page.locator("#quelle-1 pre").wait_for(state="visible", timeout=5_000)
    assert "Bernd Kreuzinger" in page.locator("#quelle-1 pre").inner_text()
