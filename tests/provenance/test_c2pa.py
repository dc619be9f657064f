"""C2PA-signed MP4s: the manifest validates, states the AI source, and breaks when the file changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import c2pa
import pytest

from anchor.config import ProvenanceSettings
from anchor.errors import BackendError, InputError
from anchor.provenance.c2pa_sign import TRAINED_ALGORITHMIC_MEDIA, script_hash
from anchor.provenance.keys import init_keys, load_identity
from anchor.provenance.verify import check_manifest, verify_file
from streaming.file import Mp4Sink
from tests.provenance.conftest import ISSUER, render_clip


def _reader(path: Path, anchors: bytes) -> c2pa.Reader:
    ctx = c2pa.Context.from_dict({"trust": {"trust_anchors": anchors.decode()}, "verify": {"verify_trust": True}})
    return c2pa.Reader("video/mp4", open(path, "rb"), None, ctx)


def test_a_signed_mp4_validates_with_c2pa_reader_and_states_the_ai_source(signed_clip: Path, identity) -> None:
    reader = _reader(signed_clip, identity.trust_anchors)
    assert reader.get_validation_state() == "Trusted"
    manifest = reader.get_active_manifest()
    by_label = {a["label"]: a["data"] for a in manifest["assertions"]}
    actions = by_label["c2pa.actions.v2"]["actions"]
    assert actions[0]["action"] == "c2pa.created"
    assert actions[0]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert actions[0]["softwareAgent"]["name"] == "anchor"
    assert manifest["claim_generator_info"][0]["name"] == "anchor"
    assert by_label["c2pa.training-mining"]["entries"]["c2pa.ai_training"]["use"] == "notAllowed"
    assert by_label["org.anchor.presenter"]["avatar"] == "default"
    assert by_label["org.anchor.presenter"]["consent"] == "public-domain portrait; no consent needed"
    assert by_label["org.anchor.script"]["stories"] == [script_hash("Good evening."), script_hash("Here is the news.")]
    assert by_label["org.anchor.voice"] == {"backend": "espeak", "voice": "en-us", "synthetic": True}
    assert by_label["org.anchor.content"]["issuer"] == ISSUER
    assert by_label["org.anchor.watermark"]["payload"]


def test_the_signed_file_still_plays(signed_clip: Path) -> None:
    with av.open(str(signed_clip)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 50


def test_flipping_one_byte_of_video_data_makes_it_tampered(signed_clip: Path, identity, tmp_path: Path) -> None:
    data = bytearray(signed_clip.read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 4000] ^= 0x01
    bad = tmp_path / "flipped.mp4"
    bad.write_bytes(bytes(data))
    v = verify_file(bad, trust_anchors=identity.trust_anchors, watermark_key=identity.watermark_key, issuers=[ISSUER])
    assert v.manifest.state == "tampered"
    assert "assertion.bmffHash.mismatch" in v.manifest.failures
    assert (v.verdict, v.exit_code) == ("tampered", 3)
    assert v.summary.startswith("TAMPERED")


def test_remuxing_without_the_manifest_makes_it_absent_but_the_watermark_remains(
    signed_clip: Path, identity, prov: ProvenanceSettings, tmp_path: Path
) -> None:
    remuxed = tmp_path / "remuxed.mp4"
    with av.open(str(signed_clip)) as src, av.open(str(remuxed), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    v = verify_file(
        remuxed,
        trust_anchors=identity.trust_anchors,
        watermark_key=identity.watermark_key,
        issuers=[ISSUER],
        index_file=prov.index_file,
    )
    assert v.manifest.state == "absent"
    assert [t["content_id"] for t in v.traced] == ["clip-1"]  # traced back through the local content index
    assert v.watermark is not None and v.watermark.found and v.issuer_name == ISSUER
    assert (v.verdict, v.exit_code) == ("copy", 5)


def test_an_intact_signed_file_is_authentic(signed_clip: Path, identity) -> None:
    v = verify_file(
        signed_clip, trust_anchors=identity.trust_anchors, watermark_key=identity.watermark_key, issuers=[ISSUER]
    )
    assert (v.verdict, v.exit_code, v.manifest.state) == ("authentic", 0, "valid")
    assert v.manifest.ai_generated and v.watermark is not None and v.watermark.found
    assert v.manifest.watermark == v.watermark.payload.hex()
    json.dumps(v.as_dict())  # the --json form serialises


def test_a_file_signed_by_another_ca_is_untrusted(tmp_path: Path, identity) -> None:
    other = tmp_path / "other-keys"
    init_keys(other, "Someone Else")
    clip = render_clip(
        tmp_path / "other.mp4",
        ProvenanceSettings(issuer="Someone Else", keys_dir=other, index_file=other / "index.jsonl"),
        frames=10,
    )
    v = verify_file(clip, trust_anchors=identity.trust_anchors, watermark_key=identity.watermark_key, issuers=[ISSUER])
    assert v.manifest.state == "untrusted" and (v.verdict, v.exit_code) == ("untrusted", 4)
    assert not v.watermark.found  # their watermark key is not ours


def test_without_trust_anchors_a_valid_manifest_is_untrusted(signed_clip: Path) -> None:
    assert check_manifest(signed_clip, b"").state == "untrusted"


def test_a_signing_failure_fails_the_write_and_leaves_no_file(tmp_path: Path, identity) -> None:
    import numpy as np

    from streaming.frames import AudioChunk, VideoFrame

    def broken(_: Path) -> None:
        raise BackendError("C2PA signing failed: test")

    target = tmp_path / "out.mp4"
    with pytest.raises(BackendError, match="signing failed"):
        with Mp4Sink(target, 64, 64, 25, finalize=broken) as sink:
            sink.write(VideoFrame(0, np.zeros((64, 64, 3), np.uint8)), AudioChunk(0, np.zeros(1920, np.int16)))
    assert list(tmp_path.iterdir()) == []


def test_a_bad_certificate_is_a_signing_error_not_an_unsigned_file(tmp_path: Path, identity) -> None:
    import dataclasses

    import numpy as np

    from anchor.provenance.c2pa_sign import ClipFacts, Presenter, mp4_finalizer
    from streaming.frames import AudioChunk, VideoFrame

    ca_only = dataclasses.replace(identity, cert_chain=identity.trust_anchors)  # a CA cert cannot sign claims
    facts = ClipFacts(content_id="x", issuer=ISSUER, presenter=Presenter("default", "ok"))
    target = tmp_path / "out.mp4"
    with pytest.raises(BackendError, match="C2PA signing"):
        with Mp4Sink(target, 64, 64, 25, finalize=mp4_finalizer(facts, ca_only)) as sink:
            sink.write(VideoFrame(0, np.zeros((64, 64, 3), np.uint8)), AudioChunk(0, np.zeros(1920, np.int16)))
    assert not target.exists() and not any(tmp_path.iterdir())


def test_keys_init_makes_private_files_mode_600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    files = init_keys(tmp_path / "k", "Desk")
    modes = {f.name: f.stat().st_mode & 0o777 for f in files}
    assert modes["signer.key"] == modes["ca.key"] == modes["watermark.key"] == 0o600
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o700
    with pytest.raises(InputError, match="already exist"):
        init_keys(tmp_path / "k", "Desk")
    (tmp_path / "k" / "signer.key").chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        load_identity(tmp_path / "k", "Desk")


def test_a_configured_chain_is_used_instead_of_the_local_ca(tmp_path: Path) -> None:
    own = tmp_path / "own"
    init_keys(own, "Own PKI")
    keys = tmp_path / "local"
    init_keys(keys, "Desk")
    shutil.copy(own / "signer.key", tmp_path / "key.pem")
    (tmp_path / "key.pem").chmod(0o600)
    ident = load_identity(
        keys, "Desk", cert_chain=own / "signer.pem", private_key=tmp_path / "key.pem", trust_anchors=[own / "ca.pem"]
    )
    assert ident.cert_chain == (own / "signer.pem").read_bytes()
    assert (own / "ca.pem").read_bytes().strip() in ident.trust_anchors
    with pytest.raises(InputError, match="both"):
        load_identity(keys, "Desk", cert_chain=own / "signer.pem")
