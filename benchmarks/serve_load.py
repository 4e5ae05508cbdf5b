"""A bounded load test of `videofocus serve`: N requests from C concurrent clients on loopback.

    python benchmarks/serve_load.py [--requests 200] [--clients 16] [--max-batch 1,8] [--dir DIR]

Each client is the official `openai` client asking, in a loop, about the same 10 s video under the
media root (3 rounds each). The server runs in a child process on 127.0.0.1 with each --max-batch in
turn; the script reports, per setting, requests answered / lost (any error, or a wrong answer),
p50 / p95 latency and throughput, and the throughput ratio of the largest batch to batch 1.

The model is simulated so that the numbers measure the server (queueing, batching round by round,
media decoding, JSON and SSE) and not a CPU's idea of a GPU: a scripted backend whose every
`generate` call sleeps `--call-seconds` plus `--prompt-seconds` per prompt, the shape of a batched
GPU call (a fixed cost per call, a small one per sequence). It answers with a well-formed clue, so
round 2 re-samples inside it and round 3, seeing the same input, is reused (2 model calls a request).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openai

from videofocus.backends import ScriptedBackend
from videofocus.media.encode import write_video
from videofocus.perception import PerceptionOptions
from videofocus.serve import ServeSettings, create_app, running_server

ANSWER = "the door opens"
REPLY = f"<think>The door moves.</think><clue>[(2.0, 4.0)]</clue><answer>{ANSWER}</answer>"


class SimulatedModel(ScriptedBackend):
    """Sleeps like a batched GPU call: `call_seconds` + `prompt_seconds` per prompt."""

    def __init__(self, call_seconds: float, prompt_seconds: float):
        super().__init__(lambda _prompt: REPLY)
        self.call_seconds, self.prompt_seconds = call_seconds, prompt_seconds

    def generate(self, prompts, drafts=None):
        time.sleep(self.call_seconds + self.prompt_seconds * len(prompts))
        return super().generate(prompts, drafts)


def write_media(folder: Path) -> None:
    """A 10 s, 10 fps, 128x96 video whose frames differ (a moving gradient)."""
    frames = np.zeros((100, 96, 128, 3), dtype=np.uint8)
    for index in range(100):
        frames[index, :, :, 0] = (np.arange(128) + 2 * index) % 256
        frames[index, :, :, 1] = index * 2
    write_video(folder / "clip.mp4", frames, 10)


def one_request(client: openai.OpenAI) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model="simulated", messages=[{"role": "user", "content": [
            {"type": "video_url", "video_url": {"url": "clip.mp4"}},
            {"type": "text", "text": "When does the door open?"}]}])
        correct = response.choices[0].message.content == ANSWER and \
            len(response.model_extra["videofocus"]["rounds"]) == 3
    except openai.OpenAIError as error:
        print(f"  lost: {error}", file=sys.stderr)
        correct = False
    return time.perf_counter() - started, correct


def serve_simulated(folder: Path, args: argparse.Namespace, max_batch: int, urls: mp.Queue, stop: mp.Event,
                    stats: mp.Queue) -> None:
    """The server, in its own process (clients in the same process would share its GIL)."""
    backend = SimulatedModel(args.call_seconds, args.prompt_seconds)
    settings = ServeSettings(model_name="simulated", media_root=folder, max_batch=max_batch,
                             max_queue=args.clients * 2, options=PerceptionOptions(rounds=3, num_frames=16))
    with running_server(create_app(backend, settings)) as url:
        urls.put(url)
        stop.wait()
    stats.put([len(call) for call in backend.calls])


def run(folder: Path, args: argparse.Namespace, max_batch: int) -> dict[str, float]:
    urls, stats, stop = mp.Queue(), mp.Queue(), mp.Event()
    server = mp.Process(target=serve_simulated, args=(folder, args, max_batch, urls, stop, stats))
    server.start()
    try:
        client = openai.OpenAI(base_url=urls.get(timeout=120) + "/v1", api_key="none", max_retries=0, timeout=120)
        one_request(client)  # warm-up: imports, first decode
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            outcomes = list(pool.map(lambda _: one_request(client), range(args.requests)))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
    calls = stats.get(timeout=120)[2:]  # the warm-up request made the first two calls
    server.join()
    latencies = sorted(latency for latency, _ in outcomes)
    return {"max_batch": max_batch, "answered": sum(ok for _, ok in outcomes),
            "lost": sum(not ok for _, ok in outcomes), "p50": statistics.median(latencies),
            "p95": latencies[int(np.ceil(0.95 * len(latencies))) - 1], "throughput": args.requests / elapsed,
            "prompts_per_call": sum(calls) / max(len(calls), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-batch", default="1,8", help="comma-separated settings to compare")
    parser.add_argument("--call-seconds", type=float, default=0.05, help="simulated cost of one model call")
    parser.add_argument("--prompt-seconds", type=float, default=0.01, help="simulated cost per prompt in a call")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the video (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        write_media(folder)
        rows = [run(folder, args, int(batch)) for batch in args.max_batch.split(",")]
    print(f"{args.requests} requests, {args.clients} clients, model call {args.call_seconds * 1000:.0f} ms + "
          f"{args.prompt_seconds * 1000:.0f} ms/prompt, 3 rounds (2 model calls) a request")
    print("| max batch | answered | lost | p50 latency (s) | p95 latency (s) | throughput (req/s) | prompts/call |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['max_batch']} | {row['answered']} | {row['lost']} | {row['p50']:.2f} | {row['p95']:.2f} | "
              f"{row['throughput']:.1f} | {row['prompts_per_call']:.1f} |")
    print(f"throughput, batch {rows[-1]['max_batch']} / batch {rows[0]['max_batch']}: "
          f"{rows[-1]['throughput'] / rows[0]['throughput']:.2f}x")


if __name__ == "__main__":
    main()
