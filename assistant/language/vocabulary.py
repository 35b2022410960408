"""Abbreviations and synonyms of German administration and education, for matching questions to text.

A citizen asks about "Unis", "den OB" or "Chancengleichheit"; the documents say "Universitäten",
"Oberbürgermeister" and "Chancengerechtigkeit". ``alternatives`` gives, for a word of a question,
the other words that count as the same when the answer decision checks that a passage mentions
what the question asks about (``features.py``), and when the lexical search looks for it.

The lists are general, written for the kinds of documents the initiatives publish (press
releases, team pages, reports of schools, universities, cities and foundations), never for single
questions. Each group is a set of words that stand for the same thing; an abbreviation maps to
what it abbreviates. Words are written in lower case; matching happens on their stems, so
inflected forms ("Universitäten", "Oberbürgermeisterin") are covered.
"""

from __future__ import annotations

from functools import lru_cache


def _table(lines: str) -> dict[str, tuple[str, ...]]:
    """``short = long form | long form`` lines (``#`` comments skipped) as a mapping."""
    result = {}
    for line in lines.splitlines():
        if " = " in line and not line.lstrip().startswith("#"):
            short, longs = line.split(" = ")
            result[short.strip()] = tuple(long.strip() for long in longs.split("|"))
    return result


ABBREVIATIONS = _table("""
    # administration and politics
    ob = oberbürgermeister | oberbürgermeisterin
    bm = bürgermeister | bürgermeisterin
    nrw = nordrhein-westfalen
    rvr = regionalverband ruhr
    lvr = landschaftsverband rheinland
    lwl = landschaftsverband westfalen-lippe
    msb = ministerium für schule und bildung
    mkw = ministerium für kultur und wissenschaft
    bmbf = bundesministerium für bildung und forschung
    eu = europäische union
    kommunal = kommune | stadt | gemeinde
    stv = stellvertretend | stellvertreter | stellvertreterin
    gf = geschäftsführer | geschäftsführerin | geschäftsführung
    vors = vorsitzender | vorsitzende
    # organisations and legal forms
    ggmbh = gemeinnützige gmbh | gemeinnützige gesellschaft
    gmbh = gesellschaft
    ag = aktiengesellschaft
    ihk = industrie- und handelskammer
    hwk = handwerkskammer
    dgb = gewerkschaftsbund
    # education
    uni = universität | hochschule
    unis = universitäten | hochschulen
    fh = fachhochschule | hochschule
    tu = technische universität
    rub = ruhr-universität bochum
    ude = universität duisburg-essen
    hs = hochschule
    kita = kindertagesstätte | kindertageseinrichtung | kindergarten
    kitas = kindertagesstätten | kindertageseinrichtungen | kindergärten
    ogs = offene ganztagsschule | ganztag
    vhs = volkshochschule
    azubi = auszubildender | auszubildende | ausbildung
    azubis = auszubildende | ausbildung
    mint = mathematik | informatik | naturwissenschaften | technik
    abi = abitur
    bafög = ausbildungsförderung
    daz = deutsch als zweitsprache
    sek = sekundarstufe
    # contact details
    tel = telefon | telefonnummer
    mail = e-mail | e-mail-adresse
    email = e-mail | e-mail-adresse
    nr = nummer
""")

SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(group.split()) for group in (
    # roles
    "geschäftsführer geschäftsführerin geschäftsführung leiter leiterin leitung chef chefin",
    "vorsitzender vorsitzende vorsitz präsident präsidentin",
    "ansprechpartner ansprechpartnerin ansprechperson kontaktperson zuständig zuständige",
    "mitarbeiter mitarbeiterin mitarbeitende beschäftigte personal",
    "sprecher sprecherin pressesprecher pressesprecherin pressekontakt pressekontakte pressestelle kommunikation",
    "bürgermeister bürgermeisterin oberbürgermeister oberbürgermeisterin stadtspitze",
    "dezernent dezernentin beigeordneter beigeordnete",
    # institutions
    "universität universitäten hochschule hochschulen uni unis",
    "schule schulen schulwesen",
    "schüler schülerin schülerinnen schülerschaft",
    "stadt städte kommune kommunen gemeinde gemeinden",
    "stiftung stiftungen",
    "partner partnerin partnerinnen partnerschaft kooperationspartner mitglied mitglieder",
    # events and time
    "auftakt auftaktveranstaltung kick-off kickoff start beginn eröffnung",
    "tagung konferenz kongress fachtag fachtagung",
    "veranstaltung event treffen",
    "gründung gegründet gründen gründete entstanden",
    "beitritt beitreten beigetreten eintritt eintreten",
    "teilnehmer teilnehmerin teilnehmende teilnehmerinnen gäste",
    # aims and topics
    "chancengleichheit chancengerechtigkeit bildungsgerechtigkeit chancengerecht gerechtigkeit",
    "ziel ziele zielsetzung anliegen",
    "förderung fördern förderprogramm unterstützung unterstützen",
    "digitalisierung digital digitale",
    "integration zuwanderung zugewanderte",
    "vielfalt diversität",
    "budget etat finanzierung mittel kosten",
    # contact details
    "telefon telefonnummer rufnummer tel phone",
    "e-mail email mail e-mail-adresse mailadresse",
    "adresse anschrift",
))


# The other way round: "oberbürgermeisterin" -> "ob", so a question that writes a word out finds
# a text that abbreviates it.
_ABBREVIATED = {}
for _short, _long in ABBREVIATIONS.items():
    for _word in _long:
        _ABBREVIATED.setdefault(_word, []).append(_short)


@lru_cache(maxsize=50_000)
def alternatives(word: str) -> tuple[str, ...]:
    """Words that stand for the same thing as ``word`` (lower case), not including it."""
    found: list[str] = list(ABBREVIATIONS.get(word, ())) + _ABBREVIATED.get(word, [])
    for group in SYNONYMS:
        if word in group:
            found.extend(sorted(group - {word}))
    return tuple(dict.fromkeys(found))
