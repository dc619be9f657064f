"""A throwaway nginx + libnginx-mod-rtmp server on 127.0.0.1 for the RTMP tests.

Runs `nginx -c <tmp>/nginx.conf -p <tmp>/` in the foreground (daemon off, single
process) with its own pid and log files, so start/stop touch only this process. The port
stays the same across restarts, so a test can take the server away and bring it back.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.helpers import free_port

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


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class NginxRtmp:
    """nginx with one `live` application: publish and play rtmp://127.0.0.1:PORT/live/<key>."""

    def __init__(self, prefix: Path, port: int | None = None) -> None:
        self.nginx = find_nginx()
        self.module = find_rtmp_module()
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        self.port = port or free_port()
        self.conf = self.prefix / "nginx.conf"
        self.error_log = self.prefix / "logs" / "error.log"
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
            f"    listen 127.0.0.1:{self.port};\n"
            "    chunk_size 4096;\n"
            "    application live { live on; record off; }\n"
            "  }\n"
            "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, stream: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{stream}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start nginx and wait until the port accepts connections."""
        if self.running:
            return
        self.process = subprocess.Popen(
            [self.nginx, "-c", str(self.conf), "-p", f"{self.prefix}/", "-e", str(self.error_log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"nginx exited at start: {err.strip()}\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"nginx did not listen on 127.0.0.1:{self.port} within {timeout} s\n{self._log_tail()}"
                )
            time.sleep(0.05)

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
        if process.stderr:
            process.stderr.close()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no nginx error log)"
