"""CMU (ARPAbet / Festival radio) phones -> the espeak IPA the viseme table reads.

One table for every source of CMU phones: Festival's segment files (the audio-to-mouth model's
training data, anchor/lipsync/model/festival.py) and pocketsphinx's forced alignment
(anchor/speech/align.py). Stress digits ("AH0") are not part of the keys: strip them first.
"""

from __future__ import annotations

CMU_TO_IPA: dict[str, str] = {
    "aa": "ɑː", "ae": "æ", "ah": "ʌ", "ao": "ɔː", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ",
    "b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "dx": "ɾ", "eh": "ɛ", "el": "əl", "em": "əm",
    "en": "ən", "er": "ɜː", "ey": "eɪ", "f": "f", "g": "ɡ", "hh": "h", "hv": "h", "ih": "ɪ",
    "ix": "ɪ", "iy": "iː", "jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ",
    "nx": "ŋ", "ow": "oʊ", "oy": "ɔɪ", "p": "p", "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t",
    "th": "θ", "uh": "ʊ", "uw": "uː", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "ʒ",
    "pau": "_", "h#": "_", "brth": "_",
}  # fmt: skip
"""CMU (radio) phones -> espeak IPA. Pauses become "_" (silence)."""


def cmu_to_ipa(phone: str) -> str | None:
    """IPA for one CMU phone in any case, with or without a stress digit ("AH0", "sil"); None if unknown."""
    key = phone.lower().rstrip("012")
    if key in ("sil", "+nsn+", "+spn+", "+noise+", "+breath+", "+cough+", "+laugh+", "+um+", "+uh+"):
        return "_"
    return CMU_TO_IPA.get(key)
