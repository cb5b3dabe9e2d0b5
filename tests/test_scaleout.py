"""Scale-out without a cluster: ``--executor`` parsing, and refusals before any engine starts.

The cluster runs are in test_scaleout_dask.py (skipped where the `distributed` extra is missing).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from helpers import sine
from latentroom.errors import BackendUnavailableError, ConfigError
from latentroom.scaleout.executor import ExecutorSpec, parse_executor


def test_parse_executor() -> None:
    assert parse_executor("local") == ExecutorSpec("local")
    assert parse_executor("dask") == ExecutorSpec("dask")
    assert parse_executor("dask:tcp://10.0.0.5:8786") == ExecutorSpec("dask", "tcp://10.0.0.5:8786")
    with pytest.raises(ConfigError, match="ray engine is not implemented yet"):
        parse_executor("ray:auto")
    for bad in ("spark", "dask:", "local:x"):
        with pytest.raises(ConfigError, match=bad.split(":")[0]):
            parse_executor(bad)


def test_a_missing_engine_names_the_extra(run_cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    audio = _inputs(tmp_path / "in", 1)[0]
    result = run_cli(
        "encode", audio, "-c", "builtin", "-o", tmp_path / "c.zarr", "--executor", "dask", "-q"
    )
    assert result.exit_code == 2 and not (tmp_path / "c.zarr").exists()
    assert "latentroom[distributed]" in result.stderr and len(result.stderr.splitlines()) == 1


def test_workers_without_a_cluster_are_refused(run_cli: Any, tmp_path: Path) -> None:
    audio = _inputs(tmp_path / "in", 1)[0]
    result = run_cli("encode", audio, "-c", "builtin", "-o", tmp_path / "c.zarr", "--workers", "2")
    assert result.exit_code == 2 and "--workers" in result.stderr


def test_engine_not_chosen_is_never_imported() -> None:
    import subprocess

    code = (
        "import sys, latentroom.cli.main; "
        "print('distributed' in sys.modules, 'dask' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]


def test_missing_distributed_names_the_extra_in_the_library(monkeypatch: Any) -> None:
    from latentroom.scaleout.executor import connect

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(BackendUnavailableError, match=r"latentroom\[distributed\]"):
        connect(ExecutorSpec("dask"))


def _inputs(folder: Path, n_files: int = 5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        audio = sine(110.0 * (i + 1), seconds=0.3 + 0.1 * i, sample_rate=48_000)
        path = folder / f"spk{i % 2}_take{i}.wav"
        sf.write(str(path), audio.samples.T, audio.sample_rate, subtype="FLOAT")
        paths.append(path)
    return paths
