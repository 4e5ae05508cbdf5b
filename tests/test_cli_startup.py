"""The command line starts without the heavy libraries: `--help`, `version` and every command's
`--help` must not import torch, transformers, matplotlib, numpy, PyAV or PIL, nor build our pydantic
models, the sample schema first (the commands import them when they run). `data convert --help`
lists the converters, which import them: it is not held to this."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import videofocus

HEAVY = ("torch", "transformers", "matplotlib", "numpy", "av", "PIL")
_PACKAGE = Path(videofocus.__file__).parent
# Not pydantic itself: typer imports it to check a command's options (typer._adapters). Ours are the
# modules that import it, which build their models when imported (videofocus.schema, ~0.1 s).
PYDANTIC_MODULES = tuple(sorted(
    ".".join(("videofocus", *path.relative_to(_PACKAGE).with_suffix("").parts))
    for path in _PACKAGE.rglob("*.py") if re.search(r"^\s*(from|import) pydantic\b", path.read_text(), re.MULTILINE)))
# Runs the CLI as the `videofocus` script does, then reports which heavy modules got imported.
_PROBE = """
import json, sys
import videofocus.cli
try:
    videofocus.cli.main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)), file=sys.stderr)
"""


def _heavy_imports(*args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(videofocus.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY + PYDANTIC_MODULES), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["version"], ["eval", "--help"], ["infer", "--help"],
                                  ["train", "--help"], ["sft", "--help"], ["demo", "--help"], ["serve", "--help"],
                                  ["tiny-model", "--help"], ["data", "--help"], ["data", "synth", "--help"],
                                  ["data", "validate", "--help"], ["data", "stats", "--help"],
                                  ["data", "build", "--help"], ["frames", "--help"], ["score", "--help"]],
                         ids=" ".join)
def test_cli_start_up_imports_no_heavy_library(args):
    assert "videofocus.schema" in PYDANTIC_MODULES
    assert _heavy_imports(*args) == []
