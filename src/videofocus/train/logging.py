"""Per-step metrics: one JSON object a line in output_dir/metrics.jsonl, TensorBoard scalars, and a rich
progress bar. Only the main process writes. On resume the records after the checkpoint's step are
dropped first, so the file reads as one uninterrupted run; so is a last line that a kill left
half-written (a record is written with its newline last, so such a line has none)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from videofocus.errors import DataError
from videofocus.storage import atomic_writer

METRICS_FILE = "metrics.jsonl"
# Shown next to the progress bar when present.
HEADLINE = ("reward", "loss", "kl", "zero_spread_share")


class MetricsLogger:
    """Write step metrics; a no-op on non-main processes (`enabled=False`)."""

    def __init__(self, output_dir: str | Path, *, total_steps: int, start_step: int = 0, enabled: bool = True,
                 tensorboard: bool = True, console: Console | None = None):
        self.enabled = enabled
        self.path = Path(output_dir) / METRICS_FILE
        self._writer = None
        self._progress = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        truncate_metrics(self.path, after_step=start_step)
        self._file = self.path.open("a", encoding="utf-8")
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(Path(output_dir) / "tensorboard"), purge_step=start_step + 1)
        console = console or Console(stderr=True)
        self._progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  TimeRemainingColumn(), TextColumn("{task.description}"), console=console)
        self._task = self._progress.add_task("", total=total_steps, completed=start_step)
        self._progress.start()
        # A bar is invisible in a log file or a pipe: there, a plain line every twentieth of the run.
        self._console, self._total = console, total_steps
        self._line_every = None if console.is_terminal else max(1, total_steps // 20)
        self._shown = ""

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Record `metrics` of optimisation step `step` (1-based)."""
        if not self.enabled:
            return
        record = {"step": step, **{name: _plain(value) for name, value in metrics.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._writer is not None:
            for name, value in record.items():
                if name != "step" and value is not None:
                    self._writer.add_scalar(name, value, step)
        self._shown = "  ".join(f"{name} {record[name]:.4g}" for name in HEADLINE if record.get(name) is not None)
        self._progress.update(self._task, completed=step, description=self._shown)
        self._print_line(step)

    def advance(self, step: int) -> None:
        """Move the progress bar without writing a record (steps between logging_steps)."""
        if self.enabled:
            self._progress.update(self._task, completed=step)
            self._print_line(step)

    def _print_line(self, step: int) -> None:
        if self._line_every and (step % self._line_every == 0 or step == self._total):
            self._console.print(f"train step {step}/{self._total}  {self._shown}", highlight=False)

    def close(self) -> None:
        """Stop the progress bar and close the files (safe to call twice)."""
        if not self.enabled or self._file.closed:
            return
        self._progress.stop()
        self._file.close()
        if self._writer is not None:
            self._writer.close()


def truncate_metrics(path: Path, *, after_step: int) -> None:
    """Drop the records of steps after `after_step` (a resumed run rewrites them) and a half-written
    last line, and end the file with a newline, so that appending starts a line of its own."""
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    kept = "".join(line + "\n" for line, record in _parse(path, text) if record["step"] <= after_step)
    if kept != text:
        with atomic_writer(path) as handle:
            handle.write(kept)


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl file (without a last line that a kill left half-written)."""
    path = Path(path)
    return [record for _, record in _parse(path, path.read_text(encoding="utf-8"))]


def _parse(path: Path, text: str) -> list[tuple[str, dict]]:
    """(line, record) for each record of a metrics file's `text`. DataError (file, line) for a line
    that is not a record, unless it is the unterminated last one: the line a killed run was writing."""
    lines = text.splitlines()
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) and not text.endswith("\n"):
                break
            raise DataError("not a JSON metrics record", path=str(path), line=number) from None
        if not isinstance(record, dict) or type(record.get("step")) is not int:
            raise DataError("a metrics record needs an integer step", path=str(path), line=number, field="step")
        parsed.append((line, record))
    return parsed


def _plain(value: float | None) -> float | None:
    """JSON has no NaN: undefined metrics (e.g. a reward no sample of the step earned) become null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
