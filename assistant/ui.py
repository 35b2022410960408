"""The Gradio chat: answers with clickable citation numbers, a sources panel, feedback.

Everything shown that comes from a document or a user is escaped twice over: HTML-escaped and
Markdown-escaped, so "<img onerror=...>" or "![x](http://host/x.png)" appears as text and never
runs or loads anything. The page loads nothing from other hosts (system fonts, analytics off).
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's queue keeps timing records of the last events (10000 by default) even with analytics off.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from gradio.utils import LRUCache  # noqa: E402

from .access import AdminAccess  # noqa: E402
from .datatypes import Answer, Citation, german_date  # noqa: E402
from .admin import UploadRejected, add_upload, remove_document  # noqa: E402
from .indexing import IndexProblem, KnowledgeBase  # noqa: E402
from .loading import LoadError, corpus_files, load_corpus  # noqa: E402
from .ocr import page_label  # noqa: E402
from .updating import update_index  # noqa: E402
from .session import Assistant, Turn  # noqa: E402
from .settings import Settings  # noqa: E402

TITLE = "Ruhr-Bildungsassistent"
SUBTITLE = ("Fragen an die Dokumente von TalentMetropole Ruhr, RuhrFutur, ZukunftsBildung Ruhr und der "
            "Städtekooperation Integration.Interkommunal – mit Quellenangaben zum Nachlesen.")
EXAMPLES = [
    "Wer ist für Potenzialförderung zuständig?",
    "Welche Städte sind RuhrFutur im April 2023 beigetreten?",
    "Wann wurde die Bildungsinitiative RuhrFutur gegründet?",
    "Wie erreiche ich Benjamin Fricke?",
]
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$])")
ATTRIBUTE_SPECIAL = set("&<>\"'\\`*_{}[]()#+-.!|~:$=/")

CSS = """
.quelle { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em; margin-bottom: 0.8em; }
.quelle.aktiv { outline: 3px solid var(--color-accent); }
.quelle .kopf { font-weight: 600; margin-bottom: 0.3em; }
.quelle .meta { color: var(--body-text-color-subdued); font-size: 0.9em; }
.quelle blockquote { white-space: pre-wrap; margin: 0.4em 0; padding-left: 0.6em; border-left: 3px solid var(--border-color-primary); }
.quelle mark { background: #fff3a3; color: #1f2937; font-weight: 600; }
.quelle pre { white-space: pre-wrap; max-height: 24em; overflow: auto; }
.hinweis { font-style: italic; }
.tabelle { overflow-x: auto; max-width: 100%; }
table.dokumente { width: 100%; font-size: 0.9em; }
table.dokumente td, table.dokumente th { padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
/* A visible focus on everything that takes it (Gradio removes the browser's outline on some). */
a:focus-visible, button:focus-visible, summary:focus-visible, [tabindex]:focus-visible, [role="tab"]:focus-visible,
input:focus-visible, textarea:focus-visible { outline: 3px solid #1d4ed8 !important; outline-offset: 2px; }
.quelle:focus { outline: 3px solid #1d4ed8; }
"""

# Citation numbers in answers are links to "#quelle-N": by mouse or keyboard (Enter), they scroll to
# that source in the panel, mark it and move the focus there, so keyboard and screen-reader users
# go on reading the source. Gradio's English names (not covered by its German translation) are
# replaced: the chat's conversation (a polite live region, role=log, so that new answers are read
# out) is named "Gespräch", the upload field is named by its visible German text, and each
# citation link is named by its title ("Quelle 1: <Titel>").
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#quelle-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    document.querySelectorAll('.quelle.aktiv').forEach((el) => el.classList.remove('aktiv'));
    target.classList.add('aktiv');
    target.focus({preventScroll: true});
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
  }, true);
  const rename = () => {
    document.querySelectorAll('#chat [role="log"]:not([aria-label="Gespräch"])')
      .forEach((log) => log.setAttribute('aria-label', 'Gespräch'));
    document.querySelectorAll('.upload-container[aria-label]').forEach((field) => field.removeAttribute('aria-label'));
    document.querySelectorAll('#chat a[href^="#quelle-"][title]:not([aria-label])')
      .forEach((link) => link.setAttribute('aria-label', link.getAttribute('title')));
  };
  rename();
  new MutationObserver(rename).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                      attributeFilter: ['aria-label']});
}
"""


def escape_markdown(text: str) -> str:
    """Text that Markdown and HTML both show literally."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def answer_markdown(answer: Answer) -> str:
    """The answer as safe Markdown: escaped text, citation numbers as links to the sources panel,
    named for screen readers by their source ("Quelle 1: <Titel>")."""
    parts = [f"*{escape_markdown(answer.notice)}*\n\n"] if answer.notice else []
    titles = {c.n: c.chunk.meta.title or c.chunk.document for c in answer.citations}
    offset = 0
    for line in answer.text.split("\n"):
        rendered, position = [], offset
        for piece in re.split(r"(\[\d+\])", line):
            if re.fullmatch(r"\[\d+\]", piece):
                rendered.append(citation_link(int(piece[1:-1]), titles.get(int(piece[1:-1]), "")))
            else:  # the asked value (a date, a number, an address) in bold
                rendered += [f"**{escape_markdown(text)}**" if marked else escape_markdown(text)
                             for text, marked in marked_pieces(piece, position, answer.marks)]
            position += len(piece)
        parts.append("".join(rendered) + "  \n")
        offset += len(line) + 1
    if not answer.answered and answer.related:
        parts.append("\n*Vielleicht hilfreich: die Passagen rechts kommen der Frage am nächsten, "
                     "beantworten sie aber nicht sicher.*")
    return "".join(parts).strip()


def marked_pieces(text: str, offset: int, marks: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` (which starts at ``offset`` of the text ``marks`` refer to) cut into pieces, each
    with whether it lies inside one of ``marks``."""
    cuts = sorted({0, len(text), *(min(max(p - offset, 0), len(text)) for span in marks for p in span)})
    return [(text[a:b], any(m0 <= offset + a < m1 for m0, m1 in marks)) for a, b in zip(cuts, cuts[1:]) if a < b]


def citation_link(n: int, title: str) -> str:
    """``[n]`` as a link to source n, titled "Quelle n: <title>" (the page's script makes that its
    accessible name: Gradio's sanitiser keeps ``title`` but drops ``aria-label``). The title is
    written with character references for everything HTML or Markdown would act on, so it stays text."""
    name = "".join(f"&#{ord(ch)};" if ch in ATTRIBUTE_SPECIAL else ch
                   for ch in (f"Quelle {n}: {title}" if title else f"Quelle {n}"))
    return f'<a href="#quelle-{n}" title="{name}">[{n}]</a>'


def source_html(citation: Citation, full_text: str | None = None) -> str:
    """One source: number, title, publisher, date and page, the passage with the quoted sentences
    marked, and the whole document on request."""
    chunk = citation.chunk
    meta = chunk.meta
    details = " · ".join(html.escape(x) for x in (meta.publisher, german_date(meta.date), meta.kind,
                                                    page_label(chunk.page, meta, "Seite")) if x)
    passage, position = [], 0
    for start, end in citation.highlights:
        passage.append(html.escape(chunk.text[position:start]))
        inner = "".join(f"<strong>{html.escape(text)}</strong>" if marked else html.escape(text)
                        for text, marked in marked_pieces(chunk.text[start:end], start, citation.values))
        passage.append(f"<mark>{inner}</mark>")
        position = end
    passage.append(html.escape(chunk.text[position:]))
    document = ""
    if full_text is not None:
        # The document scrolls inside its box: focusable, so that it can be scrolled by keyboard.
        document = (f"<details><summary>Ganzes Dokument anzeigen ({html.escape(chunk.document)})</summary>"
                    f'<pre tabindex="0" role="region" aria-label="Ganzes Dokument zu Quelle {citation.n}">'
                    f"{html.escape(full_text.strip())}</pre></details>")
    return (f'<div class="quelle" id="quelle-{citation.n}" tabindex="-1" role="region" '
            f'aria-labelledby="quelle-{citation.n}-titel"><div class="kopf" id="quelle-{citation.n}-titel">'
            f'[{citation.n}] {html.escape(meta.title or chunk.document)}</div><div class="meta">{details}</div>'
            f'<blockquote>{"".join(passage)}</blockquote>{document}</div>')


def sources_html(answer: Answer | None, kb: KnowledgeBase) -> str:
    if answer is None:
        return '<p class="hinweis">Hier erscheinen die Quellen zur Antwort.</p>'
    citations = answer.citations or answer.related
    if not citations:
        return '<p class="hinweis">Keine Quellen.</p>'
    heading = "" if answer.answered else '<p class="hinweis">Vielleicht hilfreich (beantwortet die Frage nicht sicher):</p>'
    return heading + "".join(source_html(c, kb.document_text(c.chunk.document)) for c in citations)


def documents_html(kb: KnowledgeBase) -> str:
    rows = []
    for doc_id, record in sorted(kb.manifest["documents"].items(),
                                 key=lambda item: item[1]["meta"].get("date") or "", reverse=True):
        meta = record["meta"]
        rows.append(f"<tr><td>{html.escape(meta.get('title') or doc_id)}</td>"
                    f"<td>{html.escape(meta.get('publisher') or '')}</td>"
                    f"<td>{html.escape(german_date(meta.get('date') or '') or '–')}</td></tr>")
    return scrolling_table("Dokumente im Index", '<tr><th scope="col">Dokument</th><th scope="col">Herausgeber</th>'
                           '<th scope="col">Datum</th></tr>' + "".join(rows))


def scrolling_table(name: str, rows: str) -> str:
    """A table that scrolls sideways inside its box on a narrow screen instead of widening the page
    (focusable, so that it can be scrolled by keyboard)."""
    return (f'<div class="tabelle" tabindex="0" role="region" aria-label="{html.escape(name)}">'
            f'<table class="dokumente">{rows}</table></div>')


class FeedbackLog:
    """👍/👎 with question, answer and citations, one JSON object per line."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def record(self, question: str, answer: Answer, liked: bool) -> None:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rating": "up" if liked else "down",
                 "question": question, "answer": answer.text, "answered": answer.answered,
                 "citations": [c.to_dict() for c in answer.citations]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a lone surrogate sent through the API is written as its JSON escape
        with self._lock, self.path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def build_app(assistant: Assistant, settings: Settings, current: Callable[[], Assistant] | None = None,
              reload: Callable[[], Assistant] | None = None, access: AdminAccess | None = None):
    """The Gradio Blocks app. ``current`` returns the assistant to answer with (it may change when
    the index is updated); ``reload`` loads the newest index version now (admin tab); ``access``
    guards the admin tab (default: from the settings)."""
    current = current or (lambda: assistant)
    reload = reload or current
    feedback = FeedbackLog(settings.feedback_file)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{SUBTITLE}")
        if settings.admin_password:
            with gr.Tabs():
                with gr.Tab("Fragen", id="fragen"):
                    chat_tab(assistant, current, feedback)
                with gr.Tab("Verwaltung", id="verwaltung"):
                    admin_tab(settings, current, reload, access or AdminAccess.from_settings(settings))
        else:
            chat_tab(assistant, current, feedback)
    return app


KEPT_TURNS = 20  # follow-ups need only the recent turns


def kept_turn(message: int, shown_messages: int, kept_turns: int) -> int:
    """Which of the kept turns the chat message number ``message`` belongs to (two messages per
    turn; the chat shows every turn, the state keeps only the last ones); -1 if not kept."""
    position = message // 2 - (shown_messages // 2 - kept_turns)
    return position if 0 <= position < kept_turns else -1


def chat_tab(assistant: Assistant, current: Callable[[], Assistant], feedback: FeedbackLog) -> None:
    # The conversation: list of (question, Answer), the last KEPT_TURNS of it, dropped an hour
    # after the last question, so server memory per visitor stays bounded.
    turns = gr.State([], time_to_live=3600)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            chat = gr.Chatbot(label="Gespräch", height=460, render_markdown=True, sanitize_html=True,
                              feedback_options=["Like", "Dislike"], elem_id="chat", buttons=["copy"],
                              placeholder="Stellen Sie eine Frage zu den Bildungsinitiativen im Ruhrgebiet.")
            question = gr.Textbox(label="Ihre Frage", placeholder="z. B. Wer ist für Potenzialförderung zuständig?",
                                  max_lines=4, elem_id="frage", submit_btn="Fragen")
            with gr.Row():
                new_conversation = gr.Button("Neues Gespräch", elem_id="neues-gespraech", size="sm")
            gr.Examples(EXAMPLES, inputs=question, label="Beispielfragen", elem_id="beispiele")
        with gr.Column(scale=2, min_width=300):
            gr.Markdown("### Quellen")
            sources = gr.HTML(sources_html(None, assistant.kb), elem_id="quellen")
            with gr.Accordion("Dokumente im Index", open=False, elem_id="dokumente"):
                documents = gr.HTML(documents_html(assistant.kb))

    def respond(message: str, state: list, messages: list):
        engine = current()  # the whole answer comes from the index version it started with
        asked = [*messages, {"role": "user", "content": escape_markdown(message)}]
        listed = documents_html(engine.kb)
        # Every output gets a value, never gr.skip(): in Gradio 6.31 a skip followed by a value
        # leaves one more component copy in the session's state per question (memory grows
        # with each question; see benchmarks/soak.py).
        answer = None
        for answer in engine.ask_stream(message, [Turn(q, a) for q, a in state]):
            yield ("", state, [*asked, {"role": "assistant", "content": answer_markdown(answer)}],
                   sources_html(answer, engine.kb), listed)
        yield ("", [*state, (message, answer)][-KEPT_TURNS:],
               [*asked, {"role": "assistant", "content": answer_markdown(answer)}],
               sources_html(answer, engine.kb), listed)

    def rate(state: list, messages: list, data: gr.LikeData):
        message = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        position = kept_turn(int(message), len(messages), len(state))
        if 0 <= position < len(state):
            asked, answer = state[position]
            feedback.record(asked, answer, bool(data.liked))

    def reset():
        return [], [], sources_html(None, current().kb)

    outputs = [question, turns, chat, sources, documents]
    question.submit(respond, [question, turns, chat], outputs, api_name="ask")
    chat.like(rate, [turns, chat], None, api_name=False)
    new_conversation.click(reset, None, [turns, chat, sources], api_name=False)
    chat.clear(reset, None, [turns, chat, sources], api_name=False)


def theme() -> gr.themes.Base:
    """Gradio's default theme with system fonts (the default would load its font from Google's
    servers) and colours that keep text at a contrast of at least 4.5:1 (WCAG 2.1 AA): blue
    instead of orange for buttons, tabs and the active source, darker grey for secondary text."""
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue, font=[gr.themes.Font("system-ui"), gr.themes.Font("Segoe UI"), "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
    ).set(
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        block_label_text_color="*neutral_600", block_title_text_color="*neutral_600",
        input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
        color_accent="*primary_700", color_accent_soft="*primary_50",
        button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_dark="#b91c1c",
        button_cancel_background_fill_hover="#991b1b", button_cancel_background_fill_hover_dark="#991b1b",
    )


class RecentSessions(LRUCache):
    """Gradio's per-session message queues, dropping the least recently *used* session. Gradio
    6.31's ``LRUCache`` drops the oldest *created* one (reading does not count as use), so after
    2000 newer visitors the answer in flight of a long conversation failed (benchmarks/soak.py).
    ``forget`` is called with each dropped session, to drop what else is kept for it."""

    def __init__(self, max_size: int, forget: Callable[[str], None] = lambda session: None):
        super().__init__(max_size)
        self.forget = forget

    def popitem(self, last: bool = True):
        session, queue = super().popitem(last)
        self.forget(session)
        return session, queue

    def __getitem__(self, key):
        self.move_to_end(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default


def admin_tab(settings: Settings, current: Callable[[], Assistant], reload: Callable[[], Assistant],
              access: AdminAccess) -> None:
    """Upload, remove, update and feedback for staff. The login is a session expiry time in
    server-side state (a client cannot set it); every action checks and renews it on the server,
    so hiding the panel is not the protection. Wrong passwords are limited per client address."""
    session = gr.State(None)  # expiry time of this tab's admin session; None: not logged in
    with gr.Row():
        password = gr.Textbox(label="Passwort", type="password", elem_id="admin-passwort", scale=3)
        login = gr.Button("Anmelden", elem_id="admin-anmelden", scale=1)
    status = gr.Markdown("", elem_id="admin-status")
    with gr.Column(visible=False) as panel:
        gr.Markdown("### Neue Veröffentlichung hinzufügen")
        upload = gr.File(label="Datei (PDF, DOCX, HTML, TXT, MD)", file_types=[".pdf", ".docx", ".html", ".htm",
                                                                              ".txt", ".md"], elem_id="admin-datei")
        with gr.Row():
            title = gr.Textbox(label="Titel (leer: aus der Datei)", elem_id="admin-titel")
            publisher = gr.Textbox(label="Herausgeber", elem_id="admin-herausgeber")
            date = gr.Textbox(label="Datum (JJJJ-MM-TT)", elem_id="admin-datum")
        add = gr.Button("Zum Korpus hinzufügen", elem_id="admin-hinzufuegen")
        with gr.Row():
            update = gr.Button("Index aktualisieren", variant="primary", elem_id="admin-aktualisieren")
            reload_button = gr.Button("Neu laden", elem_id="admin-neu-laden")
        report = gr.Textbox(label="Bericht", lines=6, interactive=False, elem_id="admin-bericht")
        gr.Markdown("### Dokumente im Index")
        documents = gr.HTML(elem_id="admin-dokumente")
        with gr.Row():
            remove_choice = gr.Dropdown(label="Dokument entfernen", choices=[], elem_id="admin-entfernen-wahl")
            remove = gr.Button("Entfernen", variant="stop", elem_id="admin-entfernen")
        gr.Markdown("### Rückmeldungen")
        feedback_view = gr.HTML(elem_id="admin-rueckmeldungen")

    def overview():
        engine = current()
        corpus = sorted(p.relative_to(settings.corpus_dir).as_posix() for p in corpus_files(settings.corpus_dir))
        return (admin_documents_html(engine.kb), gr.update(choices=corpus, value=None),
                feedback_html(settings.feedback_file))

    def do_login(secret: str, request: gr.Request):
        expiry, message = access.login(secret, client_address(request))
        if expiry is None:
            return None, f"**{message}**", gr.update(visible=False), "", *overview_hidden()
        return expiry, message, gr.update(visible=True), "", *overview()

    def guarded(action):
        def run(expiry: float | None, *args):
            expiry, notice = access.renew(expiry)
            if expiry is None:
                return None, f"**{notice}**", gr.update(visible=False), "", *overview_hidden()
            try:
                message = action(*args)
            except (UploadRejected, LoadError, IndexProblem, OSError) as error:
                message = f"Nicht ausgeführt: {error}"
            return expiry, notice, gr.update(visible=True), message, *overview()
        return run

    def overview_hidden():
        return "", gr.update(choices=[]), ""

    def add_file(file, title_text, publisher_text, date_text):
        if file is None:
            return "Bitte eine Datei wählen."
        path = Path(file if isinstance(file, str) else file.name)
        original = getattr(file, "orig_name", None) or path.name
        document = add_upload(settings.corpus_dir, path, original, title_text, publisher_text, date_text,
                              ocr=settings.ocr)
        return f"{document} hinzugefügt. Mit „Index aktualisieren“ wird es durchsuchbar."

    def run_update():
        engine = current()
        result = load_corpus(settings.corpus_dir, settings.max_file_mb, settings.ocr)
        problems = "".join(f"\nÜbersprungen: {p}" for p in result.problems)
        outcome = update_index(settings, result.documents, engine.embedder)
        reload()
        return (f"{outcome.plan.describe()}\nEingebettet: {outcome.chunks_embedded} Abschnitte; "
                f"{outcome.chunks} Abschnitte im Index; {outcome.seconds:.1f} s; Version {outcome.version}{problems}")

    def remove_file(document):
        if not document:
            return "Bitte ein Dokument wählen."
        remove_document(settings.corpus_dir, document)
        return f"{document} entfernt. Mit „Index aktualisieren“ verschwindet es aus den Antworten."

    def reload_now():
        engine = reload()
        warning = f"\nWarnung: {engine.kb.warning}" if engine.kb.warning else ""
        return f"Aktive Version: {engine.kb.version}{warning}"

    lists = [documents, remove_choice, feedback_view]
    login.click(do_login, [password], [session, status, panel, password, *lists], api_name=False)
    password.submit(do_login, [password], [session, status, panel, password, *lists], api_name=False)
    outputs = [session, status, panel, report, *lists]
    add.click(guarded(add_file), [session, upload, title, publisher, date], outputs, api_name=False)
    update.click(guarded(run_update), [session], outputs, api_name=False, concurrency_limit=1)
    remove.click(guarded(remove_file), [session, remove_choice], outputs, api_name=False)
    reload_button.click(guarded(reload_now), [session], outputs, api_name=False)


def client_address(request: gr.Request | None) -> str:
    """The client's IP address, for the login limit. Behind a reverse proxy on this host it is the
    proxy's X-Forwarded-For address (uvicorn trusts that header from 127.0.0.1 only)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unbekannt"


def admin_documents_html(kb: KnowledgeBase) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(doc_id)}</td><td>{html.escape(r['meta'].get('title') or '')}</td>"
        f"<td>{html.escape(german_date(r['meta'].get('date') or '') or '–')}</td><td>{r['chunks']}</td>"
        f"<td>{html.escape(r.get('added', '')[:16].replace('T', ' '))}</td></tr>"
        for doc_id, r in sorted(kb.manifest["documents"].items()))
    header = "".join(f'<th scope="col">{name}</th>' for name in ("Datei", "Titel", "Datum", "Abschnitte", "Hinzugefügt"))
    return scrolling_table("Dokumente im Index", f"<tr>{header}</tr>{rows}") + f"<p>Version {html.escape(kb.version)}</p>"


def feedback_html(path: Path, last: int = 50) -> str:
    if not path.is_file():
        return "<p>Noch keine Rückmeldungen.</p>"
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[-last:] if line.strip()]
    rows = "".join(f"<tr><td>{'👍 gut' if e.get('rating') == 'up' else '👎 schlecht'}</td>"
                   f"<td>{html.escape(e.get('question', ''))}</td><td>{html.escape(e.get('answer', ''))}</td>"
                   f"<td>{html.escape(e.get('time', ''))}</td></tr>" for e in reversed(entries))
    header = "".join(f'<th scope="col">{name}</th>' for name in ("Bewertung", "Frage", "Antwort", "Zeit"))
    return scrolling_table("Rückmeldungen", f"<tr>{header}</tr>{rows}")
