"""The video renderer: silence shows the base frame untouched, mouths follow the target without
popping, the base track walks forever without visible joins, and the studio shows it like a photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, FaceSettings
from anchor.face.avatar import AvatarPack, load_pack
from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.face.renderers import RenderOptions, make_renderer
from anchor.face.video.base_track import BaseTrack
from anchor.face.video.footage import FootageReader
from anchor.face.video.pack import VideoPack
from anchor.face.video.renderer import VideoRenderer
from anchor.face.video.select import MouthSelector
from anchor.face.video.walk import BaseWalk
from anchor.studio.presenter import PresenterShot, presenter_placement
from tests.face.video.recording import speech_like_track

REST = np.zeros(4, np.float32)


@pytest.fixture()
def renderer(video_avatar: AvatarPack, video_pack: VideoPack) -> VideoRenderer:
    r = VideoRenderer(video_avatar, 1.0, video=video_pack)
    yield r
    r.close()


def test_silence_shows_the_recorded_base_frame_untouched(renderer: VideoRenderer, video_pack: VideoPack) -> None:
    footage = FootageReader(video_pack.base_path)
    walk = BaseWalk(video_pack.graph, 7)
    plain = 0
    for n in range(0, 300, 3):
        frame = renderer.render(REST, n / video_pack.info.fps)
        assert renderer.last_crop == -1
        w = walk.at(n)
        if w.previous < 0:  # a plain walk frame: exactly the stored footage
            assert np.array_equal(frame.image, footage.get(w.frame))
            plain += 1
    assert plain > 50
    footage.close()


def test_speaking_changes_only_the_lower_face(renderer: VideoRenderer, video_pack: VideoPack) -> None:
    t = 40 / video_pack.info.fps
    rest = renderer.render(REST, t).image.copy()
    talking = renderer.render(np.array([0.7, 0.1, 0.0, 0.0], np.float32), t).image
    changed = np.any(rest != talking, axis=2)
    region = renderer.fitter.region(renderer.base_frame(40).to_canonical, rest.shape[1], rest.shape[0])
    inside = np.zeros_like(changed)
    inside[region.slices] = True
    assert changed[inside].sum() > 100 and changed[~inside].sum() == 0
    lm = video_pack.reference
    assert region.y0 > lm[[33, 263], 1].max(), "the eyes are never touched"


def _gap(analyzer: FaceAnalyzer, image: np.ndarray) -> float:
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    found = analyzer.landmarks(big)
    assert found, "the face must be found on the rendered frame"
    return inner_lip_gap(found[0])


def test_the_mouth_opens_for_vowels_and_closes_at_p_b_m(renderer: VideoRenderer, analyzer: FaceAnalyzer) -> None:
    gaps = {}
    for name, mouth in {"open": [0.8, 0.1, 0, 0], "half": [0.35, 0, 0, 0], "pbm": [0.0, 0, 0, 1.0]}.items():
        renderer.selector.reset()
        gaps[name] = _gap(analyzer, renderer.render(np.array(mouth, np.float32), 1.0).image.copy())
    assert gaps["open"] > gaps["half"] + 0.01 > gaps["pbm"] + 0.01
    assert gaps["pbm"] < 0.15 * gaps["open"]


def test_selection_never_pops_and_the_plan_is_no_worse_than_greedy(video_pack: VideoPack) -> None:
    rng = np.random.default_rng(5)
    track = speech_like_track(400, 25, rng)
    params = track.params.copy()
    params[::37] = [1.0, 0.8, 0.0, 0.0]  # abrupt targets: wide open out of nowhere
    params[5::41] = [0.0, 0.0, 0.0, 1.0]
    sel = MouthSelector(video_pack.bank)
    online = np.array([sel.step(p) for p in params])
    planned = sel.plan(params)
    bank = video_pack.bank
    for path in (online, planned):
        steps = bank.distance(path[:-1], path[1:])
        recorded = sel.next_of[path[:-1]] == path[1:]  # the recording's own next frame: real motion
        jumps = steps[~recorded]
        assert jumps.max() <= bank.step + 1e-6, f"a jump of {jumps.max():.3f} over the bound {bank.step:.3f}"
        assert (~recorded).sum() > 20

    def cost(path: np.ndarray) -> float:
        total = sum(sel.match(params[i])[path[i]] for i in range(len(path)))
        return total + sum(sel.transitions(path[i - 1 : i], path[i : i + 1])[0, 0] for i in range(1, len(path)))

    assert cost(planned) <= cost(online) + 1e-6
    # the crops follow the target: opening error well under what a random crop gives
    keys = sel.keys
    target = params[:, 0] * (1 - params[:, 3])
    err = np.abs(keys[planned, 0] - target).mean()
    chance = np.abs(keys[rng.integers(0, len(bank), len(target)), 0] - target).mean()
    assert err < 0.5 * chance


def test_rendered_lip_gap_follows_the_planned_opening(video_avatar: AvatarPack, video_pack: VideoPack) -> None:
    track = speech_like_track(150, 25, np.random.default_rng(9))
    r = VideoRenderer(video_avatar, 1.0, video=video_pack)
    r.plan(track.params, 0.0, 25)
    gaps = []
    with FaceAnalyzer.for_video() as fa:
        for i in range(len(track)):
            img = cv2.resize(r.render(track.params[i], i / 25).image, None, fx=2, fy=2)
            found = fa.landmarks(img)
            gaps.append(inner_lip_gap(found[0]) if found else np.nan)
    r.close()
    g = np.array(gaps)
    ok = ~np.isnan(g)
    assert ok.mean() > 0.95
    assert np.corrcoef(g[ok], track.opening[ok])[0, 1] > 0.8


def test_the_base_track_joins_pieces_without_a_visible_jump(video_pack: VideoPack) -> None:
    track = BaseTrack(video_pack, seed=3)
    footage = FootageReader(video_pack.base_path)

    def grey(img: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.int16)

    steps, in_join, cuts = [], [], []
    prev = None
    for n in range(1500):
        w = track.walk.at(n)
        img = grey(track.frame(w).image)
        if prev is not None:
            steps.append(float(np.abs(img - prev).mean()))
            in_join.append(w.previous >= 0 or track.walk.at(n - 1).previous >= 0)
        if w.previous >= 0 and w.lam < 0.2:  # first frame of a cross-fade: what a hard cut would have shown
            cuts.append(float(np.abs(grey(footage.get(w.frame)) - grey(footage.get(w.previous))).mean()))
        prev = img
    track.close()
    footage.close()
    d, j = np.array(steps), np.array(in_join)
    assert len(cuts) > 20, "the walk must have passed many loop points"
    natural = float(np.percentile(d[~j], 99))
    # No single frame carries the join: it is spread over the fade, a step no bigger than
    # a third of the hard cut it replaces (plus the motion of one ordinary frame).
    assert d[j].max() <= 0.34 * max(cuts) + natural, (d[j].max(), max(cuts), natural)
    assert np.median(d[j]) <= 0.34 * np.median(cuts) + natural


def test_the_walk_is_a_function_of_time(video_pack: VideoPack) -> None:
    a, b = BaseWalk(video_pack.graph, 11), BaseWalk(video_pack.graph, 11)
    forward = [a.at(n) for n in range(0, 20000, 7)]
    assert [b.at(n) for n in range(0, 20000, 7)] == forward
    assert a.at(35) == forward[5] and a.at(19999 - 19999 % 7) == forward[-1]  # back, then forward again
    c = BaseWalk(video_pack.graph, 12)
    other = [c.at(n) for n in range(0, 20000, 7)]
    assert other != forward


def test_the_studio_shows_both_kinds_through_one_interface(video_avatar: AvatarPack) -> None:
    photo = load_pack(BUILTIN_AVATARS / "default")
    for pack in (photo, video_avatar):
        place = presenter_placement(pack, 640, 360)
        renderer = make_renderer(pack, RenderOptions(scale=place.scale, face=FaceSettings()))
        shot = PresenterShot(640, 360, place, renderer.size)
        rest = renderer.rest()
        shot.set_rest(rest)
        frames = [shot.compose(renderer.render(np.array([0.5, 0, 0, 0], np.float32), i / 25)) for i in range(30)]
        assert all(f.shape == (360, 640, 3) for f in frames)
        face_y = int(place.y + pack.landmarks[10, 1] * place.scale) + 5
        forehead = [f[face_y : face_y + 10, 300:340].astype(int) for f in frames]
        moved = max(np.abs(x - forehead[0]).mean() for x in forehead)
        if pack.meta.kind == "video":
            assert moved > 0.5, "the recorded head moves"
        else:
            assert moved < 0.5, "the photo's head holds still without idle motion"
