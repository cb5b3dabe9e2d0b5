"""Audio values, file I/O, conversion and checks."""

from __future__ import annotations

from latentroom.audio.checks import check_audio
from latentroom.audio.convert import convert, remix, resample
from latentroom.audio.io import check_audio_output, load_audio, save_audio
from latentroom.audio.types import Audio

__all__ = [
    "Audio",
    "check_audio",
    "check_audio_output",
    "convert",
    "load_audio",
    "remix",
    "resample",
    "save_audio",
]
