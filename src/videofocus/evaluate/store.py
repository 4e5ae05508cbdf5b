"""The run folder's record of finished samples: append-only shard files, one per process, merged
into predictions.jsonl at the end.

Each line is one sample: the perception result dict (`PerceptionResult.to_dict`), or
`{"id", "task", "error"}` for a sample that could not be evaluated. A line is written whole and
fsynced before the next sample starts, so a killed run loses at most the line it was writing; that
half line (anything after the last newline) is cut off when the run resumes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from videofocus.errors import DataError
from videofocus.jsonfiles import decode_jsonl_line
from videofocus.storage import atomic_writer

PREDICTIONS_FILE = "predictions.jsonl"
SHARD_DIR = "shards"


class PredictionStore:
    """The finished samples of a run folder."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.merged = self.folder / PREDICTIONS_FILE
        self.shard_dir = self.folder / SHARD_DIR

    def shard(self, rank: int) -> Path:
        return self.shard_dir / f"rank{rank}.jsonl"

    def shards(self) -> list[Path]:
        return sorted(self.shard_dir.glob("rank*.jsonl")) if self.shard_dir.is_dir() else []

    def holds_predictions(self) -> bool:
        return self.merged.exists() or bool(self.shards())

    def repair(self) -> int:
        """Cut every shard back to its last complete line; returns how many bytes were dropped."""
        return sum(_truncate_partial_line(path) for path in self.shards())

    def lines(self) -> dict[str, str]:
        """Every finished sample's line by id: predictions.jsonl first, then the shards (a sample
        found twice, after a kill during the merge, keeps its first line)."""
        found: dict[str, str] = {}
        for path in (self.merged, *self.shards()):
            if path.exists():
                for sample_id, text in _complete_lines(path):
                    found.setdefault(sample_id, text)
        return found

    def append(self, rank: int, record: dict[str, Any]) -> None:
        """Append one sample's line to this process's shard and force it to disk."""
        path = self.shard(rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def merge(self, order: Sequence[str]) -> list[str]:
        """Write predictions.jsonl with one line per id of `order`, in that order, then delete the
        shards. Returns the lines. DataError when a sample has no line."""
        found = self.lines()
        missing = [sample_id for sample_id in order if sample_id not in found]
        if missing:
            raise DataError(f"{len(missing)} sample(s) have no prediction after all processes finished, "
                            f"e.g. {missing[0]!r}", path=str(self.shard_dir))
        lines = [found[sample_id] for sample_id in order]
        with atomic_writer(self.merged) as handle:
            handle.writelines(lines)
        for path in self.shards():
            path.unlink()
        if self.shard_dir.is_dir() and not any(self.shard_dir.iterdir()):
            self.shard_dir.rmdir()
        return lines


def _truncate_partial_line(path: Path) -> int:
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return len(data) - keep


def _complete_lines(path: Path) -> Iterable[tuple[str, str]]:
    """(id, line text with its newline) for each complete line; a trailing half line is skipped.
    Read as bytes: a half line may end inside a multi-byte character."""
    *complete, _partial = path.read_bytes().split(b"\n")
    for number, raw in enumerate(complete, start=1):
        try:
            text = raw.decode("utf-8") + "\n"
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text ({exc.reason})", path=str(path), line=number) from None
        record = decode_jsonl_line(text, path=path, line=number)
        sample_id = record.get("id")
        if not isinstance(sample_id, str):
            raise DataError("must be a string", path=str(path), line=number, field="id")
        yield sample_id, text
