"""The shape of the code: each layer imports only from the layers below it (data flows one way:
files -> documents -> chunks -> index -> hits -> answer -> UI), index files are touched by the
store alone, the stores (folders, PostgreSQL) are used by the library alone, and manifests are
read through the Manifest record. See docs/architecture.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

# Lowest first. A module may import modules of its own layer and of the layers below.
LAYERS = {
    "foundation": {"exceptions", "settings", "text", "datatypes"},
    "documents": {"ocr", "loading", "chunking", "analysis", "vocabulary", "questions"},
    "indexes": {"e5model", "embedding", "lexical", "vectors", "manifest", "index", "knowledge"},
    "index upkeep": {"building", "store", "pgserver", "postgres", "updating", "library"},
    "answering": {"retrieval", "features", "answer_model", "answering", "llm", "session", "records", "evaluation"},
    "app": {"access", "ratelimit", "admin", "feedback", "render", "gradio_fixes", "admin_tab", "ui", "api", "server"},
    "command line": {"cli", "__main__", "__init__"},
}
STORES = {"store", "postgres"}  # where index versions are kept: folders, a database
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
SOURCES = sorted((PROJECT_DIR / "assistant").glob("*.py"))
CODE = SOURCES + sorted((PROJECT_DIR / "benchmarks").glob("*.py"))


def imported(path: Path) -> set[str]:
    """The assistant modules ``path`` imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module else [alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "assistant":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("assistant."))
    return found


def test_every_module_has_a_layer():
    assert {path.stem for path in SOURCES} == set(RANK)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.stem)
def test_a_module_imports_only_from_its_layer_and_below(path):
    above = {module: layer for module in imported(path) for layer, modules in LAYERS.items()
             if module in modules and RANK[module] > RANK[path.stem]}
    assert above == {}, f"{path.stem} ({list(LAYERS)[RANK[path.stem]]}) imports from above"


def test_index_upkeep_needs_nothing_of_answering():
    assert not imported(PROJECT_DIR / "assistant" / "updating.py") & {"answering", "evaluation", "session"}


def test_only_the_store_touches_index_files_and_only_the_library_uses_it():
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        if path.stem != "store":  # (the benchmarks keep caches of their own with numpy)
            assert not re.search(r"manifest\.json|\"CURRENT\"|faiss\.(?:write|read)_index|BM25\.load|\.update\.lock",
                                 text), path.name
            assert path.parent.name == "benchmarks" or not re.search(r"\bnp\.(?:save|load)\(", text), path.name
        if path.stem not in STORES | {"library"}:
            assert not re.search(r"IndexStore|PostgresStore", text), path.name
            assert not imported(path) & STORES, path.name


def test_manifests_are_read_through_their_record():
    for path in CODE:
        assert not re.search(r"manifest\s*\[", path.read_text(encoding="utf-8")), path.name


def test_the_command_line_app_and_benchmarks_build_update_and_roll_back_through_the_library():
    for path in CODE:
        if path.stem not in STORES | {"library", "building"}:
            text = path.read_text(encoding="utf-8")
            assert "build_knowledge_base" not in text and ".switch(" not in text, path.name
