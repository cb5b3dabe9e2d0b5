"""Mel spectrogram panels (frequency axis in Hz, colour bar in dB), the loop's sheet and horizon."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentroom.evaluation.spectral import hz_to_mel
from latentroom.plots import save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

# Frequencies labelled on a mel axis (those below Nyquist): roughly evenly spaced in mel.
_MEL_TICKS_HZ = (300, 1000, 3000, 10000)
LEVEL_LABEL = "level (dB re full-scale sine)"
PULSE_COLOUR = "#17becf"
_PULSE_TICK = 0.12  # pulse ticks hang this far below each row (share of the row's height)


def draw_mel(
    ax: Axes,
    levels: np.ndarray,
    duration: float,
    sample_rate: int,
    *,
    vmin: float,
    vmax: float,
    start: float = 0.0,
) -> AxesImage:
    """Draw ``levels`` [shape=(n_mels, T)] in dB (HTK mel bands, 0 Hz to Nyquist) on ``ax``.

    The columns span ``start`` to ``start + duration`` on the x axis. The y axis runs in mel
    and is labelled in Hz, so band spacing stays as computed.
    """
    n_mels = levels.shape[0]
    step = float(hz_to_mel(sample_rate / 2)) / (n_mels + 1)  # band m is centred on (m + 1) step
    image = ax.imshow(
        levels,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="magma",
        vmin=vmin,
        vmax=vmax,
        extent=(start, start + duration, 0.5 * step, (n_mels + 0.5) * step),
    )
    shown = [f for f in _MEL_TICKS_HZ if f < sample_rate / 2]
    ax.set_yticks([float(hz_to_mel(f)) for f in shown], [_hz_label(f) for f in shown])
    ax.set_ylabel("Hz (mel scale)")
    return image


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def draw_pulse_ticks(ax: Axes, times: np.ndarray) -> None:
    """Pulses as short ticks hanging below ``ax``'s time axis: the image stays uncovered."""
    if times.size:
        ax.vlines(
            times,
            -_PULSE_TICK,
            0.0,
            transform=ax.get_xaxis_transform(),
            colors=PULSE_COLOUR,
            linewidth=0.8,
            clip_on=False,
        )


def loop_spectrogram_figure(
    rows: list[tuple[str, np.ndarray, float]],
    pulse_times: np.ndarray,
    *,
    sample_rate: int,
    pulse_label: str = "the input's pulses",
    dynamic_range_db: float = 80.0,
) -> Figure:
    """The feedback loop's spectrogram sheet: one row per pass, one shared colour scale.

    Parameters
    ----------
    rows : list of (label, levels, duration)
        ``levels`` [shape=(n_mels, T)] in dB (see ``draw_mel``), ``duration`` in seconds.
    pulse_times : np.ndarray [shape=(P,)]
        Where the input's pulses are expected, in seconds: ticks below every row's time axis.
    sample_rate : int
        Of the audio behind ``levels`` (sets the frequency axis).
    pulse_label : str
        What the ticks are, for the x label.
    dynamic_range_db : float > 0
        Colours span the loudest cell of all rows down by this much.
    """
    from matplotlib.figure import Figure

    vmax = max(float(levels.max()) for _, levels, _ in rows)
    figure = Figure(figsize=(10, 1.45 * len(rows) + 1.0), layout="constrained")
    axes = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    images = []
    for ax, (label, levels, duration) in zip(axes, rows, strict=True):
        images.append(
            draw_mel(ax, levels, duration, sample_rate, vmin=vmax - dynamic_range_db, vmax=vmax)
        )
        draw_pulse_ticks(ax, np.asarray(pulse_times, dtype=float))
        ax.set_title(label, loc="left", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.yaxis.label.set_fontsize(8)
    axes[-1].set_xlabel(f"time (s); ticks below each row: {pulse_label} ({len(pulse_times)})")
    figure.colorbar(images[-1], ax=list(axes), label=LEVEL_LABEL, shrink=min(1.0, 4.0 / len(rows)))
    figure.suptitle("Feedback loop: mel spectrogram per pass (shared colour scale)")
    return figure


def plot_loop_spectrograms(
    rows: list[tuple[str, np.ndarray, float]],
    pulse_times: np.ndarray,
    path: str | os.PathLike[str],
    *,
    sample_rate: int,
    pulse_label: str = "the input's pulses",
) -> Path:
    """Write ``loop_spectrogram_figure(rows, pulse_times, ...)`` to ``path`` as PNG."""
    figure = loop_spectrogram_figure(
        rows, pulse_times, sample_rate=sample_rate, pulse_label=pulse_label
    )
    return save_figure(figure, path)


def horizon_figure(
    levels: np.ndarray,
    *,
    sample_rate: int,
    dynamic_range_db: float = 80.0,
    floor_db: float = -120.0,
) -> Figure:
    """The spectral horizon: the spectrum between the pulses, one column per pass.

    Parameters
    ----------
    levels : np.ndarray [shape=(n_mels, P)]
        Pass ``p``'s between-pulse mel levels in dB (``feedback.taxonomy.horizon_levels``) in
        column ``p``, pass 0 (the input) first; a NaN column (no frame between pulses) is left
        blank.
    sample_rate : int
        Of the audio behind ``levels`` (sets the frequency axis).
    dynamic_range_db : float > 0
        Colours span the loudest cell down by this much ...
    floor_db : float
        ... and never start above this floor (the levels' own), so a run that stays silent
        between its pulses shows its silence at the bottom of the scale.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    finite = levels[np.isfinite(levels)]
    vmax = max(float(finite.max()) if finite.size else floor_db, floor_db + dynamic_range_db)
    n_passes = levels.shape[1]
    figure = Figure(figsize=(8, 4.2), layout="constrained")
    ax = figure.subplots()
    image = draw_mel(
        ax,
        levels,
        float(n_passes),
        sample_rate,
        vmin=vmax - dynamic_range_db,
        vmax=vmax,
        start=-0.5,
    )
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.set_xlim(-0.5, n_passes - 0.5)
    ax.set_xlabel("pass (0 = the input)")
    figure.colorbar(image, ax=ax, label=LEVEL_LABEL)
    ax.set_title("Spectral horizon: the spectrum between the pulses, pass by pass", fontsize=10)
    return figure


def plot_horizon(levels: np.ndarray, path: str | os.PathLike[str], *, sample_rate: int) -> Path:
    """Write ``horizon_figure(levels, sample_rate=...)`` to ``path`` as PNG."""
    return save_figure(horizon_figure(levels, sample_rate=sample_rate), path)
