"""A real, throwaway PostgreSQL server for the history tests (no mock).

Started from the distribution's binaries (Debian's `postgresql` package; .ci/run
installs it). PostgreSQL refuses to run as root, so under root the server runs as
the `postgres` user the package creates, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server(password: str | None = None) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server on 127.0.0.1; stop and delete it afterwards.

    With `password`, the server asks user `zoo` for it (scram-sha-256), as a team's server would,
    and the URL carries it; without, it trusts local connections.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries (pg_ctl); apt-get install postgresql")
    run_as: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="zoo-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")  # KeyError: the package did not create it
        os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(0o700)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    auth = ["-A", "trust"]
    if password is not None:
        secret = folder / "pwfile"
        secret.write_text(password + "\n")
        if run_as:
            os.chown(secret, user.pw_uid, user.pw_gid)
        auth = ["-A", "scram-sha-256", f"--pwfile={secret}"]
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), *auth, "-U", "zoo", "--no-sync"],
        check=True,
        capture_output=True,
    )
    if password is not None:
        (folder / "pwfile").unlink()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w"]
    subprocess.run([*start, "start"], check=True, capture_output=True, timeout=60)
    try:
        login = "zoo" if password is None else f"zoo:{password}"
        yield f"postgresql+psycopg://{login}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_or_skip(password: str | None = None) -> Iterator[str]:
    """postgres_server for a fixture: skipped where the binaries are missing, failed in CI (which installs them)."""
    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing in CI: .ci/run installs the postgresql package")
        pytest.skip("no PostgreSQL binaries here (apt-get install postgresql)")
    with postgres_server(password) as url:
        yield url
