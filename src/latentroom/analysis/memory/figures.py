"""PNG figures of a Phase 4 run (matplotlib, imported inside each function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latentroom.plots import save_figure

FIGURES = ("memory_rollout.png", "memory_tables.png", "memory_training.png")
_COLOURS = {"memory": "#d62728", "no_memory": "#1f77b4", "state_marginal": "#7f7f7f"}
_LABELS = {
    "memory": "with memory",
    "no_memory": "without memory (matched parameters)",
    "state_marginal": "context-free Gaussian of the state",
}


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _finish(figure: Any, ax: Any, xlabel: str, ylabel: str, title: str) -> Any:
    """Axis labels (with units), a small title and the legend; returns ``figure``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize="small")
    return figure


def _values(entries: list[dict[str, Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Point values and their (2, n) error-bar lengths (NaN where not available)."""
    value = np.array([np.nan if e[name] is None else e[name] for e in entries], dtype=float)
    ci = np.array([[np.nan if v is None else v for v in e["ci95"][name]] for e in entries])
    return value, np.abs(np.vstack([value - ci[:, 0], ci[:, 1] - value]))


def rollout_figure(section: dict[str, Any]) -> Any:
    """Free-rollout NLL against horizon per model (95 % CI), and the state's own Gaussian."""
    figure = _figure()
    ax = figure.add_subplot()
    horizons = sorted(section["rollout"], key=int)
    entries = [section["rollout"][r] for r in horizons]
    x = np.array([int(r) for r in horizons])
    for model in ("memory", "no_memory", "state_marginal"):
        value, err = _values(entries, f"nll_{model}")
        ax.errorbar(x, value, yerr=np.nan_to_num(err), fmt="o-", capsize=3,
                    color=_COLOURS[model], label=_LABELS[model])  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(v) for v in x])
    return _finish(
        figure, ax, "free-rollout horizon (states fed back)", "NLL of the true state (nats/frame)",
        "Free rollout on eval (mean predictions fed back), 95 % CI",
    )  # fmt: skip


def tables_figure(section: dict[str, Any]) -> Any:
    """Share of each table's slots hit on train and on eval (bars, %)."""
    figure = _figure()
    ax = figure.add_subplot()
    tables = section["table_usage"]["tables"]
    names = list(tables)
    x = np.arange(len(names))
    for shift, part, colour in ((-0.2, "train", "#2ca02c"), (0.2, "eval", "#9467bd")):
        share = np.array([100 * tables[n][f"share_hit_{part}"] for n in names])
        ax.bar(x + shift, share, 0.4, color=colour, label=f"hit on {part}")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    return _finish(
        figure, ax, "table (n-gram order / hash head)", "slots ever hit (% of the table)",
        "Table usage",
    )  # fmt: skip


def training_figure(info: dict[str, Any]) -> Any:
    """Validation NLL per epoch of both models."""
    figure = _figure()
    ax = figure.add_subplot()
    for model in ("memory", "no_memory"):
        history = np.array(info["training"][model]["history"], dtype=float)
        ax.plot(np.arange(1, history.size + 1), history, "o-", color=_COLOURS[model],
                label=_LABELS[model])  # fmt: skip
    return _finish(figure, ax, "epoch", "validation NLL, one step (nats/frame)", "Training")


def write_figures(out: Path, section: dict[str, Any], info: dict[str, Any]) -> None:
    """The three Phase 4 figures into ``out``."""
    save_figure(rollout_figure(section), out / FIGURES[0])
    save_figure(tables_figure(section), out / FIGURES[1])
    save_figure(training_figure(info), out / FIGURES[2])
