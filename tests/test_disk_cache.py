"""The on-disk cache of slow, unchanging results (hibari's G2P and graph, the face mesh).

A cached result equals a fresh one; a damaged, stale or unwritable cache only costs time."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from anchor.disk_cache import cache_dir, cached_bytes, cached_value, digest_key, file_key
from anchor.face.mesh import triangulate


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ANCHOR_CACHE_DIR", str(root))
    return root


def test_a_value_is_built_once_then_read_back_equal(cache: Path) -> None:
    value = {"word": ["wˈɜɹd", 1], "n": 3.5, "raw": b"\x00\x01"}
    calls = []

    def build() -> dict[str, object]:
        calls.append(1)
        return value

    first = cached_value("thing", "k1", build)
    second = cached_value("thing", "k1", build)
    assert first == second == value and len(calls) == 1
    assert cache_dir() == cache and len(list(cache.glob("thing-*.marshal"))) == 1


def test_a_new_key_rebuilds_and_a_damaged_entry_is_rebuilt(cache: Path) -> None:
    assert cached_value("thing", "k1", lambda: [1, 2]) == [1, 2]
    assert cached_value("thing", "k2", lambda: [3]) == [3]  # the source changed: not the old value
    (entry,) = [p for p in cache.glob("thing-*k1.marshal")]
    entry.write_bytes(b"\xff\x00garbage")
    assert cached_value("thing", "k1", lambda: [1, 2]) == [1, 2]
    assert cached_value("thing", "k1", lambda: ["not called"]) == [1, 2]  # rewritten whole


def test_an_unwritable_cache_only_costs_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ANCHOR_CACHE_DIR", str(blocker / "cache"))
    assert cached_value("thing", "k", lambda: {"a": 1}) == {"a": 1}
    assert cached_bytes("blob", "k", lambda: b"abc") == b"abc"
    assert not list(tmp_path.glob("**/*.part"))


def test_file_key_changes_when_the_file_does(tmp_path: Path) -> None:
    f = tmp_path / "lexicon.json"
    f.write_text('{"a": 1}')
    before = file_key(f)
    f.write_text('{"a": 12}')
    assert file_key(f) != before
    assert digest_key(b"ab", b"c") != digest_key(b"a", b"bc")


def test_the_mesh_triangulation_from_the_cache_is_scipys(cache: Path) -> None:
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(3)
    pts = np.concatenate([rng.uniform(0, 200, (60, 2)), [[0, 0], [199, 0], [0, 199], [199, 199]]]).astype(np.float32)
    expected = Delaunay(pts.astype(np.float64)).simplices
    fresh, cached = triangulate(pts), triangulate(pts)
    assert fresh.dtype == np.int32 and fresh.shape == expected.shape
    assert np.array_equal(fresh, expected) and np.array_equal(cached, expected)
    assert list(cache.glob("delaunay-*.marshal"))


def test_hibari_from_the_cache_speaks_exactly_as_built_fresh(cache: Path) -> None:
    import hibari.g2p
    from hibari.voices import voice_path

    from anchor.speech.hibari import HibariEngine

    fresh = HibariEngine()  # builds the cache: durations graph, optimised graph, G2P assets
    names = sorted(p.name for p in cache.iterdir())
    assert any("optimized" in n for n in names) and sum("hibari-g2p" in n for n in names) == 4
    cached = HibariEngine()  # loads every part from the cache
    text = "The council met on Tuesday to discuss the bridge."
    assert cached.phonemes(text) == fresh.phonemes(text)
    a_audio, a_tokens = fresh.run(fresh.phonemes(text), 1.0, 7)
    b_audio, b_tokens = cached.run(cached.phonemes(text), 1.0, 7)
    assert a_tokens == b_tokens and np.allclose(a_audio, b_audio, atol=1e-4)
    lexicon = Path(hibari.g2p.ASSETS) / "lexicon_us_gold.json.gz"
    with gzip.open(lexicon, "rt", encoding="utf-8") as f:
        assert cached_value("hibari-g2p-lexicon_us_gold.json.gz", file_key(lexicon), lambda: None) == json.load(f)
    assert Path(voice_path("heart")).is_file() and not list(cache.glob("*.part"))
    assert os.environ["ANCHOR_CACHE_DIR"] == str(cache)


def test_hibari_speaks_when_its_cached_graphs_are_damaged(cache: Path) -> None:
    from anchor.speech.hibari import HibariEngine

    HibariEngine()
    graphs = [p for p in cache.iterdir() if "durations" in p.name or "optimized" in p.name]
    assert len(graphs) == 2
    for g in graphs:
        g.write_bytes(b"not an onnx graph")
    engine = HibariEngine()
    audio, tokens = engine.run(engine.phonemes("Good evening."), 1.0, 7)
    assert audio.size > 10_000 and tokens
