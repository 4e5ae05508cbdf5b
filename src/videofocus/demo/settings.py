"""What the end-to-end demo runs: one frozen dataclass with every size and schedule, and its presets.

"full" is what `videofocus demo` runs: the warm-up model shipped with the package (a 0.81 M-parameter
Qwen3-VL that already reads the synthetic videos, 16 frames at 2 fps seen at 64×64) continued by GRPO
whose rollouts run 3 rounds of iterative perception (so the loop's later views are trained too) and, for
comparison, by SFT on the same number of samples. "quick" is a smaller one for a first look,
"scratch" (`--from-scratch`) builds the model and its warm-up in the run itself, "warmup" is the
recipe that built the shipped warm-up (`--build-warmup`), "tiny" the seconds-long run the tests use.

Qwen3-VL, not Qwen2.5-VL: a model this small learns to read the video through Qwen3-VL's text
timestamps (`<1.0 seconds>` before each frame pair), while a from-scratch Qwen2.5-VL of the same size,
whose only clock is the rotary time position, stays video-blind at every budget measured
(benchmarks/RESULTS.md, "Learning")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from videofocus.data.synth import PRESETS as DIFFICULTIES
from videofocus.demo.stages import selection_benchmark
from videofocus.errors import ConfigError
from videofocus.models.tiny import ARCHS, TinySize

# Text 128 hidden × 2 layers, vision 64 × 2: 0.81 M parameters as a Qwen3-VL, 0.68 M as a Qwen2.5-VL.
DEMO_MODEL = TinySize(text_hidden=128, text_layers=2, text_heads=4, text_kv_heads=2, text_intermediate=256,
                      vision_hidden=64, vision_depth=2, vision_heads=2, vision_intermediate=128)

# The synthetic question kinds the demo trains and evaluates on (`videofocus.data.synth` selections).
DEMO_TASKS = ("temporal_grounding", "tracking", "spatial_grounding", "brief_evidence")


@dataclass(frozen=True)
class DemoSettings:
    """Every knob of the demo. Sizes are counts of samples or optimisation steps.

    Data
      seed: seeds the data, the model's initial weights, the training order and sampling.
      difficulty: the synthetic world's preset (`videofocus.data.synth.PRESETS`).
      tasks: question selections (synth tasks or kinds) for training and evaluation.
      train_samples: training samples (a mix of `tasks` in turn).
      test_samples_per_task: held-out samples per selection (the test split: exact labels).
      frame_pixels: pixels of every video frame and image as the model sees it (64×64 for Qwen3-VL's
        32-pixel merged patches: 4 tokens a frame pair); both the minimum and the maximum of the
        processor's resizing.
    Model
      arch: "qwen2_5_vl" or "qwen3_vl". model_size: its dimensions (`TinySize`).
    Warm-up (teaches the output format and the tasks)
      warmup: "shipped" (the package's warm-up model, `videofocus.demo.warmup`; arch, model_size,
        frame_pixels and seed must be the ones it was built with) or "scratch" (built here: a random
        model, then SFT with the sft_* settings).
      sft_steps, sft_batch_size, sft_learning_rate: steps of `sft_batch_size` samples, peak AdamW
        learning rate of a linear decay. sft_micro_batch: samples per forward pass (a divisor of
        sft_batch_size; the trainer groups samples of similar length, so smaller micro-batches pad less).
    Warm-up stage 2 (built here only; continues stage 1's model at the same frames)
      stage2_steps: SFT steps of `sft_batch_size` samples (0: no second stage). stage2_learning_rate:
        its peak learning rate (linear decay).
      stage2_train_samples: fresh training samples, a mix of `tasks` in turn (so no task is forgotten);
        stage2_tracking_samples: as many more fresh tracking samples (the task stage 1 did not learn).
      Stage 2 also trains an image's round-2 view of iterative perception, the full image plus a crop of
        its box (`train.data.with_loop_views`), and with stage2_loop_view_frames a video's round 1 and
        round 2 at that many frames (None: not).
    Continuation from the warm-up: GRPO, and SFT on as many samples (the papers' comparison)
      grpo_steps: optimisation steps; each samples `num_generations` completions for
        `grpo_prompts_per_step` prompts. grpo_learning_rate, grpo_beta (KL coefficient; 0 loads no
        reference model), max_completion_length (tokens; a tracking answer needs ~200).
        grpo_rollout_rounds: rounds of iterative perception per GRPO trajectory (GRPOConfig.rollout_rounds:
        every round's completion is trained on the view that round really saw; 1: single-round GRPO).
      continued_sft_learning_rate: the continued SFT's learning rate; it runs grpo_steps steps of
        grpo_prompts_per_step samples.
    Evaluation (held-out set, iterative perception)
      rounds: perception rounds; round 1 is the single-round result.
      eval_frames, budgeted_tasks: the selections in `budgeted_tasks` are evaluated at a budget of
        `eval_frames` frames a round (the brief-evidence flash is placed so that this many uniform
        frames never show it, synth `round1_frames`: only a round that looks again can read it); the
        others on the view they were trained on, 2 fps or a track's frames (a model this small does not
        carry what it learned at one frame spacing over to another: benchmarks/RESULTS.md, "Demo").
      eval_batch_size: samples per model call. max_new_tokens: longest completion.
      timeline_examples: examples drawn on the report's timeline figures.
    Machine
      threads: torch CPU threads. On a machine whose cores are busy with other work, more threads than
        free cores makes every step many times slower.
    """

    seed: int = 0
    difficulty: str = "easy"
    tasks: tuple[str, ...] = DEMO_TASKS
    train_samples: int = 1600
    test_samples_per_task: int = 100
    frame_pixels: int = 64 * 64
    arch: str = "qwen3_vl"
    model_size: TinySize = field(default_factory=lambda: DEMO_MODEL)
    warmup: str = "shipped"
    sft_steps: int = 500
    sft_batch_size: int = 32
    sft_learning_rate: float = 2e-3
    sft_micro_batch: int = 8
    stage2_steps: int = 0
    stage2_learning_rate: float = 1e-3
    stage2_train_samples: int = 0
    stage2_tracking_samples: int = 0
    stage2_loop_view_frames: int | None = None
    grpo_steps: int = 40
    grpo_prompts_per_step: int = 4
    num_generations: int = 8
    grpo_learning_rate: float = 1e-4
    grpo_beta: float = 0.0
    grpo_rollout_rounds: int = 3
    max_completion_length: int = 256
    continued_sft_learning_rate: float = 1e-4
    rounds: int = 3
    eval_frames: int = 8
    budgeted_tasks: tuple[str, ...] = ("brief_evidence",)
    eval_batch_size: int = 16
    max_new_tokens: int = 256
    timeline_examples: int = 3
    threads: int = 1

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ConfigError(f"demo settings: {problem}")

    def to_json(self) -> dict[str, Any]:
        """Plain values (what OUT/demo.json records)."""
        data = dataclasses.asdict(self)
        data["tasks"] = list(self.tasks)
        data["budgeted_tasks"] = list(self.budgeted_tasks)
        return data

    @property
    def grpo_completions_per_step(self) -> int:
        return self.grpo_prompts_per_step * self.num_generations * self.grpo_rollout_rounds


def _problems(s: DemoSettings) -> list[str]:
    problems = []
    if s.difficulty not in DIFFICULTIES:
        problems.append(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {s.difficulty!r}")
    if s.warmup not in WARMUP_SOURCES:
        problems.append(f"warmup must be one of {', '.join(WARMUP_SOURCES)}, got {s.warmup!r}")
    if s.arch not in ARCHS:
        problems.append(f"arch must be one of {', '.join(ARCHS)}, got {s.arch!r}")
    if not s.tasks:
        problems.append("tasks must name at least one selection")

    for selection in s.tasks:
        try:
            selection_benchmark(selection)
        except ConfigError as error:
            problems.append(str(error))
    for name in ("train_samples", "test_samples_per_task", "sft_steps", "sft_batch_size", "sft_micro_batch",
                 "grpo_steps", "grpo_prompts_per_step", "grpo_rollout_rounds", "max_completion_length", "rounds",
                 "eval_frames", "eval_batch_size", "max_new_tokens", "threads", "frame_pixels"):
        if getattr(s, name) < 1:
            problems.append(f"{name} must be at least 1, got {getattr(s, name)}")
    problems += _schedule_problems(s) + _stage2_problems(s)
    if not problems and not set(s.budgeted_tasks) <= set(s.tasks):
        problems.append(f"budgeted_tasks must be among tasks, got {', '.join(s.budgeted_tasks)}")
    if s.timeline_examples < 0:
        problems.append(f"timeline_examples must be >= 0, got {s.timeline_examples}")
    return problems


def _stage2_problems(s: DemoSettings) -> list[str]:
    if s.stage2_steps < 0:
        return [f"stage2_steps must be at least 0, got {s.stage2_steps}"]
    if not s.stage2_steps:
        return []
    problems = []
    if s.warmup != "scratch":
        problems.append("stage2_steps: a warm-up's second stage is built here only (warmup='scratch')")
    if s.stage2_train_samples + s.stage2_tracking_samples < s.sft_batch_size:
        problems.append(f"stage 2's samples ({s.stage2_train_samples} + {s.stage2_tracking_samples} tracking) must "
                        f"hold at least one batch of {s.sft_batch_size}")
    if min(s.stage2_train_samples, s.stage2_tracking_samples) < 0 or s.stage2_learning_rate <= 0:
        problems.append("stage 2's sample counts must be >= 0 and its learning rate > 0")
    if s.stage2_loop_view_frames is not None and s.stage2_loop_view_frames < 2:
        problems.append(f"stage2_loop_view_frames must be at least 2 (one temporal pair), got "
                        f"{s.stage2_loop_view_frames}")
    return problems


def _schedule_problems(s: DemoSettings) -> list[str]:
    problems = []
    if s.sft_batch_size % max(s.sft_micro_batch, 1):
        problems.append(f"sft_micro_batch ({s.sft_micro_batch}) must divide sft_batch_size ({s.sft_batch_size})")
    if s.num_generations < 2:
        problems.append(f"num_generations must be at least 2 (GRPO compares completions), got {s.num_generations}")
    if s.train_samples < max(s.sft_batch_size, s.grpo_prompts_per_step):
        problems.append(f"train_samples ({s.train_samples}) must hold at least one batch "
                        f"(sft_batch_size {s.sft_batch_size}, grpo_prompts_per_step {s.grpo_prompts_per_step})")
    if min(s.sft_learning_rate, s.grpo_learning_rate, s.continued_sft_learning_rate) <= 0 or s.grpo_beta < 0:
        problems.append("learning rates must be > 0 and grpo_beta >= 0")
    return problems


WARMUP_SOURCES = ("shipped", "scratch")
# The fields that decide the warm-up's first stage (model built from scratch, then SFT), and its second;
# the shipped warm-up records those of the stages it was built with, and their hash.
STAGE1_FIELDS = ("seed", "difficulty", "tasks", "train_samples", "frame_pixels", "arch", "model_size", "sft_steps",
                 "sft_batch_size", "sft_learning_rate", "sft_micro_batch")
STAGE2_FIELDS = ("stage2_steps", "stage2_learning_rate", "stage2_train_samples", "stage2_tracking_samples",
                 "stage2_loop_view_frames")

PRESETS: dict[str, DemoSettings] = {
    "full": DemoSettings(),
    "quick": DemoSettings(test_samples_per_task=25, grpo_steps=10),
    # Today's whole pipeline in one run: the model and its warm-up are built here (minutes of SFT, so
    # the warm-up reads the videos far less well than the shipped one).
    "scratch": DemoSettings(warmup="scratch", sft_steps=500),
    # How the shipped warm-up was built (`videofocus demo --build-warmup`; hours on 2 CPU cores): stage 1
    # teaches the four tasks; stage 2 continues it on fresh samples, most of them tracking (which stage 1
    # did not learn), with the loop's round-2 views (an image's crop view is never shown otherwise).
    "warmup": DemoSettings(warmup="scratch", train_samples=12000, sft_steps=1500, stage2_steps=600,
                           stage2_learning_rate=1e-3, stage2_train_samples=2000, stage2_tracking_samples=4000),
    # Seconds: checks that every stage runs and writes what the next one reads, not that anything learns.
    "tiny": DemoSettings(warmup="scratch", train_samples=8, test_samples_per_task=1, model_size=TinySize(),
                         sft_steps=2, sft_batch_size=4, sft_micro_batch=2, grpo_steps=1, grpo_prompts_per_step=2,
                         num_generations=2, max_completion_length=16, eval_batch_size=4, max_new_tokens=16,
                         timeline_examples=2),
}


def warmup_fields(settings: DemoSettings, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The settings that decide the warm-up model (plain values): its first stage's, and its second's when
    it has one. `names`: only these."""
    if names is None:
        names = STAGE1_FIELDS + (STAGE2_FIELDS if settings.stage2_steps else ())
    values = settings.to_json()
    return {name: values[name] for name in names}


def demo_settings(preset: str = "full", **overrides: Any) -> DemoSettings:
    """The named preset with some fields replaced; ConfigError for an unknown preset or field."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown demo preset {preset!r}; choose one of {', '.join(PRESETS)}")
    known = {item.name for item in dataclasses.fields(DemoSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown demo setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(PRESETS[preset], **overrides)

