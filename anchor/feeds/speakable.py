"""Written news text -> what the anchor says, keeping a map back to the written form.

Numbers, dates, times, currencies, percentages, units and abbreviations are expanded for
speech in English ("3.5%" -> "three point five per cent", "$1.5bn" -> "one point five billion
dollars", "14 March 2025" -> "the fourteenth of March twenty twenty-five") and Mandarin
("3.5%" -> "百分之三点五", "2025年" -> "二零二五年", "10:30" -> "十点三十分"; numerals by cn2an).

The result is a `Spoken`: a run of pieces, each a written span and what is said for it, so
captions can keep the written form: `to_written` maps the speech engine's word events (which
index the spoken text) back onto the written text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from anchor.errors import MissingDependencyError
from anchor.feeds import numbers_en as en
from anchor.speech.base import WordEvent

DEFAULT_ABBREVIATIONS: dict[str, dict[str, str]] = {
    "en": {
        "Dr.": "Doctor",
        "Mr.": "Mister",
        "Mrs.": "Missus",
        "Prof.": "Professor",
        "Gov.": "Governor",
        "Sen.": "Senator",
        "Rep.": "Representative",
        "Gen.": "General",
        "Lt.": "Lieutenant",
        "Col.": "Colonel",
        "Capt.": "Captain",
        "Sgt.": "Sergeant",
        "Dept.": "Department",
        "approx.": "approximately",
        "e.g.": "for example",
        "i.e.": "that is",
        "etc.": "et cetera",
        "vs.": "versus",
        "vs": "versus",
        "Inc.": "Incorporated",
        "Ltd.": "Limited",
        "Corp.": "Corporation",
        "&": "and",
    },
    "zh": {},
}
"""Abbreviations read out in full, per language; a channel's `feeds.abbreviations` adds to or overrides them."""

_SENTENCE_FINAL = frozenset({"etc.", "Inc.", "Ltd.", "Corp.", "approx."})
"""Abbreviations whose period may also end the sentence (titles such as "Dr." never do)."""

_MONTHS = "January February March April May June July August September October November December".split()
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "US$": ("dollar", "dollars", "cent", "cents")}
_CURRENCY |= {"£": ("pound", "pounds", "penny", "pence"), "€": ("euro", "euros", "cent", "cents")}
_CURRENCY |= {"¥": ("yen", "yen", "", ""), "￥": ("yuan", "yuan", "", "")}
_SCALES = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion", "b": "billion", "tn": "trillion"}
_SCALES |= {w: w for w in ("thousand", "million", "billion", "trillion")}
_UNITS_EN = {
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "kph": ("kilometre per hour", "kilometres per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km²": ("square kilometre", "square kilometres"),
    "km": ("kilometre", "kilometres"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "ml": ("millilitre", "millilitres"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "℃": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"),
    "TB": ("terabyte", "terabytes"),
    "ft": ("foot", "feet"),
    "lbs": ("pound", "pounds"),
    "lb": ("pound", "pounds"),
    "ha": ("hectare", "hectares"),
}
_UNITS_ZH = {
    "km/h": "公里每小时",
    "kph": "公里每小时",
    "km²": "平方公里",
    "m²": "平方米",
    "km": "公里",
    "cm": "厘米",
    "mm": "毫米",
    "kg": "公斤",
    "mg": "毫克",
    "ml": "毫升",
    "°C": "摄氏度",
    "℃": "摄氏度",
    "°F": "华氏度",
    "°": "度",
    "kWh": "千瓦时",
    "kW": "千瓦",
    "MW": "兆瓦",
    "GW": "吉瓦",
    "GB": "G B",
    "TB": "T B",
}
_CURRENCY_ZH = {"$": "美元", "US$": "美元", "＄": "美元", "£": "英镑", "€": "欧元", "¥": "元", "￥": "元"}
_YEAR_CUES = re.compile(
    r"(?:\b(?:in|since|by|from|until|till|before|after|during|of|year|fiscal|early|late|mid|spring|summer|autumn|winter)\s*-?\s*)$",
    re.IGNORECASE,
)


def _unit_alt(units: Mapping[str, object]) -> str:
    return "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))


@dataclass(frozen=True)
class Piece:
    """A written span and what is said for it (equal when nothing was expanded)."""

    written: str
    spoken: str

    @property
    def expanded(self) -> bool:
        return self.written != self.spoken


@dataclass(frozen=True)
class Spoken:
    """Text for speech with its written form: `text` is what the anchor says, `written` what a reader reads."""

    language: str
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.spoken for p in self.pieces)

    @property
    def written(self) -> str:
        return "".join(p.written for p in self.pieces)


def _number_words(num: str) -> str:
    num = num.replace(",", "")
    return en.decimal(num) if "." in num else en.cardinal(int(num))


def _is_one(num: str) -> bool:
    return num.replace(",", "") in ("1", "1.0")


# -- English --------------------------------------------------------------------------------


def _en_currency(m: re.Match[str], text: str) -> str:
    one, many, sub_one, sub_many = _CURRENCY[m["cur"]]
    num, scale = m["cnum"], m["cscale"]
    if scale:
        return f"{_number_words(num)} {_SCALES[scale.lower()]} {many}"
    whole, _, cents = num.replace(",", "").partition(".")
    head = f"{en.cardinal(int(whole))} {one if whole == '1' else many}"
    if cents and sub_many and int(cents[:2].ljust(2, "0")):
        c = int(cents[:2].ljust(2, "0"))
        return f"{head} and {en.cardinal(c)} {sub_one if c == 1 else sub_many}"
    return head


def _en_percent(m: re.Match[str], text: str) -> str:
    return f"{'minus ' if m['pneg'] else ''}{_number_words(m['pnum'])} per cent"


def _en_percent_range(m: re.Match[str], text: str) -> str:
    return f"{_number_words(m['pra'])} to {_number_words(m['prb'])} per cent"


def _day_month_year(day: int, month: int, yr: str | None) -> str:
    out = f"the {en.ordinal(day)} of {_MONTHS[month - 1]}"
    return out + (f" {en.year(int(yr))}" if yr else "")


def _month_index(name: str) -> int:
    return next(i for i, full in enumerate(_MONTHS, 1) if full.lower().startswith(name.lower()[:3]))


def _en_iso_date(m: re.Match[str], text: str) -> str:
    return _day_month_year(int(m["iday"]), int(m["imonth"]), m["iyear"])


def _en_month_day(m: re.Match[str], text: str) -> str:
    out = f"{_MONTHS[_month_index(m['mdmonth']) - 1]} {en.ordinal(int(m['mdday']))}"
    return out + (f", {en.year(int(m['mdyear']))}" if m["mdyear"] else "")


def _en_day_month(m: re.Match[str], text: str) -> str:
    return _day_month_year(int(m["dmday"]), _month_index(m["dmmonth"]), m["dmyear"])


def _clock(hour: int, minute: int, suffix: str) -> str:
    if not suffix and hour > 12:
        hour, suffix = hour - 12, "pm"
    elif not suffix and hour == 0:
        hour, suffix = 12, "am"
    said = en.cardinal(hour)
    if minute:
        said += " " + (f"oh {en.cardinal(minute)}" if minute < 10 else en.cardinal(minute))
    elif not suffix:
        said += " o'clock"
    return said + {"am": " A M", "pm": " P M"}.get(suffix, "")


def _en_time(m: re.Match[str], text: str) -> str:
    return _clock(int(m["thour"]), int(m["tmin"] or 0), m["tampm"].lower().replace(".", "").strip())


def _en_time_24(m: re.Match[str], text: str) -> str:
    return _clock(int(m["thour24"]), int(m["tmin24"]), "")


def _en_ordinal(m: re.Match[str], text: str) -> str:
    return en.ordinal(int(m["onum"].replace(",", "")))


def _en_unit(m: re.Match[str], text: str) -> str:
    one, many = _UNITS_EN[m["unit"]]
    return f"{'minus ' if m['uneg'] else ''}{_number_words(m['unum'])} {one if _is_one(m['unum']) else many}"


def _year_or_number(num: str, before: str) -> str:
    if re.fullmatch(r"1[1-9]\d\d|20\d\d", num) and _YEAR_CUES.search(before):
        return en.year(int(num))
    return _number_words(num)


def _en_range(m: re.Match[str], text: str) -> str:
    a, b = m["ra"], m["rb"]
    years = all(re.fullmatch(r"1[1-9]\d\d|20\d\d", x) for x in (a, b))
    if years:
        return f"{en.year(int(a))} to {en.year(int(b))}"
    return f"{_number_words(a)} to {_number_words(b)}"


def _en_number(m: re.Match[str], text: str) -> str:
    num = m["num"]
    before = text[max(0, m.start() - 20) : m.start()]
    words = _year_or_number(num, before)
    return ("minus " + words) if m["nneg"] else words


def _en_decade(m: re.Match[str], text: str) -> str:
    # "1990s" -> "nineteen nineties"
    said = en.year(int(m["decade"]))
    return (said[:-1] + "ies") if said.endswith("y") else said + "s"


_EN_RULES: list[tuple[str, Callable[[re.Match[str], str], str]]] = [
    (
        rf"(?P<cur>US\$|[$£€¥￥])\s?(?P<cnum>{_NUM})(?:\s?(?P<cscale>thousand|million|billion|trillion|bn|mn|tn|[kmb])\b)?",
        _en_currency,
    ),
    (rf"(?<![\w.,])(?P<pra>{_NUM})\s?[-–]\s?(?P<prb>{_NUM})\s?(?:%|per ?cent\b)", _en_percent_range),
    (rf"(?P<pneg>(?<![\w.])[-−])?(?P<pnum>{_NUM})\s?(?:%|per ?cent\b)", _en_percent),
    (r"\b(?P<iyear>\d{4})-(?P<imonth>0[1-9]|1[0-2])-(?P<iday>0[1-9]|[12]\d|3[01])\b", _en_iso_date),
    (
        rf"\b(?P<mdmonth>{_MONTH_RE})\.?\s+(?P<mdday>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\b(?:,?\s+(?P<mdyear>\d{{4}})\b)?",
        _en_month_day,
    ),
    (
        rf"\b(?P<dmday>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\s+(?P<dmmonth>{_MONTH_RE})\b\.?(?:,?\s+(?P<dmyear>\d{{4}})\b)?",
        _en_day_month,
    ),
    (r"\b(?P<thour>[01]?\d|2[0-3])(?::(?P<tmin>[0-5]\d))?\s?(?P<tampm>[ap]\.m\.|[ap]m\b)", _en_time),
    (r"\b(?P<thour24>[01]?\d|2[0-3]):(?P<tmin24>[0-5]\d)\b", _en_time_24),
    (r"\b(?P<decade>1[1-9]\d0|20\d0)s\b", _en_decade),
    (r"(?<![\w.,])(?P<onum>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b", _en_ordinal),
    (rf"(?P<uneg>(?<![\w.])[-−])?(?P<unum>{_NUM})\s?(?P<unit>{_unit_alt(_UNITS_EN)})(?![A-Za-z])", _en_unit),
    (rf"(?<![\w.,])(?P<ra>{_NUM})\s?[-–]\s?(?P<rb>{_NUM})(?![\w]|[.,]\d)", _en_range),
    (rf"(?P<nneg>(?<![\w.])[-−])?(?<![\w.])(?P<num>{_NUM})(?![\w])", _en_number),
]


# -- Mandarin -------------------------------------------------------------------------------


@cache
def _cn2an() -> Any:
    try:
        import cn2an
    except ImportError as e:  # pragma: no cover - a pinned dependency
        raise MissingDependencyError("Chinese numerals need cn2an: pip install 'cn2an==0.5.24'") from e
    return cn2an


def _zh_num(num: str, *, direct: bool = False) -> str:
    num = num.replace(",", "")
    if direct:
        return _cn2an().an2cn(num, "direct")
    return _cn2an().an2cn(num, "low")


_ZH_LIANG = "个位名家次件条项只台辆架座倍人天周年岁艘"


def _zh_number(m: re.Match[str], text: str) -> str:
    num = m["num"]
    after = text[m.end() : m.end() + 1]
    sign = "负" if m["nneg"] else ""
    if after == "年" and re.fullmatch(r"\d{2,4}", num):
        return sign + _zh_num(num, direct=True)
    if re.fullmatch(r"0\d+|\d{5,}", num) and "," not in num and "." not in num and len(num) > 8:
        return sign + _zh_num(num, direct=True)  # codes and phone numbers: digit by digit
    if num == "2" and after and after in _ZH_LIANG:
        return sign + "两"
    return sign + _zh_num(num)


def _zh_percent(m: re.Match[str], text: str) -> str:
    return ("负" if m["pneg"] else "") + "百分之" + _zh_num(m["pnum"])


def _zh_percent_range(m: re.Match[str], text: str) -> str:
    return f"百分之{_zh_num(m['pra'])}至百分之{_zh_num(m['prb'])}"


def _zh_currency(m: re.Match[str], text: str) -> str:
    scale = {"k": "千", "m": "百万", "bn": "十亿", "万": "万", "亿": "亿"}.get((m["cscale"] or "").lower(), "")
    unit = _CURRENCY_ZH[m["cur"]]
    if text.startswith(unit, m.end()) or text.startswith(unit[-1], m.end()):
        unit = ""  # "¥36元": the unit is written out already
    return _zh_num(m["cnum"]) + scale + unit


def _zh_iso_date(m: re.Match[str], text: str) -> str:
    return f"{_zh_num(m['iyear'], direct=True)}年{_zh_num(str(int(m['imonth'])))}月{_zh_num(str(int(m['iday'])))}日"


def _zh_time(m: re.Match[str], text: str) -> str:
    hour, minute = int(m["thour"]), int(m["tmin"])
    said = ("两" if hour == 2 else _zh_num(str(hour))) + "点"
    if minute:
        said += ("零" if minute < 10 else "") + _zh_num(str(minute)) + "分"
    return said


def _zh_unit(m: re.Match[str], text: str) -> str:
    return ("负" if m["uneg"] else "") + _zh_num(m["unum"]) + _UNITS_ZH[m["unit"]]


def _zh_fraction(m: re.Match[str], text: str) -> str:
    return f"{_zh_num(m['fden'])}分之{_zh_num(m['fnum'])}"


def _zh_range(m: re.Match[str], text: str) -> str:
    return f"{_zh_num(m['ra'])}至{_zh_num(m['rb'])}"


_ZH_RULES: list[tuple[str, Callable[[re.Match[str], str], str]]] = [
    (rf"(?P<cur>US\$|[$＄£€¥￥])\s?(?P<cnum>{_NUM})(?:\s?(?P<cscale>万|亿|bn|[km])(?![A-Za-z]))?", _zh_currency),
    (rf"(?<![\d.,])(?P<pra>{_NUM})\s?[-–~～]\s?(?P<prb>{_NUM})\s?[%％]", _zh_percent_range),
    (rf"(?P<pneg>(?<![0-9A-Za-z.])[-−])?(?P<pnum>{_NUM})\s?[%％]", _zh_percent),
    (r"(?<!\d)(?P<iyear>\d{4})-(?P<imonth>0[1-9]|1[0-2])-(?P<iday>0[1-9]|[12]\d|3[01])(?!\d)", _zh_iso_date),
    (r"(?<![\d:])(?P<thour>[01]?\d|2[0-3])[:：](?P<tmin>[0-5]\d)(?![\d:])", _zh_time),
    (rf"(?P<uneg>(?<![0-9A-Za-z.])[-−])?(?P<unum>{_NUM})\s?(?P<unit>{_unit_alt(_UNITS_ZH)})(?![A-Za-z])", _zh_unit),
    (r"(?<![\d/])(?P<fnum>\d+)/(?P<fden>\d+)(?![\d/])", _zh_fraction),
    (rf"(?<![\d.,])(?P<ra>{_NUM})\s?[-–~～]\s?(?P<rb>{_NUM})(?![\d.])", _zh_range),
    (rf"(?P<nneg>(?<![0-9A-Za-z.])[-−])?(?<![\d.])(?P<num>{_NUM})(?![\d])", _zh_number),
]


# -- driver ---------------------------------------------------------------------------------


@cache
def _compiled(language: str) -> tuple[re.Pattern[str], tuple[Callable[[re.Match[str], str], str], ...]]:
    rules = _ZH_RULES if language == "zh" else _EN_RULES
    alternatives = "|".join(f"(?P<r{i}>{pattern})" for i, (pattern, _) in enumerate(rules))
    return re.compile(alternatives), tuple(handler for _, handler in rules)


def _abbreviation_pattern(abbreviations: Mapping[str, str]) -> re.Pattern[str] | None:
    keys = sorted((k for k in abbreviations if k), key=len, reverse=True)
    if not keys:
        return None
    alts = "|".join(
        (r"(?<![\w.])" if k[0].isalnum() else "") + re.escape(k) + (r"(?![\w])" if k[-1].isalnum() else "")
        for k in keys
    )
    return re.compile(alts)


def _expand_abbreviations(pieces: list[Piece], abbreviations: Mapping[str, str]) -> list[Piece]:
    pattern = _abbreviation_pattern(abbreviations)
    if pattern is None:
        return pieces
    out: list[Piece] = []
    for piece in pieces:
        if piece.expanded:
            out.append(piece)
            continue
        pos = 0
        text = piece.written
        for m in pattern.finditer(text):
            if m.start() > pos:
                out.append(Piece(text[pos : m.start()], text[pos : m.start()]))
            said = abbreviations[m.group(0)]
            rest = text[m.end() :]
            if m.group(0).endswith(".") and (
                not rest.strip() or (m.group(0) in _SENTENCE_FINAL and re.match(r"\s+[A-Z]", rest))
            ):
                said += "."  # the abbreviation's period also ended the sentence
            out.append(Piece(m.group(0), said))
            pos = m.end()
        if pos < len(text):
            out.append(Piece(text[pos:], text[pos:]))
    return out


def speakable(written: str, language: str, abbreviations: Mapping[str, str] | None = None) -> Spoken:
    """Expand `written` (clean prose, see `anchor.feeds.cleanup`) for speech in `language` ("en" or "zh").

    `abbreviations` add to / override `DEFAULT_ABBREVIATIONS[language]`; map a key to itself
    to keep it as written.
    """
    language = "zh" if language.lower().startswith("zh") or language.lower().startswith("cmn") else "en"
    pattern, handlers = _compiled(language)
    pieces: list[Piece] = []
    pos = 0
    for m in pattern.finditer(written):
        index = int(next(k for k, v in m.groupdict().items() if v is not None and k[0] == "r" and k[1:].isdigit())[1:])
        said = handlers[index](m, written)
        if m.start() > pos:
            pieces.append(Piece(written[pos : m.start()], written[pos : m.start()]))
        pieces.append(Piece(m.group(0), said))
        pos = m.end()
    if pos < len(written):
        pieces.append(Piece(written[pos:], written[pos:]))
    table = {**DEFAULT_ABBREVIATIONS.get(language, {}), **(abbreviations or {})}
    return Spoken(language, tuple(_expand_abbreviations(pieces, table)))


def to_written(words: Sequence[WordEvent], spoken: Spoken) -> tuple[WordEvent, ...]:
    """Word events of the spoken text -> word events of the written text (for captions).

    A word inside an unexpanded piece keeps its text and moves to its written offsets; the
    words spoken for one expanded piece ("three point five per cent") become one written
    word ("3.5%") spanning all their samples.
    """
    spans: list[tuple[int, int, int, Piece]] = []  # spoken start, spoken end, written start, piece
    s = w = 0
    for p in spoken.pieces:
        spans.append((s, s + len(p.spoken), w, p))
        s += len(p.spoken)
        w += len(p.written)
    out: list[WordEvent] = []
    merged: dict[int, int] = {}  # piece index -> index in out
    for word in words:
        index = next((i for i, (a, b, _, _) in enumerate(spans) if a <= word.char_start < b), len(spans) - 1)
        a, _, ws, piece = spans[index]
        if not piece.expanded:
            cs, ce = ws + word.char_start - a, ws + min(word.char_end - a, len(piece.written))
            out.append(WordEvent(piece.written[cs - ws : ce - ws].strip(), word.start, word.end, cs, ce))
        elif index in merged:
            prev = out[merged[index]]
            out[merged[index]] = WordEvent(
                prev.text, prev.start, max(prev.end, word.end), prev.char_start, prev.char_end
            )
        else:
            merged[index] = len(out)
            out.append(WordEvent(piece.written.strip(), word.start, word.end, ws, ws + len(piece.written)))
    return tuple(out)
