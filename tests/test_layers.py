"""The shape of the code: the layers of docs/architecture.md are the packages of ``assistant/``, and
each imports only from itself and the layers below it (data flows one way: files -> documents ->
chunks -> index -> hits -> answer -> web); the web and the command line reach the index only
through the library, the session and the records; index files are touched by the store alone, the
stores (folders, PostgreSQL) are used by the library alone, and manifests are read through the
Manifest record."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

PACKAGE = PROJECT_DIR / "assistant"
# Lowest first. A layer is a package of assistant/ or modules at its top; a module may import
# modules of its own layer and of the layers below.
LAYERS = {
    "foundation": {"exceptions", "settings", "datatypes"},
    "language": {"language"},
    "documents": {"documents"},
    "index": {"index"},
    "answers": {"answers"},
    "service": {"library", "session", "records", "evaluation"},
    "web": {"web"},
    "command line": {"cli", "__main__", "__init__"},
}
RANK = {part: rank for rank, parts in enumerate(LAYERS.values()) for part in parts}
STORES = {"assistant.index.store", "assistant.index.postgres"}  # where index versions are kept: folders, a database
SOURCES = sorted(PACKAGE.rglob("*.py"))
CODE = SOURCES + sorted((PROJECT_DIR / "benchmarks").glob("*.py"))


def module_name(path: Path) -> str:
    """``assistant.index.store`` for assistant/index/store.py (a package by its ``__init__``)."""
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 2 else parts)


MODULES = {module_name(path) for path in SOURCES}


def layer(module: str) -> str:
    """The layer of ``assistant.<part>[.<module>]``."""
    return next(name for name, parts in LAYERS.items() if module.split(".")[1] in parts)


def imported(path: Path) -> set[str]:
    """The assistant modules ``path`` imports (at the top or inside functions), by full name."""
    package = ".".join(path.relative_to(PROJECT_DIR).parent.parts)  # what "from ." means there
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base == "assistant" or base.startswith("assistant."):
                # "from . import ocr" imports the module ocr; "from .ocr import page_label" the module ocr
                found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                             for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("assistant."))
    return found


def test_every_module_has_a_layer_and_the_top_holds_few():
    assert {module.split(".")[1] for module in MODULES} == set(RANK)
    at_the_top = [path.name for path in PACKAGE.glob("*.py")]
    assert len(at_the_top) <= 10, at_the_top
    packages = {path.parent.name for path in SOURCES if path.parent != PACKAGE}
    assert all((PACKAGE / name / "__init__.py").is_file() for name in packages)
    assert packages == {part for parts in LAYERS.values() for part in parts if (PACKAGE / part).is_dir()}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_a_module_imports_only_from_its_layer_and_below(path):
    here = module_name(path)
    above = {module: layer(module) for module in imported(path) if RANK[module.split(".")[1]] > RANK[here.split(".")[1]]}
    assert above == {}, f"{here} ({layer(here)}) imports from above"


# What the web and the command line may use of the layers below: the service (library, session,
# records, evaluation), the foundation, the documents (the admin tab checks an upload by reading it
# as the loader does) and the Index protocol, the type of what they are served. Never the index
# internals or the answer machinery: those they reach through the library and the session.
OPEN_TO_FRONT_ENDS = {"foundation", "service", "documents"}


@pytest.mark.parametrize("path", [path for path in SOURCES if layer(module_name(path)) in {"web", "command line"}],
                         ids=lambda path: module_name(path))
def test_the_web_and_the_command_line_reach_the_index_only_through_the_library_and_the_session(path):
    here = layer(module_name(path))
    used = {module for module in imported(path) if layer(module) not in OPEN_TO_FRONT_ENDS | {here, "web"}
            and module != "assistant.index.protocol"}
    assert used == set(), f"{module_name(path)} uses index or answer internals"


def test_the_library_needs_nothing_of_answering():
    assert not {layer(module) for module in imported(PACKAGE / "library.py")} & {"answers"}
    assert not imported(PACKAGE / "library.py") & {"assistant.session", "assistant.evaluation"}


def test_only_the_store_touches_index_files_and_only_the_library_uses_it():
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        name = module_name(path)
        if name != "assistant.index.store":  # (the benchmarks keep caches of their own with numpy)
            assert not re.search(r"manifest\.json|\"CURRENT\"|faiss\.(?:write|read)_index|BM25\.load|\.update\.lock",
                                 text), name
            # (the benchmarks keep caches of their own with numpy; the verifier reads its shipped weights)
            assert (path.parent.name == "benchmarks" or name == "assistant.answers.verifier"
                    or not re.search(r"\bnp\.(?:save|load)\(", text)), name
        if name not in STORES | {"assistant.library"}:
            assert not re.search(r"IndexStore|PostgresStore", text), name
            assert not imported(path) & STORES, name


def test_manifests_are_read_through_their_record():
    for path in CODE:
        assert not re.search(r"manifest\s*\[", path.read_text(encoding="utf-8")), path.name


def test_the_command_line_app_and_benchmarks_build_update_and_roll_back_through_the_library():
    for path in CODE:
        if module_name(path) not in STORES | {"assistant.library", "assistant.index.building"}:
            text = path.read_text(encoding="utf-8")
            assert "build_knowledge_base" not in text and ".switch(" not in text, path.name
