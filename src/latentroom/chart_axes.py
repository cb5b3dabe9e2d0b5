"""Axis helpers for charts whose values span orders of magnitude: clipped bars, symlog curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CLIP_FACTOR = 1.6  # bar charts: error bars are clipped at this times the tallest bar (or 1)
DWARF_FACTOR = 10.0  # a curve this many times larger than the rest switches the axis to symlog


def bar_cap(values: np.ndarray) -> float:
    """Where a bar chart's error bars are clipped: ``CLIP_FACTOR`` x max(finite values, 1)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return CLIP_FACTOR * max(1.0, float(finite.max()) if finite.size else 1.0)


def draw_bars(
    ax: Axes,
    x: np.ndarray,
    values: np.ndarray,
    ci: np.ndarray,
    *,
    width: float,
    colour: str,
    label: str,
    cap: float,
) -> int:
    """Bars with their 95 % CI, the value printed on each, error bars clipped at ``cap``.

    Parameters
    ----------
    x, values : np.ndarray [shape=(B,)]
        Bar centres and heights (NaN: no bar; "n/a" is printed instead).
    ci : np.ndarray [shape=(B, 2)]
        Lower and upper bound of each bar's interval.
    cap : float
        Upper y limit of every error bar; a clipped bar gets an arrow and its bound printed.

    Returns
    -------
    int
        How many error bars were clipped.
    """
    values = np.asarray(values, dtype=float)
    lower, upper = np.asarray(ci, dtype=float).T
    shown = np.minimum(upper, cap)
    err = np.vstack([values - np.minimum(lower, values), np.maximum(shown - values, 0.0)])
    ax.bar(x, np.nan_to_num(values), width, color=colour, label=label)
    ax.errorbar(x, values, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=2, lw=0.8)
    size = 7 if width >= 0.2 else 6
    rotation = 0 if width >= 0.25 else 90  # wide bars fit their value across
    for xi, value, top in zip(x, values, upper, strict=True):
        text = "n/a" if not np.isfinite(value) else f"{value:.2f}"
        ax.text(xi, 0.01 * cap, text, rotation=rotation, ha="center", va="bottom", fontsize=size,
                bbox={"facecolor": "white", "alpha": 0.7, "pad": 0.5, "lw": 0})  # fmt: skip
        if np.isfinite(top) and top > cap:
            ax.plot([xi], [cap], "^", color="black", ms=3)
            ax.text(xi, 1.03 * cap, f"{top:.3g}", rotation=90, ha="center", va="bottom",
                    fontsize=size)  # fmt: skip
    return int(np.sum(np.isfinite(upper) & (upper > cap)))


def clip_note(n_clipped: int, cap: float) -> str:
    """The sentence a clipped chart's title carries."""
    if not n_clipped:
        return "95 % CI as error bars"
    return f"95 % CI as error bars; {n_clipped} clipped at {cap:.3g} (▲, upper bound printed)"


def scale_for_dwarfing(ax: Axes, curves: list[np.ndarray]) -> str:
    """Switch ``ax`` to symlog when one curve dwarfs the rest; return a note for the y label.

    The rest stay in the linear part (up to the second-largest curve's peak), the large one is
    compressed logarithmically above it.
    """
    peaks = sorted(
        (float(np.nanmax(np.abs(c))) for c in curves if np.isfinite(c).any()), reverse=True
    )
    if len(peaks) < 2 or peaks[0] <= DWARF_FACTOR * max(peaks[1], 1e-12):
        return ""
    threshold = max(peaks[1], 1e-3)
    ax.set_yscale("symlog", linthresh=threshold)
    return f"; log above |{threshold:.3g}|"
