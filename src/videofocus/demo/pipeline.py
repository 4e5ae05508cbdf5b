"""The end-to-end demo: synthetic data → a warm-up model that reads the videos (shipped, or built
here) → GRPO, and SFT on as many samples, from it → evaluation of all three with iterative
perception, beside video-blind baselines → a report that says first whether the targets were met.
`run_demo` runs the stages in order into one folder.

Layout of the output folder OUT:
  demo.json                 the settings (a rerun with other settings is refused)
  data/train, data/test     synthetic samples and media; data/test/<selection>.jsonl per task
  model/                    the randomly initialised model (warm-up built here only)
  warmup/                   the warm-up model (a copy of the shipped one, or the SFT trainer folder)
  grpo/, sft/               the continuations' trainer folders (final model at the top, metrics.jsonl)
  eval/<warmup|sft|grpo>/<selection>/   evaluation folders (metrics.json per round, predictions, results.md)
  report/                   report.md, results.json and the figures
  .stages/<stage>.json      written when a stage has finished, with its wall time

A rerun skips the finished stages; an interrupted stage continues where it stopped (the generator
reuses written media, training continues from its latest checkpoint, evaluation from its shards)."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from videofocus.demo import stages, warmup
from videofocus.demo.baselines import DESCRIPTIONS as BASELINE_WORDS
from videofocus.demo.baselines import video_blind_report
from videofocus.demo.settings import PRESETS, DemoSettings
from videofocus.demo.targets import TargetCheck, check_targets
from videofocus.errors import ConfigError, DataError
from videofocus.evaluate.manifest import git_state
from videofocus.report import (NOT_ABOVE_MARK, Cell, CurvePanel, Figure, ResultsTable, plot_example_timelines,
                               plot_rounds, plot_training_curves, read_results, write_report)
from videofocus.jsonfiles import read_json_object
from videofocus.schema import read_samples
from videofocus.storage import atomic_writer
from videofocus.uncertainty import jackknife_standard_errors

SETTINGS_FILE = "demo.json"
# Table label → the training folder (and evaluation subfolder) of that model, in table order.
MODELS = {"warm-up": "warmup", "continued SFT": "sft", "GRPO": "grpo"}
# Settings that do not change any result: a rerun may change them.
MACHINE_SETTINGS = ("threads", "timeline_examples")
GRPO_CURVES = ("reward", "rewards/format/mean", "rewards/temporal_iou/mean", "rewards/tracking/mean",
               "rewards/box_iou/mean", "rewards/accuracy/mean")
SFT_CURVES = ("loss",)


@dataclass(frozen=True)
class DemoLayout:
    """Where each stage of a demo in `root` writes."""

    root: Path

    @property
    def train_data(self) -> Path:
        return self.root / "data" / "train"

    @property
    def test_data(self) -> Path:
        return self.root / "data" / "test"

    @property
    def stage2_train_data(self) -> Path:
        """The warm-up's second-stage training samples: subfolders "mix" and "tracking"."""
        return self.root / "data" / "train_stage2"

    @property
    def model(self) -> Path:
        return self.root / "model"

    def warmup_stage1(self, settings: DemoSettings) -> Path:
        """The warm-up's first-stage model: the warm-up itself unless a second stage follows."""
        return self.trained("warmup_stage1" if settings.stage2_steps else "warmup")

    def trained(self, key: str) -> Path:
        """The trainer folder of model `key` ("sft" or "grpo")."""
        return self.root / key

    def evaluation(self, key: str, selection: str) -> Path:
        return self.root / "eval" / key / selection

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def marker(self, stage: str) -> Path:
        return self.root / ".stages" / f"{stage}.json"

    def finished_stages(self) -> list[str]:
        """The names of the stages whose marker is written, in the order they finished."""
        markers = (self.root / ".stages").glob("*.json")
        return [path.stem for path in sorted(markers, key=lambda path: path.stat().st_mtime_ns)]


@dataclass(frozen=True)
class DemoResult:
    """What a demo run produced: the results table, the report, and each stage's wall time in seconds
    (from the run that finished it) with whether this call skipped it."""

    out_dir: Path
    table: ResultsTable
    targets: list[TargetCheck]
    report: Path
    stage_seconds: dict[str, float]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class _Stage:
    name: str
    title: str
    action: Callable[[], object]
    spinner: bool  # stages without their own progress bar get a spinner


def run_demo(out_dir: str | Path, settings: DemoSettings, *, console: Console | None = None,
             command: str | None = None) -> DemoResult:
    """Run (or finish) the demo into `out_dir` with `settings`; returns the results table, the
    targets and the report.

    ConfigError when `out_dir` holds another demo's settings or unrelated files."""
    console = console or Console()
    layout = DemoLayout(Path(out_dir))
    plan = _plan(layout, settings, command)
    timings, skipped = _run_stages(layout, settings, plan, console, total=len(plan) + 1)
    console.rule(f"[bold]{len(plan) + 1}/{len(plan) + 1}  report", align="left")
    with quiet_libraries():
        table, targets, report = write_demo_report(layout, settings, timings)
    console.print(f"  {report}", highlight=False)
    return DemoResult(out_dir=layout.root, table=table, targets=targets, report=report, stage_seconds=timings,
                      skipped=tuple(skipped))


def build_warmup(out_dir: str | Path, settings: DemoSettings, *, console: Console | None = None,
                 command: str | None = None, install: bool = False, stage1_from: str | Path | None = None) -> Path:
    """Build a warm-up model with `settings` (the "warmup" preset ships) into `out_dir`: the demo's data,
    model and warm-up SFT stages, then the second stage if the settings have one. `stage1_from`: a
    finished first-stage warm-up (with its record; e.g. the shipped one before a second stage existed)
    to run only the second stage from. With `install`, copy the result into the package as the shipped
    warm-up. Returns the folder of the model."""
    console = console or Console()
    if settings.warmup != "scratch":
        raise ConfigError("a warm-up is built from scratch: use settings with warmup='scratch'")
    if stage1_from is not None and not settings.stage2_steps:
        raise ConfigError("a first-stage warm-up to continue from needs settings with a second stage (stage2_steps)")
    layout = DemoLayout(Path(out_dir))
    plan = _warmup_plan(layout, settings, Path(stage1_from) if stage1_from is not None else None)
    timings, _ = _run_stages(layout, settings, plan, console, total=len(plan))
    if not install:
        return layout.trained("warmup")
    source = git_state(Path(__file__).resolve().parent) or {}
    stage1 = warmup.stage1_record(stage1_from, settings) if stage1_from is not None else None
    return warmup.install_warmup(layout.trained("warmup"), settings, seconds=sum(timings.values()),
                                 commit=source.get("commit"), command=command, stage1=stage1)


def _run_stages(layout: DemoLayout, settings: DemoSettings, plan: list[_Stage], console: Console, *,
                total: int) -> tuple[dict[str, float], list[str]]:
    """Run the stages of `plan` not finished before; returns each stage's wall time (from the run that
    finished it) and the names of those skipped."""
    _claim(layout, settings)
    timings: dict[str, float] = {}
    skipped = []
    with torch_threads(settings.threads), quiet_libraries():
        for number, stage in enumerate(plan, start=1):
            console.rule(f"[bold]{number}/{total}  {stage.title}", align="left")
            if layout.marker(stage.name).is_file():
                timings[stage.name] = _read_marker(layout.marker(stage.name))
                skipped.append(stage.name)
                console.print(f"  done before ({timings[stage.name]:.0f} s then); skipped", highlight=False)
                continue
            started = time.perf_counter()
            if stage.spinner:
                with console.status(stage.title):
                    outcome = stage.action()
            else:
                outcome = stage.action()
            timings[stage.name] = time.perf_counter() - started
            _write_marker(layout.marker(stage.name), timings[stage.name])
            console.print(f"  {outcome}  ({timings[stage.name]:.0f} s)", highlight=False)
    return timings, skipped


def _plan(layout: DemoLayout, settings: DemoSettings, command: str | None) -> list[_Stage]:
    s = settings
    plan = [_data_stage(layout, s)]
    if s.warmup == "shipped":
        plan.append(_Stage("warmup", "warm-up: the model shipped with the package", lambda: copy_warmup(layout, s),
                           spinner=True))
    else:
        plan += _warmup_plan(layout, s, None)[1:]
    return plan + [
        _Stage("grpo", f"GRPO from the warm-up: {s.grpo_steps} steps of {s.grpo_prompts_per_step} prompts × "
                       f"{s.num_generations} completions{_rounds_words(s)}", lambda: train_grpo_stage(layout, s),
               spinner=False),
        _Stage("sft", f"continued SFT from the warm-up: {s.grpo_steps} steps of {s.grpo_prompts_per_step} samples",
               lambda: train_continued_sft_stage(layout, s), spinner=False),
        _Stage("evaluate", f"evaluation: {s.rounds} perception rounds ({_frames_words(s)}), "
                           f"{len(MODELS)} models", lambda: evaluate_stage(layout, s, command), spinner=False),
    ]


def _data_stage(layout: DemoLayout, s: DemoSettings) -> _Stage:
    return _Stage("data", f"data: {s.train_samples} training and {s.test_samples_per_task} held-out samples per "
                          f"task ({', '.join(s.tasks)}; {s.difficulty})", lambda: make_data(layout, s), spinner=True)


def _warmup_plan(layout: DemoLayout, settings: DemoSettings, stage1_from: Path | None) -> list[_Stage]:
    """The stages that build a warm-up: data, model and SFT (stage 1; or a copy of `stage1_from`), then
    the second stage's data and SFT when the settings have one."""
    s = settings
    if stage1_from is not None:
        plan = [_Stage("warmup", f"warm-up stage 1: the model in {stage1_from}",
                       lambda: copy_stage1(layout, s, stage1_from), spinner=True)]
    else:
        plan = [
            _data_stage(layout, s),
            _Stage("model", f"model: a {s.arch} built from scratch", lambda: make_model(layout, s), spinner=True),
            _Stage("warmup", f"SFT warm-up: {s.sft_steps} steps of {s.sft_batch_size} samples",
                   lambda: train_warmup_stage(layout, s), spinner=False),
        ]
    if not s.stage2_steps:
        return plan
    return plan + [
        _Stage("warmup_stage2_data", f"warm-up stage 2 data: {s.stage2_train_samples} samples of every task, "
                                     f"{s.stage2_tracking_samples} more of tracking",
               lambda: make_stage2_data(layout, s), spinner=True),
        _Stage("warmup_stage2", f"SFT warm-up stage 2: {s.stage2_steps} steps of {s.sft_batch_size} samples, "
                                "with loop views", lambda: train_warmup_stage2(layout, s), spinner=False),
    ]


# ----- stages ----------------------------------------------------------------------------------------

def make_data(layout: DemoLayout, settings: DemoSettings) -> str:
    """Training and held-out splits, and the held-out samples split per selection."""
    stages.make_split(layout.train_data, split="train", n=settings.train_samples, seed=settings.seed,
                      selections=settings.tasks, difficulty=settings.difficulty)
    test = stages.make_split(layout.test_data, split="test", n=settings.test_samples_per_task * len(settings.tasks),
                             seed=settings.seed, selections=settings.tasks, difficulty=settings.difficulty)
    stages.split_by_selection(test, settings.tasks)
    return f"{layout.train_data}, {layout.test_data}"


def make_model(layout: DemoLayout, settings: DemoSettings) -> str:
    stages.build_model(layout.model, arch=settings.arch, seed=settings.seed, size=settings.model_size)
    return f"{stages.parameter_count(layout.model) / 1e6:.2f} M parameters in {layout.model}"


def copy_warmup(layout: DemoLayout, settings: DemoSettings) -> str:
    record = warmup.check_matches(settings)
    target = layout.trained("warmup")
    shutil.copytree(warmup.shipped_warmup(), target, dirs_exist_ok=True)
    hours = record.get("build_seconds", 0) / 3600
    steps = record["settings"]["sft_steps"] + record["settings"].get("stage2_steps", 0)
    return f"{target} (built in {hours:.1f} h on CPU: {steps} SFT steps)"


def copy_stage1(layout: DemoLayout, settings: DemoSettings, stage1_from: Path) -> str:
    """The finished first stage in `stage1_from`, after checking that its record names these settings'
    first stage, copied to where stage 1 writes."""
    warmup.stage1_record(stage1_from, settings)
    target = layout.warmup_stage1(settings)
    shutil.copytree(stage1_from, target, dirs_exist_ok=True)
    return str(target)


def make_stage2_data(layout: DemoLayout, settings: DemoSettings) -> str:
    """Fresh training samples for stage 2 (seeds the first stage never drew): a mix of every task, and
    tracking samples."""
    folders = []
    for name, count, selections, seed_offset in (("mix", settings.stage2_train_samples, settings.tasks, 1),
                                                 ("tracking", settings.stage2_tracking_samples, ("tracking",), 2)):
        if count:
            folders.append(layout.stage2_train_data / name)
            stages.make_split(folders[-1], split="train", n=count, seed=settings.seed + seed_offset,
                              selections=selections, difficulty=settings.difficulty)
    return ", ".join(str(folder) for folder in folders)


def train_warmup_stage(layout: DemoLayout, settings: DemoSettings) -> str:
    values = stages.training_values(model=layout.model, output_dir=layout.warmup_stage1(settings),
                                    train_file=stages.samples_file(layout.train_data), seed=settings.seed,
                                    frame_pixels=settings.frame_pixels, steps=settings.sft_steps,
                                    learning_rate=settings.sft_learning_rate)
    # Every sample weighs the same: by tokens, the ~230-token tracking answers would take most of the step.
    values.update(per_device_batch_size=settings.sft_micro_batch, loss_weighting="sample",
                  gradient_accumulation_steps=settings.sft_batch_size // settings.sft_micro_batch)
    return f"model in {stages.run_sft(values)}"


def train_warmup_stage2(layout: DemoLayout, settings: DemoSettings) -> str:
    """SFT from the first stage on the second stage's samples and their loop views."""
    files = [stages.samples_file(folder) for folder in sorted(layout.stage2_train_data.iterdir())]
    values = stages.training_values(model=layout.warmup_stage1(settings), output_dir=layout.trained("warmup"),
                                    train_file=files[0], seed=settings.seed, frame_pixels=settings.frame_pixels,
                                    steps=settings.stage2_steps, learning_rate=settings.stage2_learning_rate)
    values.update(datasets=[{"path": str(path)} for path in files], per_device_batch_size=settings.sft_micro_batch,
                  gradient_accumulation_steps=settings.sft_batch_size // settings.sft_micro_batch,
                  loss_weighting="sample", loop_view_frames=settings.stage2_loop_view_frames, image_loop_views=True)
    return f"model in {stages.run_sft(values)}"


def train_grpo_stage(layout: DemoLayout, settings: DemoSettings) -> str:
    values = stages.training_values(model=layout.trained("warmup"), output_dir=layout.trained("grpo"),
                                    train_file=stages.samples_file(layout.train_data), seed=settings.seed,
                                    frame_pixels=settings.frame_pixels, steps=settings.grpo_steps,
                                    learning_rate=settings.grpo_learning_rate)
    values.update(per_device_batch_size=settings.grpo_completions_per_step, num_generations=settings.num_generations,
                  max_completion_length=settings.max_completion_length, beta=settings.grpo_beta,
                  rollout_rounds=settings.grpo_rollout_rounds)
    return f"model in {stages.run_grpo(values)}"


def train_continued_sft_stage(layout: DemoLayout, settings: DemoSettings) -> str:
    """SFT from the warm-up on as many samples as GRPO prompts (steps × prompts per step)."""
    values = stages.training_values(model=layout.trained("warmup"), output_dir=layout.trained("sft"),
                                    train_file=stages.samples_file(layout.train_data), seed=settings.seed,
                                    frame_pixels=settings.frame_pixels, steps=settings.grpo_steps,
                                    learning_rate=settings.continued_sft_learning_rate)
    values.update(per_device_batch_size=settings.grpo_prompts_per_step, loss_weighting="sample")
    return f"model in {stages.run_sft(values)}"


def evaluate_stage(layout: DemoLayout, settings: DemoSettings, command: str | None) -> str:
    """Every model on every selection's held-out samples, all rounds."""
    for key in MODELS.values():
        model_dir = layout.trained(key)
        backend = stages.load_backend(model_dir, frame_pixels=settings.frame_pixels,
                                      batch_size=settings.eval_batch_size, max_new_tokens=settings.max_new_tokens)
        for selection in settings.tasks:
            stages.evaluate_selection(backend, model_dir, stages.selection_file(layout.test_data, selection),
                                      layout.evaluation(key, selection), selection=selection, rounds=settings.rounds,
                                      frames=eval_frames(settings, selection),
                                      batch_size=settings.eval_batch_size, seed=settings.seed, command=command)
    return f"results in {layout.root / 'eval'}"


def eval_frames(settings: DemoSettings, selection: str) -> int | None:
    """The frame budget a selection is evaluated at (None: 2 fps, or a track's frames, the views the models
    were trained on)."""
    return settings.eval_frames if selection in settings.budgeted_tasks else None


def _rounds_words(settings: DemoSettings) -> str:
    rounds = settings.grpo_rollout_rounds
    return f" × {rounds} perception rounds (tracking: 1)" if rounds > 1 else ""


def _rollout_words(settings: DemoSettings) -> str:
    rounds = settings.grpo_rollout_rounds
    if rounds == 1:
        return "one round"
    return (f"over the {rounds} perception rounds of each rollout, each round credited with its own reward and the "
            "final answer's (tracking: one round)")


def _frames_words(settings: DemoSettings) -> str:
    views = []
    if settings.budgeted_tasks:
        budgeted = ", ".join(stages.SELECTION_LABELS.get(name, name) for name in settings.budgeted_tasks)
        views.append(f"{budgeted} at {settings.eval_frames} frames a round")
    if "tracking" in settings.tasks:
        views.append("tracking on its track's frames")
    views.append("the rest at 2 fps" if views else "2 fps")
    return ", ".join(views)


def write_demo_report(layout: DemoLayout, settings: DemoSettings,
                      stage_seconds: dict[str, float]) -> tuple[ResultsTable, list[TargetCheck], Path]:
    """report/report.md, report/results.json and the figures, from the finished stages' files."""
    rows = stages.metric_rows(settings.tasks)
    eval_dirs = {label: {selection: layout.evaluation(key, selection) for selection in settings.tasks}
                 for label, key in MODELS.items()}
    table = read_results(eval_dirs, rows, range(1, settings.rounds + 1)).with_baselines(
        video_blind_baselines(layout, settings))
    targets = check_targets(table, warmup="warm-up", grpo="GRPO", itp_selection="brief_evidence")
    out = layout.report_dir
    figures = [
        Figure("Each metric against the perception round (± one standard error), for every model; the dashed "
               "line is what a video-blind answer scores.", plot_rounds(table, out / "rounds.png")),
        Figure("Training curves. GRPO's reward is the mean over its own sampled completions (temperature 1) of "
               f"training prompts at 2 fps, {_rollout_words(settings)}; the table scores greedy answers to held-out "
               "samples at "
               f"the demo's frame budgets ({_frames_words(settings)}), so the two need not move together.",
               plot_training_curves(_curve_panels(layout), out / "training_curves.png")),
    ]
    figures += [Figure(f"Where the GRPO model looked, {selection.replace('_', ' ')} example {number}: per "
                       "round the frames seen (ticks), the focus (band) and the predicted interval (bar); the "
                       "ground truth on top.", path)
                 for selection in _timeline_selections(settings)
                 for number, path in enumerate(plot_example_timelines(
                     layout.evaluation("grpo", selection), out, count=_timeline_count(settings, selection),
                     prefix=f"timeline_{selection}"), start=1)]
    report = write_report(out / "report.md", title="videofocus demo",
                          summary=[*target_lines(targets, settings), "", *_summary(layout, settings, stage_seconds)],
                          table=table, table_note=_table_note(settings), figures=figures,
                          sections=[("Files", _file_notes(layout, settings))])
    with atomic_writer(out / "results.json") as handle:
        json.dump({"table": table.to_json(), "targets": [dataclasses.asdict(target) for target in targets],
                   "settings": settings.to_json(), "stage_seconds": stage_seconds}, handle, indent=1)
    return table, targets, report


def video_blind_baselines(layout: DemoLayout, settings: DemoSettings) -> dict[str, Cell]:
    """Per table row, the video-blind baseline (chosen on the training split) on the held-out samples."""
    train = list(read_samples(stages.samples_file(layout.train_data)))
    baselines = {}
    for selection in settings.tasks:
        benchmark = stages.selection_benchmark(selection)
        chosen = [sample for sample in train if stages.in_selection(sample, selection)]
        report = video_blind_report(benchmark, chosen, list(read_samples(stages.selection_file(layout.test_data,
                                                                                                selection))))
        errors = jackknife_standard_errors(report)
        for row in stages.metric_rows([selection]):
            baselines[row.label] = Cell(report.metrics[row.metric], errors[row.metric])
    return baselines


def target_lines(targets: list[TargetCheck], settings: DemoSettings) -> list[str]:
    """The report's first lines: whether each target was met, and the cells that fell short."""
    missed = [target for target in targets if not target.met]
    head = ("**Targets: all met.**" if not missed else
            f"**Targets missed: {len(missed)} of {len(targets)}.** The method did not show everything it should "
            "at this budget; see the cells marked ° below.")
    note = held_out_size_note(settings)
    return [head, *([note] if note else []), "",
            *(f"- {'met' if target.met else 'MISSED'}: {target.goal} ({target.detail})" for target in targets)]


def held_out_size_note(settings: DemoSettings) -> str | None:
    """A warning where the held-out set is smaller than the full demo's, whose size the targets are set for."""
    full, held_out = PRESETS["full"].test_samples_per_task, settings.test_samples_per_task
    if held_out >= full:
        return None
    return (f"With {held_out} held-out samples per task a cell's standard error reaches {50 / math.sqrt(held_out):.0f} "
            f"points, too wide to judge the targets by: they are set for the full run ({full} per task, "
            "`videofocus demo`).")


def _curve_panels(layout: DemoLayout) -> list[CurvePanel]:
    panels = [CurvePanel("SFT warm-up", layout.trained("warmup") / "metrics.jsonl", SFT_CURVES),
              CurvePanel("continued SFT", layout.trained("sft") / "metrics.jsonl", SFT_CURVES),
              CurvePanel("GRPO", layout.trained("grpo") / "metrics.jsonl", GRPO_CURVES)]
    return [panel for panel in panels if panel.metrics_file.is_file()]


def _timeline_selections(settings: DemoSettings) -> list[str]:
    """Selections whose samples have a ground-truth interval to draw."""
    return [selection for selection in settings.tasks
            if stages.selection_benchmark(selection) in ("temporal_grounding", "nextgqa", "rextime")]


def _timeline_count(settings: DemoSettings, selection: str) -> int:
    chosen = _timeline_selections(settings)
    share, extra = divmod(settings.timeline_examples, len(chosen))
    return share + (chosen.index(selection) < extra)


def _summary(layout: DemoLayout, settings: DemoSettings, seconds: dict[str, float]) -> list[str]:
    s = settings
    total = sum(seconds.values())
    warm = ("the model shipped with the package (`videofocus demo --build-warmup`; benchmarks/RESULTS.md, \"Demo\")"
            if s.warmup == "shipped" else
            f"built here: SFT {s.sft_steps} steps × {s.sft_batch_size} samples, learning rate {s.sft_learning_rate:g}"
            + (f", then {s.stage2_steps} steps of stage 2 (learning rate {s.stage2_learning_rate:g})"
               if s.stage2_steps else ""))
    return [
        f"- data: the synthetic world ({s.difficulty}), {s.train_samples} training samples and "
        f"{s.test_samples_per_task} held-out samples of each of {', '.join(s.tasks)}",
        f"- model: {s.arch} ({_model_words(s)}), frames and images at {s.frame_pixels} pixels",
        f"- warm-up: {warm}",
        f"- GRPO from the warm-up: {s.grpo_steps} steps × {s.grpo_prompts_per_step} prompts × {s.num_generations} "
        f"completions{_rounds_words(s)}, learning rate {s.grpo_learning_rate:g}, β {s.grpo_beta:g}",
        f"- continued SFT from the warm-up: {s.grpo_steps} steps × {s.grpo_prompts_per_step} samples (as many as "
        f"GRPO's prompts), learning rate {s.continued_sft_learning_rate:g}",
        f"- evaluation: {s.rounds} rounds of iterative perception ({_frames_words(s)}), greedy decoding",
        f"- wall time: {total / 60:.1f} min ({', '.join(f'{name} {value:.0f} s' for name, value in seconds.items())}), "
        f"{s.threads} torch thread(s); seed {s.seed}",
    ]


def _model_words(settings: DemoSettings) -> str:
    size = settings.model_size
    return (f"text {size.text_hidden} hidden × {size.text_layers} layers, vision {size.vision_hidden} × "
            f"{size.vision_depth}")


def _table_note(settings: DemoSettings) -> str:
    return (f"Values in % ± one standard error (jackknife) on the held-out samples ({settings.test_samples_per_task} "
            f"per task). r1 is a single round on uniform frames ({_frames_words(settings)}); r2 and "
            f"r{settings.rounds} re-sample the same budget densely inside the previous round's interval (images: the "
            "full image plus a crop of the previous box). The brief-evidence answer is visible only inside a short "
            "flash that uniform frames never show, so its r1 sits at the video-blind level by construction. "
            f"{NOT_ABOVE_MARK}: not above the video-blind row by more than the cell's standard error. Video-blind "
            "answers: "
            + "; ".join(f"{stages.SELECTION_LABELS.get(selection, selection)} — "
                        f"{BASELINE_WORDS[stages.selection_benchmark(selection)]}" for selection in settings.tasks)
            + ".")


def _file_notes(layout: DemoLayout, settings: DemoSettings) -> list[str]:
    lines = [f"- models: {', '.join(f'`{layout.trained(key)}` ({label})' for label, key in MODELS.items())}; each "
             "loads with from_pretrained and carries its pixel settings (videofocus.json), so "
             f"`videofocus eval --model {layout.trained('grpo')} --annotations ... --benchmark ...` repeats its "
             f"numbers (add `--num-frames {settings.eval_frames}` for {', '.join(settings.budgeted_tasks)})"]
    lines += [f"- evaluation of {label}, {selection}: `{layout.evaluation(key, selection)}/results.md`"
              for label, key in MODELS.items() for selection in settings.tasks]
    return lines


# ----- resumption -------------------------------------------------------------------------------------

def _claim(layout: DemoLayout, settings: DemoSettings) -> None:
    """Record the settings in OUT/demo.json, or check that a run already there used the same ones."""
    path = layout.root / SETTINGS_FILE
    wanted = settings.to_json()
    if path.is_file():
        existing = read_json_object(path)
        for key in sorted(set(existing) | set(wanted)):
            if key not in MACHINE_SETTINGS and existing.get(key) != wanted.get(key):
                raise ConfigError(f"{layout.root} holds a demo run with other settings ({key}: {existing.get(key)!r} "
                                  f"there, {wanted.get(key)!r} now); choose another --out, or delete it to start over")
    elif layout.root.exists() and any(layout.root.iterdir()):
        raise ConfigError(f"{layout.root} is not empty and holds no demo run ({SETTINGS_FILE}); choose a new or empty "
                          "--out folder")
    with atomic_writer(path) as handle:
        json.dump(wanted, handle, indent=1)


def _write_marker(path: Path, seconds: float) -> None:
    with atomic_writer(path) as handle:
        json.dump({"seconds": seconds}, handle)


def _read_marker(path: Path) -> float:
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise DataError("broken stage marker; delete it to run the stage again", path=str(path)) from None


# ----- process settings -------------------------------------------------------------------------------

@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Use `count` torch CPU threads inside the block."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """No transformers progress bars or info chatter inside the block (the demo shows its own)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
