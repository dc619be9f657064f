"""English number words: cardinals, ordinals, years and decimals, as a British newsreader says them.

"1,234" -> "one thousand two hundred and thirty-four"; "21st" -> "twenty-first";
"1999" (a year) -> "nineteen ninety-nine", "2005" -> "two thousand and five";
"3.14" -> "three point one four".
"""

from __future__ import annotations

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MAX_CARDINAL = 10**15 - 1
"""Larger numbers are read digit by digit."""


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _below_thousand(n: int, *, and_: bool = True) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    head = f"{_ONES[hundreds]} hundred"
    if not rest:
        return head
    return f"{head} {'and ' if and_ else ''}{_below_hundred(rest)}"


def cardinal(n: int) -> str:
    """An integer in words; negative numbers start with "minus"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > MAX_CARDINAL:
        return digits(str(n))
    if n < 1000:
        return _below_thousand(n)
    parts: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            head, n = divmod(n, scale)
            parts.append(f"{_below_thousand(head)} {name}")
    if n:
        # "one thousand and five", "two million and forty": a final part below 100 takes "and"
        parts.append(("and " if n < 100 else "") + _below_thousand(n))
    return " ".join(parts)


def ordinal(n: int) -> str:
    """An integer as an ordinal: 1 -> "first", 22 -> "twenty-second", 100 -> "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.rsplit(" ", 1)[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def year(n: int) -> str:
    """A year as it is said: 1066 "ten sixty-six", 1900 "nineteen hundred", 2005 "two thousand and five",
    2025 "twenty twenty-five"."""
    if not 1000 <= n <= 9999:
        return cardinal(n)
    high, low = divmod(n, 100)
    if 2000 <= n <= 2009:
        return cardinal(n)
    if low == 0:
        return cardinal(n) if high % 10 == 0 else f"{_below_hundred(high)} hundred"
    if low < 10:
        return f"{_below_hundred(high)} oh {_ONES[low]}"
    return f"{_below_hundred(high)} {_below_hundred(low)}"


def digits(text: str) -> str:
    """Digits one by one: "007" -> "zero zero seven"."""
    return " ".join(_ONES[int(c)] for c in text if c.isdigit())


def decimal(text: str) -> str:
    """A decimal written with a point, e.g. "3.05" -> "three point zero five"; "-0.5" -> "minus zero point five"."""
    sign = ""
    if text.startswith(("-", "−")):
        sign, text = "minus ", text[1:]
    whole, _, frac = text.replace(",", "").partition(".")
    head = cardinal(int(whole or "0"))
    return sign + (f"{head} point {digits(frac)}" if frac else head)
