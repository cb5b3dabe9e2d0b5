"""Phase 3 (``analyze factorize``): verdicts, bad input, resume, the Phase 4 interface."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from latentroom.analysis import synthetic
from latentroom.analysis.data import ArraySource
from latentroom.analysis.factorize.config import FactorizeConfig
from latentroom.analysis.factorize.verdict import (
    HEALTHY,
    INNOVATION_EVERYTHING,
    INNOVATION_IGNORED,
    STATE_COLLAPSE,
    verdict,
)
from latentroom.errors import CheckpointError, ConfigError, InvalidLatentError

#: A tiny model and few bootstrap draws: seconds of CPU per run.
TINY = {"hidden": 16, "dim_dyn": 2, "dim_rec": 2, "context": 2, "rollout": 2, "n_boot": 50}
TINY_CLI = (
    "--dim-dyn", "2", "--dim-rec", "2", "--context", "2", "--rollout", "2", "--epochs", "1",
    "--n-boot", "50", "--device", "cpu", "--quiet",
)  # fmt: skip


def _summary(**changes: object) -> dict[str, object]:
    """An eval summary of a healthy run, with ``changes``."""
    numbers: dict[str, object] = {
        "z_dyn_variance_mean": 0.3, "z_dyn_effective_rank": 3.0, "dyn_ig_nats_per_dim": 0.8,
        "dyn_nll_per_state": 2.0, "marginal_nll_per_state": 5.2, "prior_marginal_ratio": 0.3,
        "prior_posterior_ratio": 2.0, "kl_nats_per_frame": 1.5,
    }  # fmt: skip
    numbers.update(changes)
    ig = numbers["dyn_ig_nats_per_dim"]
    numbers["ci95"] = {"dyn_ig_nats_per_dim": numbers.pop("ig_ci", [ig - 0.1, ig + 0.1])}  # type: ignore[operator]
    return numbers


def test_verdict_healthy_and_each_failure() -> None:
    assert verdict(_summary())["verdict"] == HEALTHY
    assert verdict(_summary())["reasons"] == []
    assert verdict(_summary(z_dyn_effective_rank=1.01))["verdict"] == STATE_COLLAPSE
    assert verdict(_summary(dyn_ig_nats_per_dim=0.3, ig_ci=[-0.01, 0.6]))["verdict"] == (
        STATE_COLLAPSE
    )
    assert verdict(_summary(prior_marginal_ratio=0.99))["verdict"] == INNOVATION_EVERYTHING
    assert verdict(_summary(prior_posterior_ratio=1.001))["verdict"] == INNOVATION_IGNORED
    assert verdict(_summary(kl_nats_per_frame=0.0))["verdict"] == INNOVATION_IGNORED


def test_audioengram_failure_is_caught_on_every_count() -> None:
    """KL at its target 2.0, z_dyn variance 0.009, dynamics NLL at the fixed-variance constant
    (so no gain over a marginal), prior/posterior reconstruction ratio 1.0001."""
    judged = verdict(
        _summary(
            z_dyn_variance_mean=0.009,
            dyn_ig_nats_per_dim=0.0,
            ig_ci=[-0.001, 0.001],
            prior_posterior_ratio=1.0001,
            kl_nats_per_frame=2.0,
        )
    )
    assert judged["verdict"] == STATE_COLLAPSE
    text = " ".join(judged["reasons"])
    assert "variance 0.009 < floor" in text
    assert "within tolerance of the best marginal" in text
    assert "prior- / posterior-sampled MSE 1 < 1.02" in text
    assert judged["numbers"]["prior_posterior_ratio"] == 1.0001


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ConfigError, match="--kl-target must be > 0"):
        FactorizeConfig(kl_target=0.0)
    with pytest.raises(ConfigError, match="--dim-dyn must be >= 1"):
        FactorizeConfig(dim_dyn=0)
    with pytest.raises(ConfigError, match="--dim-dyn 9 is larger than the corpus's latent dim"):
        FactorizeConfig(dim_dyn=9).check_latent_dim(8)


@pytest.fixture
def npy_corpus(tmp_path: Path) -> Path:
    """12 items of a 3-dim AR(1)-velocity process, as a folder of .npy files with sidecars."""
    from latentroom.latents.files import save_latents
    from latentroom.latents.trajectory import LatentTrajectory

    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, x in enumerate(synthetic.ar1_velocity(12, 40, 3, a=0.9, rng=np.random.default_rng(0))):
        save_latents(folder / f"item{i:02d}.npy", LatentTrajectory(x / 5, 12.5, "synthetic"))
    return folder


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kl-target", "0"), "--kl-target must be > 0"),
        (("--dim-dyn", "4"), "--dim-dyn 4 is larger than the corpus's latent dim D = 3"),
        (("--context", "30", "--rollout", "8"), "a training segment needs 42"),
        (("--dim-dyn", "1,2"), "pass --sweep"),
        (("--force", "--resume"), "pass one of them"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    run_cli: Callable[..., object], npy_corpus: Path, tmp_path: Path, args: tuple[str, ...],
    message: str,
) -> None:  # fmt: skip
    result = run_cli("analyze", "factorize", npy_corpus, "-o", tmp_path / "out", *TINY_CLI, *args)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_cli_run_then_states_interface(
    run_cli: Callable[..., object], npy_corpus: Path, tmp_path: Path
) -> None:
    from latentroom.analysis.data import open_source
    from latentroom.analysis.factorize.states import load_run

    out = tmp_path / "out"
    result = run_cli("analyze", "factorize", npy_corpus, "-o", out, *TINY_CLI)
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert "verdict: " in result.stdout  # type: ignore[attr-defined]
    analysis = json.loads((out / "analysis.json").read_text())
    section = analysis["factorize"]
    assert section["verdict"] in (
        HEALTHY,
        STATE_COLLAPSE,
        INNOVATION_IGNORED,
        INNOVATION_EVERYTHING,
    )
    assert section["fingerprint"]["latent_dim"] == 3 and section["fingerprint"]["n_items"] == 12
    assert set(section["ig"]["raw"]) >= {"1", "2", "4", "8"}
    assert set(section["eval"]["rollout"]) == {"1", "4", "16"}
    assert "Phase 3: dual latent" in (out / "report.md").read_text()
    for name in ("factorize_epochs.png", "factorize_ig.png", "factorize_rollout.png"):
        assert (out / name).stat().st_size > 0
    again = run_cli("analyze", "factorize", npy_corpus, "-o", out, *TINY_CLI)
    assert again.exit_code == 2 and "--resume" in again.stderr  # type: ignore[attr-defined]

    run = load_run(out)
    source = open_source(npy_corpus)
    run.check_corpus(source)
    run.check_corpus(npy_corpus)
    assert run.dim_dyn == 2 and run.frame_rate == 12.5
    items = [source.item(i) for i in range(source.n_items)]
    states = run.dyn_states(items)
    assert [s.shape for s in states] == [(x.shape[0] - 2 + 1, 2) for x in items]
    assert all(s.dtype == np.float32 for s in states)
    np.testing.assert_array_equal(states[0], run.dyn_states(items[:1])[0])
    other = ArraySource([x + 1 for x in items], 12.5)
    with pytest.raises(InvalidLatentError, match="trained on another corpus or codec"):
        run.check_corpus(other)


def test_load_run_refuses_missing_and_corrupt(tmp_path: Path) -> None:
    from latentroom.analysis.factorize.states import STATE_FILE, load_run

    with pytest.raises(CheckpointError, match="holds no Phase 3 run"):
        load_run(tmp_path)
    (tmp_path / STATE_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_run(tmp_path)


def test_resume_writes_the_same_bytes(tmp_path: Path) -> None:
    from latentroom.analysis.factorize.run import factorize
    from latentroom.analysis.factorize.states import STATE_FILE, load_run

    source = ArraySource(
        synthetic.ar1_velocity(8, 30, 3, a=0.9, rng=np.random.default_rng(1)), 10.0
    )
    straight, split = tmp_path / "straight", tmp_path / "split"
    factorize(source, straight, FactorizeConfig(epochs=2, **TINY))
    factorize(source, split, FactorizeConfig(epochs=1, **TINY))
    assert load_run(split).config.epochs == 1
    factorize(source, split, FactorizeConfig(epochs=2, **TINY), resume=True)
    for name in (STATE_FILE, "analysis.json", "report.md"):
        assert (straight / name).read_bytes() == (split / name).read_bytes(), name


def test_sweep_writes_one_table(
    run_cli: Callable[..., object], npy_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    args = [a for a in TINY_CLI if a not in ("--dim-dyn", "2")]
    result = run_cli(
        "analyze", "factorize", npy_corpus, "-o", out, *args, "--sweep", "--dim-dyn", "1,2",
        "--kl-target", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    table = json.loads((out / "sweep.json").read_text())
    assert [row["cell"] for row in table["cells"]] == ["dyn1_kl0.5", "dyn2_kl0.5"]
    assert (out / "dyn2_kl0.5" / "analysis.json").exists()
    assert "| dyn1_kl0.5 |" in (out / "sweep.md").read_text()


def test_multi_rate_states_live_on_the_slow_grid(tmp_path: Path) -> None:
    from latentroom.analysis.factorize.run import factorize
    from latentroom.analysis.factorize.states import load_run

    arrays = synthetic.ar1_velocity(8, 40, 3, a=0.9, rng=np.random.default_rng(2))
    factorize(ArraySource(arrays, 12.5), tmp_path, FactorizeConfig(epochs=1, rate=2, **TINY))
    run = load_run(tmp_path)
    assert run.frame_rate == 6.25
    states = run.dyn_states([arrays[0], arrays[0][:5]])
    assert states[0].shape == (-(-(40 - 2 + 1) // 2), 2)  # ceil((T - L + 1) / r)
    assert states[1].shape == (2, 2)
