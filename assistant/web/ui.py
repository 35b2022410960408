"""The chat page (Gradio): questions, answers with clickable citation numbers, a sources panel,
feedback; with an admin password set, the admin tab beside it (``admin_tab.py``).

What is shown is made by ``render.py`` (escaped: nothing from a document or a question runs or
loads anything); Gradio's bugs are worked around in ``gradio_fixes.py``. The page loads nothing
from other hosts (system fonts, analytics off).
"""

from __future__ import annotations

import gradio as gr

from ..session import LiveAssistant, Turn
from .access import AdminAccess
from .admin_tab import admin_tab
from .feedback import FeedbackLog
from .gradio_fixes import ACCESSIBLE_NAMES, READABLE_WHILE_PENDING
from .render import answer_markdown, documents_html, escape_markdown, sources_html

TITLE = "Ruhr-Bildungsassistent"
SUBTITLE = ("Fragen an die Dokumente von TalentMetropole Ruhr, RuhrFutur, ZukunftsBildung Ruhr und der "
            "Städtekooperation Integration.Interkommunal – mit Quellenangaben zum Nachlesen.")
EXAMPLES = [
    "Wer ist für Potenzialförderung zuständig?",
    "Welche Städte sind RuhrFutur im April 2023 beigetreten?",
    "Wann wurde die Bildungsinitiative RuhrFutur gegründet?",
    "Wie erreiche ich Benjamin Fricke?",
]

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
.warum { overflow-wrap: anywhere; }
.warum details { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.3em 0.8em;
  margin: 0.5em 0; }
.warum summary { font-weight: 600; cursor: pointer; }
.warum ul { margin: 0.3em 0 0.3em 1.2em; padding: 0; }
""" + READABLE_WHILE_PENDING

# Citation numbers in answers are links to "#quelle-N": by mouse or keyboard (Enter), they scroll to
# that source in the panel, mark it and move the focus there, so keyboard and screen-reader users
# go on reading the source.
CITATION_LINKS = """
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
"""
JS = "() => {" + CITATION_LINKS + ACCESSIBLE_NAMES + "}"


def build_app(live: LiveAssistant, access: AdminAccess | None = None) -> gr.Blocks:
    """The Gradio Blocks app. ``live`` gives the assistant of the index version being served (it
    changes when the index is updated); ``access`` guards the admin tab (default: from the
    settings), which is shown only when an admin password is set."""
    settings = live.library.settings
    feedback = FeedbackLog(settings.app.feedback_file)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{SUBTITLE}")
        if settings.admin.password:
            with gr.Tabs():
                with gr.Tab("Fragen", id="fragen"):
                    chat_tab(live, feedback)
                with gr.Tab("Verwaltung", id="verwaltung"):
                    admin_tab(live, access or AdminAccess.from_settings(settings), feedback)
        else:
            chat_tab(live, feedback)
    return app


KEPT_TURNS = 20  # follow-ups need only the recent turns


def kept_turn(message: int, shown_messages: int, kept_turns: int) -> int:
    """Which of the kept turns the chat message number ``message`` belongs to (two messages per
    turn; the chat shows every turn, the state keeps only the last ones); -1 if not kept."""
    position = message // 2 - (shown_messages // 2 - kept_turns)
    return position if 0 <= position < kept_turns else -1


def chat_tab(live: LiveAssistant, feedback: FeedbackLog) -> None:
    """Questions, the conversation with its answers, the sources panel and the documents list."""
    assistant = live.get()
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
        engine = live.get()  # the whole answer comes from the index version it started with
        asked = [*messages, {"role": "user", "content": escape_markdown(message)}]
        listed = documents_html(engine.kb)
        # Every output gets a value, never gr.skip() (a Gradio 6.31 bug; see gradio_fixes.py).
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
            feedback.record(asked, answer, bool(data.liked), [earlier for earlier, _ in state[:position]])

    def reset():
        return [], [], sources_html(None, live.get().kb)

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
