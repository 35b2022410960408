"""The admin tab: staff add and remove releases, update the index, read the feedback and ask
"Warum?": the trace of how an answer came about (``Assistant.explain``), for a question typed there
or for a 👎 of the feedback list, asked again with the earlier questions of its conversation.

The login is a session expiry time in server-side state (a client cannot set it); every action
checks and renews it on the server (``access.py``), so hiding the panel is not the protection.
Uploads are checked by ``admin.py``; updates go through the ``Library``, as on the command line.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..documents.loading import corpus_files
from ..exceptions import AssistantError
from ..session import LiveAssistant
from .access import AdminAccess
from .admin import add_upload, remove_document
from .feedback import FeedbackLog
from .render import admin_documents_html, explanation_html, feedback_html, message_html


def admin_tab(live: LiveAssistant, access: AdminAccess, feedback: FeedbackLog) -> None:
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
        gr.Markdown("### Warum? Wie eine Antwort zustande kam")
        with gr.Row():
            why_choice = gr.Dropdown(label="Rückmeldung 👎", choices=[], elem_id="admin-warum-wahl", scale=3)
            why_rated = gr.Button("Warum? – Rückmeldung", elem_id="admin-warum-rueckmeldung", scale=1)
        with gr.Row():
            why_question = gr.Textbox(label="Oder eine Frage", elem_id="admin-warum-frage", scale=3)
            why_asked = gr.Button("Warum? – Frage", elem_id="admin-warum", scale=1)
        why_view = gr.HTML(elem_id="admin-warum-ergebnis")

    library = live.library
    settings = library.settings

    def overview():
        corpus = sorted(p.relative_to(settings.corpus_dir).as_posix() for p in corpus_files(settings.corpus_dir))
        disliked = [(f"{e.get('time', '')[:16].replace('T', ' ')} – {e.get('question', '')[:80]}", e["key"])
                    for e in feedback.disliked()]
        return (admin_documents_html(live.get().kb), gr.update(choices=corpus, value=None),
                feedback_html(feedback.recent()), gr.update(choices=disliked, value=None))

    def do_login(secret: str, request: gr.Request):
        expiry, message = access.login(secret, client_address(request))
        if expiry is None:
            return None, f"**{message}**", gr.update(visible=False), "", *overview_hidden()
        return expiry, message, gr.update(visible=True), "", *overview()

    def guarded(action, lists: bool = True):
        """``action`` run only in an open session (renewed); its message, and the lists refreshed
        unless ``lists`` is false."""
        def run(expiry: float | None, *args):
            expiry, notice = access.renew(expiry)
            if expiry is None:
                return None, f"**{notice}**", gr.update(visible=False), "", *(overview_hidden() if lists else ())
            try:
                message = action(*args)
            except (AssistantError, OSError) as error:
                message = f"Nicht ausgeführt: {error}" if lists else message_html(f"Nicht erklärt: {error}")
            return expiry, notice, gr.update(visible=True), message, *(overview() if lists else ())
        return run

    def overview_hidden():
        return "", gr.update(choices=[]), "", gr.update(choices=[])

    def add_file(file, title_text, publisher_text, date_text):
        if file is None:
            return "Bitte eine Datei wählen."
        path = Path(file if isinstance(file, str) else file.name)
        original = getattr(file, "orig_name", None) or path.name
        document = add_upload(settings.corpus_dir, path, original, title_text, publisher_text, date_text,
                              ocr=settings.ocr)
        return f"{document} hinzugefügt. Mit „Index aktualisieren“ wird es durchsuchbar."

    def run_update():
        result = library.corpus()
        problems = "".join(f"\nÜbersprungen: {p}" for p in result.problems)
        outcome = library.update(live.get().embedder, result.documents)
        live.reload()
        return (f"{outcome.plan.describe()}\nEingebettet: {outcome.chunks_embedded} Abschnitte; "
                f"{outcome.chunks} Abschnitte im Index; {outcome.seconds:.1f} s; Version {outcome.version}{problems}")

    def remove_file(document):
        if not document:
            return "Bitte ein Dokument wählen."
        remove_document(settings.corpus_dir, document)
        return f"{document} entfernt. Mit „Index aktualisieren“ verschwindet es aus den Antworten."

    def explain_question(question: str) -> str:
        if not (question or "").strip():
            return message_html("Bitte eine Frage eingeben.")
        _, explanation = live.get().explain(question)
        return explanation_html(explanation.to_dict())

    def explain_rated(key: str | None) -> str:
        entry = next((e for e in feedback.disliked() if e["key"] == key), None) if key else None
        if entry is None:
            return message_html("Bitte eine Rückmeldung 👎 wählen.")
        _, explanation = live.get().explain(entry.get("question", ""), entry.get("history") or [])
        return explanation_html(explanation.to_dict(), rated=entry)

    def reload_now():
        engine = live.reload()
        warning = f"\nWarnung: {engine.kb.warning}" if engine.kb.warning else ""
        return f"Aktive Version: {engine.kb.version}{warning}"

    lists = [documents, remove_choice, feedback_view, why_choice]
    login.click(do_login, [password], [session, status, panel, password, *lists], api_name=False)
    password.submit(do_login, [password], [session, status, panel, password, *lists], api_name=False)
    outputs = [session, status, panel, report, *lists]
    add.click(guarded(add_file), [session, upload, title, publisher, date], outputs, api_name=False)
    update.click(guarded(run_update), [session], outputs, api_name=False, concurrency_limit=1)
    remove.click(guarded(remove_file), [session, remove_choice], outputs, api_name=False)
    reload_button.click(guarded(reload_now), [session], outputs, api_name=False)
    explained = [session, status, panel, why_view]
    why_asked.click(guarded(explain_question, lists=False), [session, why_question], explained, api_name=False)
    why_question.submit(guarded(explain_question, lists=False), [session, why_question], explained, api_name=False)
    why_rated.click(guarded(explain_rated, lists=False), [session, why_choice], explained, api_name=False)


def client_address(request: gr.Request | None) -> str:
    """The client's IP address, for the login limit. Behind a reverse proxy on this host it is the
    proxy's X-Forwarded-For address (uvicorn trusts that header from 127.0.0.1 only)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unbekannt"
