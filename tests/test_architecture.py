"""The house rules about who may import whom, checked on every module (function-level imports included).

The flow is one way: speech -> lipsync -> face -> studio -> program; live and jobs use program and
never each other; api and cli sit on top; streaming (transports) never imports anchor. feeds (news
sources) feed the live queue: they use its items and rundowns, and get rendering through a hook.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> packages it must never import (directly or inside a function)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "streaming": ("anchor",),
    "anchor.speech": ("anchor.lipsync", "anchor.face", "anchor.studio", "anchor.program", "anchor.live", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.lipsync": ("anchor.face", "anchor.studio", "anchor.program", "anchor.live", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.face": ("anchor.studio", "anchor.program", "anchor.live", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.studio": ("anchor.program", "anchor.live", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.provenance": ("anchor.program", "anchor.live", "anchor.jobs", "anchor.api", "anchor.cli", "anchor.feeds"),
    "anchor.program": ("anchor.live", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.feeds": ("anchor.face", "anchor.studio", "anchor.program", "anchor.live.channel", "anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.live": ("anchor.jobs", "anchor.api", "anchor.cli"),
    "anchor.jobs": ("anchor.live", "anchor.api", "anchor.cli"),
    "anchor.api": ("anchor.cli",),
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str | None = None) -> list[tuple[int, str]]:
    """Every module `path` (module `name`) imports, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = (name or _module_name(path)).split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + (1 if path.name == "__init__.py" else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from anchor import jobs` imports anchor.jobs: count each name as a possible submodule
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def _sources() -> list[Path]:
    return sorted(p for d in ("anchor", "streaming") for p in (ROOT / d).rglob("*.py"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_rules_see_every_module() -> None:
    modules = [_module_name(p) for p in _sources()]
    assert len(modules) > 80
    for package in FORBIDDEN:
        assert any(_within(m, package) for m in modules), f"no modules found in {package}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_against_the_flow(package: str) -> None:
    broken = []
    for path in _sources():
        name = _module_name(path)
        if not _within(name, package):
            continue
        for line, imported in _imports(path):
            for banned in FORBIDDEN[package]:
                if _within(imported, banned):
                    broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, "imports against the house plan:\n" + "\n".join(broken)


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The check itself must be able to fail: a function-level import is found too."""
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from anchor.jobs import runner\n    from .. import api\n", encoding="utf-8")
    assert _imports(fake, "anchor.live.probe") == [(2, "anchor.jobs.runner"), (3, "anchor.api")]
