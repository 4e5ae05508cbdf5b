"""Fuzzed completions through parsing and rewards (CPU, about a minute):

>= 10,000 random completions (tag soup, numbers of every shape, clock times, Unicode digits and
junk, lone surrogates, bbox_2d JSON, mutations of well-formed answers; one in ten 100 kB long) are
parsed and scored against one sample of every task. Reported: exceptions (must be none), reward
values outside [0, 1] (must be none), and the slowest call per input size, as CPU time of the
process (what the call itself costs on a shared machine) and as wall time. Calls during which Python
ran a full garbage collection are reported apart: it walks every object of the process (~50 ms
here, most of them the imported libraries'), whichever call's allocation sets it off. A single pass
also catches the machine's and the interpreter's jitter (a call timed once at 14 ms took 8 ms at best
of 7), so the 20 slowest calls of each size are timed again, best of 5 with the collector off: the
cost of the call itself, which the 10 ms target is about.

    PYTHONPATH=src python benchmarks/reliability_fuzz.py [--completions 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import time

from videofocus.rewards import compute_rewards
from videofocus.schema import parse_sample

LONG = 100_000
RETIMED, REPEATS = 20, 5
SAMPLES = [parse_sample(record) for record in (
    {"id": "t", "task": "temporal_grounding", "media": {"type": "video", "path": "v.mp4", "duration": 30.0},
     "question": "q", "clue": {"intervals": [[6.0, 11.9]]}},
    {"id": "g", "task": "grounded_qa", "media": {"type": "video", "path": "v.mp4", "duration": 30.0}, "question": "q",
     "options": ["a", "b", "c", "d"], "answer": "B", "clue": {"intervals": [[2.0, 6.0]]}},
    {"id": "m", "task": "mcq", "media": {"type": "video", "path": "v.mp4"}, "question": "q",
     "options": ["a", "b", "c"], "answer": "C"},
    {"id": "k", "task": "tracking", "media": {"type": "video", "path": "v.mp4", "width": 200, "height": 100},
     "question": "dog",
     "clue": {"track": [{"t": 0.0, "box": [0, 0, 100, 50]}, {"t": 0.5, "box": [100, 50, 200, 100]}]}},
    {"id": "s", "task": "spatial_grounding", "media": {"type": "image", "path": "i.jpg", "width": 640, "height": 480},
     "question": "q", "clue": {"boxes": [[100, 100, 300, 200]]}},
    {"id": "c", "task": "classification", "media": {"type": "video", "path": "v.mp4"}, "question": "q",
     "answer": "dancing"},
)]
WELL_FORMED = [
    "<think>looking</think><clue>[(6.0, 12.0)]</clue>",
    "<think>x</think><clue>[(2, 6)]</clue><answer>B</answer>",
    "<think>x</think><answer>C</answer>",
    "<think>x</think><clue>[[0, 0, 100, 50], [100, 50, 200, 100]]</clue>",
    "<think>x</think><clue>[100, 100, 300, 200]</clue>",
    "<think>x</think><answer>dancing</answer>",
]
PIECES = ["<think>", "</think>", "<answer>", "</answer>", "<clue>", "</clue>", "<glue>", "< think >", "</ANSWER >",
          "<", ">", "[", "]", "(", ")", ",", ";", " ", "\n", "-", ".", ":", "to", "from", "s", "seconds", "e", "E",
          "nan", "inf", "Infinity", "-inf", "1e308", "1e-400", "-0", "0.", ".5", "12:34", "1:02:03.5", "99:99",
          "A", "B", "(C)", "option D", "The answer is B.", "**B**", '{"bbox_2d": [1, 2, 3, 4]}', '"bbox_2d": [',
          "\u0663\u0665", "\uff11\uff12", "\u0967", "\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "🎥",
          "9" * 400, "[" * 50, "(" * 50, "<clue>" * 20]


def completion(rng: random.Random, length: int) -> str:
    """A random completion of about `length` characters."""
    kind = rng.random()
    if kind < 0.3:   # a well-formed answer with pieces spliced in
        text = list(rng.choice(WELL_FORMED))
        for _ in range(rng.randint(1, 5)):
            text.insert(rng.randint(0, len(text)), rng.choice(PIECES))
        base = "".join(text)
    elif kind < 0.5:   # random code points
        base = "".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(0, 200)))
    else:   # tag and number soup
        base = "".join(rng.choice(PIECES) if rng.random() < 0.7 else str(rng.uniform(-1e6, 1e6))
                       for _ in range(rng.randint(0, 80)))
    if length <= len(base) or not base:
        return base[:length] if length else base
    return (base * (length // len(base) + 1))[:length]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    exceptions, out_of_range, calls = [], [], 0
    slowest = {"short": [0.0, 0.0], "100 kB": [0.0, 0.0]}   # [cpu s, wall s]
    # The slowest calls of each size: (cpu s, call number, sample index, text).
    candidates: dict[str, list[tuple[float, int, int, str]]] = {"short": [], "100 kB": []}
    collecting = [0, 0.0]   # calls that ran a full collection, the slowest of them (cpu s)
    generations: list[int] = []   # those collected during the current call
    gc.callbacks.append(lambda phase, info: generations.append(info["generation"]) if phase == "start" else None)
    for index in range(args.completions):
        long = index % 10 == 0
        text = completion(rng, LONG if long else rng.randint(0, 2000))
        for sample in SAMPLES:
            generations.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                result = compute_rewards(sample, text)   # parses the completion, then scores it
            except Exception as error:   # noqa: BLE001 - counting every kind is the point
                exceptions.append((sample.task, text[:80], repr(error)))
                continue
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            calls += 1
            if 2 in generations:
                collecting[0], collecting[1] = collecting[0] + 1, max(collecting[1], cpu)
            else:
                size = "100 kB" if long else "short"
                bucket = slowest[size]
                bucket[0], bucket[1] = max(bucket[0], cpu), max(bucket[1], wall)
                heapq.heappush(candidates[size], (cpu, calls, SAMPLES.index(sample), text))
                if len(candidates[size]) > RETIMED:
                    heapq.heappop(candidates[size])
            out_of_range += [(sample.task, name, value) for name, value in result.values.items()
                             if not 0.0 <= value <= 1.0]
    print(f"{args.completions} fuzzed completions x {len(SAMPLES)} tasks = {calls} parse-and-reward calls: "
          f"{len(exceptions)} exceptions, {len(out_of_range)} reward values outside [0, 1]")
    for size, (cpu, wall) in slowest.items():
        print(f"  slowest {size} call: {cpu * 1000:.2f} ms CPU, {wall * 1000:.2f} ms wall "
              f"({'under' if cpu < 0.010 else 'OVER'} 10 ms CPU)")
    print(f"  {collecting[0]} calls ran a full garbage collection, left out above: "
          f"up to {collecting[1] * 1000:.2f} ms CPU")
    for size, calls_kept in candidates.items():
        cost = max(best_cpu_time(SAMPLES[sample], text) for _, _, sample, text in calls_kept)
        print(f"  the {len(calls_kept)} slowest {size} calls timed again (best of {REPEATS}, collector off): "
              f"at most {cost * 1000:.2f} ms CPU ({'under' if cost < 0.010 else 'OVER'} 10 ms)")
    for task, text, error in exceptions[:5]:
        print(f"  {task}: {error} on {text!r}")


def best_cpu_time(sample, text: str) -> float:
    gc.disable()
    try:
        times = []
        for _ in range(REPEATS):
            started = time.process_time()
            compute_rewards(sample, text)
            times.append(time.process_time() - started)
        return min(times)
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
