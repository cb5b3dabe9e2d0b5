"""What every perceptual measure shares: the result type, the 16 kHz mono view, optional imports."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from latentroom.errors import BackendUnavailableError

#: The rate the speech models were trained at (silero-vad, CREPE, PESQ-WB, DNSMOS, resemblyzer).
MODEL_RATE = 16_000
INSTALL_HINT = 'pip install -e ".[perceptual]"'
#: Import name -> distribution name of every package the measure set imports, including the
#: ones torchcrepe (installed without its dependencies), resemblyzer and speechmos import.
PACKAGES = {
    "pesq": "pesq",
    "pystoi": "pystoi",
    "silero_vad": "silero-vad",
    "torchcrepe": "torchcrepe",
    "resemblyzer": "resemblyzer",
    "speechmos": "speechmos",
    "onnxruntime": "onnxruntime",
    "librosa": "librosa",
    "resampy": "resampy",
    "tqdm": "tqdm",
    "webrtcvad": "webrtcvad",
    "requests": "requests",
}


@dataclass(frozen=True)
class Measure:
    """One measured quantity: a number, or ``None`` with the reason it does not apply.

    ``value`` is never NaN: a measure that cannot be taken (no voice, no pitch, too short) says
    so in ``reason`` instead of returning a number that would be averaged with real ones.
    """

    value: float | None
    unit: str
    reason: str | None = None  # why value is None
    note: str | None = None  # how it was taken (e.g. "resampled 44100 -> 16000 Hz")

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError("a Measure has either a value or a reason, not both or neither")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"a Measure value must be finite; got {self.value}")

    @classmethod
    def skip(cls, unit: str, reason: str, note: str | None = None) -> Measure:
        """A measure that does not apply to this clip."""
        return cls(None, unit, reason, note)


def missing_packages() -> list[str]:
    """Distribution names of the measure packages that are not installed (cheap: no import)."""
    return [dist for name, dist in PACKAGES.items() if importlib.util.find_spec(name) is None]


def require_packages() -> None:
    """Raise one line naming the extra when any measure package is missing.

    Raises
    ------
    BackendUnavailableError
        Some of ``PACKAGES`` are not installed.
    """
    missing = missing_packages()
    if missing:
        raise BackendUnavailableError(
            f"perceptual measures need {', '.join(missing)}; install them with {INSTALL_HINT}"
        )


def import_optional(name: str) -> ModuleType:
    """Import one measure package, or raise the one-line install hint."""
    if importlib.util.find_spec(name) is None:
        raise BackendUnavailableError(
            f"{PACKAGES.get(name, name)} is not installed; install it with {INSTALL_HINT}"
        )
    return importlib.import_module(name)


def to_model_rate(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, str | None]:
    """Mono float32 at 16 kHz, and a note when it had to be resampled or down-mixed.

    Parameters
    ----------
    samples : np.ndarray [shape=(C, N) or (N,)]
        Audio at full scale ±1.
    sample_rate : int > 0
        Its rate.

    Returns
    -------
    mono : np.ndarray [shape=(M,)]
    note : str or None
    """
    from latentroom.audio.convert import remix, resample
    from latentroom.audio.types import Audio

    audio = Audio(samples, sample_rate)
    notes = []
    if audio.channels > 1:
        notes.append(f"{audio.channels} channels averaged to mono")
    if sample_rate != MODEL_RATE:
        notes.append(f"resampled {sample_rate} -> {MODEL_RATE} Hz")
    mono = resample(remix(audio, 1), MODEL_RATE, quality="HQ")
    return mono.samples[0].copy(), "; ".join(notes) or None  # Audio's samples are read-only


@contextlib.contextmanager
def one_cpu_thread(device: str) -> Iterator[None]:
    """Run torch on one thread while on the CPU (``device`` "cpu..."), and put the count back.

    For work that runs beside other work: with two of them on 2 cores, a second torch thread in
    each only makes them wait for each other.
    """
    if not device.startswith("cpu"):
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
