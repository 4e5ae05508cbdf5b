"""The typer application every command module registers on. Commands stay thin: they parse
arguments, call the library, and print."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from videofocus.errors import VideoFocusError

app = typer.Typer(
    name="videofocus",
    help="Teach video MLLMs to look where it matters: GRPO with spatio-temporal rewards, and "
         "iterative perception at test time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Validate, inspect, convert and synthesise data in the one sample format.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)


def run_app() -> None:
    """Run the CLI; a VideoFocusError prints one red line and exits 1 (VIDEOFOCUS_DEBUG=1 shows the traceback)."""
    command = typer.main.get_command(app)
    _no_type_after_flags(command)
    try:
        command()
    except VideoFocusError as exc:
        if os.environ.get("VIDEOFOCUS_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


def _no_type_after_flags(command) -> None:
    """typer's help shows `<bool>` after every flag (`--json <bool>`), as if it took a value: show
    nothing there, for `--help` too, in `command` and all its subcommands."""
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for subcommand in getattr(command, "commands", {}).values():
        _no_type_after_flags(subcommand)


@contextmanager
def stop_on_ctrl_c(where: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside the block: print `where()` (what is kept, how to go on) and exit 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print(f"[bold yellow]interrupted:[/] {where()}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=130) from None


def this_command(*extra: str) -> str:
    """The command line as the user typed it, plus `extra` arguments it lacks, ready to paste."""
    words = ["videofocus", *sys.argv[1:]]
    return shlex.join(words + [word for word in extra if word not in words])
