"""The assistant's errors: one base class, so callers (the command line, the app) catch one thing.

Each message is meant for the person who can act on it: it names the file, index or setting and
what to do.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant reports to its user."""
