"""Render a signed, watermarked clip through the provenance hooks (what `anchor say` does once wired).

    .venv/bin/python scripts/provenance_demo.py "Good evening." -o out/news.mp4 [-c config.yaml]

The same stages as anchor/jobs/say.py (espeak speech -> mouth track -> photo renderer ->
presenter shot), with `output_provenance`: the watermark on every program frame
(`WatermarkingSink`) and the C2PA manifest signed into the file before it is renamed into
place (`Mp4Sink(finalize=...)`). Until the lead wires these into the one frame loop, this
script is how to make such a clip.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from anchor.config import BUILTIN_AVATARS, load_settings
from anchor.disclosure import disclosure_tags
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.renderer import FaceRenderer
from anchor.jobs.say import _label, mouth_track_for, render_speech_video
from anchor.provenance.c2pa_sign import Presenter
from anchor.provenance.house import output_provenance
from anchor.provenance.policy import ContentPolicy
from anchor.provenance.sinks import WatermarkingSink
from anchor.speech.registry import make_speech_backend
from anchor.studio.presenter import PresenterShot, presenter_placement
from streaming.file import Mp4Sink


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("text")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("-c", "--config", type=Path)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    settings = load_settings(args.config)
    width, height = (int(v) for v in args.size.split("x"))
    ContentPolicy.from_settings(settings.provenance.policy).require(args.text)  # refused -> exit before speech
    avatar = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS).load(settings.default_avatar)
    backend = make_speech_backend(settings.speech)
    speech = backend.synthesize(args.text)
    track = mouth_track_for(speech, settings.video.fps)
    content_id = str(uuid.uuid4())
    prov = output_provenance(
        settings.provenance,
        content_id=content_id,
        presenter=Presenter(
            avatar.name, avatar.meta.consent, avatar.meta.source, avatar.meta.licence, avatar.meta.kind
        ),
        scripts=[args.text],
        language=speech.language,
        voice=speech.voice,
        speech_backend=backend.name,
        title=args.text[:60],
    )
    place = presenter_placement(avatar, width, height)
    renderer = FaceRenderer(avatar, place.scale, BlinkSchedule(settings.face.blink_min_s, settings.face.blink_max_s, 7))
    shot = PresenterShot(width, height, place, renderer.size, label=_label(speech.language))
    v = settings.video
    meta = disclosure_tags(speech.language, content_id)
    with Mp4Sink(
        args.output, width, height, v.fps, crf=v.crf, preset=v.preset, metadata=meta, finalize=prov.finalize
    ) as sink:
        out = WatermarkingSink(sink, prov.watermarker) if prov.watermarker else sink
        frames = render_speech_video(speech, track, renderer, shot, out)  # type: ignore[arg-type]
    print(f"wrote {args.output} ({frames} frames, content id {content_id}, watermark {prov.facts.watermark})")


if __name__ == "__main__":
    main()
