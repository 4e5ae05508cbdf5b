"""Start-up time of the command line: `videofocus --help`, `videofocus version` and every command's
`--help`, each in a fresh Python process as a user would start it.

    python benchmarks/startup.py [--repeats 5]

Prints, per command line, the median wall time and the median CPU time (user + system of the child
process, which other jobs on a busy machine disturb less than wall time), their ratio to the 0.5 s
target, and the same for a bare `python -c pass` so the interpreter's own start-up is visible. Lower
is better; a ratio below 1 meets the target."""

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


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(argv: list[str], env: dict[str, str], repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds over `repeats` runs."""
    runs = [time_once(argv, env) for _ in range(repeats)]
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Runs per command line (median reported).")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(videofocus.__file__).parents[1])}
    cli = [sys.executable, "-m", "videofocus.cli"]
    print(f"{'command line':<34} {'wall (s)':>9} {'/ target':>9} {'CPU (s)':>8} {'/ target':>9}")
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    rows += [("videofocus " + " ".join(line), cli + line) for line in command_lines()]
    for label, argv in rows:
        wall, cpu = measure(argv, env, args.repeats)
        print(f"{label:<34} {wall:>9.3f} {wall / TARGET_SECONDS:>9.2f} {cpu:>8.3f} {cpu / TARGET_SECONDS:>9.2f}")
    print(f"target {TARGET_SECONDS} s; medians of {args.repeats} runs; load average "
          f"{' '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
