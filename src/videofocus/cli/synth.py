"""`videofocus data synth`: generate the synthetic world of coloured shapes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from videofocus.cli.app import console, data_app, err_console
from videofocus.data.synth import KINDS, PRESETS, SPLITS, TASK_NAMES, make_settings, split_label_jitter
from videofocus.errors import ConfigError

_PRESET_JITTER = ", ".join(f"{name} ±{preset.label_jitter:g} s" for name, preset in PRESETS.items()
                           if preset.label_jitter > 0)


@data_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder (samples.jsonl, scenes.jsonl, world.json, media)."),
    n: int = typer.Option(100, "--n", min=1, help="Number of samples."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed gives identical files."),
    tasks: list[str] | None = typer.Option(
        None, "--tasks", help=f"Tasks ({', '.join(TASK_NAMES)}) or kinds ({', '.join(KINDS)}), comma-separated "
                              "or repeated; default all tasks."),
    difficulty: str = typer.Option("easy", "--difficulty", help=f"Settings preset: {', '.join(PRESETS)}."),
    split: str = typer.Option("train", "--split", help=f"{' or '.join(SPLITS)}. Train labels get the designed "
                              f"boundary noise: each interval end moves by up to label_jitter ({_PRESET_JITTER}; "
                              "--set label_jitter=SECONDS); test labels are exact."),
    size: int | None = typer.Option(None, "--size", help="Video width = height (px, even)."),
    fps: float | None = typer.Option(None, "--fps", help="Video frame rate."),
    duration: float | None = typer.Option(None, "--duration", help="Video length (s)."),
    image_size: int | None = typer.Option(None, "--image-size", help="Image width = height (px)."),
    settings: list[str] | None = typer.Option(
        None, "--set", help="Any other setting as KEY=VALUE, VALUE in JSON (e.g. --set distractors=[1,3]); "
                            "see videofocus.data.synth.SynthSettings."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset made with other settings."),
) -> None:
    """Generate videos and images of coloured shapes, labelled for every task (exactly, but for train label jitter)."""
    from videofocus.data.synth import SCENES_FILE, generate_dataset
    from videofocus.schema import read_samples

    overrides = parse_settings(settings or [])
    overrides.update({name: value for name, value in
                      (("size", size), ("fps", fps), ("duration", duration), ("image_size", image_size))
                      if value is not None})
    names = [name.strip() for item in tasks or [] for name in item.split(",") if name.strip()]
    path = generate_dataset(out, n, seed, names or None, difficulty, split=split, overwrite=overwrite, **overrides)
    samples = list(read_samples(path))
    counts = Counter(sample.source for sample in samples)
    console.print(f"{path}: {sum(counts.values())} samples "
                  f"({', '.join(f'{source} {count}' for source, count in sorted(counts.items()))})", highlight=False)
    jitter = split_label_jitter(make_settings(difficulty, **overrides), split)
    if jitter > 0 and any(sample.clue is not None and sample.clue.intervals for sample in samples):
        err_console.print(f"note: {split} labels are jittered: each interval end in {path.name} moved by up to "
                          f"±{jitter:g} s (label_jitter; {SCENES_FILE} keeps the exact clues). --split test gives "
                          "exact labels.", markup=False, highlight=False, soft_wrap=True)


def parse_settings(items: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs; VALUE is read as JSON when it parses, else kept as text."""
    overrides: dict[str, object] = {}
    for item in items:
        key, separator, text = item.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key.strip()] = text
    return overrides
