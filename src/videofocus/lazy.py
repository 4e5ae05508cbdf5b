"""Package attributes imported on first use, so that importing a light part of a package (its
options, its result types) does not import torch and transformers with the rest (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports attribute `name` from module
    `sources[name]` when first asked for, and keeps it in the package's namespace from then on."""
    namespace = vars(importlib.import_module(package))

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        namespace[name] = value
        return value

    return __getattr__
