"""Mandarin text -> Kokoro phonemes (misaki's v1.0 IPA with tone arrows), word by word.

misaki[zh] 0.9.4 in its v1.0 mode reads each jieba word with pypinyin and no tone sandhi, passes
Latin words through as letters, and converts numbers for the whole text (so character offsets
are lost). Here, for captions and timings, the text is read span by span instead:

- numbers (cn2an: "2024年" -> 二零二四年, "3.5%" -> 百分之三点五, "1,250" -> 一千二百五十,
  "10:30" -> 十点三十) and Han runs are segmented by jieba (with parts of speech);
- tone sandhi (misaki's ToneSandhi, PaddleSpeech's rules: 不 and 一, neutral tones, third-tone
  chains; "你好" -> ni2 hao3) before pinyin -> IPA (misaki's `ZHG2P.py2ipa`);
- Latin words ("GDP", "iPhone") are read by an English G2P in the same misaki alphabet
  (hibari's), which Kokoro v1.0 speaks;
- Chinese punctuation becomes the ASCII punctuation the model pauses at.

Each `ZhWord` keeps the character span it came from, so word timings index the caller's text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from anchor.errors import MissingDependencyError
from anchor.speech.text import is_cjk

INSTALL = "pip install 'misaki[zh]==0.9.4'"

_PUNCT = {
    "，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";", "…": "…",
    ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";", "—": "—",
    "“": "“", "”": "”", "「": "“", "」": "”", "《": "“", "》": "”", "（": "(", "）": ")", "(": "(", ")": ")",
}  # fmt: skip
_TOKEN = re.compile(
    r"(?P<num>\d+(?:[,，]\d{3})*(?:[.:：]\d+)?%?)"
    r"|(?P<lat>[A-Za-z]+(?:['’.-][A-Za-z]+)*)"
    r"|(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
    r"|(?P<other>\S)"
)


@dataclass(frozen=True)
class ZhWord:
    """A piece of the sentence: its characters [start, end) and its phonemes; `spoken` False for
    punctuation (a pause) — spoken pieces are the words of the captions."""

    start: int
    end: int
    phonemes: str
    spoken: bool = True


class MandarinG2P:
    """Sentence -> `ZhWord`s. `english` phonemizes Latin words (misaki alphabet); None spells them."""

    def __init__(self, english: Callable[[str], str] | None = None) -> None:
        try:
            import cn2an
            import jieba
            import jieba.posseg
            from misaki.tone_sandhi import ToneSandhi
            from misaki.zh import ZHG2P
            from pypinyin import Style, lazy_pinyin
        except ImportError as e:
            raise MissingDependencyError(f"Mandarin for Kokoro needs misaki's Chinese G2P: {INSTALL}") from e
        jieba.setLogLevel(60)
        self._cn2an = cn2an
        self._posseg = jieba.posseg
        self._sandhi = ToneSandhi()
        self._py2ipa = ZHG2P.py2ipa
        self._pinyin = lazy_pinyin
        self._style = Style
        self._english = english
        self._lock = threading.Lock()  # jieba's tokenizer is not safe to initialize from two threads

    def __call__(self, sentence: str) -> list[ZhWord]:
        with self._lock:
            return self._words(sentence)

    def _words(self, text: str) -> list[ZhWord]:
        out: list[ZhWord] = []
        chinese: list[tuple[str, str, int, int]] = []  # (reading, pos, start, end) awaiting sandhi

        def flush() -> None:
            out.extend(self._chinese(chinese))
            chinese.clear()

        for m in _TOKEN.finditer(text):
            kind, s, e = m.lastgroup, m.start(), m.end()
            piece = m.group()
            if kind == "num":
                chinese.append((self.number(piece, text[e : e + 1]), "m", s, e))
            elif kind == "han":
                pos = s
                for w in self._posseg.cut(piece):
                    chinese.append((w.word, w.flag, pos, pos + len(w.word)))
                    pos += len(w.word)
            elif kind == "lat":
                flush()
                out.append(ZhWord(s, e, self._latin(piece)))
            else:
                flush()
                if piece in _PUNCT:
                    out.append(ZhWord(s, e, _PUNCT[piece], spoken=False))
        flush()
        return [w for w in out if w.phonemes]

    def number(self, digits: str, after: str) -> str:
        """A number as Chinese characters; `after` (the next character) picks the reading, e.g. a year before 年."""
        plain = digits.replace(",", "").replace("，", "").replace("：", ":")
        if ":" in plain:  # a clock time
            h, _, mnt = plain.partition(":")
            return self._cn2an.an2cn(h) + "点" + (self._cn2an.an2cn(mnt) if mnt.strip("0") else "")
        if after and is_cjk(after):
            reading = self._cn2an.transform(plain + after, "an2cn")
            if reading.endswith(after):
                return str(reading[: -len(after)])
        return str(self._cn2an.transform(plain, "an2cn"))

    def _latin(self, word: str) -> str:
        if self._english is not None:
            return self._english(word)
        return " ".join(word.lower())

    def _chinese(self, words: list[tuple[str, str, int, int]]) -> list[ZhWord]:
        if not words:
            return []
        merged = self._merge(words)
        out: list[ZhWord] = []
        for reading, pos, s, e in merged:
            pinyins = self._pinyin(reading, style=self._style.TONE3, neutral_tone_with_five=True)
            finals = self._pinyin(reading, style=self._style.FINALS_TONE3, neutral_tone_with_five=True)
            if len(pinyins) == len(finals):
                finals = self._sandhi.modified_tone(reading, pos, finals)
            ipa = []
            for i, py in enumerate(pinyins):
                if not re.fullmatch(r"[a-zü]+[1-5]", py):
                    continue
                tone = finals[i][-1] if i < len(finals) and finals[i][-1:].isdigit() else py[-1]
                ipa.append(self._py2ipa(py[:-1] + tone))
            phonemes = "".join(ipa).replace(chr(815), "")
            if phonemes:
                out.append(ZhWord(s, e, phonemes))
        return out

    def _merge(self, words: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
        """misaki's pre-sandhi merges (不 + verb, 一 + …, third-tone chains, 儿), mapped back to spans;
        when a merge does not line up with the pieces, the pieces are kept as they were."""
        seg = self._sandhi.pre_merge_for_modify([[w, p] for w, p, _, _ in words])
        out: list[tuple[str, str, int, int]] = []
        i = 0
        for word, pos in seg:
            j, acc = i, ""
            while j < len(words) and len(acc) < len(word):
                acc += words[j][0]
                j += 1
            if acc != word:
                return words
            out.append((word, pos, words[i][2], words[j - 1][3]))
            i = j
        return out if i == len(words) else words
