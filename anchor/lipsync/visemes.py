"""Phoneme (espeak IPA) -> viseme classes, and each viseme's mouth target and dominance.

Covers the English and Mandarin inventories espeak-ng 1.52 emits, the Kokoro/misaki alphabet
(hibari, Kokoro-82M; after `anchor.speech.kokoro_alphabet.to_ipa`) and the CMU phones of Festival
and pocketsphinx (after `anchor.speech.cmu.CMU_TO_IPA`), including diphthongs,
r-coloured vowels and Mandarin finals (e.g. "aɪ", "ɔːɹ", "iou", "ʊŋ"), which become several
visemes in sequence. Unknown symbols fall back by kind (vowel-like -> "E", else "DD").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

SILENCE = "sil"


@dataclass(frozen=True)
class Viseme:
    """A mouth shape class: target (jaw, width, round, close) and per-parameter dominance."""

    name: str
    target: tuple[float, float, float, float]
    dominance: tuple[float, float, float, float]
    vowel: bool = False


_V = (1.5, 1.0, 1.0, 1.0)
# Jaw targets are calibrated on a real mouth: GRID speaker s1's inner-lip gap, measured with the
# face mesh on the first 85 % of ../shared/footage/grid_s1_180s.mp4 (the rest is held out), fitted
# per viseme to the force-aligned phones (r of the planned opening with the real one, pulled
# towards the earlier hand-set targets) and rounded. What the real lips do: front vowels open
# nearly as far as "aa"; rounded vowels and w/r keep a small gap; s/t/k show the vowels' opening.
VISEMES: dict[str, Viseme] = {
    v.name: v
    for v in (
        Viseme(SILENCE, (0.0, 0.0, 0.0, 0.0), (0.6, 0.6, 0.6, 0.6)),
        Viseme("PP", (0.0, 0.0, 0.0, 1.0), (0.6, 0.4, 0.4, 1.0)),
        Viseme("FF", (0.10, 0.10, 0.0, 0.55), (0.7, 0.5, 0.5, 1.5)),
        Viseme("TH", (0.10, 0.10, 0.0, 0.0), (0.4, 0.3, 0.3, 0.3)),
        Viseme("DD", (0.30, 0.10, 0.0, 0.0), (0.35, 0.3, 0.3, 0.3)),
        Viseme("SS", (0.45, 0.35, 0.0, 0.0), (0.8, 0.8, 0.5, 0.3)),
        Viseme("CH", (0.20, -0.30, 0.55, 0.0), (0.6, 1.0, 1.3, 0.3)),
        Viseme("RR", (0.05, -0.20, 0.45, 0.0), (0.4, 0.9, 1.2, 0.3)),
        Viseme("KK", (0.30, 0.05, 0.0, 0.0), (0.35, 0.3, 0.3, 0.3)),
        Viseme("WW", (0.05, -0.70, 1.0, 0.0), (0.6, 1.2, 1.5, 0.3)),
        Viseme("aa", (0.95, 0.15, 0.0, 0.0), _V, vowel=True),
        Viseme("E", (0.80, 0.25, 0.0, 0.0), _V, vowel=True),
        Viseme("I", (0.60, 0.75, 0.0, 0.0), _V, vowel=True),
        Viseme("O", (0.50, -0.35, 0.65, 0.0), _V, vowel=True),
        Viseme("U", (0.15, -0.60, 0.95, 0.0), _V, vowel=True),
    )
}
VISEME_NAMES = tuple(VISEMES)

# Longest symbols first when tokenizing. Affricates and aspirated stops count as one symbol.
SYMBOLS: dict[str, str] = {
    # bilabials
    "p": "PP",
    "b": "PP",
    "m": "PP",
    # labiodentals
    "f": "FF",
    "v": "FF",
    # dentals
    "θ": "TH",
    "ð": "TH",
    # alveolars, taps, laterals
    "t": "DD",
    "d": "DD",
    "n": "DD",
    "l": "DD",
    "ɾ": "DD",
    "ɫ": "DD",
    "ɬ": "DD",
    # retroflex and palatal stops, nasals and laterals (Kokoro's alphabet has them)
    "ʈ": "DD",
    "ɖ": "DD",
    "ɳ": "DD",
    "ɲ": "DD",
    "ʎ": "DD",
    "ɽ": "RR",
    "c": "KK",
    "ɟ": "KK",
    "ç": "KK",
    "ʝ": "KK",
    "ɰ": "KK",
    "ɴ": "KK",
    # bilabial and labiodental approximants/fricatives (lips near, not shut)
    "β": "FF",
    "ɸ": "FF",
    "ʋ": "FF",
    # sibilants
    "s": "SS",
    "z": "SS",
    "ts": "SS",
    "dz": "SS",
    # post-alveolars, alveolo-palatals, retroflex sibilants (lips pushed forward)
    "ʃ": "CH",
    "ʒ": "CH",
    "tʃ": "CH",
    "dʒ": "CH",
    "ɕ": "CH",
    "ʑ": "CH",
    "tɕ": "CH",
    "dʑ": "CH",
    "ʂ": "CH",
    "tʂ": "CH",
    "ʐ": "CH",
    "dʐ": "CH",
    # rhotics
    "ɹ": "RR",
    "r": "RR",
    "ɻ": "RR",
    "ɚ": "RR",
    "ʁ": "RR",
    # velars, uvulars, glottals
    "k": "KK",
    "g": "KK",
    "ɡ": "KK",
    "ŋ": "KK",
    "x": "KK",
    "χ": "KK",
    "ɣ": "KK",
    "h": "KK",
    "ʔ": "KK",
    "q": "KK",
    # glides
    "w": "WW",
    "ɥ": "WW",
    "j": "I",
    # vowels
    "a": "aa",
    "ɑ": "aa",
    "æ": "aa",
    "ɐ": "aa",
    "ɒ": "aa",
    "ʌ": "aa",
    "ɶ": "aa",
    "e": "E",
    "ɛ": "E",
    "ə": "E",
    "ɜ": "E",
    "ɤ": "E",
    "ᵻ": "E",
    "ɘ": "E",
    "ø": "E",
    "œ": "E",
    "i": "I",
    "ɪ": "I",
    "ʅ": "I",
    "ɿ": "I",
    "ɨ": "I",
    "o": "O",
    "ɔ": "O",
    "ɵ": "O",
    "u": "U",
    "ʊ": "U",
    "ɯ": "U",
    "y": "U",
    "ʏ": "U",
}
_MAX_SYMBOL = max(len(s) for s in SYMBOLS)
# Marks that modify a symbol without changing the mouth shape: length, stress, aspiration,
# syllabicity, tone digits and tone letters.
_IGNORED = set("ːˑˈˌʰʲʷᵝ̩̯̃˞-_'!0123456789˥˦˧˨˩↗↘↓→")
_VOWEL_LIKE = set("aeiouyæɑɐɒʌɛəɜɤɪʊɔøœɵɯɨʉɘɞɶᵻʅɿ")


def _clean(phoneme: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFC", phoneme):
        if ch in _IGNORED or unicodedata.category(ch) == "Mn":
            continue
        out.append(ch)
    return "".join(out)


def visemes_for(phoneme: str) -> list[str]:
    """The viseme sequence for one espeak phoneme string ("_" or empty -> silence)."""
    s = _clean(phoneme)
    if not s or s.startswith("("):  # "(en)"/"(cmn)" are espeak language-switch marks
        return [SILENCE]
    out: list[str] = []
    i = 0
    while i < len(s):
        for n in range(min(_MAX_SYMBOL, len(s) - i), 0, -1):
            v = SYMBOLS.get(s[i : i + n])
            if v is not None:
                out.append(v)
                i += n
                break
        else:
            out.append("E" if s[i] in _VOWEL_LIKE else "DD")
            i += 1
    return out


def unmapped_symbols(phoneme: str) -> list[str]:
    """The characters of `phoneme` that have no viseme of their own (they would fall back by kind)."""
    s = _clean(phoneme)
    if not s or s.startswith("("):
        return []
    missing: list[str] = []
    i = 0
    while i < len(s):
        for n in range(min(_MAX_SYMBOL, len(s) - i), 0, -1):
            if s[i : i + n] in SYMBOLS:
                i += n
                break
        else:
            missing.append(s[i])
            i += 1
    return missing
