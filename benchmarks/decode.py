"""Seeking decode vs decode-everything readers, on a 10-minute 720p H.264 video.

    python benchmarks/decode.py [--dir DIR] [--repeats 3]

Generates the video once (cached in DIR, default a temp folder; about 2 minutes on 2 cores):
1280x720, 30 fps, 600 s, a moving gradient, libx264 -preset ultrafast, a keyframe every 250
frames (no extra keyframes at scene cuts). Then, in one run, samples 16 and 64 frames uniformly
with
  - videofocus: probe (demux PTS) + uniform_indices + read_frames (seek to the keyframe before
    each frame, decode forward);
  - transformers.video_utils.load_video(path, num_frames=n, backend="pyav");
  - qwen-vl-utils' fetch_video with the reader it picks here. If that reader cannot run, or
    qwen-vl-utils is not installed (then its torchvision reader), its work is emulated with PyAV:
    torchvision.io.read_video decoded and converted to RGB every frame of the video before
    picking n (frames are not kept here, so this is a lower bound).
and prints median times and ratios. videofocus's frames are checked against transformers' on the
same indices."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videofocus.media.sampling import uniform_indices
from videofocus.media.video import probe, read_frames
from videofocus.storage import atomic_writer

WIDTH, HEIGHT, FPS, SECONDS, GOP = 1280, 720, 30, 600, 250
FRAME_COUNTS = (16, 64)


def make_video(folder: Path) -> Path:
    """The benchmark video, generated on first use."""
    path = folder / f"gradient_{HEIGHT}p_{SECONDS}s_{FPS}fps_gop{GOP}.mp4"
    if path.exists():
        return path
    print(f"generating {path} (once) ...", flush=True)
    base = (np.add.outer(np.arange(HEIGHT), np.arange(WIDTH)) // 4).astype(np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)  # U and V planes, grey
    with atomic_writer(path, "wb") as handle, av.open(handle, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0"}
        for index in range(FPS * SECONDS):
            luma = base + np.uint8(2 * index % 256)  # the gradient moves 2 levels a frame
            frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def videofocus_read(path: Path, count: int) -> np.ndarray:
    info = probe(path)
    return read_frames(info, uniform_indices(info, count)).frames


def transformers_read(path: Path, count: int) -> np.ndarray:
    from transformers.video_utils import load_video
    return load_video(str(path), num_frames=count, backend="pyav")[0]


def qwen_read(path: Path, count: int) -> np.ndarray:
    from qwen_vl_utils import fetch_video
    return fetch_video({"video": str(path), "nframes": count}).numpy()


def decode_everything_to_rgb(path: Path, count: int) -> np.ndarray:
    """What torchvision.io.read_video did (via PyAV): decode and convert every frame, then pick."""
    with av.open(str(path)) as container:
        total = container.streams.video[0].frames
        keep = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
        frames = []
        for index, frame in enumerate(container.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")  # read_video converted every frame
            if index in keep:
                frames.append(rgb)
    return np.stack(frames)


def time_qwen(path: Path, repeats: int) -> tuple[str, dict[int, float]]:
    """Median times of qwen-vl-utils' default reader, or of its emulation if it cannot run here."""
    try:
        from qwen_vl_utils.vision_process import get_video_reader_backend
    except ImportError:
        print("qwen-vl-utils is not installed; timing the work of its torchvision reader emulated: "
              "decode + RGB-convert every frame")
        return emulated_qwen(path, "torchvision")
    backend = get_video_reader_backend()
    try:
        return f"qwen-vl-utils ({backend})", {
            count: statistics.median(timed(qwen_read, path, count) for _ in range(repeats))
            for count in FRAME_COUNTS}
    except Exception as exc:  # noqa: BLE001 - report whatever stops it, then emulate
        print(f"qwen-vl-utils picks '{backend}' here and it fails ({type(exc).__name__}: {exc}); "
              "timing its work emulated: decode + RGB-convert every frame")
    return emulated_qwen(path, backend)


def emulated_qwen(path: Path, backend: str) -> tuple[str, dict[int, float]]:
    seconds = timed(decode_everything_to_rgb, path, FRAME_COUNTS[0])  # decodes all: same for any n
    return f"qwen-vl-utils ({backend}, emulated)", dict.fromkeys(FRAME_COUNTS, seconds)


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def frames_agree(path: Path, count: int) -> bool:
    """videofocus and transformers decode identical pixels for transformers' indices."""
    from transformers.video_utils import load_video
    theirs, metadata = load_video(str(path), num_frames=count, backend="pyav")
    ours = read_frames(probe(path), np.asarray(metadata.frames_indices)).frames
    return bool(np.array_equal(ours, theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "videofocus-bench")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = make_video(args.dir)
    info = probe(path)
    print(f"video: {path.name}, {info.width}x{info.height}, {info.num_frames} frames, "
          f"{info.duration:.0f} s, {len(info.keyframe_indices)} keyframes (GOP {GOP}), "
          f"{path.stat().st_size / 1e6:.1f} MB")
    print(f"machine: {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.2f}")

    qwen_label, qwen_time = time_qwen(path, args.repeats)
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
        for count in FRAME_COUNTS:
            times.setdefault(("videofocus", count), []).append(timed(videofocus_read, path, count))
            times.setdefault(("transformers", count), []).append(timed(transformers_read, path, count))
    print(f"load average after: {os.getloadavg()[0]:.2f}; same pixels as transformers: "
          f"{all(frames_agree(path, count) for count in FRAME_COUNTS)}")

    print(f"\n{'frames':>6}  {'videofocus':>11}  {'transformers':>13}  {qwen_label:>36}  "
          f"{'vs transformers':>15}  {'vs qwen':>8}")
    for count in FRAME_COUNTS:
        ours = statistics.median(times["videofocus", count])
        hf = statistics.median(times["transformers", count])
        print(f"{count:>6}  {ours:>10.2f}s  {hf:>12.2f}s  {qwen_time[count]:>35.2f}s  "
              f"{hf / ours:>14.1f}x  {qwen_time[count] / ours:>7.1f}x")


if __name__ == "__main__":
    main()
