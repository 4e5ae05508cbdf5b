"""The help the `videofocus` script prints: flags carry no value type."""

from __future__ import annotations

import sys

import pytest

from videofocus.cli import run_app


@pytest.mark.parametrize("args", [["--help"], ["frames", "--help"], ["eval", "--help"], ["data", "validate", "--help"]],
                         ids=" ".join)
def test_flags_show_no_type(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["videofocus", *args])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        run_app()
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert "--help" in shown and "<bool>" not in shown
    if args[0] != "--help":
        assert "<int" in shown  # options that take a value keep their type
