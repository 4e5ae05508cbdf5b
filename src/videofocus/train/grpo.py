"""GRPO for video MLLMs: the recipe. Read `train_grpo` top to bottom; the helpers below it are the
rollout (sample, score, normalise) and the optimisation step.

Video is carried right through: every completion keeps the prompt inputs its rollout saw (pixel
values, grids, second_per_grid_ts, mm_token_type_ids), and the old-policy, reference and training
forwards all receive exactly those. With the vision module frozen, its output is computed once per
prompt and shared by the G completions in every forward."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate.utils import gather_object

from videofocus.backends.base import BoxConvention, box_convention_for
from videofocus.parsing import Prediction, parse_completion
from videofocus.rewards import RewardResult, compute_rewards
from videofocus.schema import Sample
from videofocus.train.batch import Completion, ModelBatch, collate
from videofocus.train.config import GRPOConfig
from videofocus.train.data import Example
from videofocus.train.loss import clipped_objective, group_advantages, zero_spread_groups
from videofocus.train.modeling import load_reference, reference_context, vision_trainable
from videofocus.train.policy import completion_logprobs, encode_visual
from videofocus.train.rollout import SamplingParams, SpecialTokens, generate_completions
from videofocus.train.run import TrainingRun

RewardFn = Callable[[Sample, Prediction], RewardResult]


def train_grpo(config: GRPOConfig, *, resume: bool = False, reward_fn: RewardFn | None = None) -> Path:
    """Run GRPO as `config` says (continuing the latest checkpoint with `resume`); returns output_dir,
    where the final model and processor are saved. `reward_fn` replaces the reward library."""
    groups = config.per_device_batch_size * config.gradient_accumulation_steps // config.num_generations
    with TrainingRun.start(config, samples_per_process=groups // config.rollout_rounds,
                           steps_per_batch=config.num_iterations, resume=resume, disable_dropout=True) as run:
        reference = load_reference(config, run.accelerator.device)
        policy = policy_class(config).for_run(run, config, reference, reward_fn)
        run.begin(resume=resume)
        while run.step < run.total_steps:
            rollout = policy.rollout(groups)
            if rollout is None:  # the data is exhausted
                break
            micro_batches = policy.micro_batches(rollout)
            for _ in range(config.num_iterations):
                run.end_step({**rollout.metrics, **policy.optimise(micro_batches)})
        return run.finish()


def policy_class(config: GRPOConfig) -> type[Policy]:
    """`Policy`, or with rollout_rounds > 1 the multi-round one whose rollouts run the perception loop
    (train/itp.py; each of its rounds is one group of G completions, so `groups` above still counts
    groups)."""
    if config.rollout_rounds == 1:
        return Policy
    from videofocus.train.itp import IterativePolicy  # itp builds on this module

    return IterativePolicy


@dataclass
class Group:
    """One prompt's G completions and their rewards."""

    example: Example
    completions: list[Completion]
    rewards: list[RewardResult]

    @property
    def totals(self) -> torch.Tensor:
        return torch.tensor([reward.total for reward in self.rewards], dtype=torch.float32)


@dataclass
class Rollout:
    groups: list[Group]
    advantages: torch.Tensor      # (N,) one per completion, group by group
    metrics: dict[str, float]

    @property
    def completions(self) -> list[Completion]:
        return [completion for group in self.groups for completion in group.completions]


@dataclass
class MicroBatch:
    batch: ModelBatch
    mask: torch.Tensor            # (B, C) completion tokens that enter the loss
    advantages: torch.Tensor      # (B,)
    old_logps: torch.Tensor | None
    ref_logps: torch.Tensor | None


@dataclass
class Policy:
    """The GRPO-specific state of a run: sampling, scoring and the loss settings."""

    run: TrainingRun
    config: GRPOConfig
    reference: torch.nn.Module | None
    reward_fn: RewardFn
    tokens: SpecialTokens
    box_convention: BoxConvention
    share_features: bool

    @classmethod
    def for_run(cls, run: TrainingRun, config: GRPOConfig, reference, reward_fn: RewardFn | None) -> Policy:
        model = run.unwrapped
        return cls(run=run, config=config, reference=reference, reward_fn=reward_fn or library_rewards(config),
                   tokens=SpecialTokens.from_tokenizer(run.processor.tokenizer, model.generation_config),
                   box_convention=box_convention_for(model.config.model_type),
                   share_features=config.share_visual_features and not vision_trainable(model))

    # ----- rollout --------------------------------------------------------------------------------

    def rollout(self, groups_needed: int) -> Rollout | None:
        """Sample and score this process's groups for one generation batch. With dynamic sampling,
        groups whose rewards are all equal are replaced by groups of further prompts (all processes
        run the same number of extra rounds, so their data stays in step), with single_task_batches
        from batches of the step's task."""
        max_rounds = 1 + (self.config.dynamic_sampling_max_rounds if self.config.dynamic_sampling else 0)
        kept, dropped, first_round_flat, rounds, task = [], [], None, 0, None
        while rounds < max_rounds:
            indices = self.run.stream.next(task=task)   # the same on every process: all stop together
            if indices is None:
                break
            if self.config.single_task_batches:
                task = self.run.samples[indices[0]].sample.task
            rounds += 1
            groups = self.sample_groups([self.run.example(i) for i in indices])
            flat = zero_spread_groups(torch.cat([group.totals for group in groups]), self.config.num_generations)
            first_round_flat = first_round_flat if first_round_flat is not None else flat.tolist()
            kept += [group for group, is_flat in zip(groups, flat) if not is_flat]
            dropped += [group for group, is_flat in zip(groups, flat) if is_flat]
            if not self.config.dynamic_sampling or self.on_every_process(len(kept) >= groups_needed):
                break
        if rounds == 0:
            return None
        chosen = (kept + dropped)[:groups_needed] if self.config.dynamic_sampling else groups
        totals = torch.cat([group.totals for group in chosen])
        advantages = group_advantages(totals, self.config.num_generations, scale=self.config.scales_rewards,
                                      eps=self.config.advantage_epsilon)
        metrics = self._rollout_metrics(chosen, first_round_flat)
        if self.config.dynamic_sampling:
            flat = zero_spread_groups(totals, self.config.num_generations).float().tolist()
            metrics.update(rollouts=rounds, zero_spread_share_kept=statistics.fmean(gather_object(flat)))
        return Rollout(groups=chosen, advantages=advantages, metrics=metrics)

    def sample_groups(self, examples: list[Example]) -> list[Group]:
        """Generate G completions for each example (in chunks of generation_batch_size) and score them."""
        with self.run.generation_model() as model, self.run.accelerator.autocast():
            return self.single_round_groups(model, examples)

    def single_round_groups(self, model: torch.nn.Module, examples: list[Example]) -> list[Group]:
        """`sample_groups` with `model`, the generation model, already prepared."""
        if not examples:
            return []
        params = SamplingParams(num_generations=self.config.num_generations, temperature=self.config.temperature,
                                max_completion_length=self.config.max_completion_length, top_p=self.config.top_p,
                                top_k=self.config.top_k)
        chunk = self.config.generation_batch_size or len(examples)
        completions: list[Completion] = []
        if self.share_features:
            encode_visual(model, [example.inputs for example in examples])
        for start in range(0, len(examples), chunk):
            completions += generate_completions(model, [e.inputs for e in examples[start:start + chunk]], params,
                                                self.tokens, encode_per_completion=not self.share_features,
                                                first_group=start)
        texts = self.run.processor.tokenizer.batch_decode([c.ids for c in completions], skip_special_tokens=True)
        groups = []
        for index, example in enumerate(examples):
            members = range(index * self.config.num_generations, (index + 1) * self.config.num_generations)
            rewards = [self.reward_fn(example.item.sample,
                                      example.in_sample_units(parse_completion(texts[i]), self.box_convention))
                       for i in members]
            groups.append(Group(example=example, completions=[completions[i] for i in members], rewards=rewards))
        return groups

    def on_every_process(self, holds: bool) -> bool:
        """Whether `holds` is true on every process (all processes must call this together)."""
        failures = torch.tensor([0 if holds else 1], device=self.run.accelerator.device)
        return self.run.accelerator.reduce(failures, reduction="sum").item() == 0

    def _rollout_metrics(self, groups: list[Group], first_round_flat: list[bool]) -> dict[str, float]:
        rewards = [reward for group in groups for reward in group.rewards]
        completions = [c for group in groups for c in group.completions]
        records = gather_object([(reward.values, reward.total, len(c.ids), c.truncated)
                                 for reward, c in zip(rewards, completions)])
        flat = gather_object(first_round_flat)
        metrics = {"reward": statistics.fmean(total for _, total, _, _ in records),
                   "reward_std": statistics.pstdev([total for _, total, _, _ in records]),
                   "completion_length": statistics.fmean(length for _, _, length, _ in records),
                   "truncated_share": statistics.fmean(float(truncated) for *_, truncated in records),
                   "zero_spread_share": statistics.fmean(float(item) for item in flat)}
        for name in sorted({name for values, *_ in records for name in values}):
            earned = [values[name] for values, *_ in records if name in values]
            metrics[f"rewards/{name}/mean"] = statistics.fmean(earned)
            metrics[f"rewards/{name}/std"] = statistics.pstdev(earned)
        return metrics

    # ----- loss -------------------------------------------------------------------------------------

    def micro_batches(self, rollout: Rollout) -> list[MicroBatch]:
        """Cut the rollout into gradient-accumulation micro-batches and attach the log-probs that stay
        fixed over the `num_iterations` steps: the old policy's (only needed when num_iterations > 1)
        and the reference's (only when beta > 0)."""
        completions, size = rollout.completions, self.config.per_device_batch_size
        micro = []
        for start in range(0, len(completions), size):
            part = completions[start:start + size]
            batch = collate([c.prompt for c in part], [c.ids for c in part], pad_token_id=self.tokens.pad,
                            use_features=self.share_features, trained_tokens=[c.trained_tokens for c in part])
            mask = batch.completion_mask.float()
            if self.config.mask_truncated_completions:
                mask = mask * torch.tensor([0.0 if c.truncated else 1.0 for c in part], device=mask.device)[:, None]
            micro.append(MicroBatch(batch=batch, mask=mask, advantages=rollout.advantages[start:start + size].to(mask.device),
                                    old_logps=self._fixed_logps(self.run.model, batch) if self.config.num_iterations > 1 else None,
                                    ref_logps=self._reference_logps(batch) if self.config.beta != 0.0 else None))
        return micro

    @torch.no_grad()
    def _fixed_logps(self, model: torch.nn.Module, batch: ModelBatch) -> torch.Tensor:
        with self.run.accelerator.autocast():
            return completion_logprobs(model, batch, temperature=self.config.temperature)[0]

    def _reference_logps(self, batch: ModelBatch) -> torch.Tensor:
        with reference_context(self.run.unwrapped, self.reference) as reference:
            return self._fixed_logps(reference, batch)

    def optimise(self, micro_batches: list[MicroBatch]) -> dict[str, float]:
        """One optimisation step over the micro-batches; returns its metrics (all processes)."""
        accelerator, config = self.run.accelerator, self.config
        local_tokens = sum(micro.mask.sum() for micro in micro_batches)
        tokens = accelerator.reduce(local_tokens.detach().clone(), reduction="sum").item() / accelerator.num_processes
        sequences = sum(len(micro.batch) for micro in micro_batches)
        sums = torch.zeros(5, device=accelerator.device)   # loss, kl, clipped, entropy, tokens
        grad_norm = None
        for micro in micro_batches:
            with accelerator.accumulate(self.run.model):
                logps, entropy = completion_logprobs(self.run.model, micro.batch, temperature=config.temperature,
                                                     with_entropy=True)
                old = micro.old_logps if micro.old_logps is not None else logps.detach()
                terms = clipped_objective(logps, old, micro.advantages, micro.mask, loss_type=config.loss_type,
                                          epsilon_low=config.epsilon, epsilon_high=config.upper_epsilon,
                                          beta=config.beta, ref_logps=micro.ref_logps, num_sequences=sequences,
                                          num_tokens=tokens, max_completion_length=config.max_completion_length)
                norm = self.run.backward(terms.loss)
                grad_norm = grad_norm if norm is None else norm
            kl = terms.kl if terms.kl is not None else torch.zeros_like(logps)
            sums += torch.stack([terms.loss.detach(), (kl * micro.mask).sum(), (terms.clipped * micro.mask).sum(),
                                 (entropy * micro.mask).sum(), micro.mask.sum()])
        total = accelerator.reduce(sums, reduction="sum")
        token_count = total[4].clamp(min=1.0)
        metrics = {"loss": (total[0] / accelerator.num_processes).item(), "clip_fraction": (total[2] / token_count).item(),
                   "entropy": (total[3] / token_count).item(), "grad_norm": grad_norm}
        if config.beta != 0.0:
            metrics["kl"] = (total[1] / token_count).item()
        return metrics


def library_rewards(config: GRPOConfig) -> RewardFn:
    """The reward library with the config's weights, protocol and judge (caption samples need one)."""
    judge = None
    if config.judge_url is not None:
        from videofocus.judge import CaptionJudge

        judge = CaptionJudge(config.judge_url, config.judge_model)

    def score(sample: Sample, prediction: Prediction) -> RewardResult:
        return compute_rewards(sample, prediction, weights=config.reward_weights, judge=judge,
                               protocol=config.protocol)

    return score
