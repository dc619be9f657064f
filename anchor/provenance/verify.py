"""`anchor verify`: one verdict on a video from its C2PA manifest and its pixel watermark.

Manifest states: valid (intact, signed by a trusted certificate), untrusted (intact, signer not
in the trust list), tampered (the content or manifest no longer matches its signature),
absent (no manifest, e.g. re-encoded or remuxed), unreadable (not a file c2pa can parse).
Watermark: found with its payload and confidence, or not found.

Verdicts and exit codes:

| code | verdict      | meaning                                                                      |
|------|--------------|------------------------------------------------------------------------------|
| 0    | authentic    | made by this system (trusted signature) and not altered since                |
| 3    | tampered     | it carries a manifest but the file was altered after signing                 |
| 4    | untrusted    | intact manifest, but signed by a certificate this system does not trust      |
| 5    | copy         | no (valid) manifest, but our watermark is in the pixels: a re-encoded copy   |
| 6    | unknown      | no manifest and no watermark of ours                                         |

(2 = bad input, 1 = failure, as every anchor command.)
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from anchor.errors import BackendError, InputError
from anchor.provenance.c2pa_sign import LABEL, TRAINED_ALGORITHMIC_MEDIA
from anchor.provenance.payload import short_issuer
from anchor.provenance.watermark import Detection, WatermarkDetector

ManifestState = Literal["valid", "untrusted", "tampered", "absent", "unreadable"]
VerdictName = Literal["authentic", "tampered", "untrusted", "copy", "unknown"]
EXIT_CODES: dict[VerdictName, int] = {"authentic": 0, "tampered": 3, "untrusted": 4, "copy": 5, "unknown": 6}
_TRUST_ONLY = {"signingCredential.untrusted"}
"""Failure codes that mean "signer not trusted" rather than "altered"."""


@dataclass(frozen=True)
class ManifestCheck:
    """What the C2PA manifest says and whether it still holds."""

    state: ManifestState
    failures: list[str] = field(default_factory=list)
    signer: str = ""
    ai_generated: bool = False
    content: dict[str, Any] = field(default_factory=dict)
    presenter: dict[str, Any] = field(default_factory=dict)
    script_sha256: str = ""
    watermark: str | None = None
    detail: str = ""
    assertions: dict[str, Any] = field(default_factory=dict)
    """Every assertion of the active manifest: label -> data."""


@dataclass(frozen=True)
class Verdict:
    """The combined answer `anchor verify` prints."""

    file: str
    verdict: VerdictName
    exit_code: int
    summary: str
    manifest: ManifestCheck
    watermark: Detection | None
    issuer_name: str | None = None
    traced: list[dict[str, Any]] = field(default_factory=list)
    """Outputs in the local content index whose content number the watermark carries."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "manifest": asdict(self.manifest),
            "watermark": self.watermark.as_dict() if self.watermark else None,
            "watermark_issuer": self.issuer_name,
            "traced": self.traced,
        }


def check_manifest(path: Path, trust_anchors: bytes) -> ManifestCheck:
    """Read and validate the C2PA manifest of `path` against `trust_anchors` (PEM)."""
    import c2pa

    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors.decode("ascii")}
    try:
        with c2pa.Context.from_dict(settings) as ctx, open(path, "rb") as f:
            try:
                reader = c2pa.Reader("video/mp4", f, None, ctx)
            except c2pa.C2paError.ManifestNotFound:
                return ManifestCheck("absent")
            with reader:
                state = reader.get_validation_state() or ""
                results = reader.get_validation_results() or {}
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as e:
        return ManifestCheck("unreadable", detail=str(e))
    failures = [f.get("code", "") for f in results.get("activeManifest", {}).get("failure", [])]
    if state == "Trusted" and not failures:
        verdict: ManifestState = "valid"
    elif set(failures) <= _TRUST_ONLY:
        verdict = "untrusted"
    else:
        verdict = "tampered"
    return _describe(verdict, failures, manifest)


def _describe(state: ManifestState, failures: list[str], manifest: Mapping[str, Any]) -> ManifestCheck:
    assertions = {a.get("label"): a.get("data", {}) for a in manifest.get("assertions", [])}
    actions = assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}
    ai = any(a.get("digitalSourceType") == TRAINED_ALGORITHMIC_MEDIA for a in actions.get("actions", []))
    sig = manifest.get("signature_info", {})
    signer = ", ".join(v for v in (sig.get("common_name"), sig.get("issuer")) if v)
    return ManifestCheck(
        state=state,
        failures=failures,
        signer=signer,
        ai_generated=ai,
        content=dict(assertions.get(f"{LABEL}.content", {})),
        presenter=dict(assertions.get(f"{LABEL}.presenter", {})),
        script_sha256=str(assertions.get(f"{LABEL}.script", {}).get("sha256", "")),
        watermark=assertions.get(f"{LABEL}.watermark", {}).get("payload"),
        assertions={str(k): v for k, v in assertions.items()},
    )


def detect_watermark(path: Path, key: bytes, *, max_seconds: float = 10.0) -> Detection:
    """Decode up to `max_seconds` of the video's luma and look for the watermark."""
    import av

    detector = WatermarkDetector(key)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path.name} has no video stream", field="file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= max_seconds:
                    break
                detector.add_luma(frame.to_ndarray(format="gray"))
    except av.FFmpegError as e:
        if detector.frames == 0:
            raise InputError(f"{path.name} is not a video anchor can decode: {e}", field="file") from e
    return detector.detect()


def verify_file(
    path: Path,
    *,
    trust_anchors: bytes,
    watermark_key: bytes | None,
    issuers: Sequence[str] = (),
    max_seconds: float = 10.0,
    display_name: str | None = None,
    index_file: Path | None = None,
) -> Verdict:
    """Check the manifest and the watermark of `path`; `issuers` names the 16-bit issuer ids we know;
    `index_file` (the local content index) traces the watermark's content number back to a content id."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}", field="file")
    manifest = check_manifest(path, trust_anchors)
    mark = detect_watermark(path, watermark_key, max_seconds=max_seconds) if watermark_key else None
    names = {short_issuer(n): n for n in issuers}
    issuer_name = None
    if mark is not None and mark.payload is not None:
        issuer_name = names.get(mark.payload.issuer)
    traced: list[dict[str, Any]] = []
    if issuer_name is not None and mark is not None and mark.payload is not None and index_file is not None:
        from anchor.provenance.index import lookup

        traced = lookup(index_file, mark.payload.content)
    verdict, summary = _combine(manifest, mark, issuer_name)
    name = display_name or path.name
    return Verdict(name, verdict, EXIT_CODES[verdict], summary, manifest, mark, issuer_name, traced)


def _combine(m: ManifestCheck, mark: Detection | None, issuer_name: str | None) -> tuple[VerdictName, str]:
    seen = ""
    if mark is not None and mark.found:
        who = issuer_name or (f"issuer {mark.payload.issuer:04x}" if mark.payload else "an unreadable payload")
        seen = f"watermark found ({who}, confidence {mark.confidence:.1f})"
    elif mark is not None:
        seen = f"no watermark (confidence {mark.confidence:.1f})"
    ours = mark is not None and mark.found and issuer_name is not None
    made = f", made {m.content.get('created')}" if m.content.get("created") else ""
    if m.state == "valid":
        return (
            "authentic",
            f"AUTHENTIC: signed by {m.signer or 'a trusted key'}{made}, not altered; {seen or 'watermark not checked'}",
        )
    if m.state == "tampered":
        why = ", ".join(c for c in m.failures if c not in _TRUST_ONLY)
        return "tampered", f"TAMPERED: the file changed after it was signed ({why}); {seen or 'watermark not checked'}"
    if m.state == "untrusted":
        return (
            "untrusted",
            f"UNTRUSTED: intact manifest signed by {m.signer or 'an unknown key'}, not a trusted signer; {seen or 'watermark not checked'}",
        )
    if ours:
        return "copy", f"COPY: no valid manifest ({m.state}), but {seen}: a re-encoded or stripped copy of our output"
    if mark is not None and mark.found and mark.payload is None:
        return "copy", f"COPY: no valid manifest ({m.state}), {seen}: our key's mark, too degraded to read which clip"
    if mark is not None and mark.found:
        return (
            "copy",
            f"COPY: no valid manifest ({m.state}), {seen}: our key's mark with an issuer id not configured here",
        )
    return "unknown", f"UNKNOWN: no manifest ({m.state}) and {seen or 'watermark not checked'}"


@contextmanager
def local_copy(source: str, *, max_bytes: int = 2 * 2**30, timeout_s: float = 60.0) -> Iterator[Path]:
    """A local path for a file name or an http(s) URL (downloaded to a temporary file, at most `max_bytes`)."""
    if not source.startswith(("http://", "https://")):
        yield Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="anchor-verify-") as tmp:
        dest = Path(tmp) / "download.mp4"
        try:
            with urllib.request.urlopen(source, timeout=timeout_s) as response, open(dest, "wb") as out:
                copied = 0
                while chunk := response.read(1 << 20):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise InputError(f"{source} is larger than {max_bytes >> 20} MB", field="file")
                    out.write(chunk)
        except urllib.error.HTTPError as e:
            raise InputError(f"cannot download {source}: HTTP {e.code}", field="file") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise BackendError(f"cannot download {source}: {e}", retryable=True) from e
        yield dest


def render_text(v: Verdict) -> str:
    """The human-readable report: verdict line first, then the evidence."""
    m = v.manifest
    lines = [v.summary, f"  file:       {v.file}", f"  manifest:   {m.state}"]
    if m.state not in ("absent", "unreadable"):
        lines.append(f"  signer:     {m.signer}")
        lines.append(f"  ai source:  {'trainedAlgorithmicMedia' if m.ai_generated else 'not declared'}")
        if m.content:
            lines.append(
                f"  content id: {m.content.get('content_id')} ({m.content.get('kind')}, issuer {m.content.get('issuer')})"
            )
        if m.presenter:
            consent = str(m.presenter.get("consent", ""))
            consent = consent if len(consent) <= 100 else consent[:99] + "…"
            lines.append(f"  presenter:  {m.presenter.get('avatar')} (consent: {consent})")
        if m.script_sha256:
            lines.append(f"  script:     sha256 {m.script_sha256}")
        if m.failures:
            lines.append(f"  failures:   {', '.join(m.failures)}")
    if m.detail:
        lines.append(f"  detail:     {m.detail}")
    w = v.watermark
    if w is None:
        lines.append("  watermark:  not checked (no watermark key)")
    else:
        state = "found" if w.found else "not found"
        payload = f", payload {w.payload.hex()}" if w.payload else ""
        issuer = f" = {v.issuer_name}" if v.issuer_name else ""
        lines.append(
            f"  watermark:  {state}{payload}{issuer}, confidence {w.confidence:.1f} (threshold 8), "
            f"scale {w.scale:.3f}, {w.frames} frames"
        )
        for t in v.traced:
            lines.append(f"  traced to:  {t.get('content_id')} ({t.get('kind')}, {t.get('title')!r}, {t.get('at')})")
        if m.watermark and w.payload and m.watermark != w.payload.hex():
            lines.append(
                f"  warning:    the manifest declares watermark {m.watermark}, the pixels carry {w.payload.hex()}"
            )
    return "\n".join(lines)


def render_json(v: Verdict) -> str:
    return json.dumps(v.as_dict(), indent=2, ensure_ascii=False)


def copy_upload(stream: Any, dest: Path, max_bytes: int) -> int:
    """Copy an uploaded file object to `dest`, refusing more than `max_bytes`; returns the size."""
    size = 0
    with open(dest, "wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise InputError(f"the upload is larger than {max_bytes >> 20} MB", field="file")
            out.write(chunk)
    return size
