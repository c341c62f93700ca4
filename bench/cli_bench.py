"""Time the command line's start-up: `--help` and `verify`, against a bare interpreter.

Run from the repository root: `python bench/cli_bench.py`. Each command runs ROUNDS times in a
new process on a migrated SQLite file holding the demo registry; the best (least disturbed)
wall time counts, and the CPU time of that run is shown beside it. The last line is
`help_s=<s> verify_s=<s> python_s=<s> help_ratio=<help/python> verify_ratio=<verify/python>`.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 9
CLI = "import sys; sys.argv[0] = 'voucher-ledger'; from api.cli import main; main()"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The fastest of ROUNDS runs (wall, and that run's CPU)."""
    return min(_run(args, env) for _ in range(ROUNDS))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "VOUCHER_LEDGER_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        cli = [sys.executable, "-c", CLI]
        for setup in (["db", "upgrade"], ["demo", "seed"]):
            subprocess.run(cli + setup, env=env, check=True, stdout=subprocess.DEVNULL)
        python = best([sys.executable, "-c", "pass"], env)
        help_ = best([*cli, "--help"], env)
        verify = best([*cli, "verify"], env)
    for name, (wall, cpu) in (("python -c pass", python), ("--help", help_),
                              ("verify", verify)):
        print(f"{name:16} wall {wall:.3f} s  cpu {cpu:.3f} s")
    print(f"help_s={help_[0]:.3f} verify_s={verify[0]:.3f} python_s={python[0]:.3f} "
          f"help_ratio={help_[0] / python[0]:.1f} verify_ratio={verify[0] / python[0]:.1f}")


if __name__ == "__main__":
    main()
