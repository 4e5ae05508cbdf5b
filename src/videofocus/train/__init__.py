"""Training recipes on accelerate: GRPO with video done right, and the supervised baseline.

    from videofocus.train import GRPOConfig, load_config, train_grpo
    train_grpo(load_config(GRPOConfig, "configs/tiny_demo_grpo.yaml", ["max_steps=10"]))

Recipes: grpo.py, sft.py. Components: config (knobs), data (samples, batch order, inputs), batch
(the prompt/completion units and padding), rollout (sampling), policy (log-prob forward, shared
vision encoding), loss (advantages, clipped objective, KL), targets (SFT targets), checkpoint,
logging, modeling (freezing, LoRA, reference), run (what both recipes set up)."""

from videofocus.train.config import DatasetConfig, GRPOConfig, SFTConfig, TrainConfig, load_config
from videofocus.train.grpo import train_grpo
from videofocus.train.sft import train_sft

__all__ = ["DatasetConfig", "GRPOConfig", "SFTConfig", "TrainConfig", "load_config", "train_grpo", "train_sft"]
