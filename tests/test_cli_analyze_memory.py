"""``latentroom analyze memory`` end to end, in-process: raw latents, z_dyn, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from latentroom.analysis.memory.synthetic import ar1_process

FAST = (
    "--context", "3", "--orders", "1,2", "--codes", "6", "--table-size", "61", "--embed-dim", "4",
    "--hidden", "8", "--rollout", "1,3", "--epochs", "2", "--n-boot", "50", "--frame-rate", "50",
    "--device", "cpu", "--quiet",
)  # fmt: skip


def _npy_corpus(folder: Path, *, n_items: int = 8, length: int = 60, seed: int = 0) -> Path:
    folder.mkdir(parents=True)
    for i, x in enumerate(ar1_process(n_items=n_items, length=length, dim=3, seed=seed)):
        np.save(folder / f"item{i:02d}.npy", x)
    return folder


@pytest.fixture(scope="module")
def factorized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny finished Phase 3 run (one epoch) and the corpus it was trained on."""
    pytest.importorskip("torch")
    from latentroom.analysis.factorize.config import FactorizeConfig
    from latentroom.analysis.factorize.run import factorize

    root = tmp_path_factory.mktemp("phase3")
    corpus = _npy_corpus(root / "corpus")
    config = FactorizeConfig(
        dim_dyn=2, dim_rec=2, context=3, rollout=2, epochs=1, hidden=8, dyn_context=2, n_boot=20
    )
    factorize(corpus, root / "run", config, frame_rate=50.0)
    return corpus, root / "run"


@pytest.mark.slow
def test_memory_on_raw_latents_writes_analysis_and_refuses_a_rerun(
    run_cli: Callable[..., object], tmp_path: Path
) -> None:
    corpus = _npy_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    result = run_cli("analyze", "memory", corpus, "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "memory gain" in result.stdout
    analysis = json.loads((out / "analysis.json").read_text())
    section = analysis["memory"]
    assert section["parameters"]["memory"] > 0
    assert abs(section["parameters"]["relative_difference"]) < 0.05
    assert set(section["rollout"]) == {"1", "3"}
    assert analysis["memory_info"]["states"].startswith("raw latents")
    for name in ("memory_rollout.png", "memory_tables.png", "memory_training.png", "report.md"):
        assert (out / name).stat().st_size > 0
    assert "raw latents (no --factorized run given)" in (out / "report.md").read_text()
    assert not (out / "memory_checkpoints").exists()  # removed once the results are written
    again = run_cli("analyze", "memory", corpus, "-o", out, *FAST)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert again.stderr.count("\n") == 1


@pytest.mark.slow
def test_memory_on_a_factorized_run_models_z_dyn(
    run_cli: Callable[..., object], factorized: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus, run = factorized
    out = tmp_path / "out"
    result = run_cli("analyze", "memory", corpus, "--factorized", run, "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((out / "analysis.json").read_text())
    info = analysis["memory_info"]
    assert info["state_dim"] == 2  # dim(z_dyn), not the corpus's 3 dims
    assert analysis["latent_dim"] == 3  # the header describes the corpus itself
    assert info["states"].startswith("z_dyn of the factorized run")


@pytest.mark.slow
def test_factorized_run_of_another_corpus_is_refused(
    run_cli: Callable[..., object], factorized: tuple[Path, Path], tmp_path: Path
) -> None:
    _, run = factorized
    other = _npy_corpus(tmp_path / "other", seed=1)
    out = tmp_path / "out"
    result = run_cli("analyze", "memory", other, "--factorized", run, "-o", out, *FAST)
    assert result.exit_code == 2
    assert "another corpus or codec" in result.stderr and result.stderr.count("\n") == 1
    assert not (out / "analysis.json").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--table-size", "0"), "--table-size must be > 0"),
        (("--orders", "4"), "longer than the context"),
        (("--rollout", "80"), "no item has the 83 frames"),
        (("--codes", "1"), "--codes"),
        (("--heads", "0"), "--heads"),
        (("--factorized", "missing-run"), "holds no Phase 3 run"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: Callable[..., object], tmp_path: Path, args: tuple[str, ...], match: str
) -> None:
    corpus = _npy_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    if "--factorized" in args:
        args = ("--factorized", str(tmp_path / args[1]))
    result = run_cli("analyze", "memory", corpus, "-o", out, *FAST, *args)
    assert result.exit_code == 2
    assert match in result.stderr and result.stderr.count("\n") == 1
    assert not (out / "analysis.json").exists()


def test_output_into_the_corpus_is_refused(run_cli: Callable[..., object], tmp_path: Path) -> None:
    corpus = _npy_corpus(tmp_path / "corpus")
    result = run_cli("analyze", "memory", corpus, "-o", corpus, *FAST)
    assert result.exit_code == 2
    assert "also an input" in result.stderr and result.stderr.count("\n") == 1
    assert not (corpus / "analysis.json").exists()
