"""`python -m videofocus.cli ...`: the same as the `videofocus` script."""

from videofocus.cli import main

if __name__ == "__main__":
    main()
