"""Checkpoints that a crash cannot leave half-written, and exact resumption.

A checkpoint is accelerate's full training state (model, optimizer, scheduler, every process's RNG
states; FSDP/DeepSpeed shards the way accelerate saves them) plus `trainer_state.json` (step, data
position, the run's config). It is written into a hidden temporary folder and renamed to
`checkpoints/step-<N>` only once complete, so `latest_checkpoint` never sees a partial one. The last
file written is `checksums.json`, the SHA-256 and size of every other file; a resume verifies them and
falls back to the newest checkpoint that is intact (a disk error or a copy cut short damages files
after the rename too), moving damaged ones aside as `damaged-step-<N>`.

The RNG states come back with the rest, so a resumed run samples exactly what the uninterrupted one
would have. They are files this trainer wrote itself (torch/pickle format, accelerate's own), read
back only when the user asks to resume."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from videofocus.errors import VideoFocusError
from videofocus.storage import as_disk_full, atomic_writer, with_default_permissions
from videofocus.train.data import DataPosition

STATE_FILE = "trainer_state.json"
CHECKSUM_FILE = "checksums.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass
class TrainerState:
    """What the loop itself must restore besides accelerate's state."""

    step: int
    position: DataPosition
    config: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"step": self.step, "position": asdict(self.position), "config": self.config}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> TrainerState:
        record = json.loads(text)
        return cls(step=record["step"], position=DataPosition(**record["position"]), config=record["config"])


def checkpoint_root(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / "checkpoints"


def save_checkpoint(accelerator, output_dir: str | os.PathLike, state: TrainerState, *,
                    keep: int | None = None) -> Path:
    """Write the checkpoint of `state.step` atomically (every process must call this); keep the newest
    `keep` checkpoints. Returns the checkpoint folder."""
    root = checkpoint_root(output_dir)
    final = root / f"step-{state.step:08d}"
    staging = root / f".staging-step-{state.step:08d}"
    if accelerator.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            with atomic_writer(staging / STATE_FILE) as handle:
                handle.write(state.to_json())
            with_default_permissions(staging)
            checksums = json.dumps(_checksums(staging), indent=1)
            with atomic_writer(staging / CHECKSUM_FILE) as handle:
                handle.write(checksums)
    except BaseException as error:
        full = as_disk_full(error, root)   # judged before the cleanup frees the space
        shutil.rmtree(staging, ignore_errors=True)
        if full is not None:
            raise full from error
        raise
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        _prune(root, keep)
    accelerator.wait_for_everyone()
    return final


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint under `output_dir`, or None."""
    complete = [path for path in _checkpoints(checkpoint_root(output_dir)) if (path / STATE_FILE).is_file()]
    return complete[-1] if complete else None


def _warn(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def latest_intact_checkpoint(output_dir: str | os.PathLike, *, say: Callable[[str], None] = _warn) -> Path:
    """The newest checkpoint whose files match its checksums. Each damaged newer one is reported
    through `say` and renamed `damaged-step-<N>` (so a pruned run never keeps it over a good one).
    VideoFocusError when none is intact."""
    checkpoints = _checkpoints(checkpoint_root(output_dir))
    for path in reversed(checkpoints):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        aside = path.with_name(f"damaged-{path.name}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(path, aside)
        say(f"checkpoint {path} is damaged ({problem}); moved to {aside.name}, trying the previous one")
    raise VideoFocusError(f"no intact checkpoint under {checkpoint_root(output_dir)} to resume from "
                          f"({len(checkpoints)} damaged); run without --resume in a new output_dir")


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint at `path` cannot be trusted (a file missing, cut short or changed), or None."""
    try:
        expected = json.loads((path / CHECKSUM_FILE).read_text(encoding="utf-8"))
        files = {str(name): (int(entry["bytes"]), str(entry["sha256"])) for name, entry in expected.items()}
    except FileNotFoundError:
        return f"no {CHECKSUM_FILE}"
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        return f"unreadable {CHECKSUM_FILE}: {exc}"
    for name, (size, digest) in files.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != size:
            return f"{name} has {file.stat().st_size} bytes, {size} were written"
        if _sha256(file) != digest:
            return f"{name} does not match its checksum"
    return None if STATE_FILE in files else f"{CHECKSUM_FILE} does not list {STATE_FILE}"


def load_checkpoint(accelerator, path: Path) -> TrainerState:
    """Restore accelerate's state from `path` and return the loop's state."""
    accelerator.load_state(str(path))
    return TrainerState.from_json((path / STATE_FILE).read_text(encoding="utf-8"))


def _checkpoints(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in root.iterdir() if (match := _STEP_DIR.match(path.name))]
    return [path for _, path in sorted(found)]


def _checksums(folder: Path) -> dict[str, dict[str, int | str]]:
    files = sorted(file for file in folder.rglob("*") if file.is_file())
    return {file.relative_to(folder).as_posix(): {"bytes": file.stat().st_size, "sha256": _sha256(file)}
            for file in files}


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _prune(root: Path, keep: int | None) -> None:
    if keep is None:
        return
    for path in _checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(path, ignore_errors=True)
