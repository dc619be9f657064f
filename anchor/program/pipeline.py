"""Pipeline: the stages a program needs, built once from the settings and shared.

One Pipeline serves every clip, bulletin and channel of a process: it holds the speech backend
(created on first use, so commands that never speak never load it), the mouth planner (the
audio-to-mouth model is loaded once), the avatar store and the content policy, and makes
Segments from text or recordings, renderers from avatar packs, and each output's provenance
(C2PA signing and the watermark). Every script is checked by the content policy before it is
spoken: a refused one never reaches the speech stage, whichever edge it came from.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarPack, AvatarStore
from anchor.face.base import AnchorRenderer
from anchor.face.renderers import RenderOptions, make_renderer
from anchor.lipsync.planner import MouthPlanner
from anchor.program.segment import Segment
from anchor.provenance.c2pa_sign import Presenter
from anchor.provenance.house import OutputProvenance, output_provenance
from anchor.provenance.policy import ContentPolicy, PolicyDecision, require_publishable
from anchor.speech.audio_in import MAX_AUDIO_SECONDS
from anchor.speech.base import Speech, SpeechBackend
from anchor.speech.listen import HeardSpeech, Listener
from anchor.speech.recording import hear_file


class Pipeline:
    """Speech backend + mouth planner + avatars for one process."""

    def __init__(
        self, settings: Settings, *, speech: SpeechBackend | None = None, planner: MouthPlanner | None = None
    ) -> None:
        self.settings = settings
        self.avatars = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
        self.planner = planner or MouthPlanner()
        self._speech = speech
        self.policy = ContentPolicy.from_settings(settings.provenance.policy)
        self._listener: Listener | None = None
        self._lock = threading.Lock()

    @property
    def speech(self) -> SpeechBackend:
        """The configured speech backend (built on first use)."""
        with self._lock:
            if self._speech is None:
                from anchor.speech.registry import make_speech_backend

                self._speech = make_speech_backend(self.settings.speech)
            return self._speech

    @property
    def listener(self) -> Listener:
        """Speech recognition and alignment for recordings (models load on first use)."""
        with self._lock:
            if self._listener is None:
                self._listener = Listener(self.settings.speech.listen)
            return self._listener

    # -- provenance ------------------------------------------------------------------------

    def require_publishable(self, text: str, language: str | None = None, field: str = "text") -> PolicyDecision:
        """The content policy for a finished video (a clip, a bulletin, an API job): a refused script is
        an InputError, and so is one held for review, since there is no operator to approve it here
        (a channel queue keeps such items `held` instead)."""
        return require_publishable(self.policy, text, language, field)

    def output_provenance(
        self,
        *,
        content_id: str,
        presenters: Sequence[AvatarPack],
        scripts: Sequence[str],
        language: str,
        voice: str,
        title: str,
        kind: str,
    ) -> OutputProvenance:
        """The C2PA facts, watermarker and MP4 finalizer of one finished video."""
        who = [Presenter(a.name, a.meta.consent, a.meta.source, a.meta.licence, a.meta.kind) for a in presenters]
        return output_provenance(
            self.settings.provenance,
            content_id=content_id,
            presenter=who[0],
            other_presenters=who[1:],
            scripts=scripts,
            language=language,
            voice=voice,
            speech_backend=self.speech.name if scripts else "recording",
            title=title,
            kind=kind,
        )

    # -- face --------------------------------------------------------------------------

    def avatar(self, name: str | None) -> AvatarPack:
        """The avatar pack `name` (None: the configured default)."""
        return self.avatars.load(name or self.settings.default_avatar)

    def renderer(self, pack: AvatarPack, scale: float, motion: float = 0.0) -> AnchorRenderer:
        """A renderer for `pack` at `scale` (layer px per pack px), with idle `motion` (0 = none)."""
        return make_renderer(pack, RenderOptions(scale, self.settings.face, motion))

    # -- speech -> lipsync -> segment ------------------------------------------------------

    def segment(self, speech: Speech, fps: int, *, key: int = 0, title: str | None = None) -> Segment:
        """`speech` with its planned mouth, on the frame grid."""
        return Segment.of(speech, self.planner.track(speech, fps), key=key, title=title)

    def speak_pieces(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Iterator[Speech]:
        """`text` spoken piece by piece (a sentence each where the backend streams); PolicyRefused
        (an InputError) before anything is spoken when the content policy refuses it."""
        self.policy.require(text, language)
        return self.speech.synthesize_sentences(text, language=language, voice=voice, rate=rate, pitch=pitch)

    def text_segment(
        self,
        text: str,
        fps: int,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
        key: int = 0,
        title: str | None = None,
    ) -> Segment:
        """`text` as one Segment made sentence by sentence: each sentence's mouth planned on its own and
        laid on its own frames — exactly what a live channel airs piece by piece."""
        pieces = self.speak_pieces(text, language=language, voice=voice, rate=rate, pitch=pitch)
        return Segment.join([self.segment(p, fps) for p in pieces], key=key, title=title)

    def speak(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """`text` spoken by the configured backend (after the content policy, as `speak_pieces`)."""
        self.policy.require(text, language)
        return self.speech.synthesize(text, language=language, voice=voice, rate=rate, pitch=pitch)

    def listen(
        self,
        path: Path,
        *,
        language: str | None = None,
        text: str = "",
        field: str = "audio",
        max_seconds: float = MAX_AUDIO_SECONDS,
    ) -> HeardSpeech:
        """A recorded voice (an audio file) as Speech with the text its words index; `text` is its
        transcript when known, else it is recognised."""
        return hear_file(self.listener, path, language, text, field=field, max_seconds=max_seconds)
