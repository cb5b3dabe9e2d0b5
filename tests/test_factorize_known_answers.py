"""Phase 3 known answers (docs/phase3.md): a switching linear system, i.i.d. latents, collapse.

Scaled down from the docs page's runs so that they train in seconds; the full-size numbers are
in docs/phase3.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentroom.analysis import synthetic
from latentroom.analysis.data import ArraySource
from latentroom.analysis.factorize.config import FactorizeConfig
from latentroom.analysis.factorize.run import factorize
from latentroom.analysis.factorize.states import load_run
from latentroom.analysis.factorize.verdict import HEALTHY, STATE_COLLAPSE

#: The switching system: 3 modes, dwell 100 frames, 2-d state seen through 8 noisy dims.
PROCESS = {"obs_std": 0.3, "process_std": 0.3, "dwell": 100}
SMALL = {"batch_size": 16, "dim_dyn": 4, "dim_rec": 4, "hidden": 32, "rollout": 4, "n_boot": 100}
#: |KL − innovation entropy| allowed, as a share of the entropy (docs/phase3.md).
KL_TOLERANCE = 0.3


@pytest.fixture(scope="module")
def switching() -> tuple[list[np.ndarray], list[np.ndarray], float]:
    frames, modes, mixing = synthetic.switching_linear_system(
        16, 300, rng=np.random.default_rng(0), **PROCESS
    )
    entropy = synthetic.innovation_entropy(
        mixing, process_std=PROCESS["process_std"], obs_std=PROCESS["obs_std"]
    )
    return frames, modes, entropy


def _run(frames: list[np.ndarray], out: Path, **settings: Any) -> dict[str, Any]:
    return factorize(ArraySource(frames, 12.5), out, FactorizeConfig(**settings))["factorize"]


@pytest.mark.slow
def test_switching_system_healthy_run(
    switching: tuple[list[np.ndarray], list[np.ndarray], float], tmp_path: Path
) -> None:
    """Healthy; the mode is linearly decodable from z_dyn; KL ≈ the innovation entropy; z_dyn is
    more predictable than the raw latents (Phase 1 IG beyond the full-covariance marginal)."""
    from sklearn.linear_model import LogisticRegression

    frames, modes, entropy = switching
    section = _run(frames, tmp_path, epochs=10, kl_target=0.1, **SMALL)
    assert section["verdict"] == HEALTHY, section["reasons"]
    assert abs(section["eval"]["kl_nats_per_frame"] - entropy) < KL_TOLERANCE * entropy

    run = load_run(tmp_path)
    states = run.dyn_states(frames)
    # State j summarises frames j .. j + L - 1: label it with the mode of frame j + L - 1.
    labels = [m[run.config.context - 1 :] for m in modes]
    half = len(frames) // 2
    probe = LogisticRegression(max_iter=2000).fit(
        np.concatenate(states[:half]), np.concatenate(labels[:half])
    )
    accuracy = probe.score(np.concatenate(states[half:]), np.concatenate(labels[half:]))
    assert accuracy >= 0.9

    z_dyn, raw = section["ig"]["z_dyn"]["1"], section["ig"]["raw"]["1"]
    assert z_dyn["ci95"]["ig_beyond_full_nats_per_dim"][0] > raw["ig_beyond_full_nats_per_dim"]


def test_iid_latents_have_no_dynamics(tmp_path: Path) -> None:
    """Nothing to predict: the dynamics gain's interval holds 0, and the verdict says collapse."""
    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((100, 4)).astype(np.float32) for _ in range(12)]
    section = _run(
        frames, tmp_path, epochs=4, kl_target=0.1, batch_size=16, dim_dyn=2, dim_rec=2,
        hidden=16, context=1, rollout=2, n_boot=100,
    )  # fmt: skip
    low, high = section["eval"]["ci95"]["dyn_ig_nats_per_dim"]
    assert low <= 0.0 <= high
    assert section["verdict"] == STATE_COLLAPSE
    assert any("within tolerance of the best marginal" in r for r in section["reasons"])


@pytest.mark.slow
def test_kl_target_far_too_high_is_reported_collapsed(
    switching: tuple[list[np.ndarray], list[np.ndarray], float], tmp_path: Path
) -> None:
    """50 free nats per frame: the innovation may carry the whole frame for free."""
    frames, _, entropy = switching
    section = _run(frames, tmp_path, epochs=4, kl_target=50.0, **SMALL)
    assert section["verdict"] != HEALTHY, section["eval"]
    assert section["reasons"]
    assert section["eval"]["kl_nats_per_frame"] > 2 * entropy
