"""The JSON API beside the chat: what an initiative's website (or the widget) asks the assistant.

``create_api`` returns a FastAPI application that ``assistant/web/server.py`` mounts at ``/api`` in
the same process as the chat page, answering from the same index version (it follows updates as
the chat does). Its answers are the objects ``ask --json`` and ``search --json`` write, made by
the same functions (``records.py``). Browsers may call it only from
the websites listed in the setting ``app.api_origins`` (CORS); every client address is limited to
``app.api_requests_per_minute``; request bodies over ``app.api_max_body_kb`` and questions over 500
characters are refused. Every error is a JSON object ``{"error", "message"}`` with a German
message. ``/explain`` is for staff: the answer of ``/ask`` with its trace (``ask --explain --json``),
only with the admin password or the staff token (setting ``admin.staff_token``) as a bearer
credential, checked by the admin tab's ``AdminAccess`` (constant time, wrong ones counted as wrong
passwords); the trace holds no setting that is a secret. The OpenAPI description is at
``/api/openapi.json``, readable at ``/api/docs`` (served from the ``fastapi-offline`` package, so
the page loads nothing from other hosts).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..datatypes import Answer
from ..records import answer_record, explain_record, search_record
from ..session import MAX_QUESTION_CHARS, Assistant, Turn
from ..settings import Settings
from .access import AdminAccess
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_HISTORY_TURNS = 20  # as many as the chat keeps
MAX_ANSWER_CHARS = 4000
MAX_DOCUMENT_FILTER = 50
LIMITED_PATHS = {"/ask", "/explain", "/search", "/documents", "/health"}  # the JSON endpoints; not docs or widget


# -- request and response records (they also make the OpenAPI schema) -----------------------------

class EarlierTurn(BaseModel):
    """An earlier turn of the conversation: the question and the answer text the API gave."""

    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=MAX_ANSWER_CHARS)


class AskRequest(BaseModel):
    id: str | int | None = Field(None, description="returned as it is, to match answers to questions")
    question: str = Field(max_length=MAX_QUESTION_CHARS, examples=["Wer ist für Potenzialförderung zuständig?"])
    history: list[str | EarlierTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="earlier turns, oldest first: questions, or {question, answer} so that a follow-up "
                    "such as „Und wie lautet ihre E-Mail-Adresse?“ knows whom it means")


class CitationRecord(BaseModel):
    n: int
    document: str
    title: str
    date: str
    page: int | None
    ocr: bool = Field(description="the page was read from a scan by text recognition (Texterkennung)")
    text: str = Field(description="the cited passage as in the document (plain text; escape it before showing)")
    highlights: list[list[int]] = Field(description="[start, end] of what the answer quotes from text")
    values: list[list[int]] = Field(description="[start, end] of the asked date, number or contact in text")


class AskAnswer(BaseModel):
    id: str | int | None
    answer: str = Field(description="the answer, with citation numbers such as [1]; plain text")
    answered: bool = Field(description="false: the documents do not answer the question")
    marks: list[list[int]] = Field(description="[start, end] of the asked date, number or contact in answer")
    citations: list[CitationRecord]


class ExplainAnswer(AskAnswer):
    explanation: dict[str, Any] = Field(description=(
        "why: the question as understood, the passages with their BM25, vector and fused scores, the "
        "question's words no document holds, the candidate units with their probabilities and the features "
        "that moved them, the threshold, the rules that fired, a verdict per stage, and decision and cause "
        "(\"Retrieval\", \"Antwortmodell\", \"Regel – …\"); \"sections\" holds the same as German lines"))


class SearchRequest(BaseModel):
    id: str | int | None = None
    question: str = Field(max_length=MAX_QUESTION_CHARS)
    k: int = Field(5, ge=1, le=20, description="how many documents")
    documents: list[str] | None = Field(None, max_length=MAX_DOCUMENT_FILTER, description="search only these")


class SearchHit(BaseModel):
    document: str
    chunk: str
    score: float
    text: str
    page: int | None


class SearchAnswer(BaseModel):
    id: str | int | None
    hits: list[SearchHit]


class DocumentRecord(BaseModel):
    id: str
    title: str
    publisher: str
    date: str
    kind: str
    chunks: int


class DocumentList(BaseModel):
    version: str
    documents: list[DocumentRecord]


class Health(BaseModel):
    status: str
    version: str = Field(description="the index version answering")
    documents: int
    chunks: int
    model: str = Field(description="the embedding model")
    warning: str | None = Field(description="set when an older index version answers because the current one is damaged")


class Problem(BaseModel):
    error: str = Field(description="a code for programs")
    message: str = Field(description="what went wrong, in German, for people")


ERRORS = {status: {"model": Problem} for status in (400, 413, 422, 429)}


# -- the application ---------------------------------------------------------------------------------

def create_api(settings: Settings, current: Callable[[], Assistant], access: AdminAccess | None = None) -> FastAPI:
    """The API application; ``current`` returns the assistant of the index version now serving;
    ``access`` checks staff's credentials (default: from the settings; the server shares the admin
    tab's, so that wrong passwords count together)."""
    api = FastAPIOffline(title="Ruhr-Bildungsassistent API", version="1", docs_url="/docs", redoc_url=None,
                         static_url="/docs-static", openapi_url="/openapi.json",
                         description="Fragen an die Dokumente der Bildungsinitiativen im Ruhrgebiet, mit "
                                     "Quellen. Fehler kommen als JSON mit deutscher Meldung.")

    # Questions answered at the same time (setting app.workers, as for the chat; measured by
    # benchmarks/concurrency.py): more wait here rather than all share the two cores.
    app = settings.app
    answering = threading.BoundedSemaphore(max(1, app.workers))
    access = access or AdminAccess.from_settings(settings)
    bearer = HTTPBearer(auto_error=False, description="the admin password or the staff token (admin.staff_token)")

    @api.post("/ask", response_model=AskAnswer, responses=ERRORS, summary="Eine Frage beantworten")
    def ask(request: AskRequest) -> JSONResponse:
        """The answer with its numbered sources, as ``python -m assistant ask --json`` gives it."""
        with answering:
            answer = current().ask(request.question, [earlier_turn(turn) for turn in request.history])
        return JSONResponse(answer_record(request.id, answer))

    @api.post("/explain", response_model=ExplainAnswer, responses={**ERRORS, 401: {"model": Problem}},
              summary="Eine Frage beantworten und erklären, warum (für die Redaktion)")
    def explain(request: AskRequest, raw: Request,
                credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> JSONResponse:
        """The answer of ``/ask`` and its trace, as ``python -m assistant ask --explain --json`` gives
        them: which stage decided (retrieval, the answer model, a rule) and why. Only with the admin
        password or the staff token as ``Authorization: Bearer …``."""
        client = raw.client.host if raw.client else "unbekannt"
        status, message = access.authorize(credentials.credentials if credentials else None, client)
        if status == 429:
            seconds = str(max(1, math.ceil(access.throttle.wait(client))))
            return problem(429, "too_many_requests", message, {"Retry-After": seconds})
        if status:
            return problem(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
        with answering:
            answer, explanation = current().explain(request.question, [earlier_turn(t) for t in request.history])
        return JSONResponse(explain_record(request.id, answer, explanation))

    @api.post("/search", response_model=SearchAnswer, responses=ERRORS, summary="Passagen suchen")
    def search(request: SearchRequest) -> JSONResponse:
        """The best passage of each of the ``k`` best documents, as ``search --json`` gives them."""
        with answering:
            hits = current().search(request.question, request.k, request.documents)
        return JSONResponse(search_record(request.id, hits))

    @api.get("/documents", response_model=DocumentList, responses=ERRORS, summary="Dokumente im Index")
    def documents() -> dict[str, Any]:
        kb = current().kb
        listed = [{"id": doc_id, "title": record.meta.title, "publisher": record.meta.publisher,
                   "date": record.meta.date, "kind": record.meta.kind, "chunks": record.chunks}
                  for doc_id, record in sorted(kb.manifest.documents.items())]
        return {"version": kb.version, "documents": listed}

    @api.get("/health", response_model=Health, responses=ERRORS, summary="Zustand")
    def health() -> dict[str, Any]:
        engine = current()
        counts = engine.kb.manifest.counts
        return {"status": "ok", "version": engine.kb.version, "documents": counts.documents,
                "chunks": counts.chunks, "model": engine.embedder.model_id, "warning": engine.kb.warning or None}

    @api.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        script = resources.files("assistant.web").joinpath("static/widget.js").read_bytes()
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    api.add_exception_handler(RequestValidationError, invalid_request)
    api.add_exception_handler(HTTPException, http_problem)
    api.add_exception_handler(Exception, internal_problem)
    api.add_middleware(BodyLimit, limit=app.api_max_body_kb * 1024)
    if app.api_requests_per_minute > 0:
        per_minute = app.api_requests_per_minute
        api.add_middleware(RateLimit, limiter=RateLimiter(per_minute, burst=max(5, per_minute // 4)))
    # Outermost, so that refusals (429, 413) reach a listed website's page too, readable.
    api.add_middleware(CORSMiddleware, allow_origins=list(app.api_origins), allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type", "Authorization"], max_age=600)
    return api


def earlier_turn(turn: str | EarlierTurn) -> Turn:
    """A turn of the request's history as the assistant takes it. The answer text a client sends
    back is only searched for the names a follow-up may refer to; it is never shown or trusted."""
    if isinstance(turn, str):
        return Turn(turn)
    return Turn(turn.question, Answer(turn.answer, True) if turn.answer.strip() else None)


# -- errors as JSON with German messages ---------------------------------------------------------------

def problem(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


FIELD_NAMES = {"question": "„question“ (die Frage)", "history": "„history“ (der Gesprächsverlauf)",
               "k": "„k“ (Anzahl der Dokumente)", "documents": "„documents“", "id": "„id“"}


TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "list_type", "model_type", "model_attributes_type", "dict_type"}


async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    # For a history entry (text or object) pydantic reports one error per form; a wrong type of
    # one form says less than what is wrong with the other.
    errors = sorted(error.errors(), key=lambda e: e.get("type") in TYPE_ERRORS)
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    if kind == "json_invalid":
        return problem(400, "invalid_json", "Die Anfrage ist kein gültiges JSON.")
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    name = FIELD_NAMES.get(location[0], f"„{location[0]}“") if location else "Die Anfrage"
    where = f"{name} (Eintrag {int(location[1]) + 1})" if len(location) > 1 and location[1].isdigit() else name
    context = first.get("ctx") or {}
    if kind == "missing":
        message = f"{where} fehlt." if location else "Die Anfrage braucht einen JSON-Körper."
    elif kind == "string_too_long" and location and location[0] == "question":
        message = f"Die Frage ist zu lang: höchstens {MAX_QUESTION_CHARS} Zeichen."
    elif kind == "string_too_long":
        message = f"{where} ist zu lang: höchstens {context.get('max_length')} Zeichen."
    elif kind == "too_long":
        message = f"{where} hat zu viele Einträge: höchstens {context.get('max_length')}."
    elif kind in TYPE_ERRORS:
        message = f"{where} hat den falschen Typ."
    elif kind in {"greater_than_equal", "less_than_equal"}:
        message = f"{where} muss zwischen 1 und 20 liegen."
    else:
        message = f"{where} ist ungültig."
    return problem(422, "invalid_request", message)


STATUS_MESSAGES = {404: ("not_found", "Diese Adresse gibt es in der Schnittstelle nicht."),
                   405: ("method_not_allowed", "Diese Methode ist hier nicht erlaubt."),
                   413: ("too_large", "Die Anfrage ist zu groß.")}


async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
    error_code, message = STATUS_MESSAGES.get(error.status_code, ("error", "Die Anfrage ist fehlgeschlagen."))
    return problem(error.status_code, error_code, message, headers=getattr(error, "headers", None))


async def internal_problem(request: Request, error: Exception) -> JSONResponse:
    log.exception("API request %s failed", request.url.path)
    return problem(500, "internal_error", "Interner Fehler. Bitte später erneut versuchen.")


# -- limits, before a request reaches the endpoints ------------------------------------------------------

def route_path(scope: Scope) -> str:
    """The path inside the API (``/ask``), wherever the API is mounted."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


async def send_problem(scope: Scope, receive: Receive, send: Send, status: int, error: str, message: str,
                       headers: dict[str, str] | None = None) -> None:
    await problem(status, error, message, headers)(scope, receive, send)


class RateLimit:
    """Refuses a client address's requests beyond the limiter's rate with 429 and Retry-After. The
    address is the connection's, or the X-Forwarded-For address of a reverse proxy on this host
    (uvicorn trusts that header from 127.0.0.1 only, setting FORWARDED_ALLOW_IPS)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter):
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS" and route_path(scope) in LIMITED_PATHS:
            client = (scope.get("client") or ("unbekannt", 0))[0]
            wait = self.limiter.take(client)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                await send_problem(scope, receive, send, 429, "too_many_requests",
                                   f"Zu viele Anfragen von dieser Adresse. Bitte in {seconds} Sekunden erneut versuchen.",
                                   {"Retry-After": str(seconds)})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, by the declared length or, for a body
    sent in pieces, once more than that has arrived; the body is then passed on as one piece."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        message = f"Die Anfrage ist zu groß: höchstens {self.limit // 1024} KB."
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await send_problem(scope, receive, send, 413, "too_large", message)
            return
        body, more = b"", True
        while more:
            piece = await receive()
            if piece["type"] == "http.disconnect":
                return
            body += piece.get("body", b"")
            more = piece.get("more_body", False)
            if len(body) > self.limit:
                await send_problem(scope, receive, send, 413, "too_large", message)
                return
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
