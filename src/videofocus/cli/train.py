"""`videofocus train` (GRPO) and `videofocus sft`: run a YAML recipe, with `key=value` overrides.

On several GPUs or machines, start the same command under accelerate, e.g.
`accelerate launch --config_file configs/accelerate_zero2.yaml $(which videofocus) train --config …`."""

from __future__ import annotations

from pathlib import Path

import typer

from videofocus.cli.app import app, console, stop_on_ctrl_c, this_command

CONFIG_HELP = "YAML recipe (see configs/); every key is a field of the config dataclass."
OVERRIDES_HELP = "key=value overrides of the recipe, e.g. learning_rate=2e-6 max_steps=100."
RESUME_HELP = "Continue from the latest checkpoint in output_dir (exactly where it stopped)."


@app.command()
def train(
    config: Path = typer.Option(..., "--config", "-c", help=CONFIG_HELP),
    overrides: list[str] | None = typer.Argument(None, help=OVERRIDES_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
) -> None:
    """GRPO reinforcement fine-tuning with the task rewards (videofocus.train.GRPOConfig)."""
    from videofocus.train.config import GRPOConfig, load_config
    from videofocus.train.grpo import train_grpo

    recipe = load_config(GRPOConfig, config, overrides)
    with stop_on_ctrl_c(lambda: _where_training_stopped(recipe.output_dir)):
        output = train_grpo(recipe, resume=resume)
    console.print(f"trained model and processor saved in {output}", highlight=False)


@app.command()
def sft(
    config: Path = typer.Option(..., "--config", "-c", help=CONFIG_HELP),
    overrides: list[str] | None = typer.Argument(None, help=OVERRIDES_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
) -> None:
    """Supervised fine-tuning on the samples' think/clue/answer (videofocus.train.SFTConfig)."""
    from videofocus.train.config import SFTConfig, load_config
    from videofocus.train.sft import train_sft

    recipe = load_config(SFTConfig, config, overrides)
    with stop_on_ctrl_c(lambda: _where_training_stopped(recipe.output_dir)):
        output = train_sft(recipe, resume=resume)
    console.print(f"trained model and processor saved in {output}", highlight=False)


def _where_training_stopped(output_dir: str) -> str:
    """The newest checkpoint and the command that continues from it, or that there is none yet."""
    from videofocus.train.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(output_dir)
    if checkpoint is None:
        return f"no checkpoint in {output_dir} yet (one is written every save_steps steps); nothing to resume"
    return f"the last checkpoint is {checkpoint}; to continue from it: {this_command('--resume')}"
