"""Latent files: ``NAME.npy`` (T, D) float32 with a ``NAME.json`` sidecar, or a latent WAV."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.fileio import atomic_path
from latentroom.latents.sidecar import (
    build_sidecar,
    sidecar_path,
    trajectory_for,
    write_sidecar,
)
from latentroom.latents.trajectory import LatentTrajectory

__all__ = ["LATENT_SUFFIXES", "load_latents", "save_latents", "sidecar_path"]

#: Suffixes ``save_latents`` / ``load_latents`` accept.
LATENT_SUFFIXES = (".npy", ".wav")


def save_latents(
    path: str | os.PathLike[str], trajectory: LatentTrajectory, *, source: str | None = None
) -> Path:
    """Write latents as ``NAME.npy`` (or a latent WAV for ``.wav``) plus ``NAME.json``.

    Parameters
    ----------
    path : path-like
        Target ending in ``.npy`` (``.wav`` writes a 32-bit float latent WAV, see
        ``latentroom.latents.latent_wav``).
    trajectory : LatentTrajectory
        ``data`` [shape=(T, D), dtype=float32]; ``meta`` must be JSON-serialisable.
    source : str or None
        Where the latents came from, stored as the sidecar's ``source``.

    Returns
    -------
    Path
        The data file written. Both files are written atomically, data first, so a sidecar never
        describes data that is not there.
    """
    path = Path(path)
    suffix = _check_suffix(path)
    if suffix == ".wav":
        from latentroom.latents.latent_wav import save_latent_wav

        return save_latent_wav(path, trajectory, source=source)
    sidecar = build_sidecar(trajectory, source=source)
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, np.ascontiguousarray(trajectory.data, dtype=np.float32))
    write_sidecar(sidecar_path(path), sidecar)
    return path


def load_latents(
    path: str | os.PathLike[str], *, frame_rate: float | None = None
) -> LatentTrajectory:
    """Read latents from ``.npy`` or a latent ``.wav``; the sidecar, when present, is preferred.

    Parameters
    ----------
    path : path-like
        A ``.npy`` file [shape=(T, D)] or a latent WAV (one channel per dim).
    frame_rate : float > 0 or None
        Frame rate for files without a sidecar. With a sidecar its exact rate is used.

    Returns
    -------
    LatentTrajectory
        Equal to the trajectory that was saved (with a sidecar), else one with ``codec=""`` and
        empty ``meta``.

    Raises
    ------
    InvalidLatentError
        Missing or unreadable file, wrong shape or dtype, sidecar from a newer format version or
        not matching the data, no sidecar and no ``frame_rate``.
    """
    path = Path(path)
    suffix = _check_suffix(path)
    if not path.is_file():
        raise InvalidLatentError(f"{path}: no such latent file; check the path")
    if suffix == ".wav":
        from latentroom.latents.latent_wav import load_latent_wav

        return load_latent_wav(path, frame_rate=frame_rate)
    data = _read_npy(path)
    return trajectory_for(data, where=path, frame_rate=frame_rate)


def _read_npy(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InvalidLatentError(
            f"{path}: not a readable .npy array ({err}); give a (frames, dims) float array"
        ) from err
    if data.ndim != 2 or data.dtype.kind != "f":
        raise InvalidLatentError(
            f"{path}: latents must be a 2-D float array (frames, dims); got shape {data.shape} "
            f"dtype {data.dtype}"
        )
    return data.astype(np.float32, copy=False)


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in LATENT_SUFFIXES:
        raise ConfigError(
            f"{path}: latent files end in one of {', '.join(LATENT_SUFFIXES)}; got {suffix!r}"
        )
    return suffix
