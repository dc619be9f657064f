"""The mesh warp and the face renderer on the shipped default avatar."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.detect import inner_lip_gap
from anchor.face.mesh import MeshWarp, Rect, border_points
from anchor.face.renderer import FaceRenderer


@pytest.fixture(scope="module")
def renderer() -> FaceRenderer:
    avatar = AvatarStore(BUILTIN_AVATARS).load("default")
    return FaceRenderer(avatar, 1.2, BlinkSchedule(seed=3))


def test_mesh_warp_with_unmoved_vertices_is_the_identity() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (80, 100, 3), np.uint8)
    rect = Rect(10, 10, 90, 70)
    pts = np.concatenate([border_points(rect, 15), [[50, 40], [30, 30], [70, 50]]]).astype(np.float32)
    warp = MeshWarp(pts, rect)
    assert np.array_equal(warp.warp(img, pts), img[rect.slices])


def test_mesh_warp_moves_content_with_its_vertex() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[48:53, 48:53] = 255  # a bright dot at the centre vertex
    rect = Rect(0, 0, 100, 100)
    pts = np.concatenate([border_points(rect, 25), [[50, 50]]]).astype(np.float32)
    dst = pts.copy()
    dst[-1] = [50, 62]  # move the centre down by 12 px
    out = warp = MeshWarp(pts, rect).warp(img, dst)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert abs(ys.mean() - 62) < 1.5 and abs(xs.mean() - 50) < 1.5
    assert out[:3].max() == 0 and out[-3:].max() == 0  # borders stay put
    del warp


def test_rest_pose_reproduces_the_photo_except_nothing(renderer: FaceRenderer) -> None:
    frame = renderer.render(np.zeros(4, np.float32), 0.0)
    diff = np.abs(frame.image.astype(int) - renderer.rest_image.astype(int))
    assert diff.max() <= 2  # only interpolation rounding, no mouth drawn


def test_jaw_opening_opens_the_lips_in_the_image(renderer: FaceRenderer, analyzer) -> None:
    gaps = []
    for jaw in (0.0, 0.5, 1.0):
        img = renderer.render(np.array([jaw, 0, 0, 0], np.float32), 0.0).image.copy()
        lms = analyzer.landmarks(img)
        assert len(lms) == 1
        gaps.append(inner_lip_gap(lms[0]))
    assert gaps[0] < 0.01 and gaps[1] > gaps[0] + 0.02 and gaps[2] > gaps[1] + 0.02


def test_closure_shuts_the_lips_even_with_the_jaw_open(renderer: FaceRenderer, analyzer) -> None:
    img = renderer.render(np.array([0.4, 0, 0, 1.0], np.float32), 0.0).image.copy()
    assert inner_lip_gap(analyzer.landmarks(img)[0]) < 0.01


def test_only_the_mouth_and_eye_regions_change(renderer: FaceRenderer) -> None:
    frame = renderer.render(np.array([1.0, 0.3, 0.2, 0.0], np.float32), 0.0)
    changed = np.any(frame.image != renderer.rest_image, axis=2)
    inside = np.zeros_like(changed)
    for r in frame.dirty:
        inside[r.slices] = True
    assert changed[~inside].sum() == 0
    assert changed[frame.dirty[0].slices].sum() > 200


def test_blinks_close_the_eyes_at_irregular_intervals(renderer: FaceRenderer) -> None:
    sched = BlinkSchedule(2.0, 6.0, seed=11)
    starts = sched.blink_starts(120.0)
    intervals = np.diff(starts)
    assert 15 <= len(starts) <= 70
    assert intervals.std() > 0.3  # irregular, not a metronome
    t = renderer.blinks.blink_starts(30.0)[0] + 0.1
    shut = renderer.render(np.zeros(4, np.float32), t).image[renderer.eye_rect.slices].astype(int)
    rest = renderer.rest_image[renderer.eye_rect.slices].astype(int)
    assert np.abs(shut - rest).mean() > 2.0
    open_again = renderer.render(np.zeros(4, np.float32), t + 1.0).image[renderer.eye_rect.slices]
    assert np.array_equal(open_again, renderer.rest_image[renderer.eye_rect.slices])


def test_idle_motion_breathes_and_sways_smoothly_and_slightly() -> None:
    from anchor.face.motion import IdleMotion

    avatar = AvatarStore(BUILTIN_AVATARS).load("default")
    moving = FaceRenderer(avatar, 1.0, BlinkSchedule(seed=3), IdleMotion(seed=5))
    rest = np.zeros(4, np.float32)
    poses = [IdleMotion(seed=5).pose(t / 25) for t in range(25 * 60)]
    dx = np.array([p.dx for p in poses])
    angle = np.array([p.angle for p in poses])
    assert 0.002 < np.ptp(dx) < 0.03 and 0.2 < np.ptp(angle) < 2.0  # visible but slight
    assert np.abs(np.diff(dx)).max() < 0.001  # smooth from frame to frame
    assert [p.dx for p in poses[:50]] == [IdleMotion(seed=5).pose(t / 25).dx for t in range(50)]  # deterministic
    a = moving.render(rest, 0.0)
    assert a.dirty[0].width == moving.size[0]  # the whole layer moves
    first = a.image.copy()
    later = moving.render(rest, 3.0).image
    assert np.abs(first.astype(int) - later.astype(int)).mean() > 0.5
