"""The video-avatar pack on disk (kind "video", format version 1).

    avatars/NAME/
      meta.json      AvatarMeta, kind "video", version 1 (source, licence, consent, credit)
      image.png      the first base frame, its landmarks.npy and mask.png: what the studio
      landmarks.npy  places the presenter by and the API previews (the same files a photo
      mask.png       pack has, so every reader of packs keeps working)
      video.json     VideoPackInfo: frame rate, sizes, calibration, loop graph, bank summary
      video.npz      arrays: reference shape, per base frame alignment, per crop alignment,
                     mouth parameters, appearance vectors, lip landmarks, source indices
      base.mp4       the idle pieces, in order, each starting on a keyframe (H.264)
      base_mask.mp4  the person mask of every base frame, at half size (H.264 grey)
      mouths.mp4     the mouth bank's crops, one per frame (H.264 4:4:4)

A pack is written into a staging directory and renamed into place (`face.avatar.store_pack`, as photo packs are), so a
reader never sees half a pack and a refused or failed build leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from anchor.errors import InputError
from anchor.face.avatar import AvatarMeta, save_pack
from anchor.face.video.bank import MouthBank
from anchor.face.video.loops import LoopGraph
from anchor.face.video.measure import MouthCalibration

FORMAT: Literal["anchor-video-avatar"] = "anchor-video-avatar"
VERSION = 1
INFO_FILE = "video.json"
ARRAYS_FILE = "video.npz"
BASE_FILE = "base.mp4"
BASE_MASK_FILE = "base_mask.mp4"
MOUTHS_FILE = "mouths.mp4"


class VideoPackInfo(BaseModel):
    """video.json: what a renderer needs besides the arrays and the footage."""

    format: Literal["anchor-video-avatar"] = FORMAT
    version: int = Field(default=VERSION, ge=1)
    fps: float = Field(gt=0, description="Frame rate of the recording (the base track plays at it).")
    frame_size: tuple[int, int] = Field(description="(width, height) of the stored frames.")
    background: Literal["replace", "keep"] = Field(
        "replace", description="replace: the person is cut out by their mask; keep: the recorded background stays."
    )
    calibration: dict[str, float]
    graph: dict[str, Any]
    crop_box: tuple[int, int]
    bank_size: int
    bank_step: float
    source_frames: int = Field(description="Frames of the recording that were analysed.")
    stats: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class VideoPack:
    """A loaded video pack (the footage files stay on disk; the renderer streams them)."""

    path: Path
    info: VideoPackInfo
    reference: np.ndarray  # (478, 2) float32 canonical reference shape
    base_transforms: np.ndarray  # (B, 2, 3) float32 base frame -> canonical
    base_source: np.ndarray  # (B,) int32 source frame of each base frame
    bank: MouthBank

    @property
    def graph(self) -> LoopGraph:
        return LoopGraph.from_dict(self.info.graph)

    @property
    def calibration(self) -> MouthCalibration:
        return MouthCalibration.from_dict(self.info.calibration)

    @property
    def base_path(self) -> Path:
        return self.path / BASE_FILE

    @property
    def base_mask_path(self) -> Path:
        return self.path / BASE_MASK_FILE


def write_pack_files(
    staging: Path,
    *,
    image: np.ndarray,
    landmarks: np.ndarray,
    mask: np.ndarray,
    meta: AvatarMeta,
    info: VideoPackInfo,
    reference: np.ndarray,
    base_transforms: np.ndarray,
    base_source: np.ndarray,
    bank: MouthBank,
) -> None:
    """Write everything but the footage files (already in `staging`) and the meta into `staging`."""
    # save_pack writes the photo-compatible files into <staging>.tmp and renames it to staging.
    staging = Path(staging)
    tmp = staging.with_name(f".{staging.name}.files")
    save_pack(tmp, image, landmarks, mask, meta)
    for f in tmp.iterdir():
        f.rename(staging / f.name)
    tmp.rmdir()
    (staging / INFO_FILE).write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    np.savez_compressed(
        staging / ARRAYS_FILE,
        reference=reference.astype(np.float32),
        base_transforms=base_transforms.astype(np.float32),
        base_source=base_source.astype(np.int32),
        bank_transforms=bank.transforms.astype(np.float32),
        bank_params=bank.params.astype(np.float32),
        bank_features=bank.features.astype(np.float32),
        bank_lips=bank.lips.astype(np.float32),
        bank_source=bank.source.astype(np.int32),
    )


def load_video_pack(path: Path, crops: Callable[[Path], np.ndarray] | None = None) -> VideoPack:
    """Read a video pack written by the ingest; refuses other formats and newer versions."""
    import av

    from anchor.face.video.footage import read_planes

    path = Path(path)
    info_path = path / INFO_FILE
    if not info_path.is_file():
        raise InputError(f"avatar pack {path} is damaged: {INFO_FILE} is missing", field="avatar")
    info = VideoPackInfo.model_validate_json(info_path.read_text(encoding="utf-8"))
    if info.version > VERSION:
        raise InputError(
            f"avatar pack {path.name} is video format version {info.version}; this anchor reads up to "
            f"{VERSION}: update anchor",
            field="avatar",
        )
    try:
        with np.load(path / ARRAYS_FILE) as z:
            arrays = {k: z[k] for k in z.files}
        bank_crops = (crops or read_planes)(path / MOUTHS_FILE)
    except (OSError, ValueError, KeyError, av.error.FFmpegError) as e:
        raise InputError(f"avatar pack {path} is damaged ({e})", field="avatar") from None
    if len(bank_crops) != info.bank_size:
        raise InputError(
            f"avatar pack {path} is damaged: {len(bank_crops)} mouth crops, expected {info.bank_size}", field="avatar"
        )
    bank = MouthBank(
        crops=bank_crops,
        transforms=arrays["bank_transforms"],
        params=arrays["bank_params"],
        features=arrays["bank_features"],
        lips=arrays["bank_lips"],
        source=arrays["bank_source"],
        step=info.bank_step,
    )
    return VideoPack(path, info, arrays["reference"], arrays["base_transforms"], arrays["base_source"], bank)


def mask_size(width: int, height: int) -> tuple[int, int]:
    """Stored size of the person masks: half the frame (they are soft; decoding them costs less)."""
    return max(2, (width // 2) // 2 * 2), max(2, (height // 2) // 2 * 2)
