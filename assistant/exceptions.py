"""The assistant's errors: one base class, so callers (the command line, the app) catch one thing.

Each message is meant for the person who can act on it: it names the file, index or setting and
what to do.

    AssistantError
    ├── SettingsError          an unknown setting, or a value of the wrong kind
    ├── LoadError              a file that cannot be turned into a document
    ├── UploadRejected         an upload in the admin tab that is not kept (German, for staff)
    ├── EmbeddingError         the configured embedding model cannot be loaded
    ├── IndexProblem           an index that cannot be used as it is
    │   ├── IndexMissing       no index (version) yet
    │   ├── IndexMismatch      made with other settings, another model or another format
    │   ├── IndexCorrupt       files truncated, altered or missing
    │   ├── IndexBusy          another build or update of the same index is running
    │   ├── DatabaseError      the index's database cannot be reached or refused a statement
    │   └── QualityCheckFailed the new version answers the check questions worse
    ├── AnswerModelError       the answer model file is missing, unreadable or for other features
    ├── LanguageModelError     the optional language model failed or timed out
    └── RecognitionError       text recognition (OCR) failed on a page
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant reports to its user."""


class SettingsError(AssistantError):
    """An unknown setting, or a value that is not of the setting's kind."""


class LoadError(AssistantError):
    """A file that cannot be turned into a document; the message says why."""


class UploadRejected(AssistantError):
    """An upload that is not kept; the message says why, in German."""


class EmbeddingError(AssistantError):
    """The configured embedding model cannot be loaded."""


class IndexProblem(AssistantError):
    """Base for index problems; the message is meant for the person running the command."""


class IndexMissing(IndexProblem):
    """There is no index yet, or no version of the name asked for."""


class IndexMismatch(IndexProblem):
    """The index was made with other settings, another model or in another format."""


class IndexCorrupt(IndexProblem):
    """Files of an index version are truncated, altered or missing."""


class IndexBusy(IndexProblem):
    """Another build or update of the same index is running."""


class DatabaseError(IndexProblem):
    """The database of the index (``index_backend = "postgres"``) cannot be reached, or refused a
    statement; the message names the database, never its password."""


class QualityCheckFailed(IndexProblem):
    """The new version answers the check questions worse than the current one."""


class AnswerModelError(AssistantError):
    """The answer model file is missing, unreadable or made for other features."""


class LanguageModelError(AssistantError):
    """The optional language model failed, answered an error or timed out."""


class RecognitionError(AssistantError):
    """Tesseract failed on a page (not: found no text)."""
