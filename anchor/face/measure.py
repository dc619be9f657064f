"""Measure a real mouth on video: the speaker's inner-lip gap on every frame, with the face mesh.

Used as the truth of real articulation: by `anchor train-lipsync` (the audio model learns from
a real mouth) and by bench/lipsync_eval.py's real-speech set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anchor.errors import InputError


def mouth_openings(video: Path, first: int = 0, end: int | None = None) -> np.ndarray:
    """Inner-lip gap / face height (face mesh, tracking mode) of frames first..end-1 of `video`
    (to its last frame when `end` is None); nan where no face was found."""
    import av

    from anchor.face.detect import FaceAnalyzer, inner_lip_gap

    if not video.is_file():
        raise InputError(f"no video at {video}", field="video")
    gaps: list[float] = []
    with av.open(str(video)) as container, FaceAnalyzer.for_video() as analyzer:
        for i, frame in enumerate(container.decode(video=0)):
            if i < first:
                continue
            if end is not None and i >= end:
                break
            found = analyzer.landmarks(frame.to_ndarray(format="rgb24"))
            gaps.append(inner_lip_gap(found[0]) if found else float("nan"))
    return np.array(gaps)
