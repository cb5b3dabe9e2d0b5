"""A heatmap figure of a latent trajectory with its section boundaries (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from latentroom.fileio import atomic_path
from latentroom.latents.trajectory import LatentTrajectory


def plot_latent_heatmap(
    path: str | os.PathLike[str],
    trajectory: LatentTrajectory,
    *,
    boundaries: list[tuple[str, int]] | None = None,
    title: str | None = None,
) -> Path:
    """Save a PNG heatmap: time (seconds) across, latent dims down, one colour scale per figure.

    Parameters
    ----------
    path : path-like
        Target ``.png``, written atomically. The PNG carries no timestamp or version text, so
        the same trajectory gives the same bytes.
    trajectory : LatentTrajectory
        ``data`` [shape=(T, D)] at ``frame_rate``.
    boundaries : list of (str, int) or None
        Section names and their first frames; drawn as labelled vertical lines.
    title : str or None
        Figure title (default: codec, frames, dims).

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = np.asarray(trajectory.data, dtype=np.float64)
    seconds = trajectory.n_frames / trajectory.frame_rate
    limit = max(float(np.abs(data).max()), 1e-12)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    image = ax.imshow(
        data.T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        extent=(0.0, seconds, -0.5, trajectory.latent_dim - 0.5),
    )
    for name, start in boundaries or []:
        x = start / trajectory.frame_rate
        ax.axvline(x, color="black", linewidth=1.0)
        ax.text(x, trajectory.latent_dim - 0.5, f" {name}", va="top", ha="left", fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("latent dim")
    codec = trajectory.codec or "unknown codec"
    ax.set_title(title or f"{codec}: {trajectory.n_frames} frames x {trajectory.latent_dim} dims")
    fig.colorbar(image, ax=ax, label="value")
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    return target
