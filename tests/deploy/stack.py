"""The compose file's processes, started on loopback with its own commands and environment.

Containers cannot run here, so each service of ``deploy/compose.yaml`` that is
ours or a Debian/PyPI package runs as a process: PostgreSQL with the same
configuration file and initdb arguments, SeaweedFS with the same command line
(encryption at rest included), ``voicebridge migrate``, ``serve`` with two
processes, ``worker``, and Caddy with the same Caddyfile. Only what names a
container or a fixed port is rewritten: host names become 127.0.0.1, ports
become free ones, paths land in a scratch directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.fixtures.seaweed import free_ports

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
STARTUP = 60.0


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / "production.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":-":
            return arg or ""
        raise KeyError(f"compose needs {name}: {arg}")

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def service_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """What compose gives the container: env_file (.env), then `environment`."""
    result = dict(env) if service.get("env_file") else {}
    for key, value in (service.get("environment") or {}).items():
        result[key] = interpolate(str(value), env)
    return result


def service_command(service: dict[str, Any], env: dict[str, str]) -> list[str]:
    return [interpolate(str(part), env) for part in service["command"]]


def postgres_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(name)
    return found


def postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` account."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    ports: dict[str, int]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    pg_user: str | None = None

    # --- addresses -------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://voicebridge@127.0.0.1:{self.ports['postgres']}/voicebridge"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def https(self) -> str:
        return f"https://localhost:{self.ports['https']}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def worker_probe(self) -> str:
        return f"http://127.0.0.1:{self.ports['worker_metrics']}"

    @property
    def ca(self) -> Path:
        return self.root / "caddy" / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def tls(self) -> ssl.SSLContext:
        """Trusts Caddy's own CA, as a device configured for this deployment would."""
        return ssl.create_default_context(cafile=str(self.ca))

    @property
    def pgdata(self) -> Path:
        return self.root / "pg" / "data"

    @property
    def wal_archive(self) -> Path:
        return self.root / "pg" / "wal-archive"

    @property
    def seaweed_data(self) -> Path:
        return self.root / "seaweed" / "data"

    def voicebridge_env(self, name: str) -> dict[str, str]:
        """The service's compose environment, pointed at the loopback processes."""
        service = compose()["services"][name]
        env = service_env(service, self.env)
        env.update(
            {
                "VOICEBRIDGE_DATABASE_URL": self.database_url,
                "VOICEBRIDGE_STORAGE__ENDPOINT_URL": self.s3_url,
                "VOICEBRIDGE_STORAGE__PUBLIC_ENDPOINT_URL": f"https://localhost:{self.ports['s3_public']}",
                "VOICEBRIDGE_DATA_DIR": str(self.root / name),
            }
        )
        if "VOICEBRIDGE_JOBS__METRICS_PORT" in env:
            env["VOICEBRIDGE_JOBS__METRICS_PORT"] = str(self.ports["worker_metrics"])
            env["VOICEBRIDGE_JOBS__METRICS_HOST"] = "127.0.0.1"
            env["VOICEBRIDGE_HEALTHCHECK_URL"] = f"{self.worker_probe}/healthz"
        base = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
        return {**base, **env}

    # --- processes -------------------------------------------------------------

    def start(
        self, name: str, args: list[str], env: dict[str, str], user: str | None = None
    ) -> None:
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.logs[name] = log
        if user is not None:
            args = ["runuser", "-u", user, "--", *args]
        with log.open("ab") as out:
            self.procs[name] = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait(self, name: str, ready: Callable[[], bool], timeout: float = STARTUP) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready in {timeout:.0f}s:\n{self.tail(name)}")

    def run(self, name: str, args: list[str], env: dict[str, str], user: str | None = None) -> str:
        if user is not None:
            args = ["runuser", "-u", user, "--", *args]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # --- the services ----------------------------------------------------------

    def start_postgres(self) -> None:
        service = compose()["services"]["postgres"]
        command = service_command(service, self.env)
        assert command[:3] == ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
        config = self.root / "pg" / "postgresql.conf"
        shutil.copy(DEPLOY / "postgres" / "postgresql.conf", config)
        args = [
            postgres_bin("postgres"),
            "-D",
            str(self.pgdata),
            "-c",
            f"config_file={config}",
            # Loopback, a free port, a scratch archive, a small machine:
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.ports['postgres']}",
            "-c",
            f"unix_socket_directories={self.root / 'pg'}",
            "-c",
            f"archive_command=test ! -f {self.wal_archive}/%f && cp %p {self.wal_archive}/%f",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_connections=60",
        ]
        self.start("postgres", args, dict(os.environ), user=self.pg_user)
        self.wait("postgres", self._postgres_ready)

    def stop_postgres(self) -> None:
        """A fast shutdown that returns only when the postmaster is gone.

        SIGTERM to ``runuser`` is a *smart* shutdown that waits for the API's
        connections, and ``runuser`` SIGKILLs the postmaster two seconds later,
        leaving a lock file that the next start trips over.
        """
        self.run(
            "pg_ctl stop",
            [postgres_bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"],
            dict(os.environ),
            self.pg_user,
        )
        self.stop("postgres")

    def _postgres_ready(self) -> bool:
        done = subprocess.run(
            [postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.ports["postgres"])],
            capture_output=True,
        )
        return done.returncode == 0

    def init_postgres(self) -> None:
        service = compose()["services"]["postgres"]
        env = service_env(service, self.env)
        initdb_args = env["POSTGRES_INITDB_ARGS"].split()
        self.run(
            "initdb",
            [
                postgres_bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                env["POSTGRES_USER"],
                "--auth=trust",
                *initdb_args,
            ],
            dict(os.environ),
            user=self.pg_user,
        )
        self.start_postgres()
        self.run(
            "createdb",
            [
                postgres_bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports["postgres"]),
                "-U",
                env["POSTGRES_USER"],
                env["POSTGRES_DB"],
            ],
            dict(os.environ),
        )

    def start_seaweedfs(self) -> None:
        service = compose()["services"]["seaweedfs"]
        rewrite = {
            "-dir": str(self.seaweed_data),
            "-master.dir": str(self.root / "seaweed" / "meta" / "master"),
            "-ip": "127.0.0.1",
            "-ip.bind": "127.0.0.1",
            "-master.port": str(self.ports["master"]),
            "-volume.port": str(self.ports["volume"]),
            "-filer.port": str(self.ports["filer"]),
            "-s3.port": str(self.ports["s3"]),
            "-metricsPort": str(self.ports["weed_metrics"]),
        }
        args = [shutil.which("weed") or str(Path(sys.executable).parent / "weed")]
        for part in service_command(service, self.env):
            flag, eq, _ = part.partition("=")
            args.append(f"{flag}={rewrite[flag]}" if eq and flag in rewrite else part)
        args += [
            f"-filer.localSocket={self.root / 'seaweed' / 'filer.sock'}",
            f"-s3.localSocket={self.root / 'seaweed' / 's3.sock'}",
        ]
        for directory in (self.seaweed_data, self.root / "seaweed" / "meta" / "master"):
            directory.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **service_env(service, self.env)}
        env["WEED_LEVELDB2_DIR"] = str(self.root / "seaweed" / "meta" / "filer")
        self.start("seaweedfs", args, env)
        self.wait("seaweedfs", lambda: httpx.get(f"{self.s3_url}/healthz", timeout=2).is_success)

    def migrate(self) -> None:
        service = compose()["services"]["migrate"]
        args = [shutil.which("voicebridge") or "voicebridge", *service_command(service, self.env)]
        self.run("migrate", args, self.voicebridge_env("migrate"))

    def start_api(self) -> None:
        service = compose()["services"]["api"]
        command = service_command(service, self.env)
        command[command.index("--host") + 1] = "127.0.0.1"
        command[command.index("--port") + 1] = str(self.ports["api"])
        (self.root / "api").mkdir(exist_ok=True)
        self.start(
            "api",
            [shutil.which("voicebridge") or "voicebridge", *command],
            self.voicebridge_env("api"),
        )
        self.wait("api", lambda: httpx.get(f"{self.api}/readyz", timeout=2).is_success)

    def start_worker(self) -> None:
        service = compose()["services"]["worker"]
        args = [shutil.which("voicebridge") or "voicebridge", *service_command(service, self.env)]
        (self.root / "worker").mkdir(exist_ok=True)
        self.start("worker", args, self.voicebridge_env("worker"))
        self.wait("worker", lambda: httpx.get(f"{self.worker_probe}/healthz", timeout=2).is_success)

    def start_caddy(self) -> None:
        service = compose()["services"]["caddy"]
        env = {**os.environ, **service_env(service, self.env)}
        env.update(
            {
                "SITE_DOMAIN": f"localhost:{self.ports['https']}",
                "SITE_S3_DOMAIN": f"localhost:{self.ports['s3_public']}",
                "API_UPSTREAMS": f"127.0.0.1:{self.ports['api']}",
                "S3_UPSTREAM": f"127.0.0.1:{self.ports['s3']}",
                "CADDY_HTTP_PORT": str(self.ports["http"]),
                "CADDY_HTTPS_PORT": str(self.ports["https"]),
                "CADDY_ADMIN": "off",
                "CADDY_LOCAL_CERTS": "local_certs",
                "XDG_DATA_HOME": str(self.root / "caddy" / "data"),
                "XDG_CONFIG_HOME": str(self.root / "caddy" / "config"),
                "HOME": str(self.root / "caddy"),
            }
        )
        caddyfile = DEPLOY / "caddy" / "Caddyfile"
        self.start(
            "caddy", ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"], env
        )
        self.wait(
            "caddy",
            lambda: (
                self.ca.exists()
                and httpx.get(f"{self.https}/healthz", verify=self.tls(), timeout=2).is_success
            ),
        )

    def shutdown(self) -> None:
        """SIGTERM to everything at once (SeaweedFS alone takes 10 s to say goodbye)."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for name in list(self.procs):
            self.stop(name, timeout=12)


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    # Outside pytest's 0700 temp directory: the postgres account must reach its files.
    root = Path(tempfile.mkdtemp(prefix="vb-stack-"))
    root.chmod(0o755)
    names = ["postgres", "master", "volume", "filer", "s3", "weed_metrics", "api", "http"]
    names += ["https", "s3_public", "worker_metrics"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = env_example()
    env.update(
        {
            "VOICEBRIDGE_AUTH__SECRET_KEY": secrets.token_urlsafe(48),
            "POSTGRES_PASSWORD": "unused-trust-on-loopback",
            "S3_ACCESS_KEY_ID": "vb-stack-" + secrets.token_hex(4),
            "S3_SECRET_ACCESS_KEY": secrets.token_hex(20),
            "GRAFANA_ADMIN_PASSWORD": "unused",
            # Small argon2 cost: the stack test signs people in, it does not measure hashing.
            "VOICEBRIDGE_AUTH__ARGON2_TIME_COST": "1",
            "VOICEBRIDGE_AUTH__ARGON2_MEMORY_KIB": "8192",
        }
    )
    stack = Stack(root, env, ports, pg_user=postgres_user())
    (root / "pg").mkdir()
    stack.wal_archive.mkdir()
    if stack.pg_user is not None:
        shutil.chown(root / "pg", stack.pg_user)
        shutil.chown(stack.wal_archive, stack.pg_user)
    try:
        stack.init_postgres()
        stack.start_seaweedfs()
        stack.migrate()
        stack.start_api()
        stack.start_worker()
        stack.start_caddy()
        yield stack
    finally:
        stack.shutdown()
        shutil.rmtree(root, ignore_errors=True)
