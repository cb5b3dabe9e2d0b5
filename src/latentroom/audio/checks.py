"""Validation shared by everything that takes audio in."""

from __future__ import annotations

import numpy as np

from latentroom.audio.types import Audio
from latentroom.errors import InvalidAudioError

MAX_CHANNELS = 8


def check_audio(
    audio: Audio, *, source: str = "audio", max_channels: int | None = MAX_CHANNELS
) -> Audio:
    """Refuse audio that no model should see; return it unchanged when it is fine.

    Parameters
    ----------
    audio : Audio
        The audio to check.
    source : str
        How to name it in the error (a file path, "input", ...).
    max_channels : int > 0 or None
        Most channels allowed; ``None`` allows any number.

    Raises
    ------
    InvalidAudioError
        Zero-length audio, NaN or Inf samples, or too many channels.
    """
    if audio.n_samples == 0:
        raise InvalidAudioError(f"{source}: audio has zero length; give a file with sound in it")
    finite = np.isfinite(audio.samples)
    if not finite.all():
        bad = int((~finite).sum())
        raise InvalidAudioError(
            f"{source}: {bad} samples are NaN or Inf; fix or re-export the file"
        )
    if max_channels is not None and audio.channels > max_channels:
        raise InvalidAudioError(
            f"{source}: {audio.channels} channels is more than {max_channels}; "
            "pass channels=N to remix, or allow more channels explicitly"
        )
    return audio
