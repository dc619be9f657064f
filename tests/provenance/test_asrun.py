"""The as-run record: signed, hash-chained lines; a removed, edited or forged line is found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anchor.errors import InputError
from anchor.provenance.asrun import AsRunLog, verify_log
from anchor.provenance.keys import SigningIdentity, init_keys, load_identity

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, identity: SigningIdentity, n: int = 4) -> None:
    with AsRunLog(path, identity, channel="news24") as log:
        for i in range(n):
            log.record(
                {
                    "event": "item.started",
                    "item_id": i,
                    "text": f"Story {i}.",
                    "avatar": "default",
                    "policy": {"outcome": "allow"},
                    "frame": 100 * i,
                }
            )
            log.record({"event": "item.finished", "item_id": i, "frame": 100 * i + 90})


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_an_untouched_log_verifies(tmp_path: Path, identity: SigningIdentity) -> None:
    log = tmp_path / "asrun.jsonl"
    _write(log, identity)
    report = verify_log(log, identity.trust_anchors)
    assert report.ok, report.problems
    assert report.lines == 9 and report.items_started == 4
    assert json.loads(_lines(log)[1])["text"] == "Story 0."


def test_a_deleted_line_is_detected(tmp_path: Path, identity: SigningIdentity) -> None:
    log = tmp_path / "asrun.jsonl"
    _write(log, identity)
    lines = _lines(log)
    log.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    report = verify_log(log, identity.trust_anchors)
    assert not report.ok
    assert any("removed" in p for p in report.problems)


def test_an_edited_line_is_detected(tmp_path: Path, identity: SigningIdentity) -> None:
    log = tmp_path / "asrun.jsonl"
    _write(log, identity)
    lines = _lines(log)
    record = json.loads(lines[3])
    record["text"] = "Something else was said."
    lines[3] = json.dumps(record) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    report = verify_log(log, identity.trust_anchors)
    assert not report.ok and any("edited" in p for p in report.problems)


def test_a_rewritten_chain_without_the_key_fails_on_signatures(tmp_path: Path, identity: SigningIdentity) -> None:
    import hashlib

    from anchor.provenance.asrun import _canonical

    log = tmp_path / "asrun.jsonl"
    _write(log, identity)
    records = [json.loads(line) for line in _lines(log)]
    records[3]["text"] = "A forged story."
    prev = records[2]["hash"]
    for r in records[3:]:  # recompute every hash after the edit: a consistent chain, but unsigned
        r["prev"] = prev
        r["hash"] = prev = hashlib.sha256(_canonical(r)).hexdigest()
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_log(log, identity.trust_anchors)
    assert not report.ok
    assert all("bad signature" in p for p in report.problems) and len(report.problems) == len(records) - 3


def test_a_log_signed_under_another_ca_is_not_trusted(tmp_path: Path, identity: SigningIdentity) -> None:
    init_keys(tmp_path / "other", "Other")
    other = load_identity(tmp_path / "other", "Other")
    log = tmp_path / "asrun.jsonl"
    _write(log, other, n=1)
    report = verify_log(log, identity.trust_anchors)
    assert not report.ok and any("trusted CA" in p for p in report.problems)


def test_reopening_continues_the_chain_and_a_torn_line_is_cut(tmp_path: Path, identity: SigningIdentity) -> None:
    log = tmp_path / "asrun.jsonl"
    _write(log, identity, n=1)
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"event": "item.started", "seq": 3')  # a crash in the middle of a write
    with AsRunLog(log, identity) as again:
        again.record({"event": "item.started", "item_id": 9})
        head = again.head()
    events = [json.loads(line)["event"] for line in _lines(log)]
    assert events == ["log.opened", "item.started", "item.finished", "log.opened", "log.recovered", "item.started"]
    report = verify_log(log, identity.trust_anchors)
    assert report.ok, report.problems
    assert head["hash"] == report.head and head["seq"] == report.head_seq == report.lines - 1


def test_events_must_be_named_and_may_not_forge_chain_fields(tmp_path: Path, identity: SigningIdentity) -> None:
    with AsRunLog(tmp_path / "a.jsonl", identity) as log:
        with pytest.raises(InputError, match="event"):
            log.record({"item_id": 1})
        with pytest.raises(InputError, match="prev"):
            log.record({"event": "x", "prev": "0" * 64})


def test_anchor_asrun_verify_exit_codes(tmp_path: Path, identity: SigningIdentity, prov) -> None:
    log = tmp_path / "asrun.jsonl"
    _write(log, identity, n=2)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"provenance:\n  issuer: {prov.issuer}\n  keys_dir: {prov.keys_dir}\n  index_file: {prov.index_file}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "COLUMNS": "200"}

    def run() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "anchor", "asrun", "verify", str(log), "-c", str(config)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("INTACT") and "2 items started" in ok.stdout
    lines = _lines(log)
    log.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    broken = run()
    assert broken.returncode == 3 and broken.stdout.startswith("BROKEN") and "removed" in broken.stdout
