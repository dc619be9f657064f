"""Lip-sync: timed phonemes (or audio) -> MouthTrack, mouth parameters per video frame."""
