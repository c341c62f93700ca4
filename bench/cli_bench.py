"""Time the command line's start-up: `--help` and `verify`, against a bare interpreter.

Run from the repository root: `python bench/cli_bench.py [BASELINE_CHECKOUT]`. Each command
runs ROUNDS times in a new process on a migrated SQLite file holding the demo registry; the
least disturbed run counts (least CPU time: on a shared machine wall time mostly measures the
neighbours). With a baseline checkout (e.g. `git archive <rev> | tar -x -C /tmp/base`), the
same commands run on that code too, in the same run. The last line is
`help_cpu_s=<s> verify_cpu_s=<s> python_cpu_s=<s> help_vs_base=<ratio> verify_vs_base=<ratio>
help_wall_s=<s> python_wall_s=<s>` (the ratios are 0 without a baseline; the wall times are
medians of the ROUNDS runs, `python -c pass` timed in the same run as the yardstick).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 10
CLI = "import sys; sys.argv[0] = 'voucher-ledger'; from api.cli import main; main()"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Outside the checkout: `python -c` puts the working directory first on sys.path.
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Of ROUNDS runs: (CPU, wall) of the least disturbed one (least CPU), and the median
    wall time of all of them."""
    runs = [_run(args, env) for _ in range(ROUNDS)]
    cpu, wall = min((cpu, wall) for wall, cpu in runs)
    return cpu, wall, statistics.median(wall for wall, _ in runs)


def main() -> None:
    baseline = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    cli = [sys.executable, "-c", CLI]
    figures: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "VOUCHER_LEDGER_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        for setup in (["db", "upgrade"], ["demo", "seed"]):
            subprocess.run(cli + setup, env=env, check=True, stdout=subprocess.DEVNULL,
                           cwd=tmp)
        figures["python -c pass"] = best([sys.executable, "-c", "pass"], env)
        for code, label in ((ROOT, ""), (baseline, " (baseline)")):
            if code is None:
                continue
            run_env = {**env, "PYTHONPATH": str(code)}
            figures["--help" + label] = best([*cli, "--help"], run_env)
            figures["verify" + label] = best([*cli, "verify"], run_env)
    for name, (cpu, wall, median) in figures.items():
        print(f"{name:22} cpu {cpu:.3f} s  wall {wall:.3f} s  median wall {median:.3f} s")

    def versus(name: str) -> float:
        base = figures.get(f"{name} (baseline)")
        return figures[name][0] / base[0] if base else 0.0

    print(f"help_cpu_s={figures['--help'][0]:.3f} verify_cpu_s={figures['verify'][0]:.3f} "
          f"python_cpu_s={figures['python -c pass'][0]:.3f} "
          f"help_vs_base={versus('--help'):.2f} verify_vs_base={versus('verify'):.2f} "
          f"help_wall_s={figures['--help'][2]:.3f} "
          f"python_wall_s={figures['python -c pass'][2]:.3f}")


if __name__ == "__main__":
    main()
