"""The espeak-ng speech backend: libespeak-ng (bundled by `espeakng-loader`) through ctypes.

Text is spoken sentence by sentence; espeak's PHONEME and WORD events (exact sample counts
at the engine's native rate, normally 22050 Hz) are moved onto the 48 kHz program clock
together with the resampled audio.

Phoneme convention: PhonemeEvent.phoneme is IPA without stress marks (ˈ ˌ); espeak's pause
phoneme (reported with an empty name) becomes "_", consecutive pauses are merged, and the
language-switch markers espeak emits inside mixed text, e.g. "(en)", are dropped. A few
Mandarin phonemes espeak names in its ASCII notation are given their IPA spelling
(s. -> ʂ, th -> tʰ, i. -> ʅ …, see `_IPA_FIXES`). Events cover each sentence's audio without
gaps; the silence between sentences carries no events. espeak reports some phonemes at the
same sample as the next one (the "l" of "sells" is folded into the vowel); having no duration,
they are left out. Mandarin has real ~40 ms "_" gaps between most syllables: espeak speaks it so.

Event times come from the event's `sample` field (exact native-rate sample counts; the ms
`audio_position` is only a cross-check); measured against the audio, speech onsets after a
pause land within ~0-6 ms of their events. espeak's output varies by a few samples from run
to run (never in its phoneme sequence), so do not expect bit-identical audio.
"""

from __future__ import annotations

import ctypes
import numbers
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from anchor.config import SpeechSettings
from anchor.errors import BackendError, InputError, MissingDependencyError
from anchor.speech.base import (
    PhonemeEvent,
    SentenceSpan,
    SpeaksWholeText,
    Speech,
    SpeechCapabilities,
    VoiceInfo,
    WordEvent,
)
from anchor.speech.resample import to_program_rate
from anchor.speech.text import (
    collapse_whitespace,
    detect_language,
    is_cjk,
    normalize_text,
    require_speakable,
    sentence_bounds,
    word_tokens,
)
from anchor.timebase import PROGRAM_RATE

RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 99)

PAUSE = "_"
"""The phoneme name used for silence inside a sentence."""

# Language codes (first subtag of espeak's voice languages) that belong to our languages.
_LANGUAGE_CODES = {"en": ("en",), "zh": ("cmn", "yue", "hak", "zh")}

_IPA_FIXES = {
    "s.": "ʂ", "ts.": "tʂ", "ts.h": "tʂʰ", "tsh": "tsʰ", "th": "tʰ", "kh": "kʰ", "ph": "pʰ",
    "tɕh": "tɕʰ", "i.": "ʅ", "i̪": "ɿ", "o-": "ɤ", "onɡ": "ʊŋ",
}  # fmt: skip

_LICENCE = "GPL-3.0 (espeak-ng, loaded at run time)"
_TRIM_MARGIN_S = 0.02
_FADE_S = 0.005

# espeak_EVENT types and API constants (speak_lib.h)
_EV_END_OF_LIST, _EV_WORD, _EV_PHONEME = 0, 1, 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_OPTIONS = 0x0001 | 0x0002 | 0x8000  # PHONEME_EVENTS | PHONEME_IPA | DONT_EXIT
_CHARS_UTF8, _ENDPAUSE = 1, 0x1000
_POS_CHARACTER = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_PHONEMES_IPA = 0x02


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters
        ("length", ctypes.c_int),  # characters (WORD events)
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # samples at the native rate ("internal use", but exact)
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated code)* then NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class RawEvent:
    """An espeak event as reported: kind ('phoneme'/'word'), native sample, 0-based char index, payload."""

    kind: str
    sample: int
    char_index: int
    length: int
    phoneme: str = ""


@dataclass(frozen=True)
class EspeakVoice:
    """One entry of espeak_ListVoices."""

    name: str
    languages: tuple[str, ...]
    identifier: str


class EspeakLibrary:
    """The process's one connection to libespeak-ng.

    The C library keeps global state (one voice, one parameter set, one callback), so it is
    initialized once per process and every use must hold `lock`. `shared()` creates the
    single instance lazily; this class attribute is the one deliberate exception to the
    no-singletons rule, because the thing it models is itself a process-wide singleton.
    Anything else in the process that talks to libespeak-ng must go through it.
    """

    _shared: ClassVar[EspeakLibrary | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls) -> EspeakLibrary:
        """The process's instance, initializing the library on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - a core dependency
            raise MissingDependencyError(
                "the espeak backend needs espeakng-loader: pip install 'espeakng-loader==0.2.4'"
            ) from e
        self.lock = threading.RLock()
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (OSError, RuntimeError) as e:
            raise BackendError(f"cannot load libespeak-ng: {e}") from e
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib = lib
        self._chunks: list[bytes] = []
        self._events: list[RawEvent] = []
        self._callback = _SynthCallback(self._on_synth)  # kept alive as long as the library
        self._voices: list[EspeakVoice] | None = None
        self._variants: list[EspeakVoice] | None = None
        with self.lock:
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data_path.encode(), _INIT_OPTIONS)
            if rate <= 0:
                raise BackendError(f"espeak_Initialize failed (data path {data_path})")
            lib.espeak_SetSynthCallback(self._callback)
        self.sample_rate: int = rate

    def _on_synth(self, wav: Any, n: int, events: Any) -> int:  # POINTER(c_short), POINTER(_Event)
        if wav and n > 0:
            self._chunks.append(ctypes.string_at(wav, n * 2))
        i = 0
        while events[i].type != _EV_END_OF_LIST:
            ev = events[i]
            if ev.type in (_EV_PHONEME, _EV_WORD):
                sample = ev.sample
                if abs(sample * 1000 / self.sample_rate - ev.audio_position) > 2:
                    sample = round(ev.audio_position * self.sample_rate / 1000)
                phoneme = ev.id.string.decode("utf-8", "ignore") if ev.type == _EV_PHONEME else ""
                kind = "phoneme" if ev.type == _EV_PHONEME else "word"
                self._events.append(RawEvent(kind, sample, ev.text_position - 1, ev.length, phoneme))
            i += 1
        return 0

    def set_voice(self, name: str) -> bool:
        """Select a voice by name, language code or identifier (optionally "+variant"); False if unknown."""
        with self.lock:
            return self._lib.espeak_SetVoiceByName(name.encode("utf-8")) == 0

    def synth(self, text: str, *, rate: int, pitch: int) -> tuple[np.ndarray, list[RawEvent]]:
        """Speak `text` with the current voice: native-rate int16 audio and its events."""
        data = text.encode("utf-8")
        with self.lock:
            self._lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self._chunks, self._events = [], []
            err = self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
            if err == 0:
                err = self._lib.espeak_Synchronize()
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        if err != 0:
            raise BackendError(f"espeak_Synth failed with code {err}", retryable=err == 1)
        return np.frombuffer(b"".join(chunks), dtype=np.int16), events

    def text_to_phonemes(self, text: str) -> list[str]:
        """IPA phonemes (with stress marks, words separated by spaces) of `text` with the current
        voice, one string per clause espeak finds (no audio is made)."""
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        clauses: list[str] = []
        with self.lock:
            while ptr.value:
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEMES_IPA)
                if out:
                    clauses.append(out.decode("utf-8", "replace"))
        return [c for c in clauses if c.strip()]

    def voices(self) -> list[EspeakVoice]:
        """All installed voices (read once; the data directory does not change under us)."""
        with self.lock:
            if self._voices is None:
                self._voices = self.list_voices()
            return list(self._voices)

    def variants(self) -> list[EspeakVoice]:
        """The voice variants ("!v/f3" …), usable as "<voice>+<variant>"."""
        with self.lock:
            if self._variants is None:
                self._variants = self.list_voices("variant")
            return list(self._variants)

    def list_voices(self, spec_language: str | None = None) -> list[EspeakVoice]:
        """espeak_ListVoices: all voices, or those matching a language ("variant" lists the variants)."""
        spec = None
        if spec_language is not None:
            code = ctypes.c_char_p(spec_language.encode())
            spec = _Voice(languages=ctypes.cast(code, ctypes.c_void_p))
        out: list[EspeakVoice] = []
        with self.lock:
            arr = self._lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
            i = 0
            while arr[i]:
                v = arr[i].contents
                out.append(EspeakVoice(v.name.decode(), _read_languages(v.languages), v.identifier.decode()))
                i += 1
        return out


def _read_languages(ptr: int | None) -> tuple[str, ...]:
    codes: list[str] = []
    while ptr and ctypes.string_at(ptr, 1) != b"\0":
        code = ctypes.string_at(ptr + 1)
        codes.append(code.decode())
        ptr += 2 + len(code)
    return tuple(codes)


def ipa_phoneme(name: str) -> str:
    """espeak's IPA phoneme name -> the PhonemeEvent spelling ("" for a language marker)."""
    if name.startswith("("):
        return ""
    name = name.replace("ˈ", "").replace("ˌ", "")
    if not name:
        return PAUSE
    return _IPA_FIXES.get(name, name)


class EspeakBackend(SpeaksWholeText):
    """SpeechBackend on libespeak-ng: 48 kHz mono int16 speech with phoneme and word timings."""

    name = "espeak"
    capabilities = SpeechCapabilities(timings=True, languages=("en", "zh"))

    def __init__(self, settings: SpeechSettings, *, library: EspeakLibrary | None = None) -> None:
        self._settings = settings
        self._lib = library

    @property
    def library(self) -> EspeakLibrary:
        """The process's libespeak-ng (initialized on first use)."""
        if self._lib is None:
            self._lib = EspeakLibrary.shared()
        return self._lib

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """Speak `text` sentence by sentence, with `sentence_pause_ms` of silence between sentences."""
        require_speakable(text)
        clean = normalize_text(text)
        bounds = sentence_bounds(clean)
        if not bounds:
            raise InputError("text holds no words to speak (only punctuation or symbols)", field="text")
        language = language if language is not None else detect_language(clean)
        if language not in self._settings.voices:
            known = ", ".join(sorted(self._settings.voices))
            raise InputError(f"language {language!r} is not supported; use one of: {known}", field="language")
        voice = voice if voice is not None else self._settings.voices[language]
        rate = _check_range("rate", self._settings.rate if rate is None else rate, RATE_RANGE, "words per minute")
        pitch = _check_range("pitch", self._settings.pitch if pitch is None else pitch, PITCH_RANGE, "")

        lib = self.library
        pause = np.zeros(round(self._settings.sentence_pause_ms * PROGRAM_RATE / 1000), dtype=np.int16)
        pieces: list[np.ndarray] = []
        phonemes: list[PhonemeEvent] = []
        words: list[WordEvent] = []
        sentences: list[SentenceSpan] = []
        offset = 0
        with lib.lock:
            self._select_voice(lib, voice)
            for start, end in bounds:
                # whitespace (newlines included) becomes plain spaces; the length is kept so
                # espeak's character positions stay positions in `clean`
                chunk = "".join(" " if ch.isspace() else ch for ch in clean[start:end])
                native, events = lib.synth(chunk, rate=rate, pitch=pitch)
                sentence = _place_sentence(native, events, lib.sample_rate, chunk)
                if sentence.pcm.size == 0:
                    sentences.append(SentenceSpan(collapse_whitespace(chunk), offset, offset))
                    continue
                if pieces:
                    pieces.append(pause)
                    offset += pause.size
                pieces.append(sentence.pcm)
                phonemes.extend(PhonemeEvent(p, s + offset, e + offset) for p, s, e in sentence.phonemes)
                words.extend(
                    WordEvent(clean[cs + start : ce + start], s + offset, e + offset, cs + start, ce + start)
                    for cs, ce, s, e in sentence.words
                )
                sentences.append(SentenceSpan(collapse_whitespace(chunk), offset, offset + sentence.pcm.size))
                offset += sentence.pcm.size
        if not pieces:
            raise BackendError("espeak produced no audio for the text")
        return Speech(
            pcm=np.concatenate(pieces),
            language=language,
            voice=voice,
            phonemes=tuple(phonemes),
            words=tuple(words),
            sentences=tuple(sentences),
        )

    def _select_voice(self, lib: EspeakLibrary, voice: str) -> None:
        """Select `voice` (an id from voices(), an espeak voice name or file, optional "+variant")."""
        hint = "see the voice list (EspeakBackend.voices(), e.g. en-us, en-gb, cmn; variants as en-us+f3)"
        base, plus, variant = voice.strip().partition("+")
        if not base:
            raise InputError(f"unknown espeak voice {voice!r}; {hint}", field="voice")
        if plus and variant.lower() not in {v.identifier.rsplit("/", 1)[-1].lower() for v in lib.variants()}:
            raise InputError(f"unknown espeak voice variant {variant!r} in {voice!r}; {hint}", field="voice")
        entry = _voice_index(lib.voices()).get(base.lower())
        target = entry.identifier if entry is not None else base
        if not lib.set_voice(target + plus + variant):
            raise InputError(f"unknown espeak voice {voice!r}; {hint}", field="voice")

    def voices(self) -> list[VoiceInfo]:
        """Installed espeak voices for the configured languages (at least en and zh), plus the
        variants of each language's default voice ("en-us+f3"). Ids are espeak language codes."""
        lib = self.library
        wanted = sorted({"en", "zh", *self._settings.voices})
        out: list[VoiceInfo] = []
        for vid, v in _voice_ids(lib.voices()):
            for lang in wanted:
                if v.languages[0].split("-")[0] in _LANGUAGE_CODES.get(lang, (lang,)):
                    out.append(
                        VoiceInfo(id=vid, language=lang, name=v.name, backend=self.name, licence=_LICENCE, timings=True)
                    )
        for lang in wanted:
            default = self._settings.voices.get(lang)
            if default is None:
                continue
            for v in lib.variants():
                vid = f"{default}+{v.identifier.rsplit('/', 1)[-1]}"
                out.append(
                    VoiceInfo(
                        id=vid, language=lang, name=f"{default} ({v.name} variant)", backend=self.name,
                        licence=_LICENCE, timings=True,
                    )
                )  # fmt: skip
        return out


def _voice_ids(voices: list[EspeakVoice]) -> list[tuple[str, EspeakVoice]]:
    """The usable voices with their ids: the primary language code ("en-gb"), or the
    identifier when an earlier voice has that code. Romanized-input voices (cmn-latn-pinyin,
    yue-Latn-jyutping) and the Shavian-alphabet one are left out: they expect other scripts."""
    out: list[tuple[str, EspeakVoice]] = []
    taken: set[str] = set()
    for v in voices:
        if not v.languages or "latn" in v.identifier.lower() or "shaw" in v.identifier.lower():
            continue
        vid = v.languages[0] if v.languages[0] not in taken else v.identifier
        taken.add(vid)
        out.append((vid, v))
    return out


def _voice_index(voices: list[EspeakVoice]) -> dict[str, EspeakVoice]:
    """Lower-cased voice id, identifier, file name and display name -> voice."""
    index: dict[str, EspeakVoice] = {}
    for vid, v in _voice_ids(voices):
        for key in (vid, v.identifier, v.identifier.rsplit("/", 1)[-1], v.name):
            index.setdefault(key.lower(), v)
    return index


def _check_range(name: str, value: int, bounds: tuple[int, int], unit: str) -> int:
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        suffix = f" {unit}" if unit else ""
        raise InputError(f"{name} must be a whole number from {lo} to {hi}{suffix}, got {value!r}", field=name)
    return int(value)


@dataclass(frozen=True)
class _PlacedSentence:
    """One sentence at the program rate; times are samples from the start of `pcm`."""

    pcm: np.ndarray
    phonemes: list[tuple[str, int, int]]
    words: list[tuple[int, int, int, int]]  # char_start, char_end (in the sentence), start, end


def _place_sentence(native: np.ndarray, events: list[RawEvent], rate: int, text: str) -> _PlacedSentence:
    """Trim the sentence's silence, resample it to the program rate and move its events along."""
    x = native.astype(np.float64)
    peak = float(np.abs(x).max()) if x.size else 0.0
    loud = np.flatnonzero(np.abs(x) > max(32.0, 0.005 * peak))
    if loud.size == 0:
        return _PlacedSentence(np.zeros(0, dtype=np.int16), [], [])
    margin = round(_TRIM_MARGIN_S * rate)
    lead = max(0, int(loud[0]) - margin)
    tail = min(x.size, int(loud[-1]) + 1 + margin)
    x = x[lead:tail]
    fade = min(round(_FADE_S * rate), x.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    y = to_program_rate(x, rate)
    pcm = np.clip(np.rint(y), -32768, 32767).astype(np.int16)
    n = pcm.size

    def to_program(sample: int) -> int:
        return min(n, max(0, round((sample - lead) * PROGRAM_RATE / rate)))

    starts: list[tuple[str, int]] = []
    for ev in events:
        if ev.kind != "phoneme":
            continue
        name = ipa_phoneme(ev.phoneme)
        if name:
            starts.append((name, to_program(ev.sample)))
    starts.sort(key=lambda item: item[1])  # stable: same-time events keep their order
    phonemes: list[tuple[str, int, int]] = []
    for i, (name, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else n
        if end <= start:
            continue
        if phonemes and name == PAUSE and phonemes[-1][0] == PAUSE:
            phonemes[-1] = (PAUSE, phonemes[-1][1], end)
        else:
            phonemes.append((name, start, end))

    word_events = [(ev.char_index, to_program(ev.sample)) for ev in events if ev.kind == "word"]
    pause_starts = [s for p, s, _ in phonemes if p == PAUSE]
    speech_end = phonemes[-1][2] if phonemes else n
    if phonemes and phonemes[-1][0] == PAUSE:
        speech_end = phonemes[-1][1]
    timed = _time_words(text, word_events)
    words: list[tuple[int, int, int, int]] = []
    for i, (cs, ce, start) in enumerate(timed):
        end = timed[i + 1][2] if i + 1 < len(timed) else max(speech_end, start)
        end = min([end, *(p for p in pause_starts if start < p < end)])
        words.append((cs, ce, start, max(start, end)))
    return _PlacedSentence(pcm, phonemes, words)


def _time_words(text: str, word_events: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Words of `text` as (char_start, char_end, start sample), timed by espeak's WORD events.

    espeak's own word lengths are unreliable (numbers give several events, "twenty-one" one
    event, Chinese dictionary words report length 1), so words come from the text: each
    event is given to the word whose span holds its character position. Han runs are cut at
    the events that fall inside them (espeak segments Chinese with its dictionary). A word
    without an event of its own joins the word before it.
    """
    spans: list[tuple[int, int, int, int]] = []  # start, end, core_start, core_end
    event_chars = sorted({c for c, _ in word_events})
    for s, e, cs, ce in word_tokens(text):
        if not is_cjk(text[cs]):
            spans.append((s, e, cs, ce))
            continue
        cuts = [c for c in event_chars if cs < c < ce]
        for a, b in zip([cs, *cuts], [*cuts, ce]):
            spans.append((a, b, a, b))
    timed: list[list[int]] = []  # core_start, core_end, start sample (-1: no event yet)
    for s, e, cs, ce in spans:
        starts = [t for c, t in word_events if s <= c < e]
        if starts or not timed:
            timed.append([cs, ce, min(starts) if starts else -1])
        else:
            timed[-1][1] = ce
    if timed and timed[0][2] < 0:
        if len(timed) == 1:
            timed[0][2] = 0
        else:
            timed[1][0] = timed[0][0]
            del timed[0]
    for i in range(1, len(timed)):  # keep the order even if espeak reported out of order
        timed[i][2] = max(timed[i][2], timed[i - 1][2])
    return [(cs, ce, t) for cs, ce, t in timed]
