"""Reading and writing audio files (soundfile), with clear errors and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from latentroom.audio.checks import MAX_CHANNELS, check_audio
from latentroom.audio.convert import convert
from latentroom.audio.headers import clear_peak_timestamp, missing_data_bytes
from latentroom.audio.types import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio
from latentroom.errors import ConfigError, InvalidAudioError, first_line
from latentroom.fileio import atomic_path

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
#: Bytes per sample of the PCM and float subtypes a WAV or AIFF header can promise.
_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4}
_SAMPLE_BYTES["DOUBLE"] = 8
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF", ".aif": "AIFF"}


def load_audio(
    path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    max_channels: int | None = MAX_CHANNELS,
) -> Audio:
    """Read an audio file (WAV, FLAC, OGG, AIFF, ...) as float32, optionally converted.

    Parameters
    ----------
    path : path-like
        The file to read.
    sample_rate : int > 0 or None
        Resample to this rate (soxr, very high quality); ``None`` keeps the file's rate.
    channels : int > 0 or None
        Remix to this many channels; ``None`` keeps the file's layout.
    max_channels : int > 0 or None
        Refuse files with more channels than this (before remixing) unless ``None``.

    Returns
    -------
    Audio
        Samples of shape ``(C, N)``.

    Raises
    ------
    InvalidAudioError
        Missing, unreadable, corrupt, truncated or non-audio files; zero-length audio; NaN or Inf
        samples; too many channels; a sample rate outside 1 kHz..384 kHz.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise InvalidAudioError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InvalidAudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise InvalidAudioError(f"{path}: empty file (0 bytes); give a file with audio in it")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise InvalidAudioError(
            f"{path}: not a readable audio file, or a corrupt or truncated one "
            f"({first_line(err)}); give a WAV, FLAC, OGG or AIFF file"
        ) from err
    missing = missing_data_bytes(path)
    if missing:
        info = sf.info(str(path))
        frame_bytes = info.channels * _SAMPLE_BYTES.get(info.subtype, 0)
        # A cut can fall inside a frame: the partial one counts as promised.
        promised = f"{data.shape[0] - (-missing // frame_bytes)} samples" if frame_bytes else "more"
        raise InvalidAudioError(
            f"{path}: truncated file: its header promises {promised} per channel "
            f"({missing} bytes more than it holds), the file holds {data.shape[0]}; "
            "re-export or re-copy it"
        )
    if not MIN_SAMPLE_RATE <= file_rate <= MAX_SAMPLE_RATE:
        raise InvalidAudioError(
            f"{path}: sample rate {file_rate} Hz is outside "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; resample the file first"
        )
    audio = Audio(np.ascontiguousarray(data.T), int(file_rate))
    check_audio(audio, source=str(path), max_channels=max_channels)
    return convert(audio, sample_rate=sample_rate, channels=channels)


def save_audio(path: str | os.PathLike[str], audio: Audio, *, subtype: str | None = None) -> Path:
    """Write audio atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : path-like
        Target file; the format follows the suffix (.wav, .flac, .ogg, .aiff).
    audio : Audio
        Samples ``(C, N)``.
    subtype : str or None
        soundfile subtype, e.g. "FLOAT", "PCM_16", "PCM_24", "DOUBLE". ``None``: 32-bit float for
        WAV and AIFF, the format's own default for FLAC (PCM_16) and OGG (VORBIS).

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    ConfigError
        An unknown suffix or a subtype the format cannot hold (see ``check_audio_output``).
    """
    path = Path(path)
    fmt, subtype = check_audio_output(path, subtype=subtype)
    write_frames(path, audio.samples.T, audio.sample_rate, subtype=subtype, fmt=fmt)
    return path


def write_frames(
    path: str | os.PathLike[str], frames: np.ndarray, rate: int, *, subtype: str, fmt: str
) -> None:
    """Write ``frames`` [shape=(N, C)] with soundfile, atomically and with reproducible bytes.

    The same frames always give the same file: the timestamp libsndfile puts in float files'
    PEAK chunk is zeroed. Every latentroom writer of sound files (audio, latent WAVs, data sets)
    goes through here.
    """
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(str(tmp), frames, rate, subtype=subtype, format=fmt)
        clear_peak_timestamp(tmp)


def check_audio_output(
    path: str | os.PathLike[str], *, subtype: str | None = None
) -> tuple[str, str]:
    """Check, before any work, that ``save_audio(path, ..., subtype=subtype)`` can write.

    Returns
    -------
    (format, subtype) : tuple of str
        The soundfile format and the subtype that will be used.

    Raises
    ------
    ConfigError
        The suffix names no writable format, or the format cannot hold the subtype.
    """
    import soundfile as sf

    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"{path}: cannot tell the audio format from suffix {path.suffix!r}; "
            f"use one of {sorted(_WRITE_FORMATS)}"
        )
    if subtype is None:
        subtype = "FLOAT" if fmt in ("WAV", "AIFF") else sf.default_subtype(fmt)
    if not sf.check_format(fmt, subtype):
        raise ConfigError(
            f"subtype {subtype!r} cannot be written to {fmt} files; "
            f"choose one of {sorted(sf.available_subtypes(fmt))}"
        )
    return fmt, subtype
