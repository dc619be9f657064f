"""The hibari English voice: a 7.9 MB int8 ONNX model distilled from Kokoro-82M's af_heart.

`hibari-tts` (Apache-2.0) ships the model, its vocabulary and its own misaki-compatible G2P (no
spaCy, no espeak). The network predicts a spectrum per 12.5 ms frame which hibari's `dsp.synth`
turns into 24 kHz audio; before its decoder upsamples, the graph computes every token's
duration (the tensor `/Cast_32_output_0`: Round -> Clip -> Cast before the CumSum, in units of
600 samples). That tensor is added as a graph output once per instance, so each phoneme's span
is the model's own, exactly: audio length = Σ durations × 600. Only the bundled "heart" voice is
used (hibari downloads the others on first use, which anchor never does).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anchor.config import HibariSettings, SpeechSettings
from anchor.disk_cache import cache_dir, cached_bytes, cached_value, file_key, machine_key
from anchor.errors import BackendError, InputError, MissingDependencyError
from anchor.speech.base import PhonemeEvent, Speech, SpeechCapabilities, VoiceInfo, WordEvent
from anchor.speech.kokoro_alphabet import (
    PUNCTUATION,
    UNIT_SAMPLES,
    TimedToken,
    lead_events,
    timed_phonemes,
    token_spans,
    word_groups,
)
from anchor.speech.onnx_graph import with_output
from anchor.speech.sentences import SpokenSentence, join_speech, native_to_program, speak_sentences
from anchor.speech.text import detect_language, normalize_text, require_speakable, sentence_bounds, word_tokens

VOICE_ID = "heart"
DEFAULT_RATE_WPM = 170
"""Speaking rate of the voice at speed 1.0; `rate` scales the model's speed against it."""
MAX_PHONEMES = 400
"""Longer phoneme strings are cut at clause punctuation (as hibari does)."""
TIMING_LEAD_UNITS = 1
"""Phoneme boundaries are moved one duration unit (25 ms) earlier (see `lead_events`)."""
_DURATIONS = "/Cast_32_output_0"
_OUTPUTS = ["lh", "theta", "ln", "lr", "phi", "f0", _DURATIONS]
log = logging.getLogger(__name__)
INSTALL = "pip install 'hibari-tts==0.2.1'"


class HibariEngine:
    """The ONNX session (with the durations output), the vocabulary and the G2P, loaded once."""

    def __init__(self, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
            from hibari import dsp
            from hibari.voices import VOICES, voice_path
        except ImportError as e:
            raise MissingDependencyError(f"the hibari voice needs hibari-tts: {INSTALL}") from e
        import json
        from concurrent.futures import ThreadPoolExecutor

        path = Path(voice_path(VOICE_ID))
        british = bool(VOICES[VOICE_ID]["british"])
        with ThreadPoolExecutor(1, thread_name_prefix="hibari-g2p") as pool:
            g2p = pool.submit(_load_g2p, british)  # overlaps the session build (onnxruntime frees the GIL)
            self.session = _session(ort, path, threads)
            self.g2p = g2p.result()
        self.vocab: dict[str, int] = json.loads((path.parent / "vocab.json").read_text(encoding="utf-8"))
        self.info: dict[str, Any] = dict(VOICES[VOICE_ID])
        self._dsp = dsp
        self.lock = threading.Lock()

    def phonemes(self, text: str) -> str:
        """misaki phonemes of one sentence."""
        with self.lock:
            return str(self.g2p(text))

    def run(self, phonemes: str, speed: float, seed: int) -> tuple[np.ndarray, list[TimedToken]]:
        """24 kHz float audio of one phoneme string and its tokens' spans (native samples)."""
        symbols = [c for c in phonemes if c in self.vocab]
        ids = [0, *(self.vocab[c] for c in symbols), 0]
        with self.lock:
            out = self.session.run(
                _OUTPUTS, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([speed], np.float32)}
            )
            lh, th, ln, lr, phi, f0 = (o[0] for o in out[:6])
            audio = self._dsp.synth(lh, th, ln, lr, phi, f0, np.random.default_rng(seed))
        units = [int(u) for u in np.asarray(out[6]).reshape(-1)]
        tokens = token_spans(symbols, units)
        if tokens[-1].end != audio.size:
            raise BackendError(f"hibari made {audio.size} samples for {tokens[-1].end} samples of durations")
        return np.asarray(audio, np.float32), tokens


def _session(ort: Any, path: Path, threads: int) -> Any:
    """The voice's inference session, with the durations output.

    The first run saves onnxruntime's optimised graph in the cache (keyed by the model file, the
    onnxruntime version and this machine's CPU); later runs load it with optimisation off, which
    starts ~0.15 s faster and runs the same graph."""

    def options(level: Any) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = max(1, threads)
        opts.log_severity_level = 3
        opts.graph_optimization_level = level
        return opts

    providers = ["CPUExecutionProvider"]
    levels = ort.GraphOptimizationLevel
    optimized = cache_dir() / f"hibari-{VOICE_ID}-optimized-{file_key(path)}-ort{ort.__version__}-{machine_key()}.onnx"
    if optimized.is_file():
        try:
            return ort.InferenceSession(str(optimized), options(levels.ORT_DISABLE_ALL), providers=providers)
        except Exception as e:
            log.info("cached hibari graph %s unusable (%s): rebuilding it", optimized, e)
            with contextlib.suppress(OSError):
                optimized.unlink()
    model = cached_bytes(f"hibari-{VOICE_ID}-durations.onnx", file_key(path), lambda: _with_durations_output(path))
    opts = options(levels.ORT_ENABLE_ALL)
    part: Path | None = optimized.with_name(f"{optimized.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        optimized.parent.mkdir(parents=True, exist_ok=True)
        opts.optimized_model_filepath = str(part)
    except OSError:
        part = None  # no writable cache: just build the session
    try:
        session = ort.InferenceSession(model, opts, providers=providers)
    except Exception as e:  # a damaged cached graph, or the optimised one could not be written
        log.info("hibari session from the cache failed (%s): building it without the cache", e)
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()
        part = None
        session = ort.InferenceSession(
            _with_durations_output(path), options(levels.ORT_ENABLE_ALL), providers=providers
        )
    if part is not None:
        try:
            os.replace(part, optimized)
        except OSError as e:
            log.debug("hibari graph not cached: %s", e)
            part.unlink(missing_ok=True)
    return session


def _with_durations_output(path: Path) -> bytes:
    """The voice's ONNX graph with the token durations tensor added as an output."""
    import onnx

    missing = f"{path}: no duration tensor {_DURATIONS} (a different hibari release?)"
    return with_output(onnx.load(str(path)), _DURATIONS, missing)


def _load_g2p(british: bool) -> Any:
    """hibari's G2P, its JSON assets read through the marshal cache (the same dicts, ~3x faster)."""
    import hibari.g2p as g2p_module

    original = g2p_module._load_json
    if not getattr(original, "anchor_cached", False):

        def load(name: str) -> Any:
            key = file_key(Path(g2p_module.ASSETS) / name)
            return cached_value(f"hibari-g2p-{name}", key, lambda: original(name))

        load.anchor_cached = True  # type: ignore[attr-defined]
        g2p_module._load_json = load
    return g2p_module.G2P(british=british)


def split_long(phonemes: str, limit: int = MAX_PHONEMES) -> list[str]:
    """A phoneme string cut at clause punctuation into pieces of at most ~`limit` symbols."""
    if len(phonemes) <= limit:
        return [phonemes]
    pieces, cur = [], ""
    for part in phonemes.replace(", ", ",\n").replace("; ", ";\n").replace(": ", ":\n").split("\n"):
        if cur and len(cur) + len(part) + 1 > limit:
            pieces.append(cur)
            cur = part
        else:
            cur = f"{cur} {part}" if cur else part
    pieces.append(cur)
    return [p[i : i + limit] for p in pieces for i in range(0, len(p), limit)]


def group_count(phonemes: str) -> int:
    """How many spoken words (runs between spaces and punctuation) a phoneme string holds."""
    runs, inside = 0, False
    for c in phonemes:
        if c == " " or c in PUNCTUATION:
            inside = False
        elif not inside:
            runs += 1
            inside = True
    return runs


def assign_words(text: str, start: int, end: int, counts: list[int], groups: list[tuple[int, int]]) -> list[WordEvent]:
    """Words of text[start:end] timed by the spoken groups: word i takes `counts[i]` groups when
    the counts add up; otherwise each word gets its proportional share of them."""
    tokens = word_tokens(text[start:end])
    if not tokens or not groups:
        return []
    if sum(counts) != len(groups):
        total = max(1, sum(counts))
        cum = np.cumsum([0, *counts]) / total * len(groups)
        edges = [int(round(c)) for c in cum]
    else:
        edges = list(np.cumsum([0, *counts]))
    out: list[WordEvent] = []
    for (_, _, cs, ce), a, b in zip(tokens, edges[:-1], edges[1:]):
        a, b = min(a, len(groups) - 1), min(max(b, a + 1), len(groups))
        out.append(WordEvent(text[start + cs : start + ce], groups[a][0], groups[b - 1][1], start + cs, start + ce))
    for i in range(1, len(out)):  # keep words in order and non-overlapping
        prev = out[i - 1]
        if out[i].start < prev.end:
            out[i] = WordEvent(out[i].text, prev.end, max(prev.end, out[i].end), out[i].char_start, out[i].char_end)
    return out


@dataclass(frozen=True)
class _Request:
    speed: float
    seed: int


class HibariBackend:
    """SpeechBackend on hibari "heart": 48 kHz speech with the model's own phoneme timings, by sentence."""

    name = "hibari"
    capabilities = SpeechCapabilities(timings=True, streams=True, languages=("en",))

    def __init__(self, settings: SpeechSettings) -> None:
        self._settings = settings
        self._hibari: HibariSettings = settings.hibari
        self._engine: HibariEngine | None = None
        self._load_lock = threading.Lock()

    @property
    def engine(self) -> HibariEngine:
        """The model, loaded on first use (once per backend instance)."""
        with self._load_lock:
            if self._engine is None:
                self._engine = HibariEngine(self._hibari.threads)
            return self._engine

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(
                id=VOICE_ID,
                language="en",
                name="heart (hibari, American English)",
                backend=self.name,
                gender="female",
                licence="Apache-2.0 (hibari-tts; distilled from Kokoro-82M af_heart, Apache-2.0)",
                timings=True,
            )
        ]

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """Speak `text`, sentence by sentence with `sentence_pause_ms` between sentences."""
        return join_speech(
            list(self.synthesize_sentences(text, language=language, voice=voice, rate=rate, pitch=pitch))
        )

    def synthesize_sentences(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Iterator[Speech]:
        """One Speech per sentence (each after the first led by the pause); checks run before any audio."""
        require_speakable(text)
        clean = normalize_text(text)
        language = language if language is not None else detect_language(clean)
        if language != "en":
            raise InputError(f"the hibari voice speaks English (en) only, not {language!r}", field="language")
        if voice is not None and voice != VOICE_ID:
            raise InputError(f"unknown hibari voice {voice!r}; installed: {VOICE_ID}", field="voice")
        if pitch is not None:
            raise InputError("the hibari voice has no pitch control; leave pitch unset", field="pitch")
        speed = self._hibari.speed
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int) or not 80 <= rate <= 450:
                raise InputError(
                    f"rate must be a whole number from 80 to 450 words per minute, got {rate!r}", field="rate"
                )
            speed *= rate / DEFAULT_RATE_WPM
        speed = float(min(2.0, max(0.5, speed)))
        bounds = sentence_bounds(clean)
        if not bounds:
            raise InputError("text holds no words to speak (only punctuation or symbols)", field="text")
        request = _Request(speed, self._hibari.seed)
        return speak_sentences(
            clean,
            bounds,
            lambda s, e: self._sentence(clean, s, e, request),
            pause_ms=self._settings.sentence_pause_ms,
            language="en",
            voice=VOICE_ID,
        )

    def _sentence(self, text: str, start: int, end: int, req: _Request) -> SpokenSentence | None:
        engine = self.engine
        phonemes = engine.phonemes(text[start:end])
        if not any(c in engine.vocab and c != " " and c not in PUNCTUATION for c in phonemes):
            return None
        audio_parts: list[np.ndarray] = []
        events: list[PhonemeEvent] = []
        groups: list[tuple[int, int]] = []
        offset = 0  # native samples
        for piece in split_long(phonemes):
            audio, tokens = engine.run(piece, req.speed, req.seed)
            timed = lead_events(timed_phonemes(tokens), TIMING_LEAD_UNITS * UNIT_SAMPLES)
            events.extend(PhonemeEvent(p, 2 * (a + offset), 2 * (b + offset)) for p, a, b in timed)
            groups.extend((2 * (a + offset), 2 * (b + offset)) for _, _, a, b in word_groups(tokens))
            audio_parts.append(audio)
            offset += audio.size
        pcm = native_to_program(np.concatenate(audio_parts))
        counts = [
            group_count(engine.phonemes(text[start + s : start + e])) for s, e, _, _ in word_tokens(text[start:end])
        ]
        words = assign_words(text, start, end, counts, groups)
        return SpokenSentence(pcm, tuple(events), tuple(words))
