"""Session fixtures shared by every area's tests: tiny saved models and a small torch thread pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videofocus.models.tiny import build_tiny_model


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need CUDA: skip them on machines without it."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _few_torch_threads():
    """The test machines have 2 cores shared by many jobs: keep torch from spawning more threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_qwen25_vl_path(tmp_path_factory) -> Path:
    """A random tiny Qwen2.5-VL checkpoint directory (built once per session; treat as read-only)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_qwen2_5_vl"), arch="qwen2_5_vl", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen3_vl_path(tmp_path_factory) -> Path:
    """A random tiny Qwen3-VL checkpoint directory (built once per session; treat as read-only)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_qwen3_vl"), arch="qwen3_vl", seed=0)
