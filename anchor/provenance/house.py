"""Provenance pieces built from settings: the signing identity, watermarker, MP4 finalizer, verifier inputs.

These are the functions the pipeline calls (jobs, program loop, channel); each takes the
`ProvenanceSettings` part of the settings object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from anchor.config import ProvenanceSettings
from anchor.errors import InputError
from anchor.provenance.c2pa_sign import ClipFacts, Presenter, mp4_finalizer
from anchor.provenance.index import record_output
from anchor.provenance.keys import ISSUER_FILE, SigningIdentity, init_keys, keys_exist, load_identity
from anchor.provenance.payload import Payload
from anchor.provenance.watermark import Watermarker

log = logging.getLogger(__name__)


DEFAULT_ISSUER = "anchor"


def issuer_name(p: ProvenanceSettings) -> str:
    """`provenance.issuer`, else the name `anchor keys init` recorded, else "anchor"."""
    if p.issuer:
        return p.issuer
    recorded = Path(p.keys_dir) / ISSUER_FILE
    if recorded.is_file():
        return recorded.read_text(encoding="utf-8").strip() or DEFAULT_ISSUER
    return DEFAULT_ISSUER


def signing_identity(p: ProvenanceSettings, *, create: bool = False) -> SigningIdentity:
    """The configured (or local-CA) identity; with `create`, run `keys init` first when no keys exist yet."""
    if create and p.cert_chain is None and not keys_exist(p.keys_dir):
        init_keys(p.keys_dir, issuer_name(p))
        log.warning("made a local signing CA and keys in %s (anchor keys init)", p.keys_dir)
    return load_identity(
        p.keys_dir, issuer_name(p), cert_chain=p.cert_chain, private_key=p.private_key, trust_anchors=p.trust_anchors
    )


def watermarker(p: ProvenanceSettings, identity: SigningIdentity, content_id: str) -> Watermarker | None:
    """The watermarker for one output (None when the watermark is off)."""
    if not p.watermark:
        return None
    return Watermarker(Payload.for_ids(identity.issuer, content_id), identity.watermark_key, p.watermark_strength)


def finalizer(p: ProvenanceSettings, identity: SigningIdentity, facts: ClipFacts) -> Callable[[Path], None] | None:
    """The `Mp4Sink(finalize=...)` hook that signs the file (None when signing is off)."""
    if not p.sign:
        return None
    if facts.issuer != identity.issuer:
        raise InputError(
            f"facts name issuer {facts.issuer!r}, the signing identity {identity.issuer!r}", field="issuer"
        )
    return mp4_finalizer(facts, identity, training_mining=p.training_mining)


@dataclass(frozen=True)
class OutputProvenance:
    """What one output needs: the facts its manifest states, its watermarker and its Mp4Sink hook."""

    facts: ClipFacts
    watermarker: Watermarker | None
    finalize: Callable[[Path], None] | None


def output_provenance(
    p: ProvenanceSettings,
    *,
    content_id: str,
    presenter: Presenter,
    scripts: Sequence[str],
    language: str = "",
    voice: str = "",
    speech_backend: str = "",
    title: str = "",
    kind: str = "clip",
    other_presenters: Sequence[Presenter] = (),
    create_keys: bool = True,
) -> OutputProvenance:
    """Everything a clip or bulletin render needs: call once before rendering.

    Use: `with Mp4Sink(..., finalize=prov.finalize) as sink:` and send frames through
    `WatermarkingSink(sink, prov.watermarker)` (or call `prov.watermarker.embed(image, n)`
    in the frame loop). Neither signing nor the watermark is silently skipped: missing keys
    raise InputError, unless `create_keys` makes a local CA on first use.
    """
    identity = signing_identity(p, create=create_keys) if (p.sign or p.watermark) else None
    wm = watermarker(p, identity, content_id) if identity is not None else None
    facts = ClipFacts(
        content_id=content_id,
        issuer=identity.issuer if identity is not None else issuer_name(p),
        presenter=presenter,
        scripts=tuple(scripts),
        language=language,
        voice=voice,
        speech_backend=speech_backend,
        title=title,
        kind=kind,
        watermark=wm.payload.hex() if wm else None,
        other_presenters=tuple(other_presenters),
    )
    fin = finalizer(p, identity, facts) if identity is not None else None
    if wm is not None:
        record_output(p.index_file, content_id, kind=kind, title=title, issuer=facts.issuer)
    return OutputProvenance(facts, wm, fin)
