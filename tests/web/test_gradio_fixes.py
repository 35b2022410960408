"""The workarounds for Gradio's bugs (assistant/web/gradio_fixes.py): still needed, and working. The
served app's use of them is tested in test_ui.py and, in a browser, test_accessibility.py."""

import re
from pathlib import Path

import gradio
from gradio.utils import LRUCache

from assistant.web.gradio_fixes import GRADIO_VERSION, RecentSessions


def test_the_workarounds_were_written_for_the_installed_gradio():
    # Upgrading Gradio: check each workaround against the new version, then change GRADIO_VERSION.
    assert gradio.__version__.startswith(GRADIO_VERSION + ".")


def test_gradios_session_cache_still_drops_the_oldest_created_session():
    sessions = LRUCache(2)
    sessions["long conversation"] = "its queue"
    sessions["visitor 1"] = "q1"
    assert sessions.get("long conversation") == "its queue"
    sessions["visitor 2"] = "q2"
    assert "long conversation" not in sessions  # read, and dropped all the same: RecentSessions is needed


def test_recent_sessions_drop_the_least_recently_used_and_forget_what_else_is_kept():
    forgotten = []
    recent = RecentSessions(2, forgotten.append)
    recent["long conversation"] = "its queue"
    recent["visitor 1"] = "q1"
    assert recent.get("long conversation") == "its queue"  # the open answer stream reads it
    recent["visitor 2"] = "q2"
    assert list(recent) == ["long conversation", "visitor 2"] and forgotten == ["visitor 1"]
    assert recent.get("visitor 1") is None and recent["visitor 2"] == "q2"


def test_gradio_still_fades_components_that_are_being_written():
    # READABLE_WHILE_PENDING is needed while Gradio's styles fade a pending Markdown or HTML component.
    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    assert any(re.search(r"\.pending\.svelte-\w+\{opacity:\.2\}", path.read_text(encoding="utf-8"))
               for path in assets.glob("*.css"))
