"""Latent WAV for Pure Data: one channel per latent dim, one sample per frame, exact rate aside."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from latentroom.audio.io import write_frames
from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.sidecar import (
    build_sidecar,
    sidecar_path,
    trajectory_for,
    write_sidecar,
)
from latentroom.latents.trajectory import LatentTrajectory

#: WAV files hold at most this many channels here (Pd's soundfiler reads up to 64).
MAX_WAV_DIMS = 64
WavSubtype = Literal["FLOAT", "DOUBLE"]
_SUBTYPES = ("FLOAT", "DOUBLE")


def header_rate(frame_rate: float) -> int:
    """The integer rate a latent WAV header carries: ``max(1, round(frame_rate))``."""
    return max(1, round(frame_rate))


def save_latent_wav(
    path: str | os.PathLike[str],
    trajectory: LatentTrajectory,
    *,
    subtype: WavSubtype = "FLOAT",
    source: str | None = None,
) -> Path:
    """Write latents as a multichannel WAV (channel d = latent dim d) plus a JSON sidecar.

    Parameters
    ----------
    path : path-like
        Target ``.wav`` file; the sidecar goes to the same stem with ``.json``.
    trajectory : LatentTrajectory
        ``data`` [shape=(T, D)] with ``D <= 64``; values beyond ±1 are kept (float WAV).
    subtype : {"FLOAT", "DOUBLE"}
        32-bit float (every Pd reads it; exact for float32 latents) or 64-bit (Pd >= 0.55).
    source : str or None
        Stored as the sidecar's ``source``.

    Returns
    -------
    Path
        The WAV written. Its header rate is ``max(1, round(frame_rate))``; the exact rate is in
        the sidecar, which readers prefer.
    """
    path = Path(path)
    if subtype not in _SUBTYPES:
        raise ConfigError(f"latent WAV subtype must be one of {_SUBTYPES}; got {subtype!r}")
    if not 1 <= trajectory.latent_dim <= MAX_WAV_DIMS:
        raise InvalidLatentError(
            f"a latent WAV holds 1..{MAX_WAV_DIMS} dims (one channel each); these latents have "
            f"{trajectory.latent_dim}; save them as .npy instead"
        )
    rate = header_rate(trajectory.frame_rate)
    sidecar = build_sidecar(trajectory, source=source, wav_header_rate=rate, wav_subtype=subtype)
    write_frames(path, trajectory.data, rate, subtype=subtype, fmt="WAV")
    write_sidecar(sidecar_path(path), sidecar)
    return path


def load_latent_wav(
    path: str | os.PathLike[str], *, frame_rate: float | None = None
) -> LatentTrajectory:
    """Read a latent WAV (channels = dims, samples = frames).

    Parameters
    ----------
    path : path-like
        The WAV file.
    frame_rate : float > 0 or None
        Needed only without a sidecar: the header's integer rate is rounded and not trusted.

    Returns
    -------
    LatentTrajectory
        ``data`` [shape=(T, D), dtype=float32]; equal to what was saved when a sidecar exists.
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise InvalidLatentError(f"{path}: not a readable WAV file ({err})") from err
    data = data.astype(np.float32)
    hint = f" (the WAV header's {rate} Hz is rounded, so it is not used)"
    return trajectory_for(data, where=path, frame_rate=frame_rate, hint=hint)
