"""Video avatars: a presenter built from a real recording, with the recording's own mouths.

Ingest (`ingest.py`) analyses a clip of one person facing the camera (`source.py` reads it,
`analyse.py` tracks the face mesh, `measure.py` turns landmarks into head alignment and
MouthTrack-space mouth parameters calibrated to the person), finds idle stretches with the
mouth closed and the joins between them (`loops.py`), stores those frames as the base
footage (`base_track.py`) and the lower-face crops of every usable frame as the mouth bank
(`bank.py`), all in a versioned pack (`pack.py`).

At render time (`renderer.py`) the base footage plays as an endless seeded walk over its
pieces (cross-faded and aligned at every join); for a mouth target the best crop is chosen
with a temporal-continuity cost (`select.py`), then fitted onto the base frame: aligned to
its head, warped to the target opening, colour-matched and blended in with a feathered mask
(`paste.py`). A closed target on a closed base frame shows the base frame untouched.
"""
