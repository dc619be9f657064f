"""Rundowns: the scripted-bulletin format (schema, loading, inline pause marks)."""

from anchor.rundown.load import load_rundown, parse_rundown
from anchor.rundown.model import Media, Programme, Rundown, Story, rundown_json_schema
from anchor.rundown.ssml import Segment, split_breaks

__all__ = [
    "Media",
    "Programme",
    "Rundown",
    "Segment",
    "Story",
    "load_rundown",
    "parse_rundown",
    "rundown_json_schema",
    "split_breaks",
]
