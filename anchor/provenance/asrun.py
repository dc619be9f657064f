"""The as-run record: what went on air, when, from which script and avatar, with the policy decision.

An append-only JSON-lines file. Every line carries `seq` (0, 1, 2, ...), `prev` (the previous
line's hash), `hash` (SHA-256 of the line's canonical JSON without `hash` and `sig`) and `sig`
(ES256 over the hash, by the signing key). The first line of every writing session
(`log.opened`) carries the signing certificate. So a removed, inserted, reordered or edited
line breaks the chain, and a rewritten chain needs the private key. A removed *tail* leaves a
valid shorter chain: that is what the head (seq + hash) stamped into each signed air-check
segment's manifest catches (`org.anchor.asrun`).

Each line is flushed and fsynced before `record` returns. A line torn by a crash (no final
newline) is cut off when the log is next opened, and a `log.recovered` line says how many
bytes were dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anchor.errors import InputError
from anchor.provenance.keys import SigningIdentity

GENESIS = "0" * 64
_RESERVED = {"seq", "at", "prev", "hash", "sig"}


def _canonical(record: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k not in ("hash", "sig")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AsRunLog:
    """Appends signed, hash-chained records to `path`; thread-safe; a context manager.

    `record({"event": "item.started", "item_id": 7, ...})` returns the stored line. The
    channel records `item.started`, `item.finished`, `item.interrupted` and `item.failed` with
    the item's id, title, text, language, voice, avatar + consent, policy decision and the
    program frame.
    """

    def __init__(
        self,
        path: Path,
        identity: SigningIdentity,
        *,
        channel: str = "",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        key = serialization.load_pem_private_key(identity.private_key, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InputError(
                "the as-run log is signed with ES256: the signing key must be an EC (P-256) key", field="keys"
            )
        self._key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        dropped = _cut_torn_tail(self.path)
        self._seq, self._head = _last(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        self.record(
            {
                "event": "log.opened",
                "channel": channel,
                "issuer": identity.issuer,
                "certificate": identity.cert_chain.decode("ascii"),
            }
        )
        if dropped:
            self.record({"event": "log.recovered", "dropped_bytes": dropped})

    def record(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one event (a JSON-serialisable mapping with an `event` name); returns the stored line."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        if not isinstance(event.get("event"), str) or not event["event"]:
            raise InputError("an as-run event needs an 'event' name", field="event")
        if clash := _RESERVED & set(event):
            raise InputError(f"as-run events may not set {', '.join(sorted(clash))}", field="event")
        with self._lock:
            line: dict[str, Any] = {
                **event,
                "seq": self._seq + 1,
                "at": self._clock().astimezone(UTC).isoformat(timespec="milliseconds"),
                "prev": self._head,
            }
            digest = hashlib.sha256(_canonical(line)).hexdigest()
            line["hash"] = digest
            line["sig"] = base64.b64encode(self._key.sign(bytes.fromhex(digest), ec.ECDSA(hashes.SHA256()))).decode()
            self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._seq, self._head = line["seq"], digest
            return line

    def head(self) -> dict[str, Any]:
        """The last line's seq and hash (stamped into air-check manifests)."""
        with self._lock:
            return {"log": self.path.name, "seq": self._seq, "hash": self._head}

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> AsRunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> int:
    """Drop an unterminated last line (a write cut by a crash); returns the bytes dropped."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)
        return len(data) - keep


def _last(path: Path) -> tuple[int, str]:
    """seq and hash of the last line (-1 and the genesis hash for a new log)."""
    if not path.exists() or path.stat().st_size == 0:
        return -1, GENESIS
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().splitlines()
    try:
        last = json.loads(tail[-1])
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, IndexError) as e:
        raise InputError(
            f"{path} does not end with an as-run record; check it with anchor asrun verify", field="asrun"
        ) from e


@dataclass
class AsRunReport:
    """The result of `verify_log`."""

    path: str
    ok: bool = True
    lines: int = 0
    items_started: int = 0
    first_at: str = ""
    last_at: str = ""
    head: str = ""
    head_seq: int = -1
    signer: str = ""
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self) -> str:
        state = "INTACT" if self.ok else "BROKEN"
        lines = [
            f"{state}: {self.path}: {self.lines} lines, {self.items_started} items started, {self.first_at} .. {self.last_at}",
            f"  head:   seq {self.head_seq}, sha256 {self.head}",
            f"  signer: {self.signer or 'unknown'}",
        ]
        lines += [f"  problem: {p}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)


def verify_log(path: Path, trust_anchors: bytes) -> AsRunReport:
    """Check every line's hash, chain link and signature, and that the signer chains to a trust anchor."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}", field="file")
    anchors = x509.load_pem_x509_certificates(trust_anchors) if trust_anchors.strip() else []
    report = AsRunReport(str(path))
    prev, expect_seq = GENESIS, 0
    public_key: ec.EllipticCurvePublicKey | None = None

    def problem(msg: str) -> None:
        report.ok = False
        report.problems.append(msg)

    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            report.lines += 1
            try:
                line = json.loads(raw)
                seq, digest = int(line["seq"]), str(line["hash"])
            except (ValueError, KeyError, TypeError):
                problem(f"line {number} is not an as-run record")
                continue
            if seq != expect_seq:
                problem(f"line {number}: seq {seq}, expected {expect_seq} (lines removed or inserted before it)")
            if line.get("prev") != prev:
                problem(f"line {number} (seq {seq}) does not follow the previous line (a line was removed or edited)")
            if hashlib.sha256(_canonical(line)).hexdigest() != digest:
                problem(f"line {number} (seq {seq}) was edited: its hash does not match its content")
            if line.get("event") == "log.opened":
                cert = x509.load_pem_x509_certificates(str(line.get("certificate", "")).encode())[0]
                key = cert.public_key()
                public_key = key if isinstance(key, ec.EllipticCurvePublicKey) else None
                report.signer = cert.subject.rfc4514_string()
                if anchors and not _issued_by_any(cert, anchors):
                    problem(f"line {number}: the signing certificate does not chain to a trusted CA")
            if public_key is None:
                problem(f"line {number}: no signing certificate before it")
            else:
                try:
                    sig = base64.b64decode(str(line.get("sig", "")))
                    public_key.verify(sig, bytes.fromhex(digest), ec.ECDSA(hashes.SHA256()))
                except (InvalidSignature, ValueError):
                    problem(f"line {number} (seq {seq}): bad signature")
            if line.get("event") == "item.started":
                report.items_started += 1
            report.first_at = report.first_at or str(line.get("at", ""))
            report.last_at = str(line.get("at", ""))
            prev, expect_seq = digest, seq + 1
    report.head, report.head_seq = prev, expect_seq - 1
    if report.lines == 0:
        problem("the log is empty")
    return report


def _issued_by_any(cert: Any, anchors: list[Any]) -> bool:
    from cryptography.exceptions import InvalidSignature

    for ca in anchors:
        try:
            cert.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False
