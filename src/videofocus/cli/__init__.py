"""`videofocus` command line. Importing the command modules registers their commands on `app`."""

from videofocus.cli.app import app, run_app

# Each module adds its commands to `app` (or `data_app`) when imported.
from videofocus.cli import version  # noqa: E402,F401
from videofocus.cli import data_cmds  # noqa: E402,F401
from videofocus.cli import score  # noqa: E402,F401
from videofocus.cli import frames  # noqa: E402,F401
from videofocus.cli import tiny_model  # noqa: E402,F401
from videofocus.cli import synth  # noqa: E402,F401
from videofocus.cli import infer  # noqa: E402,F401
from videofocus.cli import eval  # noqa: E402,F401
from videofocus.cli import train  # noqa: E402,F401
from videofocus.cli import demo  # noqa: E402,F401
from videofocus.cli import serve  # noqa: E402,F401


def main() -> None:
    run_app()


__all__ = ["app", "main"]
