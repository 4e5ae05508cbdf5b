"""The warm-up model shipped with the package: a 0.81 M-parameter Qwen3-VL that already reads the
synthetic videos, so that the demo's minutes go to what the papers contribute (GRPO, iterative
perception) instead of to teaching a random model the tasks.

It is built by `videofocus demo --build-warmup --out DIR` (the "warmup" preset: the demo's data,
model and SFT at a larger budget, then a second SFT stage, tracking-heavy and with the loop's views)
and shipped with `--install`, which copies the model files into this package's `warmup_model/`
folder with `warmup.json`: the settings that decide the model, their hash, the weights' hash, the
wall time, the command and the commit it was built at. `--stage1-from DIR` runs only the second
stage from a finished first stage (DIR holds it with its own record); the record then keeps the
first stage's under "stage1" and counts both stages' wall time."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from videofocus.demo.settings import STAGE1_FIELDS, DemoSettings, warmup_fields
from videofocus.errors import ConfigError, DataError
from videofocus.evaluate.manifest import file_sha256
from videofocus.jsonfiles import read_json_object
from videofocus.storage import atomic_writer

RECORD_FILE = "warmup.json"
WEIGHTS_FILE = "model.safetensors"
# What a trainer output folder holds besides the model: not shipped.
_NOT_SHIPPED = {"metrics.jsonl", "train_config.yaml", "checkpoints", "runs", "tensorboard"}


def shipped_warmup() -> Path:
    """The folder of the shipped warm-up model (loadable with from_pretrained)."""
    return Path(str(resources.files("videofocus.demo") / "warmup_model"))


def settings_hash(settings: DemoSettings) -> str:
    """sha256 of the settings that decide the warm-up model (`settings.warmup_fields`)."""
    return hashlib.sha256(json.dumps(warmup_fields(settings), sort_keys=True).encode()).hexdigest()


def read_record(model_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The warm-up's record (`warmup.json`) in `model_dir` (default: the shipped one)."""
    path = Path(model_dir or shipped_warmup()) / RECORD_FILE
    if not path.is_file():
        raise ConfigError(f"no warm-up model at {path.parent} (its {RECORD_FILE} is missing); build one with "
                          "`videofocus demo --build-warmup --out DIR --install`, or run `videofocus demo "
                          "--from-scratch`")
    record = read_json_object(path)
    for key in ("settings", "settings_sha256", "weights_sha256"):
        if key not in record:
            raise DataError("warm-up record without this field", path=str(path), field=key)
    return record


def checked_record(folder: Path) -> dict[str, Any]:
    """The warm-up record in `folder`, after checking that its weights are the ones it names."""
    record = read_record(folder)
    if file_sha256(folder / WEIGHTS_FILE) != record["weights_sha256"]:
        raise DataError("the weights are not the ones the warm-up record names (damaged or replaced)",
                        path=str(folder / WEIGHTS_FILE))
    return record


def check_matches(settings: DemoSettings, model_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The record of the warm-up in `model_dir` (default: shipped), after checking that its weights
    are the recorded ones and that it was built with `settings`' model, frames and seed. ConfigError
    names the first setting that differs."""
    folder = Path(model_dir or shipped_warmup())
    record = checked_record(folder)
    wanted = warmup_fields(settings)
    for name in ("arch", "model_size", "frame_pixels", "seed", "difficulty", "tasks"):
        if record["settings"].get(name) != wanted[name]:
            raise ConfigError(f"the shipped warm-up was built with {name} {record['settings'].get(name)!r}, these "
                              f"settings ask for {wanted[name]!r}; use --from-scratch to build a matching one")
    return record


def stage1_record(model_dir: str | os.PathLike, settings: DemoSettings) -> dict[str, Any]:
    """The record of the first-stage warm-up in `model_dir`, after checking its weights and that it was
    built with exactly `settings`' first-stage fields (`settings.STAGE1_FIELDS`, no second stage)."""
    folder = Path(model_dir)
    record = checked_record(folder)
    wanted = warmup_fields(settings, STAGE1_FIELDS)
    if record["settings"] != wanted:
        differ = sorted(name for name in set(record["settings"]) | set(wanted)
                        if record["settings"].get(name) != wanted.get(name))
        raise ConfigError(f"the warm-up in {folder} is not these settings' first stage (it differs in "
                          f"{', '.join(differ)}); build stage 1 too (leave out --stage1-from)")
    return record


def install_warmup(trained_dir: str | os.PathLike, settings: DemoSettings, *, seconds: float, commit: str | None,
                   command: str | None, destination: str | os.PathLike | None = None,
                   stage1: dict[str, Any] | None = None) -> Path:
    """Copy the model files of the trainer folder `trained_dir` (not its checkpoints or logs) into
    `destination` (default: the package's warmup_model/), with the record. Replaces what was there.
    `stage1`: the record of the first-stage model this run continued (`stage1_record`); kept in the
    record, and its wall time counted in build_seconds."""
    source, target = Path(trained_dir), Path(destination or shipped_warmup())
    if not (source / WEIGHTS_FILE).is_file():
        raise ConfigError(f"{source} holds no trained model ({WEIGHTS_FILE}); has the warm-up SFT finished?")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for item in source.iterdir():
        if item.is_file() and item.name not in _NOT_SHIPPED:
            shutil.copy2(item, staging / item.name)
    record = {"settings": warmup_fields(settings), "settings_sha256": settings_hash(settings),
              "weights_sha256": file_sha256(staging / WEIGHTS_FILE),
              "build_seconds": round(seconds) + (stage1["build_seconds"] if stage1 else 0),
              "commit": commit, "command": command}
    if stage1 is not None:
        record["stage1"] = {key: stage1.get(key) for key in ("build_seconds", "commit", "command", "weights_sha256",
                                                             "settings_sha256")}
    with atomic_writer(staging / RECORD_FILE) as handle:
        json.dump(record, handle, indent=1)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
