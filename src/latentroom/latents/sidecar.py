"""The JSON sidecar beside every latent file: codec identity, exact frame rate, format version."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.errors import InvalidLatentError
from latentroom.fileio import write_text_atomic
from latentroom.latents.trajectory import LatentTrajectory

logger = logging.getLogger(__name__)

#: Version of the latent file formats (npy + sidecar, latent WAV + sidecar). Readers refuse newer.
FORMAT_VERSION = 1


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar of a latent file: same folder and stem, suffix ``.json``."""
    return Path(path).with_suffix(".json")


def is_latent_sidecar(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a JSON object describing latents (a seed or run sidecar is not)."""
    try:
        sidecar = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(sidecar, dict) and {"frame_rate", "latent_dim"} <= sidecar.keys()


def build_sidecar(
    trajectory: LatentTrajectory, *, source: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Describe a trajectory for its sidecar.

    Parameters
    ----------
    trajectory : LatentTrajectory
        The saved latents; its ``meta`` is stored whole under ``"meta"``.
    source : str or None
        Where the latents came from; defaults to ``trajectory.meta["source"]`` when present.
    **extra
        Container-specific fields (the latent WAV adds ``wav_header_rate`` and ``wav_subtype``).
    """
    from latentroom import __version__

    meta = trajectory.meta
    return {
        "format_version": FORMAT_VERSION,
        "codec": trajectory.codec,
        "frame_rate": trajectory.frame_rate,
        "hop_length": meta.get("hop_length"),
        "sample_rate": meta.get("sample_rate"),
        "latent_dim": trajectory.latent_dim,
        "n_frames": trajectory.n_frames,
        "latent_kind": meta.get("latent_kind"),
        "source": source if source is not None else meta.get("source"),
        "latentroom_version": __version__,
        **extra,
        "meta": meta,
    }


def write_sidecar(path: Path, sidecar: dict[str, Any]) -> None:
    """Write a sidecar atomically; numpy scalars become plain numbers."""
    try:
        text = json.dumps(sidecar, indent=2, default=_plain)
    except TypeError as err:
        raise InvalidLatentError(
            f"trajectory meta cannot be stored as JSON ({err}); keep meta to numbers, strings, "
            "lists and dicts"
        ) from err
    write_text_atomic(path, text + "\n")


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read and check a sidecar: valid JSON object, known ``format_version``, required fields."""
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidLatentError(
            f"{path}: unreadable sidecar ({err}); fix or delete it and pass --frame-rate"
        ) from err
    if not isinstance(sidecar, dict):
        raise InvalidLatentError(f"{path}: sidecar must hold a JSON object; got {type(sidecar)}")
    version = sidecar.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise InvalidLatentError(
            f"{path}: format_version {version!r} is not supported (this latentroom reads "
            f"1..{FORMAT_VERSION}); upgrade latentroom or re-encode the audio"
        )
    for key in ("frame_rate", "latent_dim", "n_frames"):
        if key not in sidecar:
            raise InvalidLatentError(f"{path}: sidecar lacks {key!r}; re-encode the audio")
    return sidecar


def trajectory_for(
    data: np.ndarray, *, where: Path, frame_rate: float | None, hint: str = ""
) -> LatentTrajectory:
    """Wrap frames read from ``where`` using its sidecar when there is one.

    Parameters
    ----------
    data : np.ndarray [shape=(T, D), dtype=float32]
        The frames as read from the data file.
    where : Path
        The data file (its sidecar is ``sidecar_path(where)``).
    frame_rate : float or None
        Used only without a sidecar; required then.
    hint : str
        Appended to the no-frame-rate error (why the file's own rate is not used).
    """
    side = sidecar_path(where)
    if side.is_file():
        return _from_sidecar(data, read_sidecar(side), where=where, frame_rate=frame_rate)
    return _without_sidecar(data, where=where, frame_rate=frame_rate, hint=hint)


def _from_sidecar(
    data: np.ndarray, sidecar: dict[str, Any], *, where: Path, frame_rate: float | None
) -> LatentTrajectory:
    """Rebuild a trajectory from stored frames and their sidecar (the sidecar's rate wins)."""
    if (sidecar["n_frames"], sidecar["latent_dim"]) != tuple(data.shape):
        raise InvalidLatentError(
            f"{where}: data has shape {tuple(data.shape)} but the sidecar says "
            f"({sidecar['n_frames']}, {sidecar['latent_dim']}); the files do not belong together"
        )
    if frame_rate is not None and frame_rate != sidecar["frame_rate"]:
        logger.warning(
            "%s: using the sidecar's frame rate %s, not the given %s",
            where,
            sidecar["frame_rate"],
            frame_rate,
        )
    meta = sidecar.get("meta", {})
    return LatentTrajectory(data, sidecar["frame_rate"], sidecar.get("codec", ""), meta)


def _without_sidecar(
    data: np.ndarray, *, where: Path, frame_rate: float | None, hint: str = ""
) -> LatentTrajectory:
    """Wrap bare frames; refuses without an explicit frame rate (nothing else says it)."""
    if frame_rate is None:
        raise InvalidLatentError(
            f"{where}: no sidecar {sidecar_path(where).name} and no frame rate given{hint}; "
            "pass --frame-rate (frame_rate=...) with the codec's exact rate"
        )
    return LatentTrajectory(data, frame_rate)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
