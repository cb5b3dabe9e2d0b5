"""The spectrogram comparison figure: original, codec and baseline mel spectrograms per clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentroom.evaluation.evaluate import FigureClip
from latentroom.evaluation.metrics import N_MELS, mel_n_fft
from latentroom.evaluation.spectral import amplitude_spectrogram, mel_filterbank
from latentroom.fileio import atomic_path

DYNAMIC_RANGE_DB = 80.0  # colours span the loudest original cell down by this much


def mel_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mel spectrogram in dB re a full-scale sine [shape=(n_mels, T)], for display."""
    n_fft = mel_n_fft(sample_rate)
    mel = amplitude_spectrogram(x, n_fft, n_fft // 4) @ mel_filterbank(sample_rate, n_fft).T
    return np.asarray(20 * np.log10(np.maximum(mel, 1e-6)).T)


def plot_spectrograms(path: Path, clips: list[FigureClip], *, title: str) -> Path:
    """Write one PNG: a row per clip, columns original / codec / baseline (when scored).

    Each row shares one colour scale set by its original, so the columns compare directly.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = 3 if any(c.baseline is not None for c in clips) else 2
    fig, axes = plt.subplots(
        len(clips), n_cols, figsize=(4 * n_cols, 1.8 * len(clips) + 0.6), squeeze=False
    )
    for row, clip in zip(axes, clips, strict=True):
        original = mel_db(clip.original, clip.sample_rate)
        vmax = float(original.max())
        panels = [("original", clip.original), ("codec", clip.decoded), ("baseline", clip.baseline)]
        for ax, (label, audio) in zip(row, panels[:n_cols], strict=True):
            if audio is None:
                ax.set_axis_off()
                continue
            extent = (0.0, audio.size / clip.sample_rate, 0, N_MELS)
            ax.imshow(
                mel_db(audio, clip.sample_rate),
                origin="lower",
                aspect="auto",
                extent=extent,
                vmin=vmax - DYNAMIC_RANGE_DB,
                vmax=vmax,
                cmap="magma",
            )
            ax.set_title(f"{Path(clip.name).name}: {label}", fontsize=8)
            ax.set_xticks([0.0, audio.size / clip.sample_rate])
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.94, hspace=0.5, wspace=0.05)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return path
