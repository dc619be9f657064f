"""The one program pipeline: speech -> lipsync -> face -> studio, frame by frame.

`segment` (speech + mouth on the frame grid), `prepare` (text / recording / story -> Segment),
`timeline` (the frame loop: idle fill, play, cut), `clip` (`anchor say`), `bulletin`
(`anchor render`). The live channel (anchor.live) and the job runners (anchor.jobs) are thin
users of these.
"""
