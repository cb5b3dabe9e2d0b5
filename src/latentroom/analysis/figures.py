"""PNG figures of an ``analysis.json`` (matplotlib, imported inside each function).

Each ``*_figure`` builds the figure; ``plot_*`` writes it. Colours come from
``latentroom.palette``, so a predictor looks the same in every figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latentroom.chart_axes import bar_cap, clip_note, draw_bars, scale_for_dwarfing
from latentroom.palette import predictor_colour
from latentroom.plots import save_figure

PHASE0_FIGURES = ("variance_ratio.png",)
PHASE1_FIGURES = (
    "ig_vs_horizon.png",
    "ig_per_dim.png",
    "delta_pca_spectrum.png",
    "rollout_nll.png",
)
_KEY_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def variance_ratio_figure(phase0: dict[str, Any]) -> Any:
    """Variance ratio per key and lag (bars, 95 % CI, values printed); x: random baseline."""
    figure = _figure()
    ax = figure.add_subplot()
    lags = sorted({lag for entry in phase0.values() for lag in entry["lags"]}, key=int)
    stats = {
        key: [entry["lags"].get(lag, {}).get("all") for lag in lags]
        for key, entry in phase0.items()
    }
    ratio = {  # None (not available) becomes NaN: no bar is drawn
        k: np.array([s["variance_ratio"] if s else np.nan for s in v], dtype=float)
        for k, v in stats.items()
    }
    cap = bar_cap(np.concatenate([*ratio.values(), np.zeros(1)]))
    width = 0.8 / max(len(phase0), 1)
    clipped = 0
    for n, (key, rows) in enumerate(stats.items()):
        x = np.arange(len(lags)) + (n - (len(stats) - 1) / 2) * width
        ci = np.array(
            [s["ci95"]["variance_ratio"] if s else [np.nan] * 2 for s in rows], dtype=float
        )
        colour = _KEY_COLOURS[n % len(_KEY_COLOURS)]
        clipped += draw_bars(ax, x, ratio[key], ci, width=width, colour=colour, label=key, cap=cap)
        base = np.array([s["random_baseline"] if s else np.nan for s in rows], dtype=float)
        ax.plot(x, base, "kx", ms=4, label="random baseline" if n == 0 else None)
    ax.set_xticks(np.arange(len(lags)), [f"lag {lag}" for lag in lags])
    ax.set_ylim(0.0, 1.3 * cap)
    ax.axhline(1.0, color="black", lw=0.5)
    ax.set_xlabel("lag (frames)")
    ax.set_ylabel("within-cluster variance ratio (no unit)")
    ax.set_title(f"Variance ratio, eval frames; {clip_note(clipped, cap)}", fontsize=9)
    figure.legend(*ax.get_legend_handles_labels(), fontsize="small", loc="outside right")
    return figure


def plot_variance_ratios(phase0: dict[str, Any], path: Path) -> Path:
    """Write ``variance_ratio_figure(phase0)`` to ``path``."""
    return save_figure(variance_ratio_figure(phase0), path)


def ig_vs_horizon_figure(phase1: dict[str, Any], frame_rate: float) -> Any:
    """IG over marginal_diag (nats/frame, 95 % CI) against horizon, per predictor."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, by_k in phase1.items():
        ks = sorted(by_k, key=int)
        ig = np.array([by_k[k]["ig_nats_per_frame"] for k in ks], dtype=float)
        ci = np.array([by_k[k]["ci95"]["ig_nats_per_frame"] for k in ks], dtype=float)
        colour = predictor_colour(name)
        ax.plot([int(k) for k in ks], ig, "o-", color=colour, label=name)
        ax.fill_between([int(k) for k in ks], ci[:, 0], ci[:, 1], color=colour, alpha=0.2)
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xscale("log", base=2)
    horizons = sorted({int(k) for by_k in phase1.values() for k in by_k})
    ax.set_xticks(horizons, [str(k) for k in horizons])
    ax.set_xlabel(f"horizon k (frames at {frame_rate:g} Hz; log scale)")
    ax.set_ylabel("IG over marginal_diag (nats/frame)")
    ax.legend(fontsize="small")
    return figure


def plot_ig_vs_horizon(phase1: dict[str, Any], frame_rate: float, path: Path) -> Path:
    """Write ``ig_vs_horizon_figure(phase1, frame_rate)`` to ``path``."""
    return save_figure(ig_vs_horizon_figure(phase1, frame_rate), path)


def ig_per_dim_figure(info: dict[str, Any]) -> Any:
    """Per-dim IG (each dim's own marginal) at the smallest horizon, per predictor."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, by_k in info["ig_per_dim"].items():
        if name == "marginal_diag":
            continue
        k = min(by_k, key=int)
        ax.plot(by_k[k], ".", color=predictor_colour(name), label=f"{name} (k={k})")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xlabel("latent dim (index)")
    ax.set_ylabel("IG per dim (nats)")
    ax.legend(fontsize="small")
    return figure


def plot_ig_per_dim(info: dict[str, Any], path: Path) -> Path:
    """Write ``ig_per_dim_figure(info)`` to ``path``."""
    return save_figure(ig_per_dim_figure(info), path)


def spectrum_figure(info: dict[str, Any]) -> Any:
    """Explained-variance ratio of the principal components of Δx (train)."""
    figure = _figure()
    ax = figure.add_subplot()
    spectrum = np.asarray(info["delta_pca_spectrum"], dtype=float)
    ax.semilogy(np.arange(1, spectrum.size + 1), np.maximum(spectrum, 1e-12), ".-")
    ax.set_xlabel("principal component of Δx (rank)")
    ax.set_ylabel("explained variance ratio (log scale)")
    return figure


def plot_spectrum(info: dict[str, Any], path: Path) -> Path:
    """Write ``spectrum_figure(info)`` to ``path``."""
    return save_figure(spectrum_figure(info), path)


def rollout_figure(info: dict[str, Any]) -> Any:
    """NLL per rollout step, teacher-forced (solid) and free-running (dashed), per predictor.

    When one predictor's NLL dwarfs the rest the y axis turns symlog (see ``scale_for_dwarfing``).
    """
    figure = _figure()
    ax = figure.add_subplot()
    curves = []
    for name, entry in info["rollout"].items():
        teacher = np.asarray(entry["teacher_forced_nll"], dtype=float)
        free = np.asarray(entry["free_running_nll"], dtype=float)
        steps = np.arange(1, teacher.size + 1)
        colour = predictor_colour(name)
        ax.plot(steps, teacher, "o-", color=colour, label=f"{name} teacher")
        ax.plot(steps, free, "s--", color=colour, label=f"{name} free")
        curves += [teacher, free]
    note = scale_for_dwarfing(ax, curves)
    ax.set_xlabel("rollout step (frames)")
    ax.set_ylabel(f"NLL (nats/frame{note})")
    figure.legend(*ax.get_legend_handles_labels(), fontsize="small", loc="outside right")
    return figure


def plot_rollout(info: dict[str, Any], path: Path) -> Path:
    """Write ``rollout_figure(info)`` to ``path``."""
    return save_figure(rollout_figure(info), path)
