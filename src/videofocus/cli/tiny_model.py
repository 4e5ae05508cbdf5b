"""`videofocus tiny-model`: write a random tiny Qwen2.5-VL / Qwen3-VL checkpoint for tests and demos."""

from __future__ import annotations

from pathlib import Path

import typer

from videofocus.cli.app import app, console
from videofocus.errors import ConfigError


@app.command("tiny-model")
def tiny_model(
    out_dir: Path = typer.Argument(..., help="Directory to write the model, processor and tokenizer to."),
    arch: str = typer.Option("qwen2_5_vl", "--arch", help="Architecture: qwen2_5_vl or qwen3_vl."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights (same seed, same model)."),
) -> None:
    """Write a random ~0.2M-parameter model that `load_model` and `from_pretrained` read like a Hub
    checkpoint (locally trained tokenizer, one token per digit, Qwen chat template)."""
    from videofocus.models.tiny import ARCHS, build_tiny_model

    if arch not in ARCHS:
        raise ConfigError(f"--arch must be one of {', '.join(ARCHS)}, not {arch!r}")
    path = build_tiny_model(out_dir, arch=arch, seed=seed)
    console.print(f"wrote tiny {arch} model (seed {seed}) to {path}", highlight=False)
