"""Building a video avatar from a recording: what it finds, and every refusal (nothing stored)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from anchor.errors import InputError
from anchor.face.avatar import AvatarPack
from anchor.face.video.ingest import IngestOptions, build_video_avatar
from anchor.face.video.pack import VideoPack
from tests.face.video.recording import Recording, record, still_video


def test_the_pack_is_a_video_kind_with_the_recordings_first_idle_frame(
    video_avatar: AvatarPack, video_pack: VideoPack, recording: Recording
) -> None:
    assert (video_avatar.meta.kind, video_avatar.meta.version) == ("video", 1)
    assert video_avatar.image.shape[:2][::-1] == recording.size == tuple(video_pack.info.frame_size)
    assert video_avatar.landmarks.shape == (478, 3) and video_avatar.mask.shape == video_avatar.image.shape[:2]
    assert video_pack.info.fps == 25 and len(video_pack.bank) > 100
    assert len(video_pack.base_source) == sum(p.length for p in video_pack.graph.pieces)


def test_idle_pieces_are_where_the_recorded_mouth_was_closed(video_pack: VideoPack, recording: Recording) -> None:
    truth = recording.track.opening
    pieces = video_pack.graph.pieces
    assert len(pieces) >= 3
    for p in pieces:
        assert truth[p.start : p.stop].max() < 0.05, f"piece {p} shows a moving mouth"
    # ... and they cover a good part of the pauses (the recording pauses ~40% of the time)
    assert sum(p.length for p in pieces) > 0.2 * len(truth)


def test_measured_mouth_parameters_follow_the_recorded_mouth(video_pack: VideoPack, recording: Recording) -> None:
    bank = video_pack.bank
    truth = recording.track.params[bank.source]
    measured = bank.params
    opening_truth = truth[:, 0] * (1 - truth[:, 3])
    opening = measured[:, 0] * (1 - measured[:, 3])
    assert np.corrcoef(opening, opening_truth)[0, 1] > 0.85
    assert np.corrcoef(measured[:, 1], truth[:, 1])[0, 1] > 0.5  # width: spread vs narrow
    pressed = truth[:, 3] > 0.5
    assert pressed.any() and opening[pressed].mean() < 0.25 * opening[opening_truth > 0.5].mean()


def _no_leftovers(avatars: Path) -> None:
    assert not avatars.exists() or not any(avatars.iterdir()), list(avatars.iterdir())


def _text(d: Path) -> Path:
    p = d / "notes.mp4"
    p.write_text("these are my notes, not a video")
    return p


def _gradient(d: Path) -> Path:
    img = np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))
    return still_video(d / "empty.mp4", img, 11)


REFUSALS: dict[str, tuple[Callable[[Path], Path], str, dict]] = {
    "not a video": (_text, "not a video", {}),
    "too short": (lambda d: record(d / "short.mp4", seconds=4, fps=10).path, "at least 10 s", {}),
    "too long": (lambda d: record(d / "long.mp4", seconds=11, fps=10).path, "limit", {"max_seconds": 10.5}),
    "no face": (_gradient, "no face", {}),
    "several faces": (lambda d: record(d / "two.mp4", seconds=11, fps=10, faces=2).path, "more than one face", {}),
    "face too small": (
        lambda d: record(d / "small.mp4", seconds=11, fps=10, scale=0.3, canvas=(640, 480)).path,
        "too small",
        {},
    ),
    "head leaves the frame": (
        lambda d: record(d / "drift.mp4", seconds=11, fps=10, drift=0.45).path,
        "leaves the frame",
        {},
    ),
    "mouth never closed": (
        lambda d: record(d / "open.mp4", seconds=11, fps=10, always_open=True).path,
        "mouth is closed in only",
        {},
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_unusable_recordings_are_refused_and_nothing_is_stored(case: str, tmp_path: Path) -> None:
    make, words, limits = REFUSALS[case]
    video = make(tmp_path)
    avatars = tmp_path / "avatars"
    with pytest.raises(InputError) as e:
        build_video_avatar(
            video, "someone", avatars, source="test", licence="test", consent="test", options=IngestOptions(**limits)
        )
    assert e.value.field == "video"
    assert words in str(e.value)
    _no_leftovers(avatars)


def test_consent_source_and_licence_are_required(recording: Recording, tmp_path: Path) -> None:
    for field in ("consent", "source", "licence"):
        kwargs = {"source": "s", "licence": "l", "consent": "c", field: "  "}
        with pytest.raises(InputError) as e:
            build_video_avatar(recording.path, "someone", tmp_path / "avatars", **kwargs)
        assert e.value.field == field
    _no_leftovers(tmp_path / "avatars")


def test_an_existing_avatar_is_kept_unless_overwriting(video_avatar: AvatarPack, recording: Recording) -> None:
    before = sorted(p.name for p in video_avatar.path.iterdir())
    with pytest.raises(InputError) as e:
        build_video_avatar(recording.path, video_avatar.name, video_avatar.path.parent, source="s", licence="l",
                           consent="c")  # fmt: skip
    assert e.value.field == "name"
    assert sorted(p.name for p in video_avatar.path.iterdir()) == before
