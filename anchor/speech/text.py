"""Text handling before synthesis: cleaning, language detection and sentence splitting.

Sentence boundaries are computed as character spans of the text (`sentence_bounds`), so a
backend can map engine-reported character positions back to the caller's text;
`split_sentences` is the same split as plain, whitespace-collapsed strings.
"""

from __future__ import annotations

import re
import unicodedata

from anchor.errors import InputError

MAX_SENTENCE_CHARS = 200
"""Pieces longer than this are cut at a comma, a space, or (failing both) hard."""

_MIN_PIECE_CHARS = 40
"""A long piece is not cut at a comma that would leave a fragment shorter than this."""

_CJK_CLASS = (
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003134f"  # Extensions B-G
)
_CJK_RE = re.compile(f"[{_CJK_CLASS}]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+")

_CJK_TERMINATORS = "。！？；…"
_LATIN_TERMINATORS = ".!?;"
_CLOSERS = "\"'”’)]}»」』）】〉》"
_COMMAS = ",，、:："

# Words after which a period does not end a sentence (compared lower-case, without the period).
_ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof sr jr st mt ft vs etc e.g i.e cf al approx dept est fig gen gov
    sen rep col lt sgt capt cmdr adm rev hon inc ltd co corp bros no nos vol pp ed eds jan feb
    mar apr jun jul aug sep sept oct nov dec a.m p.m u.s u.k u.n e.u""".split()
)


MAX_TEXT_CHARS = 20_000
"""Characters one synthesis request may hold, for every speech backend."""


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def require_speakable(text: object, *, max_chars: int = MAX_TEXT_CHARS, field: str = "text") -> None:
    """InputError (naming `field`) unless `text` is a string of at most `max_chars` characters
    holding at least one word to speak: a letter or digit once control and format characters
    (NUL, zero-width marks ...) are set aside, i.e. at least one sentence for `sentence_bounds`.
    Text made only of emoji, symbols, punctuation or invisible characters is refused, and so is
    text with an unpaired UTF-16 surrogate (it cannot be stored or spoken). Every speech backend
    applies this rule, and every edge (job API, channel queue, say-now, CLI) applies it before
    accepting work."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{field} is empty: give some words to speak", field=field)
    if len(text) > max_chars:
        raise InputError(
            f"{field} is {len(text)} characters long; the limit is {max_chars} per request, split it up", field=field
        )
    if _SURROGATE_RE.search(text):
        raise InputError(f"{field} holds an unpaired UTF-16 surrogate; send valid Unicode text", field=field)
    if not sentence_bounds(normalize_text(text)):
        raise InputError(
            f"{field} holds no words to speak (only emoji, symbols, punctuation or invisible characters)", field=field
        )


def normalize_text(text: str) -> str:
    """Replace control and format characters (NUL, ESC, zero-width marks, BOM …) with spaces.

    Line breaks and tabs also become plain spaces. The result has the same length as the
    input, so character offsets into it are offsets into the caller's text.
    """
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        out.append(" " if cat in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else ch)
    return "".join(out)


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (Han character)."""
    return bool(_CJK_RE.fullmatch(ch))


def detect_language(text: str) -> str:
    """'zh' when Han characters dominate the text, else 'en'.

    Each Han character counts as one word against the Latin words, so a Chinese bulletin
    that mentions "GDP" stays Chinese and an English one quoting "北京" stays English.
    """
    han = len(_CJK_RE.findall(text))
    latin_words = len(_LATIN_WORD_RE.findall(text))
    return "zh" if han > 0 and han >= latin_words else "en"


def _word_before(text: str, dot: int) -> str:
    """The token (letters, digits and inner periods) that ends just before text[dot]."""
    i = dot
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] == "."):
        i -= 1
    return text[i:dot]


def _period_ends_sentence(text: str, dot: int) -> bool:
    """Decide whether the '.' at text[dot] (followed by whitespace or the end) closes a sentence."""
    word = _word_before(text, dot)
    if not word:
        return True  # "…" style dots or a lone period
    if word.lower() in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial, as in "J. K. Rowling"
    if "." in word and all(len(p) == 1 for p in word.split(".") if p):
        return False  # dotted initialisms: "U.S.", "e.g.", "a.m."
    rest = text[dot + 1 :].lstrip()
    if rest[:1].islower():
        return False  # "approx. five", an abbreviation we don't know
    return True


def _terminator_ends(text: str) -> list[int]:
    """Indices just past each sentence-ending punctuation run (closing quotes included)."""
    ends: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch in _CJK_TERMINATORS or ch in _LATIN_TERMINATORS:
            j = i
            while j < n and (text[j] in _CJK_TERMINATORS or text[j] in _LATIN_TERMINATORS):
                j += 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            run = text[i:j]
            followed_ok = j >= n or text[j].isspace() or is_cjk(text[j])
            if any(c in _CJK_TERMINATORS for c in run):
                ends.append(j)
            elif followed_ok:
                if run.rstrip(_CLOSERS) == ".":
                    if _period_ends_sentence(text, i):
                        ends.append(j)
                else:
                    ends.append(j)
            i = j
        else:
            i += 1
    return ends


def _cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most `limit` characters, preferring commas, then spaces."""
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = -1
        for k in range(len(window) - 1, _MIN_PIECE_CHARS - 1, -1):
            if window[k] in _COMMAS:
                cut = k + 1
                break
        if cut < 0:
            space = window.rfind(" ", _MIN_PIECE_CHARS)
            cut = space if space > 0 else limit
        pieces.append((start, start + cut))
        start += cut
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def sentence_bounds(text: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of `text`, without surrounding whitespace.

    Splits after . ! ? ; and 。！？；… (abbreviations such as "Mr." or "U.S.", initials and
    decimals do not split); a piece longer than `max_chars` is cut at a comma (, ， 、 :),
    else at a space, else hard. Pieces holding only whitespace or punctuation are dropped.
    """
    bounds: list[tuple[int, int]] = []
    prev = 0
    for cut in [*_terminator_ends(text), len(text)]:
        start, end = prev, cut
        prev = cut
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if not any(ch.isalnum() for ch in text[start:end]):
            continue
        for s, e in _cut_long(text, start, end, max_chars):
            while e > s and text[e - 1].isspace():
                e -= 1
            if any(ch.isalnum() for ch in text[s:e]):
                bounds.append((s, e))
    return bounds


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace become one space (none between two Han characters); ends are stripped."""
    out = re.sub(r"\s+", " ", text).strip()
    return re.sub(f"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])", "", out)


def split_sentences(text: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The sentences of `text` as whitespace-collapsed strings (see `sentence_bounds`)."""
    clean = normalize_text(text)
    return [collapse_whitespace(clean[s:e]) for s, e in sentence_bounds(clean, max_chars=max_chars)]


_TOKEN_RE = re.compile(f"[{_CJK_CLASS}]+|[^\\s{_CJK_CLASS}]+")


def word_tokens(text: str) -> list[tuple[int, int, int, int]]:
    """Words of `text` as (start, end, core_start, core_end) character spans.

    A word is a run of Han characters or a run of other non-space characters; its core drops
    leading and trailing punctuation ('"Hello,"' -> 'Hello'). Runs without a letter or digit
    are not words. Han runs are not segmented further here (that needs a dictionary).
    """
    tokens: list[tuple[int, int, int, int]] = []
    for m in _TOKEN_RE.finditer(text):
        s, e = m.span()
        cs, ce = s, e
        while cs < ce and not text[cs].isalnum():
            cs += 1
        while ce > cs and not text[ce - 1].isalnum():
            ce -= 1
        if cs < ce:
            tokens.append((s, e, cs, ce))
    return tokens
