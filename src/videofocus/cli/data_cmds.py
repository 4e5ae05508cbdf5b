"""`videofocus data validate | stats | convert | build`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from typer.core import TyperCommand

from videofocus.cli.app import console, data_app, err_console
from videofocus.errors import DataError

SKIPPED_SHOWN = 20  # skipped records listed one by one; the rest are counted


class _ConvertCommand(TyperCommand):
    """`data convert`, whose help ends with the converters and their summaries. Listing them imports
    every converter (PyAV and numpy among them), so the list is made when the help is shown, not
    when the command line starts."""

    @property
    def epilog(self) -> str:
        from videofocus.data.converters import CONVERTERS

        # click keeps "\b" paragraphs as written.
        return "\b\nFormats (--from):\n" + "\n".join(
            f"  {name:<21} {escape(converter.summary)}" for name, converter in sorted(CONVERTERS.items()))

    @epilog.setter
    def epilog(self, _value: str | None) -> None:
        pass   # click's constructor sets it; the property above is the epilog


@data_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="Samples JSONL file."),
    media_root: Path | None = typer.Option(None, "--media-root",
                                           help="Folder media paths are relative to (default: the file's folder)."),
    check_media: bool = typer.Option(False, "--check-media",
                                     help="Also open every media file: it exists, decodes, and holds the clues."),
    max_errors: int = typer.Option(50, "--max-errors", min=1, help="How many errors to list."),
) -> None:
    """Check a samples file: every bad line, field and clue, with file:line. Exit 1 if any."""
    from videofocus.data.validate import validate_file

    report = validate_file(file, media_root=media_root, check_media=check_media, max_errors=max_errors)
    for error in report.errors:
        err_console.print(str(error), markup=False, highlight=False, soft_wrap=True)
    hidden = report.error_count - len(report.errors)
    if hidden:
        err_console.print(f"... and {hidden} more error(s)", highlight=False, soft_wrap=True)
    checked = " (media checked)" if check_media else ""
    if not report.ok:
        err_console.print(f"{file}: {report.summary()}{checked}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    console.print(f"{file}: {report.summary()}{checked}", markup=False, highlight=False, soft_wrap=True)


@data_app.command("stats")
def stats(
    file: Path = typer.Argument(..., help="Samples JSONL file."),
    plot: Path | None = typer.Option(None, "--plot", help="Also save a duration histogram (.png, .pdf, .svg)."),
    bins: int = typer.Option(10, "--bins", min=1, help="Histogram bins in the terminal."),
) -> None:
    """Counts by task, source, media, clue and applicable reward; a duration histogram."""
    from videofocus.data.stats import compute_stats, format_stats, plot_duration_histogram
    from videofocus.schema import read_samples

    summary = compute_stats(read_samples(file))
    if not summary.samples:
        raise DataError("the file holds no samples (no non-blank line)", path=str(file))
    console.print(format_stats(summary, bins=bins), markup=False, highlight=False, soft_wrap=True)
    if plot is not None:
        plot_duration_histogram(summary.durations, plot)
        console.print(f"histogram written to {plot}", highlight=False, soft_wrap=True)


@data_app.command("convert", cls=_ConvertCommand)
def convert(
    source_format: str = typer.Option(..., "--from", help="Source format (listed below)."),
    input_path: Path = typer.Option(..., "--input", help="The dataset's annotation file or folder."),
    output: Path = typer.Option(..., "--output", help="Samples JSONL to write (atomically)."),
    split: str | None = typer.Option(None, "--split", help="Keep one split (nextgqa, perception_test, refcoco)."),
    media_root: Path | None = typer.Option(None, "--media-root", help="Where the source media lie (probing "
                                           "durations, reading frame folders)."),
    durations: Path | None = typer.Option(None, "--durations", help="Video durations: CSV with id and "
                                          "length/duration columns, or JSON {id: seconds}."),
    video_ext: str = typer.Option(".mp4", "--video-ext", help="Extension of videos named after their id."),
    path_prefix: str = typer.Option("", "--path-prefix", help="Prepended to every media path written."),
    write_videos: Path | None = typer.Option(None, "--write-videos", help="Encode frame folders as mp4 files "
                                             "here (got10k, mvbench)."),
    allow_pickle: bool = typer.Option(False, "--allow-pickle", help="Allow reading a pickle (refcoco refs); "
                                      "only plain data is accepted."),
    clip_to_duration: bool = typer.Option(False, "--clip-to-duration", help="Cut ground-truth ends to the "
                                          "video's duration (default: as annotated, as the official "
                                          "evaluations score them)."),
    source: str | None = typer.Option(None, "--source", help="Source tag and id prefix (default: the format)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip bad records (listed) instead of stopping."),
) -> None:
    """Convert a public dataset's annotations to the sample format (streaming, atomic write)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from videofocus.data.converters import ConvertOptions, get_converter, run_conversion

    converter = get_converter(source_format)
    options = ConvertOptions(input=input_path, source=source, split=split, media_root=media_root,
                             durations=durations, video_ext=video_ext, path_prefix=path_prefix,
                             write_videos=write_videos, allow_pickle=allow_pickle,
                             clip_to_duration=clip_to_duration)
    with Progress(SpinnerColumn(), TextColumn("{task.description}: {task.completed} samples"), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task(f"converting {converter.name}", total=None)
        report = run_conversion(converter, options, output, skip_invalid=skip_invalid,
                                on_sample=lambda count: progress.update(task, completed=count))
    for error in report.skipped[:SKIPPED_SHOWN]:
        err_console.print(f"skipped: {error}", markup=False, highlight=False, soft_wrap=True)
    if len(report.skipped) > SKIPPED_SHOWN:
        err_console.print(f"... and {len(report.skipped) - SKIPPED_SHOWN} more skipped record(s)", highlight=False,
                          soft_wrap=True)
    skipped = f" ({len(report.skipped)} bad record(s) skipped)" if report.skipped else ""
    console.print(f"{report.written} samples written to {output}{skipped}", highlight=False, soft_wrap=True)


@data_app.command("build")
def build(
    input_path: Path = typer.Option(..., "--input", help="Samples JSONL to build from."),
    captions: list[Path] = typer.Option([], "--captions", help="Captions JSONL ({id|media, caption, "
                                        "clue_caption}); repeat for several files."),
    output: Path = typer.Option(..., "--output", help="Samples JSONL to write (atomically); the report, dropped "
                                "and failed records and the cache go beside it."),
    config_path: Path = typer.Option(..., "--config", help="Pipeline YAML: endpoints, prompts, thresholds."),
    media_root: Path | None = typer.Option(None, "--media-root", help="Folder media paths are relative to "
                                           "(default: the config's media_root, else the input's folder)."),
) -> None:
    """Verify, reason and rank samples with an LLM and a VLM (VideoChat-R1.5's VTTS-80K pipeline)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from videofocus.data.stats import compute_stats, format_stats
    from videofocus.data.vtts import BuildPaths, BuildProgress, build_dataset, format_report, load_build_config
    from videofocus.schema import read_samples

    config = load_build_config(config_path)
    columns = (SpinnerColumn(), TextColumn("building"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[tokens]} tokens, ~${task.fields[cost]:.4f}, {task.fields[cached]} cached"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task("build", total=None, tokens=0, cost=0.0, cached=0)

        def show(state: BuildProgress) -> None:
            progress.update(task, completed=state.done, total=state.total, tokens=state.tokens, cost=state.cost,
                            cached=state.cached)

        report = build_dataset(input_path, captions, output, config, media_root=media_root, on_progress=show)
    console.print(format_report(report), markup=False, highlight=False, soft_wrap=True)
    paths = BuildPaths.beside(output, config.cache_dir)
    console.print(f"reasons: {paths.dropped}, {paths.failures}; report: {paths.report}; cache: {paths.cache}",
                  markup=False, highlight=False, soft_wrap=True)
    console.print(f"\n{output}:", markup=False, highlight=False, soft_wrap=True)
    console.print(format_stats(compute_stats(read_samples(output))), markup=False, highlight=False, soft_wrap=True)
