"""Credit assignment for multi-round (iterative perception) rollouts.

A trajectory is k rounds of one sample: round 1 sees the uniform clip, round j+1 the clip
re-sampled around round j's own clue, and the final answer is round k's. What should round j be
rewarded for?

* Its own clue: the clue is what round j contributes to the trajectory (it chooses the next view),
  and it can be scored on its own (temporal IoU, box IoU, tracking IoU against the annotation).
* The outcome of the trajectory: the final round's answer accuracy and format (and any other reward
  that is not a clue reward), discounted by γ per round between round j and the final one, since
  round j influences the final answer only through the views it chose.

    r_j = clue_j + γ^(k−j) · (total_k − clue_k)

where `clue_j` is the weighted sum of round j's clue rewards and `total_k` the final round's
weighted total. The final round's credit is its own total (r_k = total_k): with k = 1 this is
single-round GRPO exactly. A sample without a clue annotation earns no clue reward, and every
round gets the discounted outcome only.

What the credit trains: every token of the final round's completion, and the think and clue of the
rounds before it. Their answer block is left out of the loss (`GRPOConfig.itp_early_answer_loss`):
it was given before the round saw the view its clue chose, so crediting it with the final outcome
rewards guesses (benchmarks/RESULTS.md, runs H and J).

Advantages are then normalised per round index: round j's credits of the G trajectories of a sample
form one GRPO group (`train.itp` builds one group per round). The alternatives, and why not:

* Pooled: one group of k·G credits per sample. Later rounds see better views and earn more, so
  pooling would give round 1 negative advantages for being early, not for being worse.
* Trajectory return: one advantage per trajectory shared by all its rounds (as multi-turn agent
  trainers do). It cannot tell a good clue in round 1 from a lucky final answer; the per-round clue
  term is what makes the clue worth improving.
* Own outcome only (r_j = round j's own total, rounds independent): round 1 of a brief-evidence
  question cannot see the answer, so its own accuracy is noise; crediting it with the outcome its
  clue led to is the point of training the loop.

Round 1 of a group shares one prompt, so its baseline is exactly GRPO's. From round 2 on the G
trajectories saw different views; the group mean is then the baseline of "this round of this
sample", a standard approximation in multi-turn GRPO."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from videofocus.rewards import RewardResult, reward_weight

# Rewards that score a round's clue (what steers the next round's view); everything else is outcome.
CLUE_REWARDS = frozenset({"temporal_iou", "box_iou", "tracking"})


def clue_reward(result: RewardResult, weights: Mapping[str, float], task: str) -> float:
    """The weighted sum of the clue rewards in `result` (0.0 when the sample has no clue)."""
    return sum(reward_weight(weights, task, name) * value for name, value in result.values.items()
               if name in CLUE_REWARDS)


def round_credits(rounds: Sequence[RewardResult], weights: Mapping[str, float], task: str, *,
                  discount: float) -> list[float]:
    """The credit r_j of each round of one trajectory (see the module docstring): its own clue
    reward plus the final round's outcome reward discounted by `discount` per round to the end.

    `rounds` are the rewards each round's completion earned on its own (round 1 first); `weights`
    the resolved reward weights (`rewards.resolve_weights`) the totals were computed with."""
    if not rounds:
        raise ValueError("a trajectory has at least one round")
    final = rounds[-1]
    outcome = final.total - clue_reward(final, weights, task)
    last = len(rounds) - 1
    return [clue_reward(result, weights, task) + discount ** (last - index) * outcome
            for index, result in enumerate(rounds)]
