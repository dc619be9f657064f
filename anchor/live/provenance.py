"""A channel's provenance: the watermark in every programme picture, the as-run record of what went on
air, and the optional air-check recording in signed segments.

`ChannelProvenance.open(settings, cfg, avatar)` builds what the settings ask for; the runtime
owns it (`close()` after the channel stopped). The as-run record is written from the channel's
events: item started / finished / interrupted / failed, with the script, voice, avatar and its
consent, and the content policy's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from anchor.config import ProvenanceSettings
from anchor.errors import NotFoundError
from anchor.face.avatar import AvatarPack
from anchor.live.channel import ChannelEvent
from anchor.live.config import ChannelConfig
from anchor.live.items import Item
from anchor.live.store import ScriptQueue
from anchor.provenance.asrun import AsRunLog
from anchor.provenance.c2pa_sign import ClipFacts, Presenter
from anchor.provenance.house import issuer_name, signing_identity, watermarker
from anchor.provenance.index import record_output
from anchor.provenance.sinks import AirCheckRecorder
from anchor.provenance.watermark import Watermarker


@dataclass
class ChannelProvenance:
    """What a running channel writes to prove what it aired."""

    content_id: str
    watermark: Watermarker | None
    asrun: AsRunLog | None
    aircheck: AirCheckRecorder | None
    avatar: AvatarPack

    @classmethod
    def open(cls, p: ProvenanceSettings, cfg: ChannelConfig, avatar: AvatarPack) -> ChannelProvenance:
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        content_id = f"channel/{cfg.name}/{started}"
        needs_keys = p.watermark or p.sign or p.aircheck.enabled
        identity = signing_identity(p, create=True) if needs_keys else None
        wm = watermarker(p, identity, content_id) if identity is not None else None
        if wm is not None and identity is not None:
            record_output(p.index_file, content_id, kind="channel", title=cfg.name, issuer=identity.issuer)
        asrun = AsRunLog(p.asrun_dir / f"{cfg.name}.jsonl", identity, channel=cfg.name) if identity else None
        aircheck = None
        if p.aircheck.enabled and identity is not None:
            presenter = Presenter(
                avatar.name, avatar.meta.consent, avatar.meta.source, avatar.meta.licence, avatar.meta.kind
            )
            facts = ClipFacts(
                content_id=content_id,
                issuer=issuer_name(p),
                presenter=presenter,
                scripts=(),
                title=cfg.name,
                kind="air-check",
                watermark=wm.payload.hex() if wm else None,
            )
            aircheck = AirCheckRecorder(
                p.aircheck.dir / cfg.name,
                cfg.fps,
                cfg.width,
                cfg.height,
                facts=facts,
                identity=identity,
                segment_s=p.aircheck.segment_minutes * 60,
                keep=timedelta(days=p.aircheck.keep_days),
                asrun_head=asrun.head if asrun is not None else None,
                training_mining=p.training_mining,
            )
        return cls(content_id, wm, asrun, aircheck, avatar)

    def listener(self, queue: ScriptQueue) -> Any:
        """A channel listener writing each item event into the as-run record."""

        def record(e: ChannelEvent) -> None:
            if self.asrun is None:
                return
            line: dict[str, Any] = {"event": f"item.{e.kind}", "item_id": e.item_id, "frame": e.frame}
            if e.reason:
                line["reason"] = e.reason
            try:
                item: Item | None = queue.get(e.item_id)
            except NotFoundError:  # removed meanwhile: the event is still recorded
                item = None
            if item is not None:
                line |= {
                    "title": item.title,
                    "text": item.text,
                    "audio": bool(item.audio_path),
                    "language": item.language,
                    "voice": item.voice,
                    "policy": item.policy,
                }
            line |= {"avatar": self.avatar.name, "consent": self.avatar.meta.consent}
            self.asrun.record(line)

        return record

    def close(self) -> None:
        if self.asrun is not None:
            self.asrun.close()
