"""The run directory's ``manifest.json``: read, write (atomically), hash, and clear a run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from latentroom.errors import ConfigError
from latentroom.latents.corpus_writer import file_sha256

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "RUN_FILES",
    "clear_run",
    "file_sha256",
    "iter_name",
    "read_manifest",
    "run_paths",
    "stale_temporaries",
    "to_json",
    "write_manifest",
]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Files a run writes besides ``iter_NN.wav`` (``--force`` removes exactly these).
RUN_FILES = (
    "manifest.json",
    "metrics.csv",
    "metrics.json",
    "report.md",
    "spectrograms.png",
    "metrics.png",
    "horizon.png",
)


def iter_name(index: int) -> str:
    """File name of pass ``index``: ``iter_00.wav`` is the input."""
    return f"iter_{index:02d}.wav"


def run_paths(run_dir: Path) -> list[Path]:
    """Every file of ours that exists in ``run_dir`` (for ``--force`` and the exists check)."""
    if not run_dir.is_dir():
        return []
    found = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    return found + sorted(run_dir.glob("iter_*.wav"))


def clear_run(run_dir: Path) -> None:
    """Remove a previous run's files (only ours; other files in the folder stay)."""
    for path in run_paths(run_dir) + stale_temporaries(run_dir):
        path.unlink()


def stale_temporaries(run_dir: Path) -> list[Path]:
    """Temporary files of ours that a killed write left behind (``.iter_03.x1y2.tmp.wav``)."""
    if not run_dir.is_dir():
        return []
    patterns = [".iter_*.tmp.wav"]
    patterns += [f".{Path(name).stem}.*.tmp{Path(name).suffix}" for name in RUN_FILES]
    return sorted({path for pattern in patterns for path in run_dir.glob(pattern)})


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Load ``run_dir/manifest.json``; non-finite metrics come back as NaN.

    Raises
    ------
    ConfigError
        No manifest (not a run directory), unreadable JSON, or another format version.
    """
    path = run_dir / MANIFEST
    if not path.is_file():
        raise ConfigError(
            f"{run_dir}: no {MANIFEST} here, so it is not a loop run directory; "
            "start a run with 'latentroom loop -o DIR'"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not readable JSON ({err}); the run cannot resume") from err
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: format_version {manifest.get('format_version')!r} is not "
            f"{FORMAT_VERSION}; resume it with the latentroom version that wrote it"
        )
    for record in manifest.get("passes", []):
        record["metrics"] = {k: _from_json(v) for k, v in record.get("metrics", {}).items()}
    return manifest


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically (NaN and infinities become ``null``)."""
    from latentroom.fileio import write_text_atomic

    path = run_dir / MANIFEST
    write_text_atomic(path, json.dumps(to_json(manifest), indent=2, allow_nan=False) + "\n")
    return path


def to_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _from_json(value: Any) -> Any:
    return math.nan if value is None else value
