"""The assistant as one object, and conversations with follow-up questions.

``Assistant`` loads the model and the index once and answers questions; ``ChatSession`` keeps a
conversation's turns so that "Und wie lautet ihre E-Mail-Adresse?" is searched together with
the subject of the turns before it (the earlier question and the names in the earlier answer),
without a language model.

The command line and the API usually send the history as earlier *questions* only. Those turns
are answered first, as the chat answered them (``Assistant.answered_turns``, with the answers of
recent conversations kept), so a follow-up knows whom "ihre" means there too. Every question, and
every earlier one, is read with the documents' spelling first (``language/spelling.py``:
"oberbuergermeisterin", "der ob von bochum").
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from .answers.answer_model import Decision
from .answers.answering import compose_answer
from .answers.explanation import Explanation, TraceRecorder, UnderstoodQuestion, explanation
from .answers.features import FEATURES, entity_words
from .answers.llm import LanguageModel
from .answers.retrieval import Retriever, best_passages
from .answers.verifier import Verifier, load_verifier
from .datatypes import Answer, Hit
from .exceptions import IndexProblem
from .index.embedding import Embedder, embedder_for
from .index.protocol import Index
from .language.analysis import STOPWORDS
from .language.questions import PERSON, Question, classify
from .language.spelling import Spelling
from .language.text import words
from .library import Library
from .settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
EARLIER_TURNS_KEPT = 512  # answers to earlier questions sent without their answer (CLI, API)
EMPTY_QUESTION = "Bitte stellen Sie eine Frage, zum Beispiel: „Wer ist für Potenzialförderung zuständig?“"
TOO_LONG = (f"Ihre Frage ist sehr lang; berücksichtigt wurden die ersten {MAX_QUESTION_CHARS} Zeichen. ")

# A question that leans on an earlier one: it starts with "Und ..." or refers back with a pronoun.
FOLLOW_UP = re.compile(
    r"^\s*(und|aber|also|außerdem|auch|and|what about|how about)\b"
    r"|\b(ihr|ihre|ihren|ihrem|ihrer|ihres|sein|seine|seinen|seinem|seiner|seines|er|sie|ihm|ihn|ihnen|dessen|"
    r"deren|dort|dorthin|dafür|dazu|davon|darüber|diese|dieser|dieses|diesem|diesen|jene|jener|denen|"
    r"his|her|hers|their|its|they|them|there|he|she)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer | None = None


def clean_question(text: str) -> tuple[str, str]:
    """The question without control characters and capped in length, and a notice if it was cut."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text or "")
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], TOO_LONG
    return text, ""


def is_follow_up(question: str) -> bool:
    """Leans on the turn before: starts with "Und ...", refers back with a pronoun, or has at most one
    word of content; and names no subject of its own ("Und wer leitet RuhrFutur?" starts anew)."""
    content = [w for w in words(question) if len(w) >= 4 and w not in STOPWORDS]
    leans = bool(FOLLOW_UP.search(question)) or len(content) <= 1
    return leans and not names_subject(question)


def names_subject(question: str) -> bool:
    """Whether the question names a person, an organisation or a number of its own."""
    return bool(PERSON.search(question)) or bool(entity_words(question))


def contextual_query(question: str, history: Sequence[Turn]) -> str:
    """The text to search for: the question, followed by the subject of the turn before when it is
    a follow-up. The subject is the person the previous answer named when that turn asked who (so
    "ihre E-Mail-Adresse" is hers), with the organisation that turn named ("Und wer kümmert sich
    dort um ...?" after "Wer ist Geschäftsführer der RuhrFutur?"); else what that turn asked about."""
    if not history or not is_follow_up(question):
        return question
    return f"{question} {subject_of(history[-1], history[:-1])}"


def subject_of(turn: Turn, earlier: Sequence[Turn]) -> str:
    asked = contextual_query(turn.question, earlier)
    answer = turn.answer
    if answer is not None and answer.answered and classify(asked).kind == "person":
        person = PERSON.search(re.sub(r"\[\d+\]", "", answer.text))
        if person:
            named = [word for word in entity_words(turn.question) if word not in person.group()]
            return " ".join([person.group(), *sorted(named, key=turn.question.find)])
    return asked


class Assistant:
    """Retrieval and answering over one index, loaded once and shared by all sessions."""

    def __init__(self, settings: Settings, kb: Index, embedder: Embedder | None = None,
                 decision: Decision | None = None, verifier: Verifier | None = None):
        """``decision`` and ``verifier`` default to the bundled ones (the verifier only with the
        setting ``answering.verifier`` and a decision that has a verified stage)."""
        self.settings = settings
        self.kb = kb
        self.embedder = embedder or embedder_for(settings)
        self.retriever = Retriever(kb, self.embedder, settings)
        self.decision = decision or Decision.load(features=FEATURES)
        if verifier is None and settings.answering.verifier and self.decision.verified is not None:
            verifier = load_verifier(settings.embedding.precision)
        self.verifier = verifier if settings.answering.verifier else None
        self.language_model = LanguageModel.from_settings(settings)
        self.spelling = Spelling.from_texts(chunk.text for chunk in kb.chunks)
        self._answer_earlier = lru_cache(maxsize=EARLIER_TURNS_KEPT)(self._answer_of)

    def ask(self, question: str, history: Sequence[Turn | str] = ()) -> Answer:
        """Answer ``question``; ``history`` holds the earlier turns (or questions) of the conversation."""
        answer = Answer(EMPTY_QUESTION, False)
        for answer in self.ask_stream(question, history):
            pass
        return answer

    def search(self, question: str, k: int, documents: Sequence[str] | None = None) -> list[Hit]:
        """The ``k`` best documents for ``question`` (of ``documents``, if given), each at its best
        passage: what ``search --json`` and the API's /search give."""
        return best_passages(self.retriever, question, k, documents)

    def ask_stream(self, question: str, history: Sequence[Turn | str] = ()) -> Iterator[Answer]:
        """The answer, growing while a language model (if configured) writes it; else one answer."""
        return self._answers(question, history)

    def explain(self, question: str, history: Sequence[Turn | str] = ()) -> tuple[Answer, Explanation]:
        """The answer ``ask`` gives, and why: the same retrieval and answer decision, with what
        they computed recorded (``answers/explanation.py``), for staff."""
        trace = TraceRecorder()
        answer = Answer(EMPTY_QUESTION, False)
        for answer in self._answers(question, history, trace):
            pass
        text, notice = clean_question(question)
        spelled = self.spelling.normalise(text)
        asked = trace.question or classify(spelled)
        searched = asked.text if trace.question is not None else spelled
        follow_up = searched[len(spelled):].strip() if searched != spelled and searched.startswith(spelled) else ""
        understood = UnderstoodQuestion(question, text, spelled, searched, asked.kind, asked.language, asked.attribute,
                                        asked.wants_list, follow_up, tuple(self.spelling.changes(text)), bool(notice))
        settings = self.settings
        shaping = {"passages": settings.answering.passages, "fusion": settings.retrieval.fusion,
                   "fusion_alpha": settings.retrieval.fusion_alpha, "verifier": self.verifier is not None,
                   "language_model": self.language_model is not None, "index_version": self.kb.version}
        return answer, explanation(understood, trace, answer, self.kb, shaping)

    def _answers(self, question: str, history: Sequence[Turn | str],
                 trace: TraceRecorder | None = None) -> Iterator[Answer]:
        text, notice = clean_question(question)
        if not any(ch.isalnum() for ch in text):
            yield Answer(EMPTY_QUESTION, False)
            return
        asked, query_vector, hits = self.retrieve(text, history)
        answer = compose_answer(asked, hits, self.kb, query_vector, self.decision, self.verifier,
                                self.settings.answering, trace)
        answers = iter([answer])
        if self.language_model is not None and answer.answered:
            answers = self.language_model.answer(asked.text, hits, answer)
        for answer in answers:
            yield replace(answer, notice=" ".join(x for x in (notice, answer.notice) if x))

    def retrieve(self, text: str, history: Sequence[Turn | str] = ()) -> tuple[Question, np.ndarray, list[Hit]]:
        """The question as understood in its conversation (search text, kind, language), its
        vector, and the passages found for it."""
        text = self.spelling.normalise(text)
        query = contextual_query(text, self.answered_turns(history))
        asked, searched = classify(text), classify(query)
        kind = asked.kind if asked.kind != "other" else searched.kind
        query_vector = self.embedder.embed_queries([query])[0]
        hits = self.retriever.search(query, k=self.settings.answering.passages, query_vector=query_vector,
                                     question=searched)
        return replace(asked, text=query, kind=kind), query_vector, hits


    def answered_turns(self, history: Sequence[Turn | str]) -> list[Turn]:
        """The earlier turns, cleaned and spelt like a question, each with its answer: a turn that
        came as a question only is answered here as it was in its conversation."""
        done: list[Turn] = []
        for turn in history:
            turn = turn if isinstance(turn, Turn) else Turn(str(turn))
            # Earlier questions come as they were typed (the chat keeps them): clean them like this one.
            turn = replace(turn, question=self.spelling.normalise(clean_question(turn.question)[0]))
            if turn.answer is None and any(ch.isalnum() for ch in turn.question):
                turn = replace(turn, answer=self._answer_earlier(turn.question, tuple(done)))
            done.append(turn)
        return done

    def _answer_of(self, question: str, earlier: tuple[Turn, ...]) -> Answer:
        asked, query_vector, hits = self.retrieve(question, earlier)
        return compose_answer(asked, hits, self.kb, query_vector, self.decision, self.verifier,
                              self.settings.answering)


@dataclass
class ChatSession:
    """One conversation: its turns, so follow-up questions are understood."""

    assistant: Assistant
    turns: list[Turn] = field(default_factory=list)

    def ask(self, question: str) -> Answer:
        answer = self.assistant.ask(question, self.turns)
        self.turns.append(Turn(question, answer))
        return answer

    def reset(self) -> None:
        self.turns.clear()


class LiveAssistant:
    """The assistant for the index version being served, following updates without a restart:
    before each question it asks the library which version is served (for the file store: a
    few bytes) and loads a new version when it changed. Questions already running keep the
    assistant they started with. A version that fails to load is reported and the previous one
    keeps serving; a damaged one is replaced by the newest intact older version
    (``Library.load``), once per change of the version served."""

    def __init__(self, assistant: Assistant, library: Library):
        self._assistant = assistant
        self.library = library
        self._lock = threading.Lock()
        self.last_error = assistant.kb.warning

    def get(self) -> Assistant:
        current = self._assistant
        name = self.library.current_name()
        if name is None or name == current.kb.serves_for:
            return current
        return self.reload()

    def reload(self) -> Assistant:
        """Load the version being served now (the admin tab's "reload")."""
        with self._lock:
            current = self._assistant
            name = self.library.current_name()
            if name is not None and name != current.kb.serves_for:
                try:
                    kb = self.library.load()
                except IndexProblem as error:
                    self.last_error = str(error)
                    log.warning("index version %s not loaded, still serving %s: %s", name, current.kb.version, error)
                    return current
                self._assistant = Assistant(current.settings, kb, current.embedder, current.decision,
                                            current.verifier)
                self.last_error = kb.warning
                log.info("now serving index version %s", kb.version)
            return self._assistant
