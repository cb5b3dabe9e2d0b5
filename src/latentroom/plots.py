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
    from matplotlib.image import AxesImage

    from latentroom.latents.trajectory import LatentTrajectory
    from latentroom.seeds.config import SeedLayer
    from latentroom.seeds.render import RenderedSeed

# Columns of the waveform envelope: enough for a 2000-pixel-wide figure.
_ENVELOPE_COLUMNS = 2000
_LABEL_BOX = {"facecolor": "white", "alpha": 0.7, "pad": 0.5, "lw": 0}  # text over an image


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Write ``figure`` as PNG atomically and return the path."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def plot_seed(rendered: RenderedSeed, path: str | os.PathLike[str]) -> Path:
    """Write ``seed_figure(rendered)`` to ``path`` as PNG (atomically) and return ``path``."""
    return save_figure(seed_figure(rendered), path)


def seed_figure(rendered: RenderedSeed) -> Figure:
    """Waveform, spectrogram (with its dB colour bar) and step grid of a rendered seed.

    Parameters
    ----------
    rendered : RenderedSeed
        What ``latentroom.seeds.render_seed`` returned; the first channel is drawn.
    """
    from matplotlib.figure import Figure

    config = rendered.config
    samples = rendered.audio.samples[0]
    figure = Figure(figsize=(10, 6.5), layout="constrained")
    # A narrow second column holds the colour bar, so the three time axes stay aligned.
    grid = figure.add_gridspec(3, 2, height_ratios=[2, 2, 1], width_ratios=[1, 0.02])
    wave_ax = figure.add_subplot(grid[0, 0])
    spec_ax = figure.add_subplot(grid[1, 0], sharex=wave_ax)
    grid_ax = figure.add_subplot(grid[2, 0], sharex=wave_ax)
    _draw_waveform(wave_ax, samples, config.sample_rate)
    image = _draw_spectrogram(spec_ax, samples, config.sample_rate)
    figure.colorbar(image, cax=figure.add_subplot(grid[1, 1]), label="PSD (dB re 1/Hz)")
    _draw_step_grid(grid_ax, rendered)
    for ax in (wave_ax, spec_ax):
        ax.tick_params(labelbottom=False)
    grid_ax.set_xlabel("time (s)")
    margin = 0.005 * rendered.audio.duration  # keeps a pulse at 0 s clear of the axis line
    grid_ax.set_xlim(-margin, rendered.audio.duration + margin)
    figure.suptitle(
        f"Koenig seed {_layer_label(config.main_layer())}: {rendered.audio.duration:g} s at "
        f"{config.sample_rate} Hz, {config.excitation}, seed {config.seed}"
    )
    return figure


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


def _draw_spectrogram(ax: Axes, samples: np.ndarray, sample_rate: int) -> AxesImage:
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
    image = ax.imshow(
        level,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=level.max() - 100.0,
        extent=(0.0, samples.size / sample_rate, float(freqs[0]), float(freqs[-1])),
    )
    ax.set_ylabel("frequency (Hz, linear)")
    return image


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
    ax.set_ylabel("layer")
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
    """Write ``latent_heatmap_figure(trajectory, ...)`` to ``path`` as PNG and return ``path``."""
    return save_figure(latent_heatmap_figure(trajectory, boundaries=boundaries, title=title), path)


def latent_heatmap_figure(
    trajectory: LatentTrajectory,
    *,
    boundaries: list[tuple[str, int]] | None = None,
    title: str | None = None,
) -> Figure:
    """Heatmap of a latent trajectory (time across, dims up), with labelled section lines.

    Parameters
    ----------
    trajectory : LatentTrajectory
        ``data`` [shape=(T, D)] at ``frame_rate``; one symmetric colour scale over all values.
    boundaries : list of (str, int) or None
        Section names and their first frames, drawn as vertical lines labelled along them
        (rotated, so neighbouring sections' names do not collide).
    title : str or None
        Figure title (default: codec, frames, dims).
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
        ax.text(x, trajectory.latent_dim - 0.5, f"{name} ", va="top", ha="left", fontsize=8,
                rotation=90, bbox=_LABEL_BOX)  # fmt: skip
    ax.set_xlabel("time (s)")
    ax.set_ylabel("latent dim (index)")
    codec = trajectory.codec or "unknown codec"
    ax.set_title(title or f"{codec}: {trajectory.n_frames} frames x {trajectory.latent_dim} dims")
    figure.colorbar(image, ax=ax, label="latent value (codec units)")
    return figure


def plot_loop_metrics(
    passes: list[int], series: dict[str, list[float]], path: str | os.PathLike[str]
) -> Path:
    """Write ``loop_metrics_figure(passes, series)`` to ``path`` as PNG and return ``path``."""
    return save_figure(loop_metrics_figure(passes, series), path)


def loop_metrics_figure(passes: list[int], series: dict[str, list[float]]) -> Figure:
    """Drift metrics over passes: one small panel per metric, its unit on the y axis.

    Parameters
    ----------
    passes : list of int
        Pass indices (0 is the input).
    series : dict of str to list of float
        Metric name -> one value per pass (NaN where not measured); the unit is read from the
        name's suffix (``_db``, ``_dbfs``, ``_ms``, ``_hz``, ``_per_s``, ``lufs``).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    n_cols = 4
    n_rows = -(-len(series) // n_cols)
    figure = Figure(figsize=(12, 2.5 * n_rows + 0.6), layout="constrained")
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, (name, values) in zip(axes, series.items(), strict=False):
        ax.plot(passes, np.asarray(values, dtype=float), marker="o", markersize=3)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pass", fontsize=8)
        ax.set_ylabel(metric_unit(name), fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(series) :]:
        ax.set_axis_off()
    figure.suptitle("Feedback loop: drift metrics per pass")
    return figure


_UNITS = (
    ("_dbfs", "dBFS"),
    ("_db", "dB"),
    ("lufs", "LUFS"),
    ("_ms", "ms"),
    ("_hz", "Hz"),
    ("_per_s", "per second"),
)


def metric_unit(name: str) -> str:
    """The unit a metric's name ends with (``"ratio (no unit)"`` for the rest)."""
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), "ratio (no unit)")
