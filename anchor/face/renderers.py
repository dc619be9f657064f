"""Pick the renderer for an avatar pack by its kind, through an explicit mapping.

Everything downstream (studio, program pipeline, jobs, API, live channel) asks `make_renderer`
and gets an `AnchorRenderer`; none of it knows which kind an avatar is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from anchor.config import FaceSettings
from anchor.errors import InputError
from anchor.face.avatar import AvatarPack
from anchor.face.base import AnchorRenderer
from anchor.face.blink import BlinkSchedule
from anchor.face.motion import IdleMotion
from anchor.face.renderer import FaceRenderer


@dataclass(frozen=True)
class RenderOptions:
    """How a renderer should behave beyond the pack itself.

    scale: layer pixels per pack pixel. motion: idle sway/breathing amplitude (0 = none; the
    live channel uses it, clips default to none). seed: blinks and motion repeat for a seed.
    """

    scale: float
    face: FaceSettings
    motion: float = 0.0


def _photo(pack: AvatarPack, options: RenderOptions) -> AnchorRenderer:
    f = options.face
    motion = IdleMotion(f.seed, options.motion) if options.motion > 0 else None
    return FaceRenderer(pack, options.scale, BlinkSchedule(f.blink_min_s, f.blink_max_s, f.seed), motion)


def _video(pack: AvatarPack, options: RenderOptions) -> AnchorRenderer:
    # Idle motion, breathing and blinks are the recording's own: `motion` does not apply.
    from anchor.face.video.renderer import VideoRenderer

    return VideoRenderer(pack, options.scale, seed=options.face.seed)


RENDERERS: dict[str, Callable[[AvatarPack, RenderOptions], AnchorRenderer]] = {
    "photo": _photo,
    "video": _video,
}
"""Pack kind (AvatarMeta.kind) -> renderer constructor."""


def make_renderer(pack: AvatarPack, options: RenderOptions) -> AnchorRenderer:
    """The renderer for `pack`'s kind."""
    factory = RENDERERS.get(pack.meta.kind)
    if factory is None:
        raise InputError(
            f"avatar {pack.name!r} is of kind {pack.meta.kind!r}, which this build cannot render "
            f"(known kinds: {', '.join(sorted(RENDERERS))})",
            field="avatar",
        )
    return factory(pack, options)
