"""Speed of the synthetic world: 1,000 samples of every task per difficulty, against the target of
"well under a minute on 2 cores". Prints wall and CPU time (one process, no multiprocessing) and
their ratio to the 60 s target.

    python benchmarks/synth_generate.py [--n 1000] [--difficulty easy medium hard]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from videofocus.data.synth import generate_dataset

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--difficulty", nargs="+", default=["easy", "medium", "hard"])
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| difficulty | samples | wall | CPU | wall / target | MB written |")
    print("| --- | --- | --- | --- | --- | --- |")
    for difficulty in args.difficulty:
        with tempfile.TemporaryDirectory() as out:
            wall, cpu = time.perf_counter(), time.process_time()
            generate_dataset(out, args.n, seed=0, difficulty=difficulty)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            size = sum(entry.stat().st_size for entry in os.scandir(out) if entry.is_file())
            size += sum(f.stat().st_size for d in ("videos", "images") for f in os.scandir(os.path.join(out, d)))
        print(f"| {difficulty} | {args.n} | {wall:.1f} s | {cpu:.1f} s | {wall / TARGET_S:.2f} | {size / 1e6:.1f} |")


if __name__ == "__main__":
    main()
