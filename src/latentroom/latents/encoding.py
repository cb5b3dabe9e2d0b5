"""File-level encode and decode: what ``latentroom encode`` / ``latentroom decode`` do."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.audio.headers import clear_peak_timestamp
from latentroom.audio.levels import (
    LevelDecision,
    LevelPolicy,
    level_file,
    over_full_scale_warning,
)
from latentroom.errors import ConfigError, InvalidAudioError
from latentroom.latents.trajectory import LatentTrajectory
from latentroom.progress import Progress

if TYPE_CHECKING:
    import torch

    from latentroom.codecs.base import Codec

logger = logging.getLogger(__name__)


def collect_audio_paths(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand folders into their audio files (recursively, sorted); keep files as given.

    Raises
    ------
    ConfigError
        No inputs, or a folder without audio files.
    """
    from latentroom.audio.io import AUDIO_SUFFIXES

    paths: list[Path] = []
    for given in map(Path, inputs):
        if not given.is_dir():
            paths.append(given)
            continue
        found = sorted(p for p in given.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not found:
            raise ConfigError(f"{given}: folder holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
        paths.extend(found)
    if not paths:
        raise ConfigError("no inputs; give audio files or folders")
    return paths


def check_single_output(
    paths: list[Path], output: Path, *, subtype: str, group_regex: str | None, force: bool
) -> None:
    """Refuse, before any work, what a one-file encode cannot do or would overwrite."""
    from latentroom.codecs.chunking import audio_file_info
    from latentroom.fileio import check_outputs
    from latentroom.latents.files import LATENT_SUFFIXES, sidecar_path

    if len(paths) != 1:
        raise ConfigError(
            f"{len(paths)} input files need a corpus output; pass -o NAME.zarr (got {output})"
        )
    if output.suffix.lower() not in LATENT_SUFFIXES:
        raise ConfigError(
            f"{output}: output must end in .npy, .wav (latent WAV) or .zarr (corpus store)"
        )
    if subtype not in ("FLOAT", "DOUBLE") or (subtype != "FLOAT" and output.suffix != ".wav"):
        raise ConfigError(f"--subtype {subtype!r}: FLOAT, or DOUBLE for a .wav output")
    if group_regex is not None:
        raise ConfigError("--group-regex labels corpus items; use it with -o NAME.zarr")
    audio_file_info(paths[0])
    check_outputs([output, sidecar_path(output)], force=force, inputs=paths)


def seeded_generator(seed: int | None) -> torch.Generator | None:
    """A CPU torch generator seeded with ``seed`` (None: no generator)."""
    if seed is None:
        return None
    import torch

    return torch.Generator().manual_seed(seed)


def expected_frames(codec: Codec, path: Path) -> int:
    """Frames ``codec`` will produce for the audio file at ``path`` (for progress bars)."""
    import soundfile as sf

    info = sf.info(str(path))
    return codec.n_frames(round(info.frames * codec.sample_rate / info.samplerate))


def encode_audio_file(
    codec: Codec,
    path: Path,
    *,
    chunk_seconds: float | None = None,
    overlap_seconds: float | None = None,
    sample: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
) -> LatentTrajectory:
    """Encode one file, streamed in chunks (``chunk_seconds=0``: whole file in one model call).

    Parameters
    ----------
    codec : Codec
        The codec.
    path : Path
        An audio file.
    chunk_seconds, overlap_seconds : float or None
        Chunking (see ``latentroom.codecs.chunking``); None takes its defaults.
    sample : bool
        Sample the posterior with a generator seeded by ``seed``.
    seed : int
        Seed for sampling.
    progress : callable or None
        Called with finished frames.

    Returns
    -------
    LatentTrajectory
        With ``meta["source"] = str(path)``.
    """
    generator = seeded_generator(seed) if sample else None
    if chunk_seconds == 0:
        from latentroom.audio.io import load_audio

        latents = codec.encode(load_audio(path), generator=generator, sample=sample)
        if progress is not None:
            progress(latents.n_frames)
    else:
        from latentroom.codecs.chunking import encode_file

        options: dict[str, Any] = {"generator": generator, "sample": sample, "progress": progress}
        if chunk_seconds is not None:
            options["chunk_seconds"] = chunk_seconds
        if overlap_seconds is not None:
            options["overlap_seconds"] = overlap_seconds
        latents = encode_file(codec, path, **options)
    return latents.with_data(latents.data, source=str(path))


def conversion_note(latents: LatentTrajectory, codec: Codec) -> str:
    """What was done to the input to fit ``codec`` ("resampled from 44100 to 48000 Hz"), or ""."""
    meta, done = latents.meta, []
    if meta.get("resampled"):
        done.append(f"resampled from {meta['input_sample_rate']} to {codec.sample_rate} Hz")
    if meta.get("remixed"):
        done.append(f"mixed from {meta['input_channels']} to {codec.channels} channels")
    return " and ".join(done)


def save_latent_file(path: Path, trajectory: LatentTrajectory, *, subtype: str = "FLOAT") -> Path:
    """Save to ``.npy`` + sidecar, or to a latent WAV (``subtype`` FLOAT or DOUBLE) + sidecar.

    ``subtype`` is ignored for ``.npy`` (always float32); ``check_single_output`` refuses that
    combination on the command line.
    """
    from latentroom.latents.files import save_latents
    from latentroom.latents.latent_wav import save_latent_wav

    if path.suffix.lower() == ".wav":
        return save_latent_wav(path, trajectory, subtype=subtype)  # type: ignore[arg-type]
    return save_latents(path, trajectory)


def load_for_decode(
    path: Path,
    *,
    codec_name: str | None = None,
    frame_rate: float | None = None,
    random_init: bool = False,
    device: str = "cpu",
    dtype: str = "float32",
) -> tuple[LatentTrajectory, Codec]:
    """Load a latent file and build the codec that decodes it (from the sidecar unless named).

    The codec runs on ``device`` in ``dtype`` (see ``latentroom.devices``).

    Raises
    ------
    ConfigError
        No codec named and none in the sidecar; unknown codec.
    InvalidLatentError
        Unreadable latents, wrong dim for the codec, NaN/Inf values, no frame rate.
    """
    from latentroom.codecs.registry import get_codec
    from latentroom.latents.files import load_latents

    trajectory = load_latents(path, frame_rate=frame_rate)
    name = codec_name or trajectory.codec
    if not name:
        raise ConfigError(f"{path}: the latents do not say which codec made them; pass --codec")
    build: dict[str, Any] = {"random_init": True} if random_init else {}
    recorded = trajectory.meta.get("random_init_seed")
    if recorded is not None and codec_name is None:  # made with random weights: rebuild them
        build = {"random_init": True, "seed": int(recorded)}
    codec = get_codec(name, device=device, dtype=dtype, **build)
    codec.check_latent(trajectory)
    if abs(trajectory.frame_rate - codec.frame_rate) > 1e-9 * codec.frame_rate:
        logger.warning(
            "latents are at %s Hz but codec %r runs at %s Hz; decoding at the codec's rate",
            trajectory.frame_rate,
            name,
            codec.frame_rate,
        )
    return trajectory, codec


def write_decoded(
    output: Path,
    codec: Codec,
    trajectory: LatentTrajectory,
    *,
    seed: int = 0,
    chunk_seconds: float | None = None,
    overlap_seconds: float | None = None,
    level: str = "keep",
    progress: Progress | None = None,
) -> tuple[float, LevelDecision]:
    """Decode chunk by chunk straight into an audio file (atomic).

    ``chunk_seconds=0`` decodes everything in one model call; otherwise see
    ``latentroom.codecs.chunking.iter_decode``. WAV and AIFF get 32-bit float samples, other
    formats their default subtype. ``level`` is the output level policy
    (``latentroom.audio.levels``): the file is measured once written and, when the policy
    asks for a gain, rewritten scaled before it takes its name.

    Returns
    -------
    (seconds, decision) : tuple of float and LevelDecision
        The duration and what the level policy did.
    """
    import soundfile as sf

    from latentroom.codecs.chunking import iter_decode
    from latentroom.fileio import atomic_path

    fmt = decoded_format(output)
    subtype = "FLOAT" if sf.check_format(fmt, "FLOAT") else sf.default_subtype(fmt)
    generator = seeded_generator(seed)
    if chunk_seconds == 0:
        blocks = iter([codec.decode(trajectory, generator=generator).samples])
    else:
        options: dict[str, Any] = {"generator": generator, "progress": progress}
        if chunk_seconds is not None:
            options["chunk_seconds"] = chunk_seconds
        if overlap_seconds is not None:
            options["overlap_seconds"] = overlap_seconds
        blocks = iter_decode(codec, trajectory, **options)
    policy = LevelPolicy.parse(level)
    n_samples = 0
    rate, channels = codec.sample_rate, codec.channels
    with atomic_path(output) as tmp:
        with sf.SoundFile(str(tmp), "w", rate, channels, subtype, None, fmt) as handle:
            for block in blocks:
                _check_finite(block, n_samples, trajectory)
                handle.write(block.T)
                n_samples += block.shape[1]
        decision = level_file(tmp, policy)
        clear_peak_timestamp(tmp)  # the same samples, the same bytes (audio/io.write_frames)
    if decision.over_full_scale:
        logger.warning("%s", over_full_scale_warning(str(output), decision))
    return n_samples / codec.sample_rate, decision


def _check_finite(block: np.ndarray, start: int, trajectory: LatentTrajectory) -> None:
    """Refuse a decoded block [shape=(C, n)] holding NaN or Inf (nothing is written)."""
    bad = int((~np.isfinite(block)).sum())
    if bad:
        peak = float(np.abs(trajectory.data).max())
        raise InvalidAudioError(
            f"decoding gave {bad} NaN or Inf samples from sample {start} on (the latents reach "
            f"{peak:.3g}; the codec cannot decode values that far out); nothing was written"
        )


def decoded_format(path: Path) -> str:
    """The soundfile format for a decoded-audio path, refusing suffixes it cannot write."""
    formats = {".wav": "WAV", ".flac": "FLAC", ".aiff": "AIFF", ".aif": "AIFF", ".ogg": "OGG"}
    if path.suffix.lower() not in formats:
        raise ConfigError(f"{path}: write decoded audio to one of {', '.join(sorted(formats))}")
    return formats[path.suffix.lower()]
