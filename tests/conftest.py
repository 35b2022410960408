"""Shared fixtures: the real bundled model, and an index of the seed corpus built once per run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import indexing
from assistant.embedding import load_embedder
from assistant.loading import load_corpus
from assistant.settings import PROJECT_DIR, Settings

SEED_CORPUS = PROJECT_DIR / "corpus"
BENCHMARKS = PROJECT_DIR.parent / "shared" / "benchmarks"


@pytest.fixture(scope="session")
def embedder():
    return load_embedder()


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory) -> Settings:
    return Settings().replace(corpus_dir=SEED_CORPUS, index_dir=tmp_path_factory.mktemp("seed-index"))


@pytest.fixture(scope="session")
def seed_kb(seed_settings, embedder) -> indexing.KnowledgeBase:
    """The seed corpus, indexed and saved once for the whole test run."""
    kb = indexing.build_knowledge_base(load_corpus(SEED_CORPUS).documents, embedder, seed_settings)
    indexing.save(kb, seed_settings.index_dir)
    return kb


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A copy of two seed documents (with metadata), for tests that build indexes."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("ruhrfutur-pressemitteilung-fuenf-weitere-staedte-2023.txt", "ruhrfutur-kreis-unna-tritt-bei.txt"):
        shutil.copy(SEED_CORPUS / name, folder / name)
        shutil.copy(SEED_CORPUS / f"{name}.meta.json", folder / f"{name}.meta.json")
    return folder


def run_cli(*args: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m assistant ARGS`` in a real subprocess."""
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=PROJECT_DIR)


def fill_with_copies(folder: Path, count: int) -> None:
    """``count`` documents of real text, enough that embedding them takes several seconds."""
    text = (SEED_CORPUS / "talentmetropole-ruhr-team-und-ansprechpartner.txt").read_text(encoding="utf-8")
    for i in range(count):
        (folder / f"zusatz-{i}.txt").write_text(f"Zusatzdokument {i}.\n{text}", encoding="utf-8")


def kill_midway(*args: str, after: float = 4.0) -> None:
    """Start ``python -m assistant ARGS`` and SIGKILL it after ``after`` seconds, mid-work."""
    process = subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=PROJECT_DIR,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    assert process.poll() is None, f"{args[0]} finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
