"""Writing files as a user expects: a full disk as one clear error, written files with the
permissions the user's umask gives (libraries write some private), and whole files or none
(`atomic_writer`).

A write that runs out of space surfaces as OSError(ENOSPC) from
Python, as a message naming "os error 28" from Rust writers (safetensors), or as an unspecific
RuntimeError from torch's checkpoint writer; `as_disk_full` recognises all three (the last by the
space left on the folder's device when it failed)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from videofocus.errors import DiskFullError

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_MESSAGES = ("no space left on device", "os error 28", "disk quota exceeded")
_TORCH_WRITER = ("inline_container", "pytorchstreamwriter")   # where torch.save's failed writes are raised
_NEARLY_FULL_BYTES = 64 << 20


def as_disk_full(error: BaseException, folder: str | os.PathLike) -> DiskFullError | None:
    """A DiskFullError naming `folder` when `error` is what writing into it on a full disk raises, else None."""
    free = _free_bytes(Path(folder))
    message = str(error).lower()
    full = (isinstance(error, OSError) and error.errno in _FULL_ERRNOS) \
        or any(words in message for words in _FULL_MESSAGES) \
        or (isinstance(error, RuntimeError) and any(words in message for words in _TORCH_WRITER)
            and free is not None and free < _NEARLY_FULL_BYTES)
    if not full:
        return None
    left = f" ({free / 2**20:.1f} MiB free now)" if free is not None else ""
    return DiskFullError(f"no space left on the device holding {folder}{left}; what was written before is kept: "
                         f"free some space and rerun the same command (with --resume for training) to continue")


@contextmanager
def reporting_full_disk(folder: str | os.PathLike):
    """Turn a full-disk failure inside the block into DiskFullError (see `as_disk_full`)."""
    try:
        yield
    except Exception as error:
        full = as_disk_full(error, folder)
        if full is None:
            raise
        raise full from error


def _free_bytes(folder: Path) -> int | None:
    """Bytes free on the device of `folder` (or of its nearest existing parent); None if unknown."""
    for path in (folder, *folder.absolute().parents):
        if path.exists():
            try:
                return shutil.disk_usage(path).free
            except OSError:
                return None
    return None


def new_file_mode() -> int:
    """The permissions a plain open() gives a new file (0o666 less the umask)."""
    return 0o666 & ~_umask()


def with_default_permissions(folder: str | os.PathLike) -> None:
    """Give `folder` and the weight files under it the permissions a plain mkdir / open() would have:
    safetensors writes its files 0600 and temporary folders are made 0700, which would keep a saved
    model from the user's group whatever their umask says."""
    folder = Path(folder)
    os.chmod(folder, 0o777 & ~_umask())
    for path in folder.rglob("*.safetensors"):
        os.chmod(path, new_file_mode())


def _umask() -> int:
    umask = os.umask(0)   # the only way to read it is to set it
    os.umask(umask)
    return umask


@contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w"):
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds.

    The data is flushed to disk before the rename, and the file gets the permissions a plain
    open() would have given it (temporary files are private by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False, encoding=None if "b" in mode else "utf-8")
    try:
        with handle:
            yield handle
            if not handle.closed:  # a writer library may have closed it already
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(handle.name, new_file_mode())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
