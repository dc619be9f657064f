"""Mandarin G2P for Kokoro: tone sandhi, numbers, Latin words, spans into the text."""

from __future__ import annotations

import pytest

from anchor.speech.mandarin import MandarinG2P


@pytest.fixture(scope="module")
def g2p() -> MandarinG2P:
    return MandarinG2P(english=lambda w: {"GDP": "ʤˈi dˈi pˈi"}.get(w, "x"))


def test_third_tone_sandhi_turns_the_first_of_two_third_tones_rising(g2p: MandarinG2P) -> None:
    (w,) = g2p("你好")
    assert w.phonemes.startswith("ni↗") and w.phonemes.endswith("↓")


def test_bu_before_a_fourth_tone_rises(g2p: MandarinG2P) -> None:
    words = g2p("不错")
    assert words[0].phonemes.startswith("pu↗")


def test_numbers_are_read_in_chinese_with_their_context(g2p: MandarinG2P) -> None:
    assert g2p.number("2024", "年") == "二零二四"
    assert g2p.number("3.5%", "") == "百分之三点五"
    assert g2p.number("1,250", "") == "一千二百五十"
    assert g2p.number("10:30", "") == "十点三十"


def test_latin_words_use_the_english_reader_and_spans_index_the_text(g2p: MandarinG2P) -> None:
    text = "今年GDP增长，很好。"
    words = g2p(text)
    assert any(text[w.start : w.end] == "GDP" and w.phonemes == "ʤˈi dˈi pˈi" for w in words)
    assert [text[w.start : w.end] for w in words if not w.spoken] == ["，", "。"]
    spoken = "".join(text[w.start : w.end] for w in words if w.spoken)
    assert spoken == "今年GDP增长很好"
