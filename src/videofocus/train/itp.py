"""Multi-round GRPO rollouts: each of a sample's G trajectories runs k rounds of the perception loop
with the policy under training, and every round's completion enters the loss with the visual input
that round really saw.

The rollout IS the evaluation loop (`perception.perceive_batch`): the policy sits behind the loop's
`Backend` protocol (`RolloutBackend`), so round 1 shows the uniform clip (or the full image), round
j+1 the clip re-sampled densely around round j's OWN clue (or the image plus crops of its boxes),
and an unreadable or out-of-range clue falls back to round 1's view, exactly as at test time.
The backend samples (it is never `deterministic`, so the loop asks the model every round), encodes
each distinct prompt once (the G round-1 prompts of a sample are one), and keeps each sampled
`Completion` with the `PromptInputs` it was sampled from; those are what the loss forwards read.

Credit and advantages: `train.itp_credit` (round j: its own clue reward plus the final answer's
outcome, discounted; advantages normalised per round index, one GRPO group per round of a sample).

Costs against single-round GRPO with the same prompts: k times the generation, and the visual
inputs of every round are held until the loss (round 1's once per sample, later rounds' once per
trajectory). The batch arithmetic counts completions: a prompt yields num_generations ×
rollout_rounds of them.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
from accelerate.utils import gather_object

from videofocus.backends.base import BoxConvention, Generation
from videofocus.models.inputs import Prompt, encode_prompts
from videofocus.parsing import Prediction, parse_completion
from videofocus.perception import PerceptionOptions, PerceptionResult, RoundResult, perceive_batch
from videofocus.perception.result import View
from videofocus.perception.views import track_times
from videofocus.rewards import RewardResult, resolve_weights
from videofocus.schema import Sample
from videofocus.train.batch import Completion, PromptInputs
from videofocus.train.config import GRPOConfig
from videofocus.train.data import Example, TrainSample
from videofocus.train.evidence_gate import withhold_unseen_accuracy
from videofocus.train.grpo import Group, Policy, RewardFn
from videofocus.train.itp_credit import round_credits
from videofocus.train.policy import encode_visual
from videofocus.train.rollout import SamplingParams, SpecialTokens, generate_completions
from videofocus.train.token_masks import without_blocks


# Revises one round's rewards by what the round's view showed.
RoundGate = Callable[[Sample, View, RewardResult], RewardResult]


def perception_options(config: GRPOConfig) -> PerceptionOptions:
    """The perception loop as the training config asks for it: round 1 samples the video as
    single-round training does (video_fps within video_min_frames..video_max_frames), every round
    asked with the protocol's training prompt (the one its format reward checks)."""
    return PerceptionOptions(rounds=config.rollout_rounds, fps=config.video_fps, min_frames=config.video_min_frames,
                             max_frames=config.video_max_frames, key_ratio=config.itp_key_ratio,
                             carry_history=config.itp_carry_history, protocol=config.protocol, stage="train")


class RolloutBackend:
    """The policy behind the perception loop's `Backend` protocol, for one rollout.

    `generate` samples one completion per prompt and records it: `calls[c][i]` is the Completion of
    prompt i of call c. Identical prompts (same text and pixels) share one `PromptInputs`, so their
    visual input is encoded once. `model` is the unwrapped policy, called under the caller's
    autocast; with `share_features` the vision encoder runs once per distinct prompt and the loss
    forwards reuse its output."""

    deterministic = False

    def __init__(self, model: torch.nn.Module, processor, config: GRPOConfig, tokens: SpecialTokens,
                 box_convention: BoxConvention, *, share_features: bool, device: torch.device | str,
                 with_logprobs: bool = False):
        self.model, self.processor, self.config, self.tokens = model, processor, config, tokens
        self.box_convention, self.share_features, self.device = box_convention, share_features, device
        self.with_logprobs = with_logprobs
        self.params = SamplingParams(num_generations=1, max_completion_length=config.max_completion_length,
                                     temperature=config.temperature, top_p=config.top_p, top_k=config.top_k)
        self.calls: list[list[Completion]] = []
        self._encoded: dict[tuple, PromptInputs] = {}

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        inputs = [self._encode(prompt) for prompt in prompts]
        chunk = (self.config.generation_batch_size or len(inputs)) * self.config.num_generations
        completions: list[Completion] = []
        for start in range(0, len(inputs), chunk):
            completions += generate_completions(self.model, inputs[start:start + chunk], self.params, self.tokens,
                                                with_logprobs=self.with_logprobs)
        self.calls.append(completions)
        texts = self.processor.tokenizer.batch_decode([c.ids for c in completions], skip_special_tokens=True)
        return [Generation(text=text, prompt_tokens=len(c.prompt.input_ids), completion_tokens=len(c.ids),
                           image_sizes=self._seen_image_sizes(c.prompt))
                for text, c in zip(texts, completions)]

    def _encode(self, prompt: Prompt) -> PromptInputs:
        key = _prompt_key(prompt)
        if key not in self._encoded:
            config = self.config
            encoded = encode_prompts(self.processor, [prompt], video_min_pixels=config.video_min_pixels,
                                     video_max_pixels=config.video_max_pixels,
                                     video_total_pixels=config.video_total_pixels,
                                     image_min_pixels=config.image_min_pixels, image_max_pixels=config.image_max_pixels)
            inputs = PromptInputs.from_encoded(encoded).to(self.device)
            if self.share_features:
                encode_visual(self.model, [inputs])
            self._encoded[key] = inputs
        return self._encoded[key]

    def _seen_image_sizes(self, inputs: PromptInputs) -> tuple[tuple[int, int], ...]:
        """(width, height) of each image as the model saw it, from its patch grid."""
        grids = inputs.visual.get("image_grid_thw")
        patch = self.processor.image_processor.patch_size
        return tuple((w * patch, h * patch) for _, h, w in grids.tolist()) if grids is not None else ()


def _prompt_key(prompt: Prompt) -> tuple:
    """What makes two prompts the same model input: the text, the clip's video and frames, the images'
    pixels (by digest, so the key stays small)."""
    video = None if prompt.video is None else (prompt.video.info.path, prompt.video.indices.tobytes())
    images = tuple((image.size, image.mode, hashlib.blake2b(image.tobytes(), digest_size=16).digest())
                   for image in prompt.images)
    return prompt.system, prompt.text, prompt.assistant_prefix, video, images


@dataclass
class Trajectory:
    """One of a sample's G runs through the rounds: what each round showed and said (`perception`),
    the completions the loss consumes, one per round, and what each round earned on its own."""

    perception: PerceptionResult
    completions: list[Completion]
    rewards: list[RewardResult]


def sample_trajectories(backend: RolloutBackend, items: Sequence[TrainSample], options: PerceptionOptions,
                        reward_fn: RewardFn, *, gate: RoundGate | None = None,
                        on_every_process: Callable[[bool], bool] = bool) -> list[list[Trajectory]]:
    """Run `options.rounds` rounds of perception G times per item (G = the backend's
    num_generations) and score every round; returns, per item, its G trajectories. `gate` may
    revise a round's rewards by what its view showed (`evidence_gate.withhold_unseen_accuracy`).

    `on_every_process` maps this process's "every round of every trajectory was sampled" to whether
    that holds on all processes, so that they all raise together instead of the others waiting for
    the failed one at their next collective."""
    group_size = backend.config.num_generations
    samples = [_with_resolved_media(item) for item in items for _ in range(group_size)]
    results = perceive_batch(samples, backend, options)
    complete = not samples or (len(backend.calls) == options.rounds
                               and all(len(call) == len(samples) for call in backend.calls))
    if not on_every_process(complete):
        raise RuntimeError("the perception loop skipped rounds (on this or another process); training needs every "
                           "round of every trajectory")
    trajectories = []
    for index, (sample, result) in enumerate(zip(samples, results)):
        completions = [call[index] for call in backend.calls]
        rewards = [reward_fn(sample, _prediction_in_sample_units(round_, sample)) for round_ in result.rounds]
        if gate is not None:
            rewards = [gate(sample, round_.view, reward) for round_, reward in zip(result.rounds, rewards)]
        trajectories.append(Trajectory(perception=result, completions=completions, rewards=rewards))
    return [trajectories[start:start + group_size] for start in range(0, len(trajectories), group_size)]


def _with_resolved_media(item: TrainSample) -> Sample:
    """The sample with its media path resolved, so the loop needs no media root."""
    sample = item.sample
    return sample.model_copy(update={"media": sample.media.model_copy(update={"path": str(item.media_path)})})


def _prediction_in_sample_units(round_: RoundResult, sample: Sample) -> Prediction:
    """A round's completion parsed, with image boxes in original pixels (the loop converted them)."""
    prediction = parse_completion(round_.output)
    return replace(prediction, boxes=round_.boxes) if sample.media.type == "image" else prediction


@dataclass
class RoundGroup(Group):
    """Round `round` (1-based) of a sample's G trajectories: one GRPO group. `example` describes the
    sample; each completion carries the visual input of its own round. `rewards[i].total` is the
    credit of trajectory i's round (`itp_credit`), `rewards[i].values` and `own_totals[i]` what that
    round earned on its own; `fallbacks[i]` whether its view fell back to uniform because the previous
    round's clue was unusable."""

    round: int = 1
    own_totals: list[float] = field(default_factory=list)
    fallbacks: list[bool] = field(default_factory=list)


def has_fixed_frames(sample: Sample) -> bool:
    """Whether the sample's annotation fixes the frames its answer is about (a tracking track: one box per
    track frame), so the perception loop has nothing to re-sample for it."""
    return bool(track_times(sample))


def _as_round_one(group: Group, *, group_index: int) -> RoundGroup:
    """A single-round group as the only round of its sample (its credit is its own reward)."""
    for completion in group.completions:
        completion.group = group_index
    return RoundGroup(example=group.example, completions=group.completions, rewards=group.rewards, round=1,
                      own_totals=[reward.total for reward in group.rewards],
                      fallbacks=[False] * len(group.completions))


class IterativePolicy(Policy):
    """GRPO whose rollouts run the perception loop (`rollout_rounds` > 1). Only the sampling and the
    scoring differ from `Policy`; advantages, micro-batches and the loss are the same code, since
    each round of each sample is an ordinary group of G completions."""

    def sample_groups(self, examples: list[Example]) -> list[Group]:
        """Run the rounds for every example's G trajectories and return one group per (example,
        round), example by example, rounds in order. Only each example's `item` is used: the loop
        decodes and encodes its own round-1 view (the trainer's single-round encoding of the example
        goes unused, one encoding per sample and step). An example whose frames its annotation fixes
        (`has_fixed_frames`) has nothing to re-sample: it is sampled as single-round GRPO samples it,
        one group (its round 1), so that batches may mix it with the others."""
        fixed = [has_fixed_frames(example.item.sample) for example in examples]
        looped_examples = [example for example, is_fixed in zip(examples, fixed) if not is_fixed]
        with self.run.generation_model() as model, self.run.accelerator.autocast():
            single = iter(self.single_round_groups(model, [e for e, is_fixed in zip(examples, fixed) if is_fixed]))
            backend = RolloutBackend(model, self.run.processor, self.config, self.tokens, self.box_convention,
                                     share_features=self.share_features, device=self.run.accelerator.device)
            looped = iter(sample_trajectories(backend, [example.item for example in looped_examples],
                                              perception_options(self.config), self.reward_fn, gate=self._gate(),
                                              on_every_process=self.on_every_process))
        groups: list[Group] = []
        for example, is_fixed in zip(examples, fixed):
            if is_fixed:
                groups.append(_as_round_one(next(single), group_index=len(groups)))
            else:
                groups += self._round_groups(example, next(looped), first_index=len(groups))
        return groups

    def _gate(self) -> RoundGate | None:
        if not self.config.itp_answer_needs_evidence:
            return None
        weights = resolve_weights(self.config.reward_weights)
        return lambda sample, view, result: withhold_unseen_accuracy(sample, view, result, weights)

    def _round_groups(self, example: Example, trajectories: list[Trajectory], *, first_index: int) -> list[RoundGroup]:
        """One group per round of an example's G trajectories, each round credited (`itp_credit`)."""
        weights = resolve_weights(self.config.reward_weights)
        credits = [round_credits(t.rewards, weights, example.item.sample.task, discount=self.config.itp_discount)
                   for t in trajectories]
        groups = []
        for index in range(self.config.rollout_rounds):
            completions = [t.completions[index] for t in trajectories]
            for completion in completions:
                completion.group = first_index + index
                if index < self.config.rollout_rounds - 1 and not self.config.itp_early_answer_loss:
                    completion.trained_tokens = without_blocks(completion.ids, self.run.processor.tokenizer,
                                                               ["answer"])
            own = [t.rewards[index] for t in trajectories]
            groups.append(RoundGroup(
                example=example, completions=completions, round=index + 1,
                rewards=[RewardResult(values=result.values, total=credit[index], prediction=result.prediction)
                         for result, credit in zip(own, credits)],
                own_totals=[result.total for result in own],
                fallbacks=[t.perception.rounds[index].fallback is not None for t in trajectories]))
        return groups

    def _rollout_metrics(self, groups: list[Group], first_round_flat: list[bool]) -> dict[str, float]:
        """The single-round metrics (over all rounds' completions; `reward` is the mean credit) plus,
        per round j, `itp/round{j}/reward` (the round's own total), `itp/round{j}/<reward name>` and,
        from round 2, `itp/round{j}/fallback_share`."""
        metrics = super()._rollout_metrics(groups, first_round_flat)
        records = gather_object([(group.round, reward.values, own, fallback) for group in groups
                                 for reward, own, fallback in zip(group.rewards, group.own_totals, group.fallbacks)])
        for number in sorted({record[0] for record in records}):
            rows = [record for record in records if record[0] == number]
            metrics[f"itp/round{number}/reward"] = statistics.fmean(total for _, _, total, _ in rows)
            for name in sorted({name for _, values, _, _ in rows for name in values}):
                metrics[f"itp/round{number}/{name}"] = statistics.fmean(
                    values[name] for _, values, _, _ in rows if name in values)
            if number > 1:
                metrics[f"itp/round{number}/fallback_share"] = statistics.fmean(float(f) for *_, f in rows)
        return metrics
