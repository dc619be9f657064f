"""The video pack on disk: round trip, versions, damage; photo packs unchanged; one factory for both kinds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, FaceSettings
from anchor.errors import InputError
from anchor.face.avatar import AvatarPack, load_pack, store_pack
from anchor.face.renderer import FaceRenderer
from anchor.face.renderers import RenderOptions, make_renderer
from anchor.face.video.pack import (
    BASE_FILE,
    BASE_MASK_FILE,
    INFO_FILE,
    MOUTHS_FILE,
    VideoPack,
    load_video_pack,
    write_pack_files,
)
from anchor.face.video.renderer import VideoRenderer


def test_a_pack_written_again_reads_back_identical(
    video_avatar: AvatarPack, video_pack: VideoPack, tmp_path: Path
) -> None:
    staging = tmp_path / ".copy.build"
    staging.mkdir()
    for name in (BASE_FILE, BASE_MASK_FILE, MOUTHS_FILE):
        shutil.copy(video_avatar.path / name, staging / name)
    write_pack_files(
        staging, image=video_avatar.image, landmarks=video_avatar.landmarks, mask=video_avatar.mask,
        meta=video_avatar.meta, info=video_pack.info, reference=video_pack.reference,
        base_transforms=video_pack.base_transforms, base_source=video_pack.base_source, bank=video_pack.bank,
    )  # fmt: skip
    store_pack(staging, tmp_path / "copy", overwrite=False)
    assert not staging.exists()
    again = load_video_pack(tmp_path / "copy")
    assert again.info == video_pack.info
    for field in ("reference", "base_transforms", "base_source"):
        assert np.array_equal(getattr(again, field), getattr(video_pack, field)), field
    for field in ("crops", "transforms", "params", "features", "lips", "source"):
        assert np.array_equal(getattr(again.bank, field), getattr(video_pack.bank, field)), field
    assert again.bank.step == video_pack.bank.step
    assert again.graph == video_pack.graph
    photo_view = load_pack(tmp_path / "copy")
    assert photo_view.meta == video_avatar.meta and np.array_equal(photo_view.image, video_avatar.image)


def test_photo_packs_load_as_before_and_each_kind_gets_its_renderer(video_avatar: AvatarPack) -> None:
    photo = load_pack(BUILTIN_AVATARS / "default")
    assert (photo.meta.kind, photo.meta.version) == ("photo", 1)  # meta.json written before kinds existed
    options = RenderOptions(scale=0.5, face=FaceSettings())
    assert isinstance(make_renderer(photo, options), FaceRenderer)
    video = make_renderer(video_avatar, options)
    assert isinstance(video, VideoRenderer)
    w, h = video_avatar.image.shape[1], video_avatar.image.shape[0]
    assert video.size == (round(w * 0.5), round(h * 0.5))


def _copy(video_avatar: AvatarPack, tmp_path: Path) -> Path:
    dst = tmp_path / "edited"
    shutil.copytree(video_avatar.path, dst)
    return dst


def test_a_newer_format_version_is_refused_with_a_clear_message(video_avatar: AvatarPack, tmp_path: Path) -> None:
    pack = _copy(video_avatar, tmp_path)
    info = json.loads((pack / INFO_FILE).read_text())
    info["version"] = 99
    (pack / INFO_FILE).write_text(json.dumps(info))
    with pytest.raises(InputError, match="update anchor") as e:
        load_video_pack(pack)
    assert e.value.field == "avatar"


def test_a_damaged_pack_is_refused_not_half_used(video_avatar: AvatarPack, tmp_path: Path) -> None:
    pack = _copy(video_avatar, tmp_path)
    (pack / MOUTHS_FILE).write_bytes((pack / MOUTHS_FILE).read_bytes()[:2000])
    with pytest.raises(InputError, match="damaged"):
        load_video_pack(pack)


def test_storing_over_an_existing_pack_needs_overwrite(video_avatar: AvatarPack, tmp_path: Path) -> None:
    first = _copy(video_avatar, tmp_path)
    second = tmp_path / ".second"
    shutil.copytree(video_avatar.path, second)
    with pytest.raises(InputError) as e:
        store_pack(second, first, overwrite=False)
    assert e.value.field == "name" and second.exists()
    store_pack(second, first, overwrite=True)
    assert not second.exists() and (first / INFO_FILE).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
