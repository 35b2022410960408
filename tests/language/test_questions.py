import pytest

from assistant.language.questions import PERSON, answer_values, classify, focus_word, has_answer_type

KINDS = {  # question: the kind of answer it asks for
    "Wann wurde die Bildungsinitiative RuhrFutur gegründet?": "date",
    "Seit wann gibt es die Stiftung?": "date",
    "Wie viele Teilnehmende hatte der Kongress?": "number",
    "Wer ist Geschäftsführer der RuhrFutur?": "person",
    "Wer ist für Potenzialförderung zuständig?": "person",
    "Wie erreiche ich Benjamin Fricke?": "contact",
    "Und wie lautet ihre E-Mail-Adresse?": "contact",
    "Wo fand der Fachtag statt?": "place",
    "Was wollen die Städte für die Region erreichen?": "other",
    "Who is the contact person for talent promotion?": "person",
    "When was RuhrFutur founded?": "date",
}


@pytest.mark.parametrize("text, kind", KINDS.items())
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


@pytest.mark.parametrize("text, attribute", [
    ("Wie lautet die Telefonnummer von Julia Kalinowski?", "phone"),
    ("Und wie lautet ihre E-Mail-Adresse?", "email"),
    ("Wie kann man die Pressestelle telefonisch erreichen?", "phone"),
    ("Wie erreiche ich Benjamin Fricke?", ""),
])
def test_asked_contact_detail(text, attribute):
    assert classify(text).attribute == attribute


def test_price_questions_want_an_amount():
    assert classify("Was kostet die Teilnahme am Kongress?").kind == "cost"
    assert classify("What is the annual budget of RuhrFutur?").kind == "cost"
    assert answer_values("Die Teilnahme kostet 25 Euro, für Schüler ist sie kostenlos.", "cost") == ["25 Euro", "kostenlos"]
    assert answer_values("Der Kongress fand 2018 statt.", "cost") == []


def test_a_count_is_not_the_year_it_is_about():
    assert answer_values("Seit Anfang 2017 gibt es 13 Kommunen und über die Hälfte der Schulen.", "number") == \
        ["13", "Hälfte"]
    assert answer_values("am 20. September 2011", "number") == []


def test_dates_include_decades_and_centuries():
    assert answer_values("Mitte des 18. Jahrhunderts, in den 1990ern, seit den 90er Jahren, im Jahr 1186", "date") == \
        ["18. Jahrhunderts", "1990ern", "90er Jahren", "1186"]


@pytest.mark.parametrize("text, focus", [
    ("Welche Partei ist in den Regionen am stärksten?", "partei"),
    ("In welchem County liegt Jacksonville?", "county"),
    ("Wie viele Punkte gab die Verteidigung ab?", "punkte"),
    ("Wer ist der Vorstandsvorsitzende der Evonik Industries AG?", "vorstandsvorsitzende"),
    ("Wer leitet den Regionalverband Ruhr?", "leitung"),
    ("Wer ist Bernd Kreuzinger?", ""),  # a name, not a role
    ("Welcher Begriff bezeichnet das?", ""),  # a frame word
    ("Wer ist für Potenzialförderung zuständig?", ""),
])
def test_focus_word(text, focus):
    assert focus_word(text) == focus


@pytest.mark.parametrize("text, names", [
    ("Bitte melden Sie sich bei Dr. Britta L. Schröder.", ["Dr. Britta L. Schröder"]),
    ("Pressekontakte\nMelden Sie sich gerne bei uns!", []),
    ("Hans-Theo Köster (RAG Stiftung)", ["Hans-Theo Köster"]),
    ("Ruhr\nDr", []),  # never across lines
])
def test_names_of_people(text, names):
    assert [m.group() for m in PERSON.finditer(text)] == names


def test_list_questions():
    assert classify("Welche Städte sind beigetreten?").wants_list
    assert not classify("Wann wurde RuhrFutur gegründet?").wants_list
