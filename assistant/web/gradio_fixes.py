"""Workarounds for Gradio 6.31, each for one bug or gap; when Gradio is upgraded, check each again
(tests/web/test_gradio_fixes.py shows which are still needed).

* ``RecentSessions``: Gradio's per-session message queues are an ``LRUCache`` that drops the oldest
  *created* session, not the least recently *used*; after 2000 newer visitors the answer in flight
  of a long conversation failed (benchmarks/soak.py). Gradio also keeps an empty set of event ids
  for every session that ever asked (``pending_event_ids_session``), which is dropped with its queue.
* ``bound_queue``: the queue keeps timing records of its last 10000 events even with analytics off
  (only an environment variable read when the queue is made sets the number), and the number of
  sessions whose state is kept has no setting of its own.
* ``GermanPage`` and ``GERMAN_BROWSER``: Gradio writes ``<html lang="en">`` into its page and then
  switches its own texts and the page's ``lang`` to the browser's language; the page is German
  whatever the browser's language.
* ``GERMAN_TEXTS``: texts that Gradio's German translation lacks (button names read out by
  screen readers).
* ``ACCESSIBLE_NAMES``: English accessible names Gradio gives its elements, and ``aria-label``
  attributes its HTML sanitiser drops, set in the page by script: the chat's conversation (a
  polite live region, role=log, so that new answers are read out) is named "Gespräch", the
  upload field is named by its visible German text, and each citation link by its title
  ("Quelle 1: <Titel>").
* ``READABLE_WHILE_PENDING``: while an event that writes a Markdown or HTML component runs, Gradio
  fades the component to 20 % opacity (``.pending``) and back over 0.15 s; its text is then grey
  on white (the admin tab's documents table: 2.88:1 mid-fade, axe-core's color-contrast; 1.4:1
  faded). The text keeps its colour; Gradio's progress timer still marks the component.

A further rule lives in the chat's handler (``ui.chat_tab``): every output gets a value, never
``gr.skip()``; in Gradio 6.31 a skip followed by a value leaves one more component copy in the
session's state per question.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
from gradio.utils import LRUCache
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRADIO_VERSION = "6.31"  # the version these workarounds were written for
EVENT_RECORDS = 1000  # timing records the queue keeps (Gradio: 10000)


class RecentSessions(LRUCache):
    """Gradio's per-session message queues, dropping the least recently *used* session;
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


def bound_queue(blocks: gr.Blocks, max_sessions: int) -> None:
    """Bound what the queue of ``blocks`` (after ``blocks.queue()``) keeps: message queues of the
    recently used sessions (``RecentSessions``), their event ids, ``EVENT_RECORDS`` timing
    records, and the state of ``max_sessions`` sessions."""
    queue = blocks._queue
    queues = getattr(queue, "pending_messages_per_session", None)
    events = getattr(queue, "pending_event_ids_session", None)
    if type(queues) is LRUCache and isinstance(events, dict):
        def forget(session: str) -> None:  # Gradio keeps an empty set per finished session forever
            if not events.get(session):
                events.pop(session, None)
        queue.pending_messages_per_session = RecentSessions(queues.max_size, forget)
    queue.ANALYTICS_MAX_EVENTS = EVENT_RECORDS
    blocks.state_session_capacity = max_sessions


# Gradio's texts that its German translation lacks (button names read out by screen readers).
GERMAN_TEXTS = gr.I18n(de={"chatbot.copy_message": "Nachricht kopieren", "chatbot.copied_message": "Nachricht kopiert"})

# Tells Gradio's scripts, before they run, that the browser speaks German.
GERMAN_BROWSER = (b"<script>for (const [name, value] of [['language', 'de-DE'], ['languages', ['de-DE', 'de']]])"
                  b" Object.defineProperty(Navigator.prototype, name, {get: () => value, configurable: true});"
                  b"</script>")

# Style for the page's ``css``: a component being written keeps its text readable.
READABLE_WHILE_PENDING = ".gradio-container .pending { opacity: 1 !important; }\n"

# Script run when the page loads (a statement, for the page's ``js`` function).
ACCESSIBLE_NAMES = """
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
"""


class GermanPage:
    """Rewrites the chat page (``GET /``) as German: ``lang="de"`` and ``GERMAN_BROWSER``;
    everything else passes unchanged."""

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
