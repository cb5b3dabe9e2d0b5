"""The spectrogram comparison figure: original, codec and baseline mel spectrograms per clip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentroom.evaluation.evaluate import FigureClip
from latentroom.evaluation.metrics import mel_n_fft
from latentroom.evaluation.spectral import amplitude_spectrogram, mel_filterbank
from latentroom.plots import save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DYNAMIC_RANGE_DB = 80.0  # colours span the loudest original cell down by this much


def mel_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mel spectrogram in dB re a full-scale sine [shape=(n_mels, T)], for display."""
    n_fft = mel_n_fft(sample_rate)
    mel = amplitude_spectrogram(x, n_fft, n_fft // 4) @ mel_filterbank(sample_rate, n_fft).T
    return np.asarray(20 * np.log10(np.maximum(mel, 1e-6)).T)


def plot_spectrograms(path: Path, clips: list[FigureClip], *, title: str) -> Path:
    """Write ``spectrogram_figure(clips, title=title)`` to ``path`` as PNG and return ``path``."""
    return save_figure(spectrogram_figure(clips, title=title), path)


def spectrogram_figure(clips: list[FigureClip], *, title: str) -> Figure:
    """A row per clip, columns original / codec / baseline (when scored), a colour bar per row.

    Each row shares one colour scale set by its original, so the columns compare directly.
    """
    from matplotlib.figure import Figure

    from latentroom.spectrogram_plots import LEVEL_LABEL, draw_mel

    n_cols = 3 if any(c.baseline is not None for c in clips) else 2
    figure = Figure(figsize=(4 * n_cols + 1, 2.2 * len(clips) + 0.8), layout="constrained")
    axes = figure.subplots(len(clips), n_cols, squeeze=False)
    for row, clip in zip(axes, clips, strict=True):
        original = mel_db(clip.original, clip.sample_rate)
        vmax = float(original.max())
        panels = [("original", clip.original), ("codec", clip.decoded), ("baseline", clip.baseline)]
        images = []
        for column, (ax, (label, audio)) in enumerate(zip(row, panels[:n_cols], strict=True)):
            if audio is None:
                ax.set_axis_off()
                continue
            duration = audio.size / clip.sample_rate
            levels = mel_db(audio, clip.sample_rate)
            images.append(
                draw_mel(
                    ax, levels, duration, clip.sample_rate, vmin=vmax - DYNAMIC_RANGE_DB, vmax=vmax
                )
            )
            ax.set_title(f"{Path(clip.name).name}: {label}", fontsize=8)
            ax.set_xlabel("time (s)", fontsize=7)
            ax.tick_params(labelsize=7)
            if column:
                ax.set_ylabel("")
                ax.tick_params(labelleft=False)
            else:
                ax.yaxis.label.set_fontsize(7)
        cbar = figure.colorbar(images[0], ax=list(row), fraction=0.03, pad=0.01)
        cbar.set_label("dB", fontsize=7)
        cbar.ax.tick_params(labelsize=7)
    figure.suptitle(f"{title}\ncolour: {LEVEL_LABEL}", fontsize=10)
    return figure
