"""Shared by the benchmarks: a throw-away PostgreSQL cluster, or a database given by URL."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


@contextmanager
def throwaway_cluster(port: int, database: str = "bench") -> Iterator[str]:
    """A fresh PostgreSQL cluster as in .ci/run (initdb as the pgci user), removed afterwards."""
    pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
    if subprocess.run(["id", "-u", "pgci"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "pgci"], check=True)
    pgdir = Path(tempfile.mkdtemp(prefix="pgbench."))
    shutil.chown(pgdir, "pgci")
    run_as = ["runuser", "-u", "pgci", "--"]
    subprocess.run([*run_as, str(pgbin / "initdb"), "-D", f"{pgdir}/data", "-U", "app",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], check=True,
                   capture_output=True)
    options = (f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c max_connections=100 "
               "-c fsync=off")
    subprocess.run([*run_as, str(pgbin / "pg_ctl"), "-D", f"{pgdir}/data", "-l",
                    f"{pgdir}/server.log", "-w", "-o", options, "start"], check=True,
                   capture_output=True)
    try:
        subprocess.run([str(pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "app",
                        database], check=True)
        yield f"postgresql+psycopg://app@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*run_as, str(pgbin / "pg_ctl"), "-D", f"{pgdir}/data", "-m", "fast",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(pgdir, ignore_errors=True)


@contextmanager
def given(url: str) -> Iterator[str]:
    """A database the caller provides (it must be empty: the bench migrates it)."""
    yield url


def database(url: str | None, port: int) -> AbstractContextManager[str]:
    """`url` if given, else a throw-away cluster on `port` (as root, as .ci/run does)."""
    return throwaway_cluster(port) if url is None else given(url)
