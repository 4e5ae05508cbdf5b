"""`videofocus version`."""

from videofocus import __version__
from videofocus.cli.app import app, console


@app.command()
def version() -> None:
    """Print the installed videofocus version."""
    console.print(__version__)
