"""What every training recipe sets up and tears down the same way: accelerate, the checked data and its
resumable order, the policy, AdamW and its schedule, resumption, metrics, checkpoints and the final
save. The recipes (grpo.py, sft.py) keep only their own loop."""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import yaml

from videofocus.errors import ConfigError, VideoFocusError
from videofocus.models.saved_settings import PIXEL_KEYS, write_model_settings
from videofocus.storage import as_disk_full, reporting_full_disk
from videofocus.train.checkpoint import (TrainerState, latest_checkpoint, latest_intact_checkpoint, load_checkpoint,
                                         save_checkpoint)
from videofocus.train.config import TrainConfig, config_to_dict
from videofocus.train.data import (BatchOrder, BatchStream, Example, TrainSample, load_training_samples, make_example,
                                   with_loop_views)
from videofocus.train.logging import MetricsLogger
from videofocus.train.modeling import load_policy, save_pretrained, upcast_trained


@dataclass
class TrainingRun:
    """A run in progress. `step` counts optimisation steps done; `stream` yields this process's sample
    indices of each global batch."""

    config: TrainConfig
    accelerator: object
    model: torch.nn.Module          # prepared (possibly DDP/FSDP/DeepSpeed-wrapped)
    processor: object
    optimizer: torch.optim.Optimizer
    scheduler: object
    samples: list[TrainSample]
    stream: BatchStream
    total_steps: int
    step: int = 0
    logger: MetricsLogger | None = None
    save_dtype: torch.dtype | None = None   # the dtype the trained parameters loaded in, when upcast
    cached_examples: dict[int, Example] = field(default_factory=dict)   # on the CPU, with config.cache_examples

    @classmethod
    def start(cls, config: TrainConfig, *, samples_per_process: int, steps_per_batch: int = 1,
              resume: bool = False, disable_dropout: bool = False,
              loop_view_frames: int | None = None) -> TrainingRun:
        """Set everything up but resumption (see `begin`). Each global batch holds `samples_per_process`
        samples per process and serves `steps_per_batch` optimisation steps; with `loop_view_frames`
        or config.image_loop_views the samples include their loop views (`data.with_loop_views`). Data and
        config problems raise before any model is loaded."""
        from accelerate import Accelerator, DistributedDataParallelKwargs
        from accelerate.utils import set_seed

        has_checkpoint = latest_checkpoint(config.output_dir) is not None
        if resume and not has_checkpoint:
            raise ConfigError(f"--resume: no checkpoint under {config.output_dir}; run without --resume to start "
                              "afresh")
        if not resume and has_checkpoint:
            raise ConfigError(f"output_dir {config.output_dir} already holds checkpoints: pass --resume to continue "
                              "that run, or choose another output_dir")
        # A trainable vision module gets no gradient from text-only batches: DDP must look for unused parameters.
        handlers = [] if config.vision_frozen else [DistributedDataParallelKwargs(find_unused_parameters=True)]
        accelerator = Accelerator(gradient_accumulation_steps=config.gradient_accumulation_steps,
                                  mixed_precision=config.mixed_precision, step_scheduler_with_optimizer=False,
                                  kwargs_handlers=handlers)
        config.validate_launch(accelerator.distributed_type.value, zero_stage=_zero_stage(accelerator))
        _configure_deepspeed(accelerator, config)
        set_seed(config.seed)
        samples = load_training_samples(config.datasets)
        if loop_view_frames is not None or config.image_loop_views:
            samples = with_loop_views(samples, loop_view_frames, images=config.image_loop_views)
        order = BatchOrder([item.sample.task for item in samples], samples_per_process * accelerator.num_processes,
                           seed=config.seed, single_task_batches=config.single_task_batches)
        total_steps = config.max_steps or order.batches_per_epoch * config.num_train_epochs * steps_per_batch
        stream = BatchStream(order, num_epochs=None if config.max_steps else config.num_train_epochs,
                             process_index=accelerator.process_index, num_processes=accelerator.num_processes)

        model, processor = load_policy(config, accelerator.device)
        # DeepSpeed's bf16/fp16 modes keep float32 master weights of their own.
        save_dtype = None if accelerator.distributed_type == "DEEPSPEED" else upcast_trained(model)
        if disable_dropout:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate,
                                      betas=(config.adam_beta1, config.adam_beta2), eps=config.adam_epsilon,
                                      weight_decay=config.weight_decay)
        scheduler = _scheduler(config, optimizer, total_steps)
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
        return cls(config=config, accelerator=accelerator, model=model, processor=processor, optimizer=optimizer,
                   scheduler=scheduler, samples=samples, stream=stream, total_steps=total_steps, save_dtype=save_dtype)

    def begin(self, *, resume: bool) -> TrainingRun:
        """With `resume`, restore the latest checkpoint: weights, optimizer, schedule, every process's
        RNG and the data position. Call it after everything that draws random numbers is set up, so
        the run continues exactly where the checkpoint left it. Then open the metrics log."""
        config = self.config
        if resume:
            state = load_checkpoint(self.accelerator, self._intact_checkpoint())
            self.step, self.stream.position = state.step, state.position
        if self.accelerator.is_main_process:
            Path(config.output_dir).mkdir(parents=True, exist_ok=True)
            (Path(config.output_dir) / "train_config.yaml").write_text(
                yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8")
        self.logger = MetricsLogger(config.output_dir, total_steps=self.total_steps, start_step=self.step,
                                    enabled=self.accelerator.is_main_process, tensorboard=config.tensorboard)
        return self

    def _intact_checkpoint(self) -> Path:
        """The newest intact checkpoint, verified by the main process and shared with the others."""
        from accelerate.utils import broadcast_object_list

        found: list[str | VideoFocusError | None] = [None]
        if self.accelerator.is_main_process:
            try:
                found[0] = str(latest_intact_checkpoint(self.config.output_dir))
            except VideoFocusError as error:
                found[0] = error
        if self.accelerator.num_processes > 1:
            broadcast_object_list(found)
        if isinstance(found[0], VideoFocusError):
            raise found[0]
        return Path(found[0])

    def __enter__(self) -> TrainingRun:
        return self

    def __exit__(self, exc_type, error, traceback) -> None:
        with reporting_full_disk(self.config.output_dir):
            if self.logger is not None:
                self.logger.close()
        full = as_disk_full(error, self.config.output_dir) \
            if isinstance(error, Exception) and not isinstance(error, VideoFocusError) else None
        if full is not None:
            raise full from error

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    @contextmanager
    def generation_model(self):
        """The policy as a plain module in eval mode (so `generate` keeps its KV cache even with
        gradient checkpointing on) for `generate` and the vision encoder; under DeepSpeed ZeRO-3 its
        parameters are gathered once for the whole rollout instead of per layer and token."""
        gathered = nullcontext()
        if _zero_stage(self.accelerator) == 3:
            import deepspeed

            gathered = deepspeed.zero.GatheredParameters(list(self.model.parameters()))
        model = self.unwrapped
        model.eval()
        try:
            with gathered:
                yield model
        finally:
            model.train()

    def example(self, index: int) -> Example:
        """Sample `index` decoded and encoded on the accelerator's device (from memory when
        config.cache_examples has kept it)."""
        device = self.accelerator.device
        if not self.config.cache_examples:
            return make_example(self.samples[index], self.processor, self.config, device)
        if index not in self.cached_examples:
            self.cached_examples[index] = make_example(self.samples[index], self.processor, self.config, "cpu")
        cached = self.cached_examples[index]
        return replace(cached, inputs=cached.inputs.to(device))   # a copy: the cache keeps no encoder features

    def backward(self, loss: torch.Tensor) -> float | None:
        """Backward of one micro-batch's share of the step loss; on the last micro-batch of the step,
        clip and apply the update. Call inside `accelerator.accumulate(model)`. Returns the gradient
        norm when the update happened."""
        # The recipes already divide each micro-batch's loss by its share of the step; accelerate
        # divides by gradient_accumulation_steps again, which this undoes.
        self.accelerator.backward(loss * self.config.gradient_accumulation_steps)
        grad_norm = None
        if self.accelerator.sync_gradients:
            parameters = [p for p in self.model.parameters() if p.requires_grad]
            if self.config.max_grad_norm > 0:
                grad_norm = float(self.accelerator.clip_grad_norm_(parameters, self.config.max_grad_norm))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return grad_norm

    def end_step(self, metrics: dict[str, float]) -> None:
        """After an optimisation step: log (with the learning rate the step used), advance the schedule,
        and checkpoint when due."""
        metrics = {**metrics, "learning_rate": self.scheduler.get_last_lr()[0]}
        self.scheduler.step()
        self.step += 1
        if self.step % self.config.logging_steps == 0 or self.step == self.total_steps:
            self.logger.log(self.step, metrics)
        else:
            self.logger.advance(self.step)
        if self.config.save_steps and self.step % self.config.save_steps == 0:
            self.checkpoint()

    def checkpoint(self) -> Path:
        state = TrainerState(step=self.step, position=self.stream.position, config=config_to_dict(self.config))
        return save_checkpoint(self.accelerator, self.config.output_dir, state, keep=self.config.save_total_limit)

    def finish(self) -> Path:
        """Final checkpoint (unless one was just written), then the model and processor at output_dir."""
        output_dir = Path(self.config.output_dir)
        last = latest_checkpoint(output_dir)
        if last is None or last.name != f"step-{self.step:08d}":
            self.checkpoint()
        state_dict = self.accelerator.get_state_dict(self.model)
        if self.accelerator.is_main_process:
            save_pretrained(self.unwrapped, self.processor, output_dir, state_dict=state_dict, dtype=self.save_dtype)
            write_model_settings(output_dir, {key: getattr(self.config, key) for key in PIXEL_KEYS})
        self.accelerator.wait_for_everyone()
        return output_dir


def _zero_stage(accelerator) -> int | None:
    """DeepSpeed's ZeRO stage, None when the run is not under DeepSpeed."""
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    return None if plugin is None else plugin.zero_stage


def _configure_deepspeed(accelerator, config: TrainConfig) -> None:
    """DeepSpeed wants the micro-batch size when no dataloader is prepared; keep its accumulation and
    clipping equal to the recipe's (the loss normalisation relies on them)."""
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is None:
        return
    plugin.deepspeed_config.update(train_micro_batch_size_per_gpu=config.per_device_batch_size,
                                   gradient_accumulation_steps=config.gradient_accumulation_steps,
                                   gradient_clipping=config.max_grad_norm)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int):
    from transformers import get_scheduler

    name = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}[config.lr_scheduler]
    return get_scheduler(name, optimizer, num_warmup_steps=math.ceil(config.warmup_ratio * total_steps),
                         num_training_steps=total_steps)
