"""Start a backoffice with its event ingress (and, if wanted, a throwaway PostgreSQL) as
child processes.

Used by the test fixtures, the benchmarks and drills: free ports picked at run time,
temporary directories, every process stopped by its pid. The backoffice (reference
systems) and the ingress (product code) are separate processes, as in the devstack and
in docker-compose: the backoffice posts its events to the ingress's URL.

    with BackofficeProcess.start(temporal_address="127.0.0.1:7233") as bo:
        httpx.get(f"{bo.url}/health")            # bo.ingress.url: the ingress it posts to

    with PostgresCluster.start() as pg:          # raises PostgresUnavailable if absent
        BackofficeProcess.start(database_url=pg.url, ...)
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from devstack.processes import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent


def _stop_pid(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15
) -> None:
    if process.poll() is not None:
        return
    try:
        os.kill(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        **extra,
    }


def _spawn(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=str(REPO_ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_healthy(
    name: str, url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    """Poll ``{url}/health`` until it answers 200; stop the process and raise otherwise."""
    deadline = time.monotonic() + timeout_s
    # one client for every probe: a new client per probe builds a TLS context (about
    # 30 ms of CPU, for a minute of probes while a large estate is seeded)
    with httpx.Client(timeout=2) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the {name} exited with code {process.returncode}:\n{_tail(log_path)}"
                )
            try:
                if probe.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # readiness poll, not a race workaround
    _stop_pid(process)
    raise RuntimeError(f"the {name} did not answer /health in {timeout_s}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class IngressProcess:
    """A live event ingress (``python -m ingress``) on a free port."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def events_url(self) -> str:
        """What a backoffice's ``EVENT_INGRESS_URL`` is set to."""
        return f"{self.url}/ingress/events"

    @classmethod
    def start(
        cls,
        *,
        temporal_address: str = "localhost:7233",
        namespace: str = "default",
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        ready_timeout_s: float = 60.0,
    ) -> IngressProcess:
        port = free_port()
        env = _child_env(
            {
                "RETAIL_INGRESS_HOST": "127.0.0.1",
                "RETAIL_INGRESS_PORT": str(port),
                "TEMPORAL_ADDRESS": temporal_address,
                "TEMPORAL_NAMESPACE": namespace,
                **(extra_env or {}),
            }
        )
        process = _spawn("ingress", env, log_path)
        ingress = cls(f"http://127.0.0.1:{port}", port, process, log_path)
        _wait_healthy("ingress", ingress.url, process, log_path, ready_timeout_s)
        return ingress

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        _stop_pid(self.process)


@dataclass
class BackofficeProcess:
    """A live backoffice on a free port, posting its events to its own ingress process."""

    url: str
    port: int
    database_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    ingress: IngressProcess
    _own_workdir: bool = True

    @classmethod
    def start(
        cls,
        *,
        temporal_address: str = "localhost:7233",
        namespace: str = "default",
        database_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        ready_timeout_s: float = 60.0,
        workdir: Path | None = None,
    ) -> BackofficeProcess:
        """Start the ingress (signalling ``temporal_address``), then the backoffice."""
        own = workdir is None
        work = Path(workdir or tempfile.mkdtemp(prefix="backoffice-"))
        try:
            ingress = IngressProcess.start(
                temporal_address=temporal_address,
                namespace=namespace,
                log_path=work / "ingress.log",
                ready_timeout_s=ready_timeout_s,
            )
        except RuntimeError:
            if own:
                shutil.rmtree(work, ignore_errors=True)
            raise
        port = free_port()
        db_url = database_url or f"sqlite:///{work / 'backoffice.db'}"
        env = _child_env(
            {
                "BACKOFFICE_HOST": "127.0.0.1",
                "BACKOFFICE_PORT": str(port),
                "DATABASE_URL": db_url,
                "EVENT_INGRESS_URL": ingress.events_url,
                **(extra_env or {}),
            }
        )
        log_path = work / "backoffice.log"
        process = _spawn("backoffice", env, log_path)
        bo = cls(f"http://127.0.0.1:{port}", port, db_url, process, work, log_path, ingress, own)
        try:
            _wait_healthy("backoffice", bo.url, process, log_path, ready_timeout_s)
        except RuntimeError:
            ingress.stop()
            raise
        return bo

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        _stop_pid(self.process)
        self.ingress.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> BackofficeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class PostgresUnavailable(RuntimeError):
    """Debian's PostgreSQL server binaries are not installed here."""


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not candidates:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: run .ci/postgres.sh "
            "(apt-get install postgresql) to run the PostgreSQL tests"
        )
    return Path(candidates[-1]).parent


@dataclass
class PostgresCluster:
    """A throwaway cluster in a temp dir on a free port; trust auth on 127.0.0.1."""

    url: str
    port: int
    datadir: Path
    pid: int
    _root: Path
    _as_user: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PostgresCluster:
        bindir = postgres_bin_dir()
        root = Path(tempfile.mkdtemp(prefix="pg-"))
        datadir = root / "data"
        as_user: list[str] = []
        user = "postgres"
        if os.geteuid() == 0:  # initdb refuses root: run as the postgres account
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root and runuser is missing")
            as_user = [runuser, "-u", "postgres", "--"]
            shutil.chown(root, user="postgres")
            root.chmod(0o700)
        else:
            user = os.environ.get("USER") or "postgres"
        port = free_port()
        run = lambda args: subprocess.run(  # noqa: E731
            [*as_user, *args], check=True, capture_output=True, text=True, cwd=str(root)
        )
        try:
            run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-A",
                    "trust",
                    "-U",
                    user,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            )
            run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-l",
                    str(root / "pg.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                    "start",
                ]
            )
        except subprocess.CalledProcessError as err:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"could not start PostgreSQL: {err.stderr or err.stdout}") from err
        pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
        url = f"postgresql://{user}@127.0.0.1:{port}/postgres"
        return cls(url, port, datadir, pid, root, as_user)

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)  # fast shutdown
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_codec_key() -> str:
    """Benchmarks and drills run a stack of their own: when no payload key is configured
    (environment or the devstack's key file), give this process and the ones it starts a
    fresh, throwaway key. Returns where the key comes from, in words."""
    import base64

    from common.codec import ENV_KEY_FILE, ENV_KEYS, new_key
    from common.config import codec_key_file

    if os.environ.get(ENV_KEYS) or os.environ.get(ENV_KEY_FILE):
        return "the environment"
    if codec_key_file().exists():
        return str(codec_key_file())
    os.environ[ENV_KEYS] = f"throwaway:{base64.b64encode(new_key()).decode()}"
    return "a throwaway key of this run"
