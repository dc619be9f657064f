"""English forced alignment of a known transcript to phones, with pocketsphinx's bundled model.

The `pocketsphinx` wheel (BSD-2-Clause) ships an en-US acoustic model and CMUdict. The text's
words are aligned in a first pass (word segmentation), then `set_alignment` and a second pass
give every phone's frames (10 ms). Phones are CMU phones, mapped to IPA with the one table in
anchor/speech/cmu.py; silences become "_" so a pause keeps the mouth shut. Words missing from
CMUdict (names, numbers) get a pronunciation from hibari's G2P, converted to CMU phones through
the same table read backwards.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

from anchor.errors import BackendError, MissingDependencyError
from anchor.speech.base import PhonemeEvent, WordEvent
from anchor.speech.cmu import CMU_TO_IPA, cmu_to_ipa
from anchor.speech.kokoro_alphabet import MODIFIERS, PUNCTUATION, STRESS, to_ipa
from anchor.speech.text import word_tokens
from anchor.timebase import PROGRAM_RATE

INSTALL = "pip install 'pocketsphinx==5.1.1'"
FRAME_SAMPLES = PROGRAM_RATE // 100
"""pocketsphinx frames are 10 ms."""
_PS_PHONES = frozenset(
    "aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th uh uw v w y z zh".split()
)
_REDUCED = {"ə": "ah", "ɚ": "er", "ɾ": "t", "ᵻ": "ih", "ɐ": "ah", "ʔ": "t", "ɜ": "er", "ɑ": "aa", "ɔ": "ao",
            "i": "iy", "u": "uw", "ɒ": "aa", "o": "ow", "e": "ey", "a": "aa", "x": "k", "ç": "hh"}  # fmt: skip
"""IPA the misaki alphabet uses that pocketsphinx's phone set spells another way (reduced vowels, flaps)."""


def _ipa_to_cmu() -> dict[str, str]:
    table = {ipa.replace("ː", ""): cmu for cmu, ipa in CMU_TO_IPA.items() if cmu in _PS_PHONES}
    for ipa, cmu in _REDUCED.items():
        table.setdefault(ipa, cmu)
    return table


def misaki_to_cmu(phonemes: str) -> list[str]:
    """misaki phonemes (hibari's G2P) -> pocketsphinx CMU phones, longest IPA match first."""
    table = _ipa_to_cmu()
    longest = max(len(k) for k in table)
    ipa = "".join(to_ipa(c) for c in phonemes if c not in STRESS and c not in MODIFIERS and c not in PUNCTUATION)
    out: list[str] = []
    for chunk in ipa.split():
        i = 0
        while i < len(chunk):
            for n in range(min(longest, len(chunk) - i), 0, -1):
                cmu = table.get(chunk[i : i + n])
                if cmu is not None:
                    out.append(cmu.upper())
                    i += n
                    break
            else:
                i += 1  # a symbol with no CMU counterpart is left out
    return out


def _dict_word(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower().replace("’", "'"))


class EnglishAligner:
    """pocketsphinx's decoder in alignment mode (one per aligner; calls are serialized)."""

    def __init__(self) -> None:
        try:
            import pocketsphinx
        except ImportError as e:
            raise MissingDependencyError(f"English forced alignment needs pocketsphinx: {INSTALL}") from e
        self._decoder = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
        self._g2p: Any = None
        self._lock = threading.Lock()

    def _pronounce(self, word: str) -> str | None:
        """CMU phones for a word CMUdict lacks, from hibari's G2P (None if there is no G2P)."""
        if self._g2p is None:
            try:
                from hibari.g2p import G2P
            except ImportError:
                return None
            self._g2p = G2P()
        phones = misaki_to_cmu(str(self._g2p(word)))
        return " ".join(phones) if phones else None

    def align(self, pcm48k: np.ndarray, text: str) -> tuple[tuple[PhonemeEvent, ...], tuple[WordEvent, ...]]:
        """Phonemes tiling the audio and the words of `text` (char offsets into it); BackendError if it fails."""
        from anchor.speech.listen import to_asr_rate

        tokens = [(cs, ce, _dict_word(text[cs:ce])) for _, _, cs, ce in word_tokens(text)]
        tokens = [t for t in tokens if t[2]]
        if not tokens:
            raise BackendError("nothing to align: the text has no words")
        audio = np.clip(np.rint(to_asr_rate(pcm48k) * 32767), -32768, 32767).astype(np.int16).tobytes()
        n = int(pcm48k.size)
        with self._lock:
            dec = self._decoder
            for _, _, w in tokens:
                if dec.lookup_word(w) is None:
                    phones = self._pronounce(w)
                    if not phones:
                        raise BackendError(f"no pronunciation for {w!r}")
                    dec.add_word(w, phones, True)
            try:
                dec.set_align_text(" ".join(w for _, _, w in tokens))
                dec.start_utt()
                dec.process_raw(audio, full_utt=True)
                dec.end_utt()
                if dec.hyp() is None:
                    raise BackendError("the text does not align with the audio")
                dec.set_alignment()
                dec.start_utt()
                dec.process_raw(audio, full_utt=True)
                dec.end_utt()
                alignment = dec.get_alignment()
            except RuntimeError as e:
                raise BackendError(f"forced alignment failed: {e}") from e
            if alignment is None:
                raise BackendError("forced alignment gave no result")
            entries = [(w.name, w.start, w.duration, [(p.name, p.start, p.duration) for p in w]) for w in alignment]
        return _events(entries, tokens, text, n)


def _events(
    entries: list[tuple[str, int, int, list[tuple[str, int, int]]]],
    tokens: list[tuple[int, int, str]],
    text: str,
    n: int,
) -> tuple[tuple[PhonemeEvent, ...], tuple[WordEvent, ...]]:
    phonemes: list[PhonemeEvent] = []
    words: list[WordEvent] = []
    k = 0
    for name, start, dur, phones in entries:
        for p, ps, pd in phones:
            ipa = cmu_to_ipa(p) or "_"
            a, b = min(n, ps * FRAME_SAMPLES), min(n, (ps + pd) * FRAME_SAMPLES)
            if b <= a:
                continue
            if phonemes and ipa == "_" and phonemes[-1].phoneme == "_":
                phonemes[-1] = PhonemeEvent("_", phonemes[-1].start, b)
            else:
                phonemes.append(PhonemeEvent(ipa, a, b))
        base = name.split("(")[0]
        if base.startswith("<") or base in ("sil", "[noise]") or k >= len(tokens):
            continue
        cs, ce, _ = tokens[k]
        k += 1
        words.append(WordEvent(text[cs:ce], start * FRAME_SAMPLES, min(n, (start + dur) * FRAME_SAMPLES), cs, ce))
    if not phonemes or k != len(tokens):
        raise BackendError(f"alignment placed {k} of {len(tokens)} words")
    # tile the audio exactly: contiguous from 0, the last phone (or a pause) to the end
    tiled: list[PhonemeEvent] = []
    pos = 0
    for ev in phonemes:
        if ev.end > pos:
            tiled.append(PhonemeEvent(ev.phoneme, pos, ev.end))
            pos = ev.end
    if pos < n:
        if tiled[-1].phoneme == "_":
            tiled[-1] = PhonemeEvent("_", tiled[-1].start, n)
        else:
            tiled.append(PhonemeEvent("_", pos, n))
    return tuple(tiled), tuple(words)
