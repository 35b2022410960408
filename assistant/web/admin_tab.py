"""The admin tab: staff add and remove releases, update the index and read the feedback.

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
from .render import admin_documents_html, feedback_html


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

    library = live.library
    settings = library.settings

    def overview():
        corpus = sorted(p.relative_to(settings.corpus_dir).as_posix() for p in corpus_files(settings.corpus_dir))
        return (admin_documents_html(live.get().kb), gr.update(choices=corpus, value=None),
                feedback_html(feedback.recent()))

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
            except (AssistantError, OSError) as error:
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

    def reload_now():
        engine = live.reload()
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
