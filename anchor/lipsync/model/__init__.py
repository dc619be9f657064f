"""The audio-to-mouth model: log-mel features of speech -> the per-frame mouth parameters
(jaw, width, round, close) and viseme classes the timing path produces.

`infer.AudioMouthModel` runs the committed weights; `train` trains them (`anchor train-lipsync`);
`evaluate` holds the figures and the audio-energy baseline used by bench/lipsync_eval.py.
"""
