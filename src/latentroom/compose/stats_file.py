"""The statistics JSON file: write it, and read it back strictly (shapes, finiteness, keys)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.compose.stats import MATRIX_FIELDS, VECTOR_FIELDS, ARModel, LatentStats
from latentroom.errors import ConfigError
from latentroom.fileio import write_text_atomic

STATS_FORMAT_VERSION = 1
_HEADER_FIELDS = ("format_version", "codec", "frame_rate", "latent_dim", "n_frames", "sources")
_ALL_FIELDS = frozenset((*_HEADER_FIELDS, *VECTOR_FIELDS, *MATRIX_FIELDS, "ar"))


def stats_to_dict(stats: LatentStats) -> dict[str, Any]:
    """The JSON form of ``stats`` (numbers as lists of floats)."""
    out: dict[str, Any] = {
        "format_version": STATS_FORMAT_VERSION,
        "codec": stats.codec,
        "frame_rate": stats.frame_rate,
        "latent_dim": stats.latent_dim,
        "n_frames": stats.n_frames,
        "sources": list(stats.sources),
    }
    out.update({name: stats.vectors[name].tolist() for name in VECTOR_FIELDS})
    out.update({name: stats.matrices[name].tolist() for name in MATRIX_FIELDS})
    out["ar"] = None
    if stats.ar is not None:
        out["ar"] = {
            "order": stats.ar.order,
            "coefficients": stats.ar.coefficients.tolist(),
            "innovation_cov": stats.ar.innovation_cov.tolist(),
        }
    return out


def save_stats(path: str | os.PathLike[str], stats: LatentStats) -> Path:
    """Write ``stats`` as indented JSON, atomically; return the path."""
    write_text_atomic(path, json.dumps(stats_to_dict(stats), indent=2) + "\n")
    return Path(path)


def load_stats(path: str | os.PathLike[str]) -> LatentStats:
    """Read a stats file written by ``save_stats``.

    Raises
    ------
    ConfigError
        Missing or unreadable file, another format version, missing or unknown fields, wrong
        shapes, NaN or Inf values (each message names the field).
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such stats file; make one with `latentroom compose stats`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a readable stats JSON file ({err})") from err
    return stats_from_dict(raw, where=str(path))


def stats_from_dict(raw: Any, *, where: str = "stats") -> LatentStats:
    """Rebuild ``LatentStats`` from its JSON form, checking every field (see ``load_stats``)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object of statistics")
    unknown = sorted(set(raw) - _ALL_FIELDS)
    missing = sorted(_ALL_FIELDS - set(raw))
    if unknown or missing:
        raise ConfigError(
            f"{where}: unknown fields {unknown} / missing fields {missing}; "
            "recompute it with `latentroom compose stats`"
        )
    if raw["format_version"] != STATS_FORMAT_VERSION:
        raise ConfigError(
            f"{where}: format_version {raw['format_version']!r} is not {STATS_FORMAT_VERSION}; "
            "recompute it with this latentroom"
        )
    n_dims = _positive_int(raw["latent_dim"], "latent_dim", where)
    frame_rate = _number(raw["frame_rate"], "frame_rate", where)
    if frame_rate <= 0:
        raise ConfigError(f"{where}: frame_rate must be > 0; got {frame_rate}")
    return LatentStats(
        codec=str(raw["codec"]),
        frame_rate=frame_rate,
        n_frames=_positive_int(raw["n_frames"], "n_frames", where),
        sources=[str(s) for s in raw["sources"]],
        vectors={n: _array(raw[n], n, (n_dims,), where) for n in VECTOR_FIELDS},
        matrices={n: _array(raw[n], n, (n_dims, n_dims), where) for n in MATRIX_FIELDS},
        ar=_ar_from_dict(raw["ar"], n_dims, where),
    )


def _ar_from_dict(raw: Any, n_dims: int, where: str) -> ARModel | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"order", "coefficients", "innovation_cov"}:
        raise ConfigError(f"{where}: 'ar' must hold order, coefficients and innovation_cov")
    order = _positive_int(raw["order"], "ar.order", where)
    return ARModel(
        coefficients=_array(raw["coefficients"], "ar.coefficients", (n_dims, order), where),
        innovation_cov=_array(raw["innovation_cov"], "ar.innovation_cov", (n_dims, n_dims), where),
    )


def _array(value: Any, name: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} must be numbers; got {str(value)[:60]}") from None
    if array.shape != shape:
        raise ConfigError(f"{where}: {name} has shape {array.shape}; expected {shape}")
    if not np.isfinite(array).all():
        raise ConfigError(
            f"{where}: {name} holds NaN or Inf values; recompute the stats from finite latents"
        )
    return array


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ConfigError(f"{where}: {name} must be a finite number; got {value!r}")
    return float(value)


def _positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {name} must be an integer >= 1; got {value!r}")
    return value
