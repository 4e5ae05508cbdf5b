"""Training configuration: TRL-style dataclasses with every knob documented, read from a YAML recipe
plus `key=value` overrides. Anything wrong (an unknown key, a value of the wrong type, a batch that
G does not divide) is a ConfigError that names the key to change, raised before any model loads."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from videofocus.errors import ConfigError
from videofocus.train.loss import LOSS_TYPES

HALF_DTYPES = ("bfloat16", "float16")


@dataclass
class DatasetConfig:
    """One training dataset.

    Args:
        path: JSONL file in the one sample format (`videofocus data validate` checks it).
        media_root: Folder that the samples' relative media paths are relative to (default: the
            JSONL file's folder).
        task: When set, every sample of the file must have this task (a guard against mixing up
            files); when omitted each sample's own `task` decides its prompt and rewards.
        max_samples: Use only the first `max_samples` samples of the file.
        allow_media_outside_root: Let relative media paths lead outside media_root with "..".
    """

    path: str
    media_root: str | None = None
    task: str | None = None
    max_samples: int | None = None
    allow_media_outside_root: bool = False

    def resolved_media_root(self) -> Path:
        return Path(self.media_root) if self.media_root else Path(self.path).parent


@dataclass
class TrainConfig:
    """Knobs shared by GRPO and SFT.

    Args:
        model: Path or Hub id of the model to fine-tune (Qwen2.5-VL / Qwen3-VL; any directory
            `videofocus.models.load_model` reads, e.g. one made by `build_tiny_model`).
        output_dir: Where checkpoints, metrics.jsonl, TensorBoard logs and the final model go. The
            final model and processor are saved at its top level, so `from_pretrained(output_dir)`
            loads the result.
        datasets: The training data: a list of {path, media_root, task, max_samples} (DatasetConfig).
        single_task_batches: Draw every global batch from one task (as the papers' released code did);
            otherwise batches mix tasks. With GRPO's dynamic sampling, a step's refills come from further
            batches of its own task (the batches of other tasks passed over go to the next steps).
        protocol: Prompt/answer protocol of the tasks: "videofocus", "videochat_r1", "videochat_r1_nothink" or
            "videochat_r1_5" (training uses each release's training prompts, `tasks.spec`).
        video_fps: Frames per second sampled from each training video. Tracking samples are the exception
            (this and the frame limits do not apply to them): they are shown the frames nearest to their
            track's times, one frame per box (SPEC: 8 frames in and out).
        video_min_frames: Fewest frames per video (short videos are sampled denser).
        video_max_frames: Most frames per video (long videos are sampled sparser).
        video_min_pixels: Fewest pixels per video frame after resizing (small frames are upscaled).
        video_max_pixels: Most pixels per video frame after resizing.
        video_total_pixels: Pixel budget for all the frames of a video together (qwen-vl-utils'
            total_pixels, `videofocus.media.budget`): a video with many frames gets smaller ones.
            None: no budget, only the per-frame limits.
        cache_examples: Keep each sample's decoded frames and encoded model input in (CPU) memory after
            its first use, so later epochs skip decoding and encoding (a sample is sampled the same way
            every epoch). Costs frames x pixels x 12 bytes per sample (0.6 MB for 16 frames of 56x56, 150 MB
            for 64 frames of 448x448): for small data sets trained for many epochs, like the demo's.
        image_min_pixels: Fewest pixels per image after resizing.
        image_max_pixels: Most pixels per image after resizing.
        image_loop_views: Also train every image sample that has clue boxes on the view iterative
            perception shows it in round 2 after a correct round 1: the full image plus a crop of each
            box (`perception.views.ImageSource.view`), a training item (GRPO: a prompt) of its own next to
            the full image. Single-round GRPO only: multi-round rollouts show that view themselves.
        seed: Seed of the data order, the sampling and the model's random parts (LoRA init).
        learning_rate: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay.
        adam_beta1: AdamW β1.
        adam_beta2: AdamW β2.
        adam_epsilon: AdamW ε.
        max_grad_norm: Clip the global gradient norm to this value (0: no clipping).
        lr_scheduler: "linear" (decay to 0 at the last step), "cosine" or "constant".
        warmup_ratio: Share of the steps spent warming the learning rate up linearly from 0.
        num_train_epochs: Passes over the data (ignored when `max_steps` is set).
        max_steps: Optimisation steps to run in total (overrides `num_train_epochs`).
        per_device_batch_size: Sequences in one forward/backward pass on one device (GRPO: completions;
            SFT: samples).
        gradient_accumulation_steps: Micro-batches accumulated per optimisation step.
        gradient_checkpointing: Recompute activations in the backward pass (less memory, ~30% slower).
        freeze_vision_tower: Do not train the vision encoder blocks.
        freeze_projector: Do not train the projector (the merger(s) mapping vision features into the
            language model).
        use_lora: Train LoRA adapters on the language model instead of its weights (PEFT). The vision
            tower and projector must then be frozen. The final model is saved with the adapters merged
            in, and the adapters alone in output_dir/adapter.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator (scale = alpha / r).
        lora_dropout: Dropout on the LoRA path. SFT only: GRPO sets every dropout to 0 (so the rollout,
            old-policy, reference and loss forwards compute the same function).
        lora_target_modules: Names of the language-model linear layers that get adapters.
        dtype: Weight dtype at load: None (the dtype `mixed_precision` computes in: bfloat16 for bf16,
            float16 for fp16, float32 for "no"), "auto" (the checkpoint's), "float32", "bfloat16" or
            "float16". Trained parameters are never updated in half precision (AdamW steps smaller than a
            bf16 weight's resolution would vanish), so a half-precision dtype needs mixed_precision bf16
            or fp16: under DeepSpeed its bf16/fp16 mode keeps float32 master weights itself; otherwise (one
            device, DDP, FSDP) the trained parameters are upcast to float32 after loading, the frozen ones
            (vision tower, projector, LoRA's base weights, the reference model) stay in `dtype` to save
            memory, and autocast computes in mixed_precision. Outside DeepSpeed the final model is saved in
            the dtype it loaded in.
        mixed_precision: Autocast for forward passes: "no", "bf16" or "fp16" (GPU); also the default `dtype`.
        attn_implementation: Attention kernel: None (transformers' default), "sdpa", "eager" or
            "flash_attention_2".
        logging_steps: Print and write metrics every this many steps.
        save_steps: Write a checkpoint every this many steps (0: only at the end).
        save_total_limit: Keep only the newest this many checkpoints (None: keep all).
        tensorboard: Also write metrics as TensorBoard scalars under output_dir/tensorboard.
    """

    model: str = ""
    output_dir: str = ""
    datasets: list[DatasetConfig] = field(default_factory=list)
    single_task_batches: bool = False
    protocol: Literal["videofocus", "videochat_r1", "videochat_r1_nothink", "videochat_r1_5"] = "videofocus"
    video_fps: float = 2.0
    video_min_frames: int = 4
    video_max_frames: int = 768
    video_min_pixels: int = 128 * 28 * 28
    video_max_pixels: int = 768 * 28 * 28
    video_total_pixels: int | None = None
    cache_examples: bool = False
    image_min_pixels: int = 4 * 28 * 28
    image_max_pixels: int = 768 * 28 * 28
    image_loop_views: bool = False
    seed: int = 0
    learning_rate: float = 1e-6
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    lr_scheduler: Literal["linear", "cosine", "constant"] = "linear"
    warmup_ratio: float = 0.0
    num_train_epochs: int = 1
    max_steps: int | None = None
    per_device_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    freeze_vision_tower: bool = True
    freeze_projector: bool = True
    use_lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] | None = None
    logging_steps: int = 1
    save_steps: int = 0
    save_total_limit: int | None = 2
    tensorboard: bool = True

    def validate(self) -> None:
        """Checks that need no model and no data files; ConfigError naming the key otherwise."""
        _require(bool(self.model), "model", "set it to a model directory or Hub id")
        _require(bool(self.output_dir), "output_dir", "set it to the folder the run writes to")
        _require(bool(self.datasets), "datasets", "list at least one {path: ..., media_root: ...}")
        for name in ("per_device_batch_size", "gradient_accumulation_steps", "num_train_epochs", "logging_steps",
                     "video_min_frames", "lora_r"):
            _require(getattr(self, name) >= 1, name, "must be at least 1")
        _require(self.video_max_frames >= self.video_min_frames, "video_max_frames", "must be >= video_min_frames")
        _require(self.max_steps is None or self.max_steps >= 1, "max_steps", "must be at least 1 (or null)")
        _require(self.video_total_pixels is None or self.video_total_pixels >= 1, "video_total_pixels",
                 "must be at least 1 (or null: no total budget)")
        _require(self.save_steps >= 0, "save_steps", "must be >= 0 (0: save only at the end)")
        _require(self.learning_rate > 0, "learning_rate", "must be > 0")
        _require(0 <= self.warmup_ratio < 1, "warmup_ratio", "must be in [0, 1)")
        _require(self.use_lora is False or (self.freeze_vision_tower and self.freeze_projector), "use_lora",
                 "LoRA trains adapters only: set freeze_vision_tower=true and freeze_projector=true, or use_lora=false")
        _require(self.load_dtype not in HALF_DTYPES or self.mixed_precision != "no", "mixed_precision",
                 f"dtype={self.load_dtype} needs autocast (the trained parameters are kept in float32): set "
                 "mixed_precision=bf16, or dtype=float32")

    def validate_launch(self, distributed_type: str, *, zero_stage: int | None = None) -> None:
        """Checks that depend on how accelerate launched the run: `distributed_type` is its
        DistributedType ("NO", "MULTI_GPU", "FSDP", "DEEPSPEED", ...), `zero_stage` DeepSpeed's."""
        sharded = distributed_type == "FSDP" or (distributed_type == "DEEPSPEED" and zero_stage == 3)
        _require(not (self.use_lora and sharded), "use_lora",
                 f"LoRA is not supported with {_launch_name(distributed_type, zero_stage)} (the final save merges the "
                 "adapters into still-sharded weights): launch with DDP or DeepSpeed ZeRO-2 "
                 "(configs/accelerate_ddp.yaml, configs/accelerate_zero2.yaml), or set use_lora=false")

    @property
    def load_dtype(self) -> str:
        """The dtype the weights load in: `dtype`, or by default the one mixed_precision computes in."""
        return self.dtype or {"no": "float32", "bf16": "bfloat16", "fp16": "float16"}[self.mixed_precision]

    @property
    def vision_frozen(self) -> bool:
        return self.freeze_vision_tower and self.freeze_projector


@dataclass
class GRPOConfig(TrainConfig):
    """GRPO knobs (SPEC "GRPO"), on top of TrainConfig's.

    Batch arithmetic: each device processes `per_device_batch_size × gradient_accumulation_steps`
    completions per optimisation step, i.e. that number / `num_generations` prompts, each with its G
    completions on the same device. That number must be a multiple of `num_generations`.

    Args:
        num_generations: G, completions sampled per prompt.
        max_completion_length: Most tokens sampled per completion.
        temperature: Sampling temperature (log-probs in the loss are taken at the same temperature).
        top_p: Nucleus sampling threshold (1.0: off).
        top_k: Top-k sampling cut (0: off).
        generation_batch_size: Prompts per `generate` call (each with its G completions); None: all the
            prompts of the step on this device at once. Lower it to bound rollout memory.
        loss_type: "grpo" (mean over sequences of each one's token mean), "dapo" (token mean over the
            whole step) or "dr_grpo" (token sum over sequences × max_completion_length, no std scaling).
        epsilon: Lower clipping range: ratios below 1 − epsilon are clipped.
        epsilon_high: Upper clipping range (DAPO "clip higher", e.g. 0.28); None: same as epsilon.
        beta: KL coefficient against the reference model (k3 estimator). 0: no reference model is
            loaded. With LoRA the reference is the base model with the adapters disabled.
        num_iterations: Optimisation steps per generation batch (μ); from the second one on the
            importance ratios differ from 1 and the clipping acts.
        scale_rewards: Divide advantages by the group's reward std; None: yes, except for dr_grpo.
        advantage_epsilon: ε in A = (r − mean) / (std + ε).
        reward_weights: Weight per reward name (format, temporal_iou, box_iou, tracking, accuracy,
            caption_recall; "task.reward" for one task only), or a preset name ("videochat_r1": all 1,
            "videochat_r1_5": image clue boxes 0.2); None: all 1.
        judge_url: OpenAI-compatible chat endpoint of the LLM judge for caption_recall (caption samples
            need it); None: no judge.
        judge_model: Model name to ask at `judge_url`.
        dynamic_sampling: DAPO dynamic sampling: replace groups whose rewards are all equal (they carry
            no signal) by groups of further prompts, up to `dynamic_sampling_max_rounds` extra rollouts.
            `zero_spread_share` (groups of the step's first rollout without spread) is logged either way;
            with dynamic sampling also `zero_spread_share_kept` (those left in the loss) and `rollouts`.
        dynamic_sampling_max_rounds: Extra rollouts allowed per step to refill dropped groups; what is
            still missing after them is filled with the dropped groups.
        mask_truncated_completions: Leave completions that hit max_completion_length out of the loss.
        share_visual_features: With the vision tower and projector frozen, run the vision encoder once
            per prompt and reuse its output in the rollout and in every loss forward of its G
            completions. Off: one encoding per completion in each forward (as TRL does).
        rollout_rounds: k rounds of iterative perception per trajectory (train/itp.py): round j+1 sees
            the clip re-sampled around round j's own clue, and every round's completion enters the loss.
            1: single-round GRPO. A prompt then yields num_generations × rollout_rounds completions; a
            tracking sample, whose frames its track fixes, has nothing to re-sample and yields
            num_generations (one round) in batches it shares with the others.
        itp_discount: γ of the multi-round credit: round j earns its own clue reward plus the final
            answer's other rewards × γ^(k−j) (train/itp_credit.py).
        itp_key_ratio: Share of the frame budget placed inside the previous round's clue (as
            PerceptionOptions.key_ratio).
        itp_carry_history: Put the previous round's think/clue/answer into the next round's prompt.
        itp_early_answer_loss: Let a round before the last learn from its own answer tokens too. Off
            (default): when such a round writes a separate clue, its answer block is left out of the
            loss; the round's credit (its clue plus the final outcome) trains its think and clue, and
            the answer, given before the round saw the view its clue chose, is the last round's job.
        itp_answer_needs_evidence: A round whose video frames miss the sample's evidence (the
            annotated answer-visible interval, else the clue intervals) earns 0 accuracy, right or
            wrong, so that guesses on views without the evidence are not rewarded
            (train/evidence_gate.py). Needs rollout_rounds > 1: only the loop's rounds know their views.
    """

    num_generations: int = 8
    max_completion_length: int = 1024
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    generation_batch_size: int | None = None
    loss_type: Literal["grpo", "dapo", "dr_grpo"] = "grpo"
    epsilon: float = 0.2
    epsilon_high: float | None = None
    beta: float = 0.04
    num_iterations: int = 1
    scale_rewards: bool | None = None
    advantage_epsilon: float = 1e-4
    reward_weights: str | dict[str, float] | None = None
    judge_url: str | None = None
    judge_model: str | None = None
    dynamic_sampling: bool = False
    dynamic_sampling_max_rounds: int = 3
    mask_truncated_completions: bool = False
    share_visual_features: bool = True
    rollout_rounds: int = 1
    itp_discount: float = 1.0
    itp_key_ratio: float = 0.5
    itp_carry_history: bool = False
    itp_early_answer_loss: bool = False
    itp_answer_needs_evidence: bool = False

    def validate(self) -> None:
        super().validate()
        _require(self.loss_type in LOSS_TYPES, "loss_type", f"choose one of {', '.join(LOSS_TYPES)}")
        _require(self.num_generations >= 2, "num_generations", "GRPO compares completions: use at least 2")
        per_device = self.per_device_batch_size * self.gradient_accumulation_steps
        _require(per_device % self.num_generations == 0, "num_generations",
                 f"per_device_batch_size × gradient_accumulation_steps = {self.per_device_batch_size} × "
                 f"{self.gradient_accumulation_steps} = {per_device} completions per device and step is not a "
                 f"multiple of num_generations = {self.num_generations}; make it one (for example "
                 f"per_device_batch_size={self.num_generations})")
        _require(self.max_completion_length >= 1, "max_completion_length", "must be at least 1")
        _require(self.temperature > 0, "temperature", "must be > 0")
        _require(0 < self.top_p <= 1, "top_p", "must be in (0, 1]")
        _require(self.top_k >= 0, "top_k", "must be >= 0 (0: off)")
        _require(self.epsilon >= 0, "epsilon", "must be >= 0")
        _require(self.epsilon_high is None or self.epsilon_high >= 0, "epsilon_high", "must be >= 0")
        _require(self.beta >= 0, "beta", "must be >= 0")
        _require(self.num_iterations >= 1, "num_iterations", "must be at least 1")
        _require(self.generation_batch_size is None or self.generation_batch_size >= 1, "generation_batch_size",
                 "must be at least 1 (or null)")
        _require((self.judge_url is None) == (self.judge_model is None), "judge_model",
                 "set judge_url and judge_model together (or neither)")
        _require(self.dynamic_sampling_max_rounds >= 0, "dynamic_sampling_max_rounds", "must be >= 0")
        _require(self.rollout_rounds >= 1, "rollout_rounds", "must be at least 1 (1: single-round GRPO)")
        _require(per_device % (self.num_generations * self.rollout_rounds) == 0, "rollout_rounds",
                 f"each prompt yields num_generations × rollout_rounds = {self.num_generations * self.rollout_rounds} "
                 f"completions, which must divide per_device_batch_size × gradient_accumulation_steps = {per_device}")
        _require(0 <= self.itp_discount <= 1, "itp_discount", "must be in [0, 1]")
        _require(0 < self.itp_key_ratio <= 1, "itp_key_ratio", "must be in (0, 1]")
        _require(not self.image_loop_views or self.rollout_rounds == 1, "image_loop_views",
                 "multi-round rollouts show the image's round-2 view themselves: use image_loop_views with "
                 "rollout_rounds=1")
        _require(not self.itp_answer_needs_evidence or self.rollout_rounds > 1, "itp_answer_needs_evidence",
                 "needs rollout_rounds > 1 (single-round training does not track which frames a view shows)")
        for name in ("save_steps", "max_steps"):
            value = getattr(self, name)
            _require(not value or value % self.num_iterations == 0, name,
                     f"must be a multiple of num_iterations = {self.num_iterations} (one generation batch is "
                     f"used for num_iterations steps)")

    def validate_launch(self, distributed_type: str, *, zero_stage: int | None = None) -> None:
        super().validate_launch(distributed_type, zero_stage=zero_stage)
        _require(not (self.share_visual_features and self.vision_frozen and distributed_type == "FSDP"),
                 "share_visual_features", "FSDP cannot run the vision encoder on its own (its root-level "
                 "parameters stay sharded outside a full forward): set share_visual_features=false, or launch "
                 "with DDP or DeepSpeed")

    @property
    def upper_epsilon(self) -> float:
        return self.epsilon if self.epsilon_high is None else self.epsilon_high

    @property
    def scales_rewards(self) -> bool:
        return self.loss_type != "dr_grpo" if self.scale_rewards is None else self.scale_rewards


@dataclass
class SFTConfig(TrainConfig):
    """Supervised fine-tuning on the same data: the target is the sample's think/clue/answer written in
    its task's output format; the loss is the cross-entropy of the target tokens. Its learning rate
    default is SFT's usual 1e-5.

    loss_weighting: "token": the mean over all target tokens of the step (a long target weighs more,
        as in TRL's SFT); "sample": each sample's mean over its own tokens, averaged over the step's
        samples (every sample weighs the same: in a step that mixes ~230-token tracking answers with
        ~25-token grounding answers, "token" spends most of the gradient on tracking).
    loop_view_frames: Also train every video sample that has clue intervals on the two views iterative
        perception shows it at a budget of this many frames a round: round 1 (uniform frames) and round
        2 (re-sampled around the labelled clue, as the loop does after a correct round 1), each a
        training item of its own next to the `video_fps` view. None: the `video_fps` view only. A
        model that will answer through the loop then has seen its views (a small model trained at one
        frame spacing does not carry over to another). A round-1 view trains its target's clue only,
        when the clue has a block of its own: the think and answer name what its uniform frames may
        not show (train/token_masks.py).
    """

    learning_rate: float = 1e-5
    loss_weighting: Literal["token", "sample"] = "token"
    loop_view_frames: int | None = None

    def validate(self) -> None:
        super().validate()
        _require(self.loop_view_frames is None or self.loop_view_frames >= 2, "loop_view_frames",
                 f"a loop view needs at least 2 frames (one temporal pair), got {self.loop_view_frames}")


ConfigT = TypeVar("ConfigT", bound=TrainConfig)


def load_config(config_class: type[ConfigT], path: str | Path | None = None,
                overrides: list[str] | None = None) -> ConfigT:
    """Read a YAML recipe (a mapping of knob → value) and apply `key=value` overrides, then validate.

    Values are checked against the field types; an unknown key names the closest known one."""
    values: dict[str, Any] = {}
    source = "overrides"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a recipe is a mapping of key: value, got {type(loaded).__name__}")
        values.update(loaded or {})
    for override in overrides or []:
        key, sep, text = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {override!r} is not key=value")
        values[key.strip()] = yaml.safe_load(text) if text.strip() else None
    config = config_from_dict(config_class, values, source=source)
    config.validate()
    return config


def config_from_dict(config_class: type[ConfigT], values: dict[str, Any], *, source: str = "config") -> ConfigT:
    """Build `config_class` from plain values, converting and type-checking each one."""
    fields = {item.name: item for item in dataclasses.fields(config_class)}
    hints = typing.get_type_hints(config_class)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(fields))}"
            raise ConfigError(f"{source}: unknown key {key!r}{hint}")
        kwargs[key] = _convert(value, hints[key], key)
    return config_class(**kwargs)


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain values (for YAML/JSON): the inverse of `config_from_dict`."""
    return dataclasses.asdict(config)


def _launch_name(distributed_type: str, zero_stage: int | None) -> str:
    return f"DeepSpeed ZeRO-{zero_stage}" if distributed_type == "DEEPSPEED" else distributed_type


def _require(ok: bool, key: str, advice: str) -> None:
    if not ok:
        raise ConfigError(f"config key {key!r}: {advice}")


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """`value` as `annotation` (scalars, Optional, Literal, list[...], dict[str, ...], DatasetConfig)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (arg for arg in args if arg is not type(None)):
            try:
                return _convert(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"config key {key!r}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        return [_convert(item, args[0], f"{key}[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a mapping, got {value!r}")
        return {str(name): _convert(item, args[1], f"{key}.{name}") for name, item in value.items()}
    if annotation is DatasetConfig:
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: a dataset is a mapping with at least 'path', got {value!r}")
        return config_from_dict(DatasetConfig, value, source=f"config key {key!r}")
    return _scalar(value, annotation, key)


def _scalar(value: Any, annotation: type, key: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"unsupported config annotation {annotation!r} for {key}")
    raise ConfigError(f"config key {key!r}: expected {annotation.__name__}, got {value!r}")
