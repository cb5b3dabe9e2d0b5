"""Shared fixtures: offline hub, one torch thread per xdist worker, an in-process CLI runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

sys.path.insert(0, os.path.dirname(__file__))  # tests/helpers.py


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_worker() -> None:
    """pytest runs with -n 2 on 2 cores: one BLAS and one torch thread per worker."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import torch

    torch.set_num_threads(1)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``latentroom ARGS...`` in-process; return exit code and captured output."""
    from latentroom.cli.main import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def tiny_codec_name() -> str:
    """Register ``tests/helpers.py``'s ``TinyConvCodec`` as codec "tiny" and return that name."""
    from latentroom.codecs.registry import register_codec

    register_codec("tiny", "helpers:make_tiny", "test codec (tests/helpers.py)")
    return "tiny"
