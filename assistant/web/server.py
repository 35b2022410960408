"""The web process: the chat page (Gradio) and the JSON API (``/api``, with the widget) in one server.

Both answer from the same ``LiveAssistant``, so they use the same loaded model and follow index
updates together. The chat is mounted with ``gradio.mount_gradio_app`` into a FastAPI
application that also mounts the API, and uvicorn serves that application; the API has its own
CORS policy (setting ``app.api_origins``), which Gradio's own (for its endpoints) does not touch.
"""

from __future__ import annotations

import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI

from ..index.protocol import Index
from ..library import Library
from ..session import Assistant, LiveAssistant
from .access import AdminAccess
from .admin import MAX_UPLOAD_BYTES
from .api import create_api
from .gradio_fixes import GERMAN_TEXTS, GermanPage, bound_queue
from .ui import CSS, JS, build_app, theme


def serve(library: Library, index: Index, host: str | None = None, port: int | None = None,
          block: bool = True) -> gr.Blocks:
    """Serve the chat and the API over ``index`` (the version ``library`` serves) and block
    (``block=False``: return the running chat's Blocks, whose ``close()`` stops the server, and
    whose ``server.url`` says where it listens; port 0 takes a free one). The model and index are
    loaded once, and a new index version is picked up before the next question after an update."""
    app = library.settings.app
    host, port = host or app.host, app.port if port is None else port
    live = LiveAssistant(Assistant(library.settings, index), library)
    access = AdminAccess.from_settings(library.settings)  # one login throttle for the admin tab and the API
    blocks = build_app(live, access)
    blocks.queue(default_concurrency_limit=app.workers, max_size=app.queue_size)
    bound_queue(blocks, app.max_sessions)

    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    root.mount("/api", create_api(library.settings, live.get, access))
    gr.mount_gradio_app(root, blocks, path="/", theme=theme(), css=CSS, js=JS, footer_links=[], ssr_mode=False,
                        show_error=False, max_file_size=MAX_UPLOAD_BYTES, server_name=host, server_port=port,
                        i18n=GERMAN_TEXTS)
    server = Server(uvicorn.Config(GermanPage(root), host=host, port=port, log_level="warning",
                                   timeout_graceful_shutdown=3))
    blocks.server = server  # Blocks.close() stops it
    if block:
        print(f"Ruhr-Bildungsassistent: http://{host}:{port}/ (JSON-Schnittstelle unter /api/docs)", flush=True)
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

    @property
    def url(self) -> str:
        """Where the started server listens (its real port, also when port 0 was asked for)."""
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self.should_exit = True
        self.thread.join(timeout=10)
