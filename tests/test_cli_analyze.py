"""``latentroom analyze clusters|predict`` end to end, in-process, into tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from latentroom.analysis import synthetic
from latentroom.latents.corpus import write_corpus
from latentroom.latents.trajectory import LatentTrajectory

FAST_PREDICT = ("--max-epochs", "1", "--n-boot", "50", "--rollout-steps", "2", "--quiet")
FAST_CLUSTERS = ("--keys", "mean-vq4,pca2-vq4", "--min-cluster-size", "5", "--n-boot", "50")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    arrays = synthetic.ar1_velocity(30, 40, 3, a=0.9, rng=np.random.default_rng(0))
    trajectories = [LatentTrajectory(a, 12.5, "synthetic") for a in arrays]
    metas = [{"source": f"spk{i % 5}/utt{i}.wav"} for i in range(30)]
    path = tmp_path / "corpus.zarr"
    write_corpus(path, trajectories, metas)
    return path


@pytest.mark.slow
def test_predict_then_clusters_merge_into_one_analysis(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "analysis"
    args = ("--predictors", "marginal_diag,linear,sequence", "--horizons", "1,2", *FAST_PREDICT)
    result = run_cli("analyze", "predict", corpus, "-o", out, *args)
    assert result.exit_code == 0, result.stderr
    assert "linear: IG at k=1" in result.stdout
    result = run_cli("analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS, "--quiet")
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((out / "analysis.json").read_text())
    assert set(analysis["phase1"]) == {"marginal_diag", "marginal_full", "linear", "sequence"}
    assert set(analysis["phase1"]["linear"]) == {"1", "2"}
    assert analysis["phase1"]["linear"]["1"]["ig_nats_per_frame"] > 0.5  # AR(1), a = 0.9
    assert set(analysis["phase0"]) == {"mean-vq4", "pca2-vq4"}
    assert analysis["latent_dim"] == 3 and analysis["frame_rate"] == 12.5
    assert analysis["n_frames"]["train"] + analysis["n_frames"]["eval"] > 0
    assert len(analysis["phase1_info"]["rollout"]["linear"]["gap"]) == 2
    for name in ("variance_ratio", "ig_vs_horizon", "ig_per_dim", "delta_pca_spectrum"):
        assert (out / f"{name}.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "## Phase 0" in report and "## Phase 1" in report


def test_existing_phase_needs_force(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "analysis"
    assert run_cli("analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS).exit_code == 0
    before = (out / "analysis.json").read_text()
    again = run_cli("analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS)
    assert again.exit_code == 2
    assert "already holds phase0; pass --force" in again.stderr
    assert (out / "analysis.json").read_text() == before
    forced = run_cli("analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS, "--force")
    assert forced.exit_code == 0


def test_npy_folder_with_nan_is_refused_unless_dropped(
    run_cli: Callable[..., object], tmp_path: Path
) -> None:
    folder = tmp_path / "latents"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i, array in enumerate(synthetic.white_noise_walk(12, 40, 2, rng=rng)):
        if i == 3:
            array[5] = np.nan
        np.save(folder / f"item{i:02d}.npy", array)
    out = tmp_path / "out"
    args = ("--frame-rate", "25", "--keys", "mean-vq2", "--min-cluster-size", "2", "--n-boot", "20")
    refused = run_cli("analyze", "clusters", folder, "-o", out, *args)
    assert refused.exit_code == 2
    assert "1 non-finite frames in 1 items" in refused.stderr and "item03.npy" in refused.stderr
    assert not out.exists()
    dropped = run_cli("analyze", "clusters", folder, "-o", out, *args, "--drop-nonfinite")
    assert dropped.exit_code == 0, dropped.stderr
    assert json.loads((out / "analysis.json").read_text())["n_nonfinite_frames"] == 1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param(("--group-regex", "utt"), "needs at least two groups", id="one-group"),
        pytest.param(("--keys", "kmeans-64"), "unknown key 'kmeans-64'", id="bad-key"),
        pytest.param(("--lags", "1,x"), "comma-separated integers", id="bad-lags"),
    ],
)
def test_clusters_input_errors_write_nothing(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path, args: tuple[str, ...], match: str
) -> None:
    out = tmp_path / "out"
    result = run_cli("analyze", "clusters", corpus, "-o", out, *args)
    assert result.exit_code == 2
    assert match in result.stderr
    assert not out.exists()


def test_group_regex_reports_cross_group_degradation(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS, "--group-regex", r"spk(\d)"
    )
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["split"] == "group"
    entry = analysis["phase0"]["mean-vq4"]
    assert set(entry["cross_group_degradation"]) == {"1", "2", "4"}
    for lag, value in entry["cross_group_degradation"].items():
        low, high = entry["cross_group_degradation_ci95"][lag]
        assert low <= value <= high
    assert (
        "Cross-group degradation (unseen − seen groups): lag 1:" in (out / "report.md").read_text()
    )


def test_predict_rejects_unknown_predictor(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    result = run_cli("analyze", "predict", corpus, "-o", tmp_path / "o", "--predictors", "gpt")
    assert result.exit_code == 2
    assert "unknown predictors ['gpt']" in result.stderr


def test_unreadable_analysis_json_is_refused(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text("{not json")
    result = run_cli("analyze", "clusters", corpus, "-o", out, *FAST_CLUSTERS)
    assert result.exit_code == 2
    assert "is not readable JSON" in result.stderr
    assert (out / "analysis.json").read_text() == "{not json"


def test_a_ratio_with_no_window_behind_it_is_not_available_never_zero(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    # The 19-file case: every cluster below the minimum size, every eval window set aside
    # (3 lags x 3 slices: 9 ratios without data).
    out = tmp_path / "analysis"
    args = ("--keys", "mean-vq4", "--min-cluster-size", "100000", "--n-boot", "50", "--quiet")
    result = run_cli("analyze", "clusters", corpus, "-o", out, *args)
    assert result.exit_code == 0, result.stderr
    assert "mean-vq4: variance ratio n/a (random " in result.stdout
    warning = "latentroom: warning: phase0/mean-vq4/lags/1/all variance_ratio: not available"
    assert warning in result.stderr and "were set aside; lower --min-cluster-size" in result.stderr
    entry = json.loads((out / "analysis.json").read_text())["phase0"]["mean-vq4"]
    assert entry["variance_ratio"] is None and entry["ci95"]["variance_ratio"] == [None, None]
    assert "set aside" in entry["unavailable"]["variance_ratio"]
    report = (out / "report.md").read_text()
    assert "| mean-vq4 | 1 | all | n/a (not available) |" in report
    assert "## Not available or left out" in report
    strict = run_cli("analyze", "clusters", corpus, "-o", out, *args, "--force", "--strict")
    assert strict.exit_code == 2
    assert (
        strict.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "latentroom: error: --strict: 9 quantities are not available or left out (first: "
        )
    )


def test_the_minimum_cluster_size_adapts_to_the_corpus(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "analysis"
    args = ("--keys", "mean-vq4", "--n-boot", "50", "--quiet", "--strict")
    assert run_cli("analyze", "clusters", corpus, "-o", out, *args).exit_code == 0
    entry = json.loads((out / "analysis.json").read_text())["phase0"]["mean-vq4"]
    assert entry["min_cluster_size"] == 38  # about 610 train windows / (4 x 4 clusters)
    assert entry["variance_ratio"] is not None and "unavailable" not in entry


def test_predict_ci_refit_reports_the_fitting_bias(
    run_cli: Callable[..., object], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "analysis"
    args = ("--predictors", "linear", "--horizons", "1", "--ci", "refit", "--refits", "3")
    result = run_cli("analyze", "predict", corpus, "-o", out, *args, *FAST_PREDICT)
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((out / "analysis.json").read_text())
    cell = analysis["phase1"]["linear"]["1"]
    assert np.isfinite(cell["refit_bias"]["ig_nats_per_frame"])  # its sign: known answers
    lo, hi = cell["ci95"]["ig_nats_per_frame"]
    assert lo < hi
    assert analysis["phase1_info"]["settings"]["ci"] == "refit"
    assert "refits" in analysis["phase1_info"]["seconds"]
    assert "Estimated fitting bias of the IG" in (out / "report.md").read_text()
    bad = run_cli("analyze", "predict", corpus, "-o", tmp_path / "o", "--ci", "jackknife")
    assert bad.exit_code == 2 and "ci must be one of" in bad.stderr
