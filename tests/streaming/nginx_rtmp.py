"""A throwaway nginx + libnginx-mod-rtmp server on 127.0.0.1 for the RTMP tests.

Runs `nginx -c <tmp>/nginx.conf -p <tmp>/` in the foreground (daemon off, single
process) with its own pid and log files, so start/stop touch only this process. The first
start takes a fresh port (another one if it was taken meanwhile); the port stays the same across
restarts, so a test can take the server away and bring it back.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.helpers import PortTaken, start_on_free_port, wait_listening

MODULE_CANDIDATES = (
    "/usr/lib/nginx/modules/ngx_rtmp_module.so",
    "/usr/share/nginx/modules/ngx_rtmp_module.so",
    "/usr/lib64/nginx/modules/ngx_rtmp_module.so",
)
INSTALL_HINT = "install the Debian packages: apt-get install nginx libnginx-mod-rtmp (scripts/setup.sh does it as root)"


class NginxMissing(RuntimeError):
    """nginx or its RTMP module is not installed."""


def find_nginx() -> str:
    path = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
    if path is None:
        raise NginxMissing(f"nginx is not installed; {INSTALL_HINT}")
    return path


def find_rtmp_module() -> str:
    """The ngx_rtmp_module.so path (Debian's libnginx-mod-rtmp)."""
    for candidate in MODULE_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    for conf in glob.glob("/etc/nginx/modules-enabled/*rtmp*.conf") + glob.glob(
        "/usr/share/nginx/modules-available/*rtmp*.conf"
    ):
        match = re.search(r"load_module\s+(\S+?);", Path(conf).read_text())
        if match:
            path = match.group(1)
            path = path if path.startswith("/") else os.path.join("/usr/share/nginx", path)
            if os.path.isfile(path):
                return path
    raise NginxMissing(f"the nginx RTMP module (ngx_rtmp_module.so) is not installed; {INSTALL_HINT}")


class NginxRtmp:
    """nginx with one `live` application: publish and play rtmp://127.0.0.1:PORT/live/<key>."""

    def __init__(self, prefix: Path, port: int | None = None) -> None:
        self.nginx = find_nginx()
        self.module = find_rtmp_module()
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        self.port = port or 0  # 0: chosen at the first start
        self.conf = self.prefix / "nginx.conf"
        self.error_log = self.prefix / "logs" / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, stream: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{stream}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start nginx and wait until it listens (on a fresh port the first time, then on the same one)."""
        if self.running:
            return
        if self.port:
            self._start_on(self.port, timeout)
        else:
            self.port = start_on_free_port(lambda port: self._start_on(port, timeout))

    def players(self, stream: str = "test") -> int:
        """How many play requests for `stream` nginx has logged (a player is subscribed once counted)."""
        try:
            return self.error_log.read_text(errors="replace").count(f"play: name='{stream}'")
        except OSError:
            return 0

    def _write_conf(self, port: int) -> None:
        self.conf.write_text(
            f"load_module {self.module};\n"
            "daemon off;\n"
            "master_process off;\n"
            "worker_processes 1;\n"
            f"pid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 256; }\n"
            "rtmp {\n"
            "  server {\n"
            f"    listen 127.0.0.1:{port};\n"
            "    chunk_size 4096;\n"
            "    application live { live on; record off; }\n"
            "  }\n"
            "}\n"
        )

    def _start_on(self, port: int, timeout: float) -> int:
        self._write_conf(port)
        log_start = self.error_log.stat().st_size if self.error_log.exists() else 0
        with open(self.error_log, "ab") as errors:  # what nginx says before its log is open goes there too
            process = subprocess.Popen(
                [self.nginx, "-c", str(self.conf), "-p", f"{self.prefix}/", "-e", str(self.error_log)],
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
            )
        self.process = process

        def log() -> str:
            with open(self.error_log, "rb") as f:
                f.seek(log_start)
                return f.read().decode(errors="replace")[-3000:]

        try:
            wait_listening(process.pid, port, lambda: process.poll() is None, log, "nginx", timeout)
        except (PortTaken, RuntimeError):
            self.stop()
            raise
        return port

    def stop(self) -> None:
        """Stop nginx (SIGTERM, then SIGKILL) and wait for it to exit."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
