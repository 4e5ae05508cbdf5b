"""run.json: everything needed to reproduce an evaluation, and the check that a rerun into the same
folder is the same run.

Sections compared on resume (`REPRODUCING_KEYS`): the annotations' content hash and count, the
model's identity, the settings, how outputs were generated, and the prompts. Not compared: paths as
given, the software environment (versions, git commit) and the command line, which a resumed run
may legitimately state differently (a resumed run keeps the first run's run.json).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from videofocus.backends.base import Backend
from videofocus.errors import ConfigError, VideoFocusError
from videofocus.evaluate.settings import EvalSettings
from videofocus.schema import Sample
from videofocus.tasks import get_task

FORMAT = "videofocus-eval/1"
REPRODUCING_KEYS = ("format", "annotations.sha256", "annotations.samples", "model", "settings",
                    "generation", "prompts")
_PACKAGES = ("videofocus", "torch", "transformers", "accelerate", "av", "vllm")


def build_manifest(settings: EvalSettings, *, annotations: str | os.PathLike, samples: Sequence[Sample],
                   media_root: str | os.PathLike | None, model: str | os.PathLike | None,
                   backend: Backend | None, command: str | None) -> dict[str, Any]:
    """The run.json of an evaluation of `samples` (the annotations after --limit)."""
    recorded = settings.to_dict()
    generation = recorded.pop("generation")
    return {
        "format": FORMAT,
        "annotations": {"path": str(annotations), "sha256": file_sha256(annotations), "samples": len(samples)},
        "media_root": str(media_root) if media_root is not None else None,
        "model": model_identity(model, backend),
        "settings": recorded,
        "generation": describe_backend(backend) if backend is not None else generation,
        "prompts": sample_prompts(samples, settings),
        "environment": environment(),
        "command": command,
    }


def check_same_run(existing: dict[str, Any], wanted: dict[str, Any], folder: str | os.PathLike) -> None:
    """ConfigError naming the first differing setting when `existing` (a folder's run.json) is not
    the run `wanted` describes."""
    for key in REPRODUCING_KEYS:
        differences = _differences(_get(existing, key), _get(wanted, key), key)
        if differences:
            where, before, now = differences[0]
            raise ConfigError(
                f"{folder} holds an evaluation run with different settings ({where}: {_short(before)} there, "
                f"{_short(now)} now); rerun with the same arguments to resume it, or choose another --output")


def model_identity(model: str | os.PathLike | None, backend: Backend | None) -> dict[str, Any]:
    """What model answered: for a directory (or a Hub id found in the local cache) its name, Hub
    revision, and hashes of config.json and of the file names and sizes; for a ready backend without
    a model path, what the backend tells about itself."""
    if model is None:
        if backend is None:
            raise ConfigError("evaluate needs a model path / Hub id or a ready backend")
        return {"name": None, **_backend_model(backend)}
    directory, revision = _model_directory(model)
    identity: dict[str, Any] = {"name": str(model), "revision": revision}
    if directory is not None:
        config = directory / "config.json"
        identity["config_sha256"] = file_sha256(config) if config.is_file() else None
        identity["files_sha256"] = _listing_sha256(directory)
    return identity


def model_found_locally(model: str | os.PathLike) -> bool:
    """Whether `model` is a directory or a Hub id in the local cache, so that model_identity can
    identify it before it is loaded (an uncached Hub id gets its revision only once loaded)."""
    return _model_directory(model)[0] is not None


def describe_backend(backend: Backend) -> dict[str, Any]:
    """How a ready backend generates, as far as it tells: class, box convention, determinism, and
    for a transformers backend its decoding config, batch size and pixel limits."""
    kind, convention = type(backend), backend.box_convention
    described: dict[str, Any] = {"backend": f"{kind.__module__}.{kind.__qualname__}",
                                 "box_convention": str(getattr(convention, "value", convention)),
                                 "deterministic": bool(backend.deterministic)}
    config = getattr(backend, "generation_config", None)
    if config is not None:
        described.update({name: getattr(config, name, None)
                          for name in ("max_new_tokens", "do_sample", "temperature", "top_p", "top_k")})
    for name in ("batch_size", "pixel_limits"):
        if hasattr(backend, name):
            described[name] = getattr(backend, name)
    return described


def sample_prompts(samples: Iterable[Sample], settings: EvalSettings) -> dict[str, dict[str, str]]:
    """Round 1's prompt text of the first sample of each task (by task name)."""
    options = settings.perception
    prompts: dict[str, dict[str, str]] = {}
    for sample in samples:
        task = get_task(options.task or sample.task)
        if task.name in prompts:
            continue
        try:
            text = task.build_prompt(sample, protocol=options.protocol, last_round=options.rounds == 1)
        except VideoFocusError:  # this sample cannot be asked; it fails in the run, another may show the prompt
            continue
        prompts[task.name] = {"sample": sample.id, "media": sample.media.type, "text": text}
    return dict(sorted(prompts.items()))


def environment() -> dict[str, Any]:
    """Python, platform, package versions and the git commit of the videofocus checkout, if any."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions,
            "git": git_state(Path(__file__).resolve().parent)}


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(handle, data: Any) -> None:
    """JSON the way every file of the run folder is written: indented, keys in insertion order."""
    handle.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# ----- helpers --------------------------------------------------------------------------------------

def _backend_model(backend: Backend) -> dict[str, Any]:
    """A transformers backend's model type, name_or_path and config hash; {} for other backends."""
    config = getattr(getattr(backend, "model", None), "config", None)
    if config is None:
        return {}
    text = json.dumps(config.to_dict(), sort_keys=True, default=str)
    return {"model_type": getattr(config, "model_type", None), "name_or_path": getattr(config, "_name_or_path", None),
            "config_sha256": hashlib.sha256(text.encode()).hexdigest()}


def _model_directory(model: str | os.PathLike) -> tuple[Path | None, str | None]:
    """The local directory holding `model` and its Hub revision (the snapshot's commit hash), looked
    up in the local Hugging Face cache only; (None, None) when not found there."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path, None
    try:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(str(model), local_files_only=True))
    except Exception:  # not cached, or not a valid id: loading reports the real problem
        return None, None
    return snapshot, snapshot.name


def _listing_sha256(directory: Path) -> str:
    """Hash of the relative names and sizes of every file under `directory` (weights included),
    cheap enough for 15 GB checkpoints and still changed by any re-saved weight file."""
    entries = sorted(f"{path.relative_to(directory).as_posix()}\t{path.stat().st_size}"
                     for path in directory.rglob("*") if path.is_file() and not path.name.startswith("."))
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def git_state(directory: Path) -> dict[str, Any] | None:
    """{"commit", "dirty"} when `directory` lies in a git work tree, else None."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _differences(before: Any, now: Any, where: str) -> list[tuple[str, Any, Any]]:
    """(dotted key, old, new) for every leaf that differs."""
    if isinstance(before, dict) and isinstance(now, dict):
        return [difference for key in sorted(set(before) | set(now))
                for difference in _differences(before.get(key), now.get(key), f"{where}.{key}")]
    return [] if before == now else [(where, before, now)]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
