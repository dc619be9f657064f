"""anchor: a self-hosted digital-human newsroom (text/audio -> speech -> lipsync -> face -> studio -> streaming)."""

__version__ = "0.1.0"
