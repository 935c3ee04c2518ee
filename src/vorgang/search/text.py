"""German text normalisation shared by both backends, the query parser and the snippets.

The pipeline, applied to documents when indexing and to queries when searching:

1. ``fold``: Unicode NFC, lower case, ``ß`` -> ``ss``, and the transcriptions
   ``ae``/``oe``/``ue`` -> ``ä``/``ö``/``ü`` (``ue`` not after ``q`` or a vowel, as in
   "Quelle", "neue", "Bauer"), then every run of non-letters/digits becomes one space.
   "Uebersetzung" and "Übersetzung" both become "übersetzung"; "Straße" and "Strasse"
   both become "strasse". Folding towards the umlaut (not away from it) keeps the
   Snowball stemmer's own umlaut handling intact: "Anträge" and "Antraege" both stem
   to "antrag", like "Antrag".
2. Stop words: the Snowball German list that PostgreSQL's ``german`` configuration
   uses, compared with the folded token exactly as PostgreSQL compares it.
3. Snowball German stemming (``snowballstemmer``). On PostgreSQL the database stems
   the folded text itself with the ``german`` configuration (the same algorithm); only
   SQLite stores the stems computed here.

Separators become spaces, so PostgreSQL's parser sees only plain words and numbers:
both backends split text into the same tokens (an e-mail address is a phrase of its
parts, "E-Mail-Adresse" the phrase "e mail adresse").
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import nh3
import snowballstemmer

# PostgreSQL 15's tsearch_data/german.stop (the Snowball German stop list), verbatim.
_STOP_LIST = """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes anderm andern anderr anders auch auf aus bei bin bis bist da damit dann der den
    des dem die das daß derselbe derselben denselben desselben demselben dieselbe dieselben
    dasselbe dazu dein deine deinem deinen deiner deines denn derer dessen dich dir du dies
    diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer eines einig
    einige einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem euren
    eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich mich
    mir ihr ihre ihrem ihren ihrer ihres euch im in indem ins ist jede jedem jeden jeder
    jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines
    können könnte machen man manche manchem manchen mancher manches mein meine meinem
    meinen meiner meines mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr
    sein seine seinem seinen seiner seines selbst sich sie ihnen sind so solche solchem
    solchen solcher solches soll sollte sondern sonst über um und uns unse unsem unsen
    unser unses unter viel vom von vor während war waren warst was weg weil weiter welche
    welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo
    wollen wollte würde würden zu zum zur zwar zwischen
"""
STOP_WORDS = frozenset(_STOP_LIST.split())

_SEPARATORS = re.compile(r"[\W_]+")
_VOWELS = "aeiouyäöü"
# ae/oe anywhere; ue unless the u follows q or a vowel (Snowball's german2 rules).
_TRANSCRIPTION = re.compile(r"ae|oe|(?<![q" + _VOWELS + r"])ue")
_UMLAUT_OF = {"ae": "ä", "oe": "ö", "ue": "ü"}
_DE_UMLAUT = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})

_stemmer = snowballstemmer.stemmer("german")


def fold(text: str) -> str:
    """Lower case, umlaut transcriptions unified, separators as single spaces."""
    text = unicodedata.normalize("NFC", text).lower().replace("ß", "ss")
    text = _TRANSCRIPTION.sub(lambda m: _UMLAUT_OF[m.group(0)], text)
    return _SEPARATORS.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The folded tokens of ``text``, stop words included."""
    return fold(text).split()


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """The Snowball German stem of one folded token (cached: vocabularies repeat)."""
    if token.isdigit():
        return token
    return str(_stemmer.stemWord(token))


def is_stop_word(token: str) -> bool:
    return token in STOP_WORDS


def index_terms(text: str) -> str:
    """What SQLite's FTS5 stores for ``text``: the stems of its non-stop-word tokens."""
    return " ".join(stem(t) for t in fold(text).split() if t not in STOP_WORDS)


def name_key(text: str) -> str:
    """Names and addresses for typo-tolerant matching: folded, umlauts without dots.

    "Müller", "Mueller" and "Muller" all become "muller"; trigram similarity then
    forgives a missing or swapped letter ("Mueler", "Schmitd").
    """
    return fold(text).translate(_DE_UMLAUT)


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word (two blanks before it, one after it)."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity`` of two single words."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    shared = len(ta & tb)
    return shared / (len(ta) + len(tb) - shared)


def word_similarity(query: str, word: str) -> float:
    """pg_trgm's ``word_similarity(query, word)`` for one word.

    The best Jaccard similarity between the query's trigrams and any run of
    consecutive trigrams of ``word``: "schmitd" against "schmidt" is 0.625.
    """
    tq = trigrams(query)
    padded = f"  {word} "
    sequence = [padded[i : i + 3] for i in range(len(padded) - 2)]
    best = 0.0
    for start in range(len(sequence)):
        extent: set[str] = set()
        for gram in sequence[start:]:
            extent.add(gram)
            shared = len(tq & extent)
            score = shared / (len(tq) + len(extent) - shared)
            best = max(best, score)
    return best


def _day(day: str, month: str, year: str) -> str | None:
    d, m, y = int(day), int(month), int(year)
    if 1 <= d <= 31 and 1 <= m <= 12 and 1900 <= y <= 2199:
        return f"dt{y:04d}{m:02d}{d:02d}"
    return None


def date_keys(tokens: list[str]) -> list[str]:
    """One extra word per date in folded ``tokens`` ("03 04 2025" or "2025 04 03"):
    ``dt20250403``.

    PostgreSQL's index knows words, not their order: a phrase such as "Bescheid vom
    03.04.2025" is made of very common words (every case has dates), so every case
    holding them all would be checked for the phrase. The documents also carry these
    date words (PostgreSQL backend), and a phrase with a date also requires its date
    word: the index then narrows to the cases with that date. Any three neighbouring
    tokens that form a date count, whatever separated them, so a case matching the
    phrase always has the date word too.
    """
    keys: list[str] = []
    for i in range(len(tokens) - 2):
        a, b, c = tokens[i : i + 3]
        if not (a.isdigit() and b.isdigit() and c.isdigit()) or len(b) > 2:
            continue
        key = None
        if len(a) <= 2 and len(c) == 4:
            key = _day(a, b, c)
        elif len(a) == 4 and len(c) <= 2:
            key = _day(c, b, a)
        if key is not None:
            keys.append(key)
    return keys


def with_date_keys(folded: str) -> str:
    """Folded text with its date words (date_keys) appended."""
    keys = date_keys(folded.split())
    return f"{folded} {' '.join(keys)}" if keys else folded


def html_to_text(body: str) -> str:
    """The visible text of an HTML article body (tags dropped, entities decoded)."""
    cleaned = nh3.clean(body, tags=set(), clean_content_tags={"script", "style", "head"})
    return html.unescape(cleaned)
