"""Text handling before synthesis: cleaning, language detection, sentence and word splitting."""

from __future__ import annotations

import pytest

from anchor.speech.text import (
    MAX_SENTENCE_CHARS,
    collapse_whitespace,
    detect_language,
    normalize_text,
    sentence_bounds,
    split_sentences,
    word_tokens,
)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Good evening, here is the news.", "en"),
        ("晚上好，欢迎收看新闻。", "zh"),
        ("今年 GDP 增长了百分之五。", "zh"),  # a Latin acronym in Chinese text
        ("The delegation visited 北京 last week.", "en"),  # a Chinese name in English text
        ("12345 !!!", "en"),
        ("", "en"),
    ],
)
def test_detect_language_follows_the_dominant_script(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_latin_sentences_split_at_terminators() -> None:
    text = "The markets rose today! Did they fall? No; they did not. Good night."
    assert split_sentences(text) == [
        "The markets rose today!",
        "Did they fall?",
        "No;",
        "they did not.",
        "Good night.",
    ]


def test_abbreviations_initials_and_decimals_do_not_split() -> None:
    text = "Mr. Smith met Dr. Jones in the U.S. on Monday. Oil rose 3.5 percent, e.g. in Asia. J. K. Rowling agreed."
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. on Monday.",
        "Oil rose 3.5 percent, e.g. in Asia.",
        "J. K. Rowling agreed.",
    ]


def test_closing_quote_stays_with_its_sentence() -> None:
    assert split_sentences('He said "It is over." Then he left.') == ['He said "It is over."', "Then he left."]


def test_chinese_sentences_split_without_spaces() -> None:
    assert split_sentences("今天天气很好。我们去公园吧！你来吗？好；走。") == [
        "今天天气很好。",
        "我们去公园吧！",
        "你来吗？",
        "好；",
        "走。",
    ]


def test_mixed_chinese_and_latin_punctuation() -> None:
    assert split_sentences("苹果公司发布了 iPhone. 价格上涨了。Next story!") == [
        "苹果公司发布了 iPhone.",
        "价格上涨了。",
        "Next story!",
    ]


def test_whitespace_is_collapsed_and_empty_pieces_dropped() -> None:
    text = "  First\n\n  line\tcontinues.   ... !!  Second.\n"
    assert split_sentences(text) == ["First line continues.", "Second."]
    assert split_sentences("   \n\t ") == []
    assert split_sentences("?!...") == []


def test_whitespace_between_han_characters_is_removed() -> None:
    assert collapse_whitespace("今天\n天气 很好") == "今天天气很好"
    assert collapse_whitespace("iPhone  手机") == "iPhone 手机"


def test_long_sentence_without_terminator_is_cut_at_commas() -> None:
    clause = "the committee met again to discuss the budget"
    text = ", ".join([clause] * 12) + "."
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)
    assert " ".join(pieces) == text


def test_long_chinese_sentence_is_cut_at_chinese_commas() -> None:
    text = "，".join(["这是一个很长的句子"] * 40) + "。"
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p.endswith(("，", "。")) for p in pieces)
    assert "".join(pieces) == text


def test_long_text_without_any_punctuation_is_cut_at_spaces_then_hard() -> None:
    words = "word " * 100
    pieces = split_sentences(words)
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces).split() == words.split()
    blob = "x" * 450
    assert [len(p) for p in split_sentences(blob)] == [200, 200, 50]


def test_normalize_text_replaces_control_characters_and_keeps_length() -> None:
    raw = "Hello\x00 wor\x1bld\u200b!\r\nNext\ufeff"
    clean = normalize_text(raw)
    assert len(clean) == len(raw)
    assert all(ch.isprintable() or ch == " " for ch in clean)
    assert clean.split() == ["Hello", "wor", "ld", "!", "Next"]


def test_sentence_bounds_index_the_text() -> None:
    text = "  One two.  Three four!\n五六。"
    bounds = sentence_bounds(text)
    assert [text[s:e] for s, e in bounds] == ["One two.", "Three four!", "五六。"]


def test_word_tokens_strip_edge_punctuation_and_skip_symbols() -> None:
    text = '"Hello," said Mr. O\'Neil - twenty-one $3.50 今天。'
    cores = [text[cs:ce] for _, _, cs, ce in word_tokens(text)]
    assert cores == ["Hello", "said", "Mr", "O'Neil", "twenty-one", "3.50", "今天"]
