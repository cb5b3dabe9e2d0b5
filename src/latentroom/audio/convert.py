"""Resampling (soxr) and channel remixing; each returns new ``Audio``."""

from __future__ import annotations

import numpy as np

from latentroom.audio.types import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio
from latentroom.errors import ConfigError


def resample(audio: Audio, sample_rate: int, *, quality: str = "VHQ") -> Audio:
    """Resample every channel with soxr.

    Parameters
    ----------
    audio : Audio
        Input, shape ``(C, N)``.
    sample_rate : int > 0
        Target rate in Hz.
    quality : str
        soxr quality ("QQ", "LQ", "MQ", "HQ", "VHQ").

    Returns
    -------
    Audio
        Shape ``(C, round(N * sample_rate / audio.sample_rate))``.
    """
    if sample_rate == audio.sample_rate:
        return audio
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ConfigError(
            f"cannot resample to {sample_rate} Hz; choose a rate in "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    import soxr

    # soxr wants (N, C) frames.
    out = soxr.resample(audio.samples.T, audio.sample_rate, sample_rate, quality=quality)
    frames = np.asarray(out, dtype=np.float32).reshape(-1, audio.channels)
    return Audio(np.ascontiguousarray(frames.T), sample_rate)


def remix(audio: Audio, channels: int) -> Audio:
    """Change the channel count: mono is duplicated up, a mix is averaged down to mono.

    Parameters
    ----------
    audio : Audio
        Input, shape ``(C, N)``.
    channels : int > 0
        Target channel count. Between two multichannel layouts the first ``channels`` channels
        are kept (going down) or the channels are cycled (going up), as sox does with ``remix``
        lists; to mono everything is averaged.

    Returns
    -------
    Audio
        Shape ``(channels, N)``.
    """
    if channels < 1:
        raise ConfigError(f"channels must be >= 1; got {channels}; pass 1 for mono, 2 for stereo")
    if channels == audio.channels:
        return audio
    if channels == 1:
        return audio.with_samples(audio.samples.mean(axis=0, keepdims=True))
    if audio.channels == 1:
        return audio.with_samples(np.repeat(audio.samples, channels, axis=0))
    index = np.arange(channels) % audio.channels
    return audio.with_samples(audio.samples[index])


def convert(audio: Audio, *, sample_rate: int | None = None, channels: int | None = None) -> Audio:
    """Remix then resample (remixing first resamples fewer channels when going down to mono)."""
    if channels is not None:
        audio = remix(audio, channels)
    if sample_rate is not None:
        audio = resample(audio, sample_rate)
    return audio
