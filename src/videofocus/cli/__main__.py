"""`python -m videofocus.cli ...`: the same as the `videofocus` script."""

from videofocus.cli import main

main()
