"""``latentroom loop --backend acestep`` against ACE-Step 1.5's real source, tiny random weights.

ACE-Step 1.5 is not on PyPI, so CI cannot install it: these tests run only where an ``acestep``
package is importable, and are skipped with the reason otherwise (the fake-package tests in
``test_feedback_acestep.py`` always run). With a supported source (>= a993293, model code in
``acestep/models/``) the loop runs 2 passes on checkpoints built from ACE-Step's own config
classes (``benchmarks/acestep_checkpoints.py``); an older one (2026-02-08, or the PyPI
``ace-step15-fork==20260212``) must be refused in one line.

ACE-Step imports torchaudio at module level for training and resampling code the backend never
reaches (latentroom hands it 48 kHz WAVs). Where torchaudio cannot load (torchaudio beside a torch
it was not built for, e.g. torch 2.13 CPU), a stub stands in for it inside these tests only.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from latentroom.feedback.backends.acestep_setup import CHECKPOINTS_ENV

BUILDER = Path(__file__).resolve().parents[1] / "benchmarks" / "acestep_checkpoints.py"

pytestmark = pytest.mark.slow


@functools.cache
def builder() -> types.ModuleType:
    """``benchmarks/acestep_checkpoints.py``, which the GPU benchmark shares."""
    spec = importlib.util.spec_from_file_location("acestep_checkpoints", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def acestep_source() -> Iterator[tuple[Any, bool]]:
    """The importable ACE-Step 1.5 and whether it is supported; skips when there is none."""
    if importlib.util.find_spec("acestep") is None:
        pytest.skip("ACE-Step 1.5 is not installed (it is not on PyPI; CI cannot install it)")
    with pytest.MonkeyPatch.context() as patch:
        try:
            import torchaudio  # noqa: F401
        except (ImportError, OSError):
            patch.setitem(sys.modules, "torchaudio", builder().torchaudio_stub())
        try:
            import acestep
            import acestep.handler
            import acestep.inference
        except ImportError as err:
            pytest.skip(f"ACE-Step 1.5 is installed but cannot be imported here: {err}")
        fields = inspect.signature(acestep.inference.GenerationParams).parameters
        supported = "cover_noise_strength" in fields and _has("acestep.models")
        yield acestep, supported
        for name in [m for m in sys.modules if m == "acestep" or m.startswith("acestep.")]:
            del sys.modules[name]


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture
def supported(acestep_source: tuple[Any, bool]) -> Any:
    acestep, ok = acestep_source
    if not ok:
        pytest.skip(f"the ACE-Step at {Path(acestep.__file__).parent} is older than supported")
    return acestep


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, and transformers' remote-code cache kept inside tmp_path."""
    monkeypatch.delenv(CHECKPOINTS_ENV, raising=False)
    monkeypatch.delenv("ACESTEP_CHECKPOINTS_DIR", raising=False)
    monkeypatch.delenv("ACESTEP_PROJECT_ROOT", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # transformers appends its cache folder
    import transformers.dynamic_module_utils as remote_code

    monkeypatch.setattr(remote_code, "HF_MODULES_CACHE", str(tmp_path / "hf_modules"))
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def build_checkpoints(folder: Path, *models: str) -> Path:
    """Tiny random-init checkpoints from ACE-Step's own classes (benchmarks/ builder)."""
    builder().build_checkpoints(folder, models=models, tiny=True)
    return folder


def one_second_input(folder: Path) -> Path:
    from latentroom.feedback import seed_input

    audio = seed_input({"seconds": 1.0}).audio
    path = folder / "input.wav"
    sf.write(path, audio.samples.T, audio.sample_rate, subtype="FLOAT")
    return path


def test_two_passes_against_the_real_source(
    supported: Any, run_cli: Callable[..., Any], tmp_path: Path, work: Path
) -> None:
    checkpoints = build_checkpoints(tmp_path / "ace" / "checkpoints", "acestep-v15-base")
    source = one_second_input(tmp_path)
    result = run_cli(
        "loop", source, "--backend", "acestep", "--checkpoints", checkpoints,
        "--passes", "2", "--set", "steps=2", "-o", work / "run", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr[-2000:]
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["n_passes"] == 2
    assert manifest["backend"]["model"] == "acestep-v15-base"
    assert manifest["backend"]["turbo"] is False
    assert manifest["backend"]["checkpoints"] == str(checkpoints)
    assert [p["used"]["steps"] for p in manifest["passes"][1:]] == [2, 2]
    for index in (1, 2):
        samples, rate = sf.read(work / "run" / f"iter_{index:02d}.wav", dtype="float32")
        assert rate == 48_000 and samples.shape == (48_000, 2)  # cut to the input's length
        assert np.isfinite(samples).all() and np.abs(samples).max() > 0
    assert sorted(p.name for p in work.iterdir()) == ["run"]  # no ./checkpoints, no ./.cache
    assert (checkpoints.parent / ".cache" / "acestep").is_dir()  # ACE-Step's, by its project


def test_turbo_records_the_steps_it_runs(
    supported: Any, run_cli: Callable[..., Any], tmp_path: Path, work: Path
) -> None:
    checkpoints = build_checkpoints(tmp_path / "ace" / "checkpoints", "acestep-v15-turbo")
    result = run_cli(
        "loop", one_second_input(tmp_path), "--backend", "acestep",
        "--model", "acestep-v15-turbo", "--checkpoints", checkpoints, "--passes", "1",
        "--set", "steps=50", "-o", work / "run", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr[-2000:]
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    assert manifest["backend"]["turbo"] is True  # from the checkpoint's config (is_turbo)
    assert manifest["passes"][1]["params"]["steps"] == 50
    assert manifest["passes"][1]["used"]["steps"] == 8
    assert any("runs at most 8 steps" in w for w in manifest["warnings"])


def test_missing_checkpoints_stop_before_the_real_source_downloads(
    supported: Any, run_cli: Callable[..., Any], tmp_path: Path, work: Path
) -> None:
    nowhere = run_cli("loop", "--backend", "acestep", "-o", work / "run", "--quiet")
    assert nowhere.exit_code == 2
    assert "checkpoints folder" in nowhere.stderr and "does not exist" in nowhere.stderr
    partial = tmp_path / "partial" / "checkpoints"
    (partial / "vae").mkdir(parents=True)
    before = sorted(p.relative_to(partial) for p in partial.rglob("*"))
    result = run_cli(
        "loop", "--backend", "acestep", "--checkpoints", partial, "-o", work / "run", "--quiet"
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert (
        "lacks acestep-v15-base, acestep-v15-turbo, vae, Qwen3-Embedding-0.6B, "
        "acestep-5Hz-lm-1.7B (" in result.stderr
    )
    assert sorted(p.relative_to(partial) for p in partial.rglob("*")) == before
    assert list(work.iterdir()) == []


def test_an_old_source_is_refused_in_one_line(
    acestep_source: tuple[Any, bool], run_cli: Callable[..., Any], work: Path
) -> None:
    acestep, ok = acestep_source
    if ok:
        pytest.skip(f"the ACE-Step at {Path(acestep.__file__).parent} is supported")
    result = run_cli("loop", "--backend", "acestep", "-o", work / "run", "--quiet")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "is too old: it lacks GenerationParams.cover_noise_strength" in lines[0]
    )
    assert "needs upstream ace-step/ACE-Step-1.5 >= a993293 (2026-02-17)" in lines[0]
    assert not (work / "run").exists()
