"""Reading a rundown file (YAML or JSON) into the model, with errors that point at the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from anchor.errors import InputError
from anchor.rundown.model import Rundown
from anchor.rundown.ssml import split_breaks


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("function-after", "function-before") or str(p).startswith(("function-", "tuple[", "literal[")):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out or "rundown"


def parse_rundown(data: Any, base_dir: Path | None = None) -> Rundown:
    """Validate already-parsed data. Relative media/logo/audio paths resolve against `base_dir`."""
    if not isinstance(data, dict):
        raise InputError("a rundown must be a mapping with 'programme' and 'stories'", field="rundown")
    try:
        rundown = Rundown.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = _path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        extra = f" (and {e.error_count() - 1} more problem(s))" if e.error_count() > 1 else ""
        raise InputError(f"{where}: {msg}{extra}", field=where) from None
    for i, story in enumerate(rundown.stories):
        if story.text:
            split_breaks(story.text, field=f"stories[{i}].text")  # fail early on bad marks
    if base_dir is not None:
        _resolve_paths(rundown, Path(base_dir))
    return rundown


def _resolve_paths(rundown: Rundown, base: Path) -> None:
    def fix(obj: Any, attr: str, where: str) -> None:
        p = getattr(obj, attr)
        if p is None:
            return
        p = p if p.is_absolute() else base / p
        if not p.is_file():
            raise InputError(f"{where}: file {p} does not exist", field=where)
        object.__setattr__(obj, attr, p)

    prog = rundown.programme
    fix(prog, "logo", "programme.logo")
    fix(prog.background, "image", "programme.background.image")
    fix(prog.background, "video", "programme.background.video")
    for i, s in enumerate(rundown.stories):
        fix(s, "audio", f"stories[{i}].audio")
        if s.media:
            fix(s.media, "image", f"stories[{i}].media.image")
            fix(s.media, "video", f"stories[{i}].media.video")


def load_rundown(path: Path) -> Rundown:
    """Read and validate a rundown file (.yaml/.yml/.json)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read rundown {path}: {e.strerror}", field="rundown") from None
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise InputError(
            f"rundown {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {e}", field="rundown"
        ) from None
    return parse_rundown(data, path.parent)
