"""The benches and scripts still import what exists: every `import` / `from ... import` of the
project's own modules (anchor, streaming, bench, tests) in bench/ and scripts/ resolves, function-level
imports included.

Nothing runs these files in the test suite, so a refactor that moves a module breaks them silently;
this check parses them (ast) and resolves each import — the module must be findable and each
imported name must exist on it (an attribute, or a submodule of a package) — without running them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN = ("anchor", "streaming", "bench", "tests")
"""Top-level packages of this repository: only their imports are checked."""


def _files() -> list[Path]:
    return sorted(p for d in ("bench", "scripts") for p in (ROOT / d).rglob("*.py"))


def _package_of(path: Path) -> list[str]:
    """The package a file's relative imports start from (bench/x.py -> ["bench"]; scripts are not a package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1]


def _own(module: str) -> bool:
    return module.split(".")[0] in OWN


def _wanted(tree: ast.AST, package: list[str]) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) of every import of the project's own modules in `tree`."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if _own(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if _own(module):
                found += [(node.lineno, module, None if a.name == "*" else a.name) for a in node.names]
    return found


def _find(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent is missing or is not a package
        return False


def _problems(source: str, package: list[str]) -> list[str]:
    """What does not resolve among the project imports of `source` (a module in `package`)."""
    problems: list[str] = []
    for line, module, name in _wanted(ast.parse(source), package):
        if not _find(module):
            problem = f"line {line}: no module {module}"
            if problem not in problems:  # `from gone import a, b`: once
                problems.append(problem)
            continue
        if name is None:
            continue
        try:
            loaded = importlib.import_module(module)
        except Exception as error:  # the module exists but is itself broken (e.g. its own stale import)
            problems.append(f"line {line}: importing {module} fails: {error!r}")
            continue
        if not hasattr(loaded, name) and not (hasattr(loaded, "__path__") and _find(f"{module}.{name}")):
            problems.append(f"line {line}: {module} has no {name}")
    return problems


def test_the_check_sees_the_benches_and_scripts() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _files()}
    assert {"bench/video_avatar.py", "bench/video_soak.py", "scripts/make_video_stills.py"} <= names


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_project_import_resolves(path: Path) -> None:
    problems = _problems(path.read_text(encoding="utf-8"), _package_of(path))
    assert not problems, f"{path.relative_to(ROOT)} imports what does not exist:\n" + "\n".join(problems)


def test_the_check_catches_moved_modules_and_names() -> None:
    """The check itself must be able to fail: a gone module, a gone name and a function-level import."""
    source = (
        "import json\n"
        "from anchor.lipsync.planner import MouthPlanner\n"
        "from anchor.jobs.say import mouth_track_for\n"
        "from anchor.lipsync.planner import mouth_track_for\n"
        "def f():\n"
        "    import anchor.live.metrics\n"
        "    from anchor.program import pipeline, nothing_here\n"
        "    from .video_eval import no_such_name\n"
    )
    assert _problems(source, ["bench"]) == [
        "line 3: no module anchor.jobs.say",
        "line 4: anchor.lipsync.planner has no mouth_track_for",
        "line 6: no module anchor.live.metrics",
        "line 7: anchor.program has no nothing_here",
        "line 8: bench.video_eval has no no_such_name",
    ]
