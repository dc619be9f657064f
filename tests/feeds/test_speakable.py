"""Written news -> what the anchor says, in English and Mandarin, checked on the words that reach
the speech stage (espeak's own word events), and mapped back to the written form for captions."""

from __future__ import annotations

import pytest

from anchor.config import Settings
from anchor.feeds.cleanup import clean_text
from anchor.feeds.speakable import speakable, to_written
from anchor.speech.espeak import EspeakBackend


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Inflation rose 3.5% in March.", "Inflation rose three point five per cent in March."),
        ("A $1.5bn deal.", "A one point five billion dollars deal."),
        ("It costs £3.20 now.", "It costs three pounds and twenty pence now."),
        ("€2m was paid.", "two million euros was paid."),
        ("On 14 March 2025.", "On the fourteenth of March twenty twenty-five."),
        ("By March 5th, 2024.", "By March fifth, twenty twenty-four."),
        ("Published 2025-03-14.", "Published the fourteenth of March twenty twenty-five."),
        ("At 10:30 a.m. and 18:00.", "At ten thirty A M and six P M."),
        ("Lows of -5°C and 80 km/h winds.", "Lows of minus five degrees Celsius and eighty kilometres per hour winds."),
        ("It grew 3-5% from 2020-2025.", "It grew three to five per cent from twenty twenty to twenty twenty-five."),
        (
            "1,234,567 people came in 2008.",
            "one million two hundred and thirty-four thousand five hundred and sixty-seven people came in two thousand and eight.",
        ),
        ("The 21st time in the 1990s.", "The twenty-first time in the nineteen nineties."),
        ("Its 1,000,000th book.", "Its one millionth book."),
        ("Dr. Smith vs. Mr. Jones, etc.", "Doctor Smith versus Mister Jones, et cetera."),
        ("1 km, 2 kg & 3 GB.", "one kilometre, two kilograms and three gigabytes."),
    ],
)
def test_english_expansions(written: str, spoken: str) -> None:
    out = speakable(written, "en")
    assert out.text == spoken
    assert out.written == written


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("CPI同比上涨3.5%。", "CPI同比上涨百分之三点五。"),
        ("2025年3月14日发布。", "二零二五年三月十四日发布。"),
        ("2025-03-14发布。", "二零二五年三月十四日发布。"),
        ("上午10:30开会。", "上午十点三十分开会。"),
        ("气温-5°C，风速80km/h。", "气温负五摄氏度，风速八十公里每小时。"),
        ("共有1,234,567人。", "共有一百二十三万四千五百六十七人。"),
        ("2个代表团，票价$5，约合¥36元。", "两个代表团，票价五美元，约合三十六元。"),
        ("增长3-5%，1/2的人支持。", "增长百分之三至百分之五，二分之一的人支持。"),
        ("下降0.25个百分点。", "下降零点二五个百分点。"),
    ],
)
def test_mandarin_expansions(written: str, spoken: str) -> None:
    assert speakable(written, "zh").text == spoken


def test_the_abbreviation_list_is_configurable() -> None:
    assert speakable("The FT said so.", "en", {"FT": "Financial Times"}).text == "The Financial Times said so."
    assert speakable("Dr. Who.", "en", {"Dr.": "Dr."}).text == "Dr. Who."


@pytest.fixture(scope="module")
def espeak(settings: Settings) -> EspeakBackend:
    return EspeakBackend(settings.speech)


def test_english_numbers_reach_the_speech_stage_as_words(espeak: EspeakBackend) -> None:
    written = clean_text("<p>Shares rose <b>3.5%</b> to $1,250 at 10:30 a.m. on 14 March 2025.</p>")
    out = speakable(written, "en")
    words = [w.text.lower() for w in espeak.synthesize(out.text, language="en").words]
    said = " ".join(words)
    for phrase in ("three point five per cent", "one thousand two hundred and fifty dollars", "ten thirty",
                   "fourteenth of march twenty twenty-five"):  # fmt: skip
        assert phrase in said, said
    assert not any(ch.isdigit() for ch in said)
    captions = [w.text for w in to_written(espeak.synthesize(out.text, language="en").words, out)]
    assert "3.5%" in captions and "$1,250" in captions and "14 March 2025" in captions


def test_mandarin_numbers_reach_the_speech_stage_as_characters(espeak: EspeakBackend) -> None:
    out = speakable("国家统计局2025年3月14日发布，CPI同比上涨2.1%。", "zh")
    speech = espeak.synthesize(out.text, language="zh")
    said = "".join(w.text for w in speech.words)
    assert "二零二五年三月十四日" in said and "百分之二点一" in said
    assert not any(ch.isdigit() for ch in said)
    phonemes = " ".join(p.phoneme for p in speech.phonemes)
    assert phonemes  # Mandarin phonemes, not digits read in English
    captions = [w.text for w in to_written(speech.words, out)]
    assert "2.1%" in captions and "2025" in captions
