"""Peak memory of decoding 16 frames of a 4K video for the model: full-size decode then resize (the
path perception and training took before) vs resizing while decoding (`read_frames(size=)`, what
they do now with the model's per-frame pixel budget).

    python benchmarks/decode_memory.py [--dir DIR]

Generates a 3840x2160 H.264 video of 16 frames at 2 fps with PyAV (cached in DIR; ~15 s on 2
cores). Each way runs in a fresh Python process that imports, probes, then decodes the 16 frames and
brings them to Qwen2.5-VL's default frame size (`smart_resize`, factor 28, 128..768 tokens a frame);
the peak resident memory above the process's memory before decoding is printed for both, with the
ratio and the mean absolute pixel difference between the two results."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from videofocus.media.encode import write_video

WIDTH, HEIGHT, FRAMES = 3840, 2160, 16


def make_video(folder: Path) -> Path:
    path = folder / f"moving_disc_{HEIGHT}p_{FRAMES}f.mp4"
    if not path.exists():
        ys, xs = np.ogrid[0:HEIGHT, 0:WIDTH]
        frames = np.empty((FRAMES, HEIGHT, WIDTH, 3), np.uint8)
        for k in range(FRAMES):
            frames[k, ..., 0] = (xs * 255 // WIDTH).astype(np.uint8)
            frames[k, ..., 1] = (ys * 255 // HEIGHT).astype(np.uint8)
            frames[k, ..., 2] = 16 * k
            frames[k][(xs - 400 - 200 * k) ** 2 + (ys - HEIGHT // 2) ** 2 < 300 ** 2] = (250, 30, 30)
        write_video(path, frames, fps=2, options={"preset": "ultrafast"})
    return path


def measure(way: str, video: str, out: str) -> None:
    """Run in a child process: decode the frames one `way`, save them, print the peak memory added."""
    import torch
    from torchvision.transforms.v2 import functional as tvF

    from videofocus.media.image import smart_resize
    from videofocus.media.video import probe, read_frames
    from videofocus.models.inputs import VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS

    torch.set_num_threads(1)
    info = probe(video)
    size = smart_resize(info.height, info.width, factor=28, min_pixels=VIDEO_MIN_PIXELS, max_pixels=VIDEO_MAX_PIXELS)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if way == "full-size decode, then resize":
        frames = read_frames(info, range(FRAMES)).frames
        video_tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()   # as encode_prompts resized
        frames = tvF.resize(video_tensor, list(size), interpolation=tvF.InterpolationMode.BICUBIC,
                            antialias=True).permute(0, 2, 3, 1).numpy()
    else:
        frames = read_frames(info, range(FRAMES), size=size).frames
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(out, frames)
    print(json.dumps({"peak_added_mib": (peak - before) / 1024, "size": list(size)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "videofocus_bench")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    video = make_video(args.dir)
    results = {}
    for way in ("full-size decode, then resize", "resize while decoding"):
        out = args.dir / f"frames_{len(results)}.npy"
        done = subprocess.run([sys.executable, __file__, "--measure", way, str(video), str(out)], check=True,
                              capture_output=True, text=True)
        results[way] = json.loads(done.stdout.strip().splitlines()[-1]) | {"frames": np.load(out)}
    old, new = results.values()
    print(f"16 frames of {WIDTH}x{HEIGHT} to {new['size'][1]}x{new['size'][0]} each")
    for way, result in results.items():
        print(f"  {way:32s} peak memory added {result['peak_added_mib']:8.1f} MiB")
    difference = np.abs(old["frames"].astype(int) - new["frames"].astype(int))
    print(f"  ratio (before / now): {old['peak_added_mib'] / max(new['peak_added_mib'], 1e-9):.1f}x; "
          f"pixels differ by {difference.mean():.2f} on average (of 255), max {difference.max()}")


if __name__ == "__main__":
    main()
