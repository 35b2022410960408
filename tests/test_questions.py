import pytest

from assistant.questions import classify, has_answer_type


@pytest.mark.parametrize("text, kind", [
    ("Wann wurde die Bildungsinitiative RuhrFutur gegründet?", "date"),
    ("Seit wann gibt es die Stiftung?", "date"),
    ("Wie viele Teilnehmende hatte der Kongress?", "number"),
    ("Wer ist Geschäftsführer der RuhrFutur?", "person"),
    ("Wer ist für Potenzialförderung zuständig?", "person"),
    ("Wie erreiche ich Benjamin Fricke?", "contact"),
    ("Und wie lautet ihre E-Mail-Adresse?", "contact"),
    ("Wo fand der Fachtag statt?", "place"),
    ("Was wollen die Städte für die Region erreichen?", "other"),
    ("Who is the contact person for talent promotion?", "person"),
    ("When was RuhrFutur founded?", "date"),
])
def test_question_kinds(text, kind):
    assert classify(text).kind == kind


def test_language():
    assert classify("Who is the contact person for talent promotion?").language == "en"
    assert classify("Wer ist die Ansprechpartnerin?").language == "de"


@pytest.mark.parametrize("text, kind, expected", [
    ("am 20. September 2011 im Wissenschaftspark", "date", True),
    ("17.01.2020: Fachtag", "date", True),
    ("Seit Anfang 2017 gibt es", "date", True),
    ("Die Städte Bottrop und Duisburg", "date", False),
    ("Rund 600 Teilnehmende", "number", True),
    ("Telefon: 0201 8966622", "contact", True),
    ("kreuzinger@talentmetropoleruhr.de", "contact", True),
    ("Ein Team aus Wirtschaft", "contact", False),
    ("Dr. Britta L. Schröder", "person", True),
])
def test_answer_types(text, kind, expected):
    assert has_answer_type(text, kind) is expected
