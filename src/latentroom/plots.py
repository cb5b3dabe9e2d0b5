"""Matplotlib figures for reports, drawn without pyplot (Agg) and written atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentroom.fileio import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from latentroom.latents.trajectory import LatentTrajectory
    from latentroom.seeds.config import SeedLayer
    from latentroom.seeds.render import RenderedSeed

# Columns of the waveform envelope: enough for a 2000-pixel-wide figure.
_ENVELOPE_COLUMNS = 2000


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Write ``figure`` as PNG atomically and return the path."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def plot_seed(rendered: RenderedSeed, path: str | os.PathLike[str]) -> Path:
    """Waveform, spectrogram and step grid of a rendered seed (first channel), as PNG.

    Parameters
    ----------
    rendered : RenderedSeed
        What ``latentroom.seeds.render_seed`` returned.
    path : path-like
        The PNG to write (atomically).

    Returns
    -------
    Path
        ``path``.
    """
    from matplotlib.figure import Figure

    config = rendered.config
    samples = rendered.audio.samples[0]
    figure = Figure(figsize=(10, 6.5), layout="constrained")
    wave_ax, spec_ax, grid_ax = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 2, 1]}
    )
    _draw_waveform(wave_ax, samples, config.sample_rate)
    _draw_spectrogram(spec_ax, samples, config.sample_rate)
    _draw_step_grid(grid_ax, rendered)
    grid_ax.set_xlabel("time (s)")
    margin = 0.005 * rendered.audio.duration  # keeps a pulse at 0 s clear of the axis line
    grid_ax.set_xlim(-margin, rendered.audio.duration + margin)
    figure.suptitle(
        f"Koenig seed {_layer_label(config.main_layer())}: {rendered.audio.duration:g} s at "
        f"{config.sample_rate} Hz, {config.excitation}, seed {config.seed}"
    )
    return save_figure(figure, path)


def _draw_waveform(ax: Axes, samples: np.ndarray, sample_rate: int) -> None:
    """Min/max envelope per column, so single-sample impulses stay visible."""
    n_columns = min(_ENVELOPE_COLUMNS, samples.size)
    edges = np.linspace(0, samples.size, n_columns + 1).astype(int)
    low = np.minimum.reduceat(samples, edges[:-1])
    high = np.maximum.reduceat(samples, edges[:-1])
    ax.fill_between(edges[:-1] / sample_rate, low, high, step="post", linewidth=0.6, color="k")
    ax.set_ylabel("amplitude")
    top = 1.05 * max(1.0, float(np.abs(samples).max()))
    ax.set_ylim(-top, top)


def _draw_spectrogram(ax: Axes, samples: np.ndarray, sample_rate: int) -> None:
    from matplotlib import mlab

    n_fft = 1024
    spectrum, bins, _ = mlab.specgram(
        np.pad(samples, (0, max(0, n_fft - samples.size))),  # at least one frame
        NFFT=n_fft,
        Fs=sample_rate,
        noverlap=n_fft // 2,
        mode="psd",
    )
    level = 10.0 * np.log10(np.asarray(spectrum) + 1e-20)
    freqs = np.asarray(bins)
    ax.imshow(
        level,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=level.max() - 100.0,
        extent=(0.0, samples.size / sample_rate, float(freqs[0]), float(freqs[-1])),
    )
    ax.set_ylabel("frequency (Hz)")


def _draw_step_grid(ax: Axes, rendered: RenderedSeed) -> None:
    """One row per layer: a tick at each step, a filled bar over each onset step."""
    rate = rendered.audio.sample_rate
    labels = []
    for row, layer in enumerate(rendered.layers):
        step_seconds = layer.step_samples / rate
        starts = np.rint(np.arange(layer.n_steps) * layer.step_samples) / rate
        ax.vlines(starts, row - 0.4, row + 0.4, color="0.6", linewidth=0.6)
        onsets = [(float(p) / rate, step_seconds) for p in layer.pulse_samples]
        ax.broken_barh(onsets, (row - 0.35, 0.7), color="C0")
        labels.append(_layer_label(layer.layer))
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)


def _layer_label(layer: SeedLayer) -> str:
    name = (
        f"sieve {layer.sieve} over {layer.steps}"
        if layer.sieve
        else (f"E({layer.pulses},{layer.steps})")
    )
    if layer.rotation:
        name += f" rot {layer.rotation}"
    if layer.level_db:
        name += f" {layer.level_db:+g} dB"
    return name


def plot_latent_heatmap(
    trajectory: LatentTrajectory,
    path: str | os.PathLike[str],
    *,
    boundaries: list[tuple[str, int]] | None = None,
    title: str | None = None,
) -> Path:
    """Heatmap of a latent trajectory (time across, dims up), with labelled section lines, as PNG.

    Parameters
    ----------
    trajectory : LatentTrajectory
        ``data`` [shape=(T, D)] at ``frame_rate``; one symmetric colour scale over all values.
    path : path-like
        The PNG to write (atomically).
    boundaries : list of (str, int) or None
        Section names and their first frames, drawn as labelled vertical lines.
    title : str or None
        Figure title (default: codec, frames, dims).

    Returns
    -------
    Path
        ``path``.
    """
    from matplotlib.figure import Figure

    data = np.asarray(trajectory.data, dtype=np.float64)
    limit = max(float(np.abs(data).max()), 1e-12)
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.subplots()
    extent = (0.0, trajectory.duration, -0.5, trajectory.latent_dim - 0.5)
    image = ax.imshow(
        data.T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        extent=extent,
    )
    for name, start in boundaries or []:
        x = start / trajectory.frame_rate
        ax.axvline(x, color="black", linewidth=1.0)
        ax.text(x, trajectory.latent_dim - 0.5, f" {name}", va="top", ha="left", fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("latent dim")
    codec = trajectory.codec or "unknown codec"
    ax.set_title(title or f"{codec}: {trajectory.n_frames} frames x {trajectory.latent_dim} dims")
    figure.colorbar(image, ax=ax, label="value")
    return save_figure(figure, path)


def plot_loop_spectrograms(
    rows: list[tuple[str, np.ndarray, float]],
    pulse_times: np.ndarray,
    path: str | os.PathLike[str],
    *,
    dynamic_range_db: float = 80.0,
) -> Path:
    """The feedback loop's spectrogram sheet: one row per pass, one shared colour scale.

    Parameters
    ----------
    rows : list of (label, levels, duration)
        ``levels`` [shape=(n_mels, T)] in dB, ``duration`` in seconds.
    pulse_times : np.ndarray [shape=(P,)]
        The input's pulses in seconds, drawn as dashed lines on every row.
    path : path-like
        The PNG to write (atomically).
    dynamic_range_db : float > 0
        Colours span the loudest cell of all rows down by this much.
    """
    from matplotlib.figure import Figure

    vmax = max(float(levels.max()) for _, levels, _ in rows)
    height = 1.25 * len(rows) + 0.9
    figure = Figure(figsize=(10, height))
    figure.subplots_adjust(left=0.1, right=0.88, top=1 - 0.45 / height, bottom=0.5 / height)
    axes = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    images = []
    for ax, (label, levels, duration) in zip(axes, rows, strict=True):
        image = ax.imshow(
            levels,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmax - dynamic_range_db,
            vmax=vmax,
            extent=(0.0, duration, 0, levels.shape[0]),
        )
        images.append(image)
        ax.vlines(pulse_times, 0, levels.shape[0], colors="w", linestyles="--", linewidth=0.6)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_yticks([])
    axes[-1].set_xlabel("time (s); dashed: the input's pulses")
    figure.colorbar(images[-1], cax=figure.add_axes((0.9, 0.5 / height, 0.015, 0.6)), label="dB")
    figure.suptitle("Feedback loop: mel spectrogram per pass (shared colour scale)")
    return save_figure(figure, path)


def plot_loop_metrics(
    passes: list[int], series: dict[str, list[float]], path: str | os.PathLike[str]
) -> Path:
    """Drift metrics over passes: one small panel per metric.

    Parameters
    ----------
    passes : list of int
        Pass indices (0 is the input).
    series : dict of str to list of float
        Metric name -> one value per pass (NaN where not measured).
    path : path-like
        The PNG to write (atomically).
    """
    from matplotlib.figure import Figure

    n_cols = 4
    n_rows = -(-len(series) // n_cols)
    figure = Figure(figsize=(12, 2.4 * n_rows + 0.6))
    figure.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.08, hspace=0.7, wspace=0.3)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, (name, values) in zip(axes, series.items(), strict=False):
        ax.plot(passes, np.asarray(values, dtype=float), marker="o", markersize=3)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pass", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(series) :]:
        ax.set_axis_off()
    figure.suptitle("Feedback loop: drift metrics per pass")
    return save_figure(figure, path)
