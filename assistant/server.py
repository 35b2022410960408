"""The web process: the chat page (Gradio) and the JSON API (``/api``, with the widget) in one server.

Both answer from the same ``LiveAssistant``, so they use the same loaded model and follow index
updates together. The chat is mounted with ``gradio.mount_gradio_app`` into a FastAPI
application that also mounts the API, and uvicorn serves that application; the API has its own
CORS policy (setting ``api_origins``), which Gradio's own (for its endpoints) does not touch.
"""

from __future__ import annotations

import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI
from gradio.utils import LRUCache
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admin import MAX_UPLOAD_BYTES
from .api import create_api
from .indexing import KnowledgeBase
from .session import Assistant, LiveAssistant
from .settings import Settings
from .ui import CSS, JS, RecentSessions, build_app, theme


def serve(settings: Settings, kb: KnowledgeBase, host: str | None = None, port: int | None = None,
          block: bool = True) -> gr.Blocks:
    """Serve the chat and the API and block (``block=False``: return the running chat's Blocks, whose
    ``close()`` stops the server, for tests); the model and index are loaded once, here, and a new
    index version is picked up before the next question after an update."""
    live = LiveAssistant(Assistant(settings, kb))
    blocks = build_app(live.get(), settings, live.get, live.reload)
    blocks.queue(default_concurrency_limit=settings.workers, max_size=settings.queue_size)
    queues = getattr(blocks._queue, "pending_messages_per_session", None)
    events = getattr(blocks._queue, "pending_event_ids_session", None)
    if type(queues) is LRUCache and isinstance(events, dict):
        def forget(session: str) -> None:  # Gradio keeps an empty set per finished session forever
            if not events.get(session):
                events.pop(session, None)
        blocks._queue.pending_messages_per_session = RecentSessions(queues.max_size, forget)
    blocks.state_session_capacity = settings.max_sessions

    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    root.mount("/api", create_api(settings, live.get))
    gr.mount_gradio_app(root, blocks, path="/", theme=theme(), css=CSS, js=JS, footer_links=[], ssr_mode=False,
                        show_error=False, max_file_size=MAX_UPLOAD_BYTES, server_name=host or settings.host,
                        server_port=port or settings.port, i18n=GRADIO_GERMAN)
    server = Server(uvicorn.Config(GermanPage(root), host=host or settings.host, port=port or settings.port,
                                   log_level="warning", timeout_graceful_shutdown=3))
    blocks.server = server  # Blocks.close() stops it
    if block:
        print(f"Ruhr-Bildungsassistent: http://{host or settings.host}:{port or settings.port}/ "
              "(JSON-Schnittstelle unter /api/docs)", flush=True)
        server.run()
    else:
        server.start()
    return blocks


class Server(uvicorn.Server):
    """uvicorn, run in a thread for tests and benchmarks (``start``/``close``) or in the foreground."""

    def start(self, timeout: float = 30) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.config.host}:{self.config.port}")
            time.sleep(0.01)

    def close(self) -> None:
        self.should_exit = True
        self.thread.join(timeout=10)


# Gradio 6.31 writes <html lang="en"> into its page and then switches its own texts and the
# page's lang to the browser's language. The page is German whatever the browser's language: the
# served page says lang="de", and Gradio is told the browser speaks German before its scripts run.
GERMAN_BROWSER = (b"<script>for (const [name, value] of [['language', 'de-DE'], ['languages', ['de-DE', 'de']]])"
                  b" Object.defineProperty(Navigator.prototype, name, {get: () => value, configurable: true});"
                  b"</script>")


# Gradio's texts that its German translation lacks (button names read out by screen readers).
GRADIO_GERMAN = gr.I18n(de={"chatbot.copy_message": "Nachricht kopieren", "chatbot.copied_message": "Nachricht kopiert"})


class GermanPage:
    """Rewrites the chat page (``GET /``) as German (see ``GERMAN_BROWSER``); everything else passes."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        # The page uncompressed, so that it can be edited (it is a few kB).
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        start: Message = {}
        body = b""

        async def edit(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body"):
                return
            headers = MutableHeaders(raw=start.setdefault("headers", []))
            if headers.get("content-type", "").startswith("text/html"):
                body = body.replace(b'lang="en"', b'lang="de"', 1).replace(b"<head>", b"<head>" + GERMAN_BROWSER, 1)
                headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, edit)
