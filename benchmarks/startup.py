"""Start-up time of the command line: `videofocus --help`, `videofocus version` and every command's
`--help`, each in a fresh Python process started as the `videofocus` script starts it.

    python benchmarks/startup.py [--repeats 5] [--baseline OTHER_CHECKOUT/src]

Prints, per command line, the median wall time and the median CPU time (user + system of the child
process, which other jobs on a busy machine disturb less than wall time), each as a ratio to the
0.5 s target (below 1 meets it), and the same for a bare `python -c pass` so the interpreter's own
start-up is visible. With `--baseline`, the same command lines also run from that source tree (e.g.
an older commit's `src`, from `git archive`), alternating with this one so both see the same load,
and the ratio baseline CPU / this CPU is printed (above 1: this tree starts faster)."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

import videofocus
from videofocus.cli import app

TARGET_SECONDS = 0.5
# What the installed `videofocus` script runs.
SCRIPT = "from videofocus.cli import main; main()"


def command_lines() -> list[list[str]]:
    """`--help` and `version`, then `<command> --help` for every command and data subcommand."""
    lines = [["--help"], ["version"]]
    root = typer.main.get_command(app)
    for name, command in sorted(root.commands.items()):
        if hasattr(command, "commands"):  # a group: time each subcommand
            lines += [[name, sub, "--help"] for sub in sorted(command.commands)]
        else:
            lines.append([name, "--help"])
    return lines


def time_once(argv: list[str], source: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv` in a fresh process importing videofocus from `source`."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Runs per command line (median reported).")
    parser.add_argument("--baseline", type=Path, help="Another source tree (its `src`) to compare with.")
    args = parser.parse_args()
    source = Path(videofocus.__file__).parents[1]
    header = f"{'command line':<34} {'wall (s)':>9} {'/ target':>9} {'CPU (s)':>8} {'/ target':>9}"
    print(header + (f" {'baseline CPU':>13} {'baseline / this':>16}" if args.baseline else ""))
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    rows += [("videofocus " + " ".join(line), [sys.executable, "-c", SCRIPT, *line]) for line in command_lines()]
    for label, argv in rows:
        this, baseline = [], []
        for _ in range(args.repeats):
            this.append(time_once(argv, source))
            if args.baseline:
                baseline.append(time_once(argv, args.baseline))
        wall, cpu = medians(this)
        line = f"{label:<34} {wall:>9.3f} {wall / TARGET_SECONDS:>9.2f} {cpu:>8.3f} {cpu / TARGET_SECONDS:>9.2f}"
        if args.baseline:
            _, baseline_cpu = medians(baseline)
            line += f" {baseline_cpu:>13.3f} {baseline_cpu / cpu:>16.2f}"
        print(line, flush=True)
    print(f"target {TARGET_SECONDS} s; medians of {args.repeats} runs; load average "
          f"{' '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
