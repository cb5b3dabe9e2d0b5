"""PNG figures of an ``analysis.json`` (matplotlib, imported inside each function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latentroom.plots import save_figure

PHASE0_FIGURES = ("variance_ratio.png",)
PHASE1_FIGURES = (
    "ig_vs_horizon.png",
    "ig_per_dim.png",
    "delta_pca_spectrum.png",
    "rollout_nll.png",
)


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_variance_ratios(phase0: dict[str, Any], path: Path) -> Path:
    """Variance ratio (with 95 % CI) and random baseline per key and lag, all frames."""
    figure = _figure()
    ax = figure.add_subplot()
    for n, (key, entry) in enumerate(phase0.items()):
        lags = sorted(entry["lags"], key=int)
        x = np.arange(len(lags)) + 0.15 * n
        # None (not available) becomes NaN: matplotlib leaves the point out.
        ratio = np.array([entry["lags"][lag]["all"]["variance_ratio"] for lag in lags], dtype=float)
        ci = np.array(
            [entry["lags"][lag]["all"]["ci95"]["variance_ratio"] for lag in lags], dtype=float
        )
        base = np.array([entry["lags"][lag]["all"]["random_baseline"] for lag in lags], dtype=float)
        err = np.abs(ci.T - ratio)
        ax.errorbar(x, ratio, yerr=err, fmt="o", capsize=3, label=f"{key}")
        ax.plot(x, base, "x", color="grey", label=f"{key} random" if n == 0 else None)
        ax.set_xticks(np.arange(len(lags)), [f"lag {lag}" for lag in lags])
    ax.axhline(1.0, color="black", lw=0.5)
    ax.set_ylabel("within-cluster variance ratio (eval)")
    ax.legend(fontsize="small")
    return save_figure(figure, path)


def plot_ig_vs_horizon(phase1: dict[str, Any], frame_rate: float, path: Path) -> Path:
    """Information gain over marginal_diag (nats/frame, 95 % CI) against horizon, per predictor."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, by_k in phase1.items():
        ks = sorted(by_k, key=int)
        ig = np.array([by_k[k]["ig_nats_per_frame"] for k in ks], dtype=float)
        ci = np.array([by_k[k]["ci95"]["ig_nats_per_frame"] for k in ks], dtype=float)
        ax.plot([int(k) for k in ks], ig, "o-", label=name)
        ax.fill_between([int(k) for k in ks], ci[:, 0], ci[:, 1], alpha=0.2)
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xscale("log", base=2)
    horizons = sorted({int(k) for by_k in phase1.values() for k in by_k})
    ax.set_xticks(horizons, [str(k) for k in horizons])
    ax.set_xlabel(f"horizon k (frames at {frame_rate:g} Hz)")
    ax.set_ylabel("IG over marginal_diag (nats/frame)")
    ax.legend(fontsize="small")
    return save_figure(figure, path)


def plot_ig_per_dim(info: dict[str, Any], path: Path) -> Path:
    """Per-dim IG (each dim's own marginal) at the smallest horizon, per predictor."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, by_k in info["ig_per_dim"].items():
        if name == "marginal_diag":
            continue
        k = min(by_k, key=int)
        ax.plot(by_k[k], ".", label=f"{name} (k={k})")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xlabel("latent dim")
    ax.set_ylabel("IG per dim (nats)")
    ax.legend(fontsize="small")
    return save_figure(figure, path)


def plot_spectrum(info: dict[str, Any], path: Path) -> Path:
    """Explained-variance ratio of the principal components of Δx (train)."""
    figure = _figure()
    ax = figure.add_subplot()
    spectrum = np.asarray(info["delta_pca_spectrum"], dtype=float)
    ax.semilogy(np.arange(1, spectrum.size + 1), np.maximum(spectrum, 1e-12), ".-")
    ax.set_xlabel("principal component of Δx")
    ax.set_ylabel("explained variance ratio")
    return save_figure(figure, path)


def plot_rollout(info: dict[str, Any], path: Path) -> Path:
    """NLL per rollout step, teacher-forced (solid) and free-running (dashed), per predictor."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, entry in info["rollout"].items():
        steps = np.arange(1, len(entry["teacher_forced_nll"]) + 1)
        (line,) = ax.plot(steps, entry["teacher_forced_nll"], "o-", label=f"{name} teacher")
        ax.plot(
            steps, entry["free_running_nll"], "s--", color=line.get_color(), label=f"{name} free"
        )
    ax.set_xlabel("rollout step")
    ax.set_ylabel("NLL (nats/frame)")
    ax.legend(fontsize="small")
    return save_figure(figure, path)
