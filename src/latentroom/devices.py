"""Where models run: resolve ``auto|cpu|cuda[:N]|mps`` and a dtype once, check them up front.

Every command that runs a model takes ``--device`` and (where the model allows) ``--dtype``; it
resolves them here *before* creating any output, so a bad value costs nothing. Library functions
take ``device=`` (any spelling ``resolve_device`` accepts, resolved again: it is idempotent).
torch is imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from latentroom.errors import DeviceError

if TYPE_CHECKING:
    import torch

DTypeName = Literal["float32", "bfloat16", "float16"]
DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")
_CUDA = re.compile(r"cuda(?::(\d+))?")


def resolve_device(device: str = "auto") -> str:
    """The torch device string for ``device``: "cpu", "cuda:N" or "mps".

    Parameters
    ----------
    device : str
        ``auto`` (CUDA when present, else MPS when present, else CPU), ``cpu``, ``cuda``
        (= ``cuda:0``), ``cuda:N`` or ``mps``; case and surrounding spaces are ignored.

    Raises
    ------
    DeviceError
        Unknown spelling, no CUDA / MPS on this machine, or ``N`` beyond the GPUs present.
    """
    import torch

    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if _mps_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "mps":
        if not _mps_available():
            raise DeviceError(
                "--device mps: this machine (or this torch build) has no MPS; use --device cpu "
                "or --device auto"
            )
        return "mps"
    match = _CUDA.fullmatch(name)
    if match is None:
        raise DeviceError(
            f"unknown device {device!r}; use auto, cpu, cuda, cuda:N (N = GPU index) or mps"
        )
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {device}: no CUDA GPU is visible here (torch {torch.__version__}); use "
            "--device cpu, or install a CUDA build of torch on a machine with a GPU"
        )
    index, count = int(match.group(1) or 0), torch.cuda.device_count()
    if index >= count:
        raise DeviceError(
            f"--device {device}: this machine has {count} CUDA GPU(s) (cuda:0..cuda:{count - 1}); "
            "pick one of those"
        )
    return f"cuda:{index}"


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def check_dtype(dtype: str, *, allowed: Collection[str] = DTYPES, what: str = "this model") -> str:
    """Return ``dtype`` if ``what`` can run in it; one-line ``DeviceError`` otherwise.

    Parameters
    ----------
    dtype : str
        One of ``DTYPES``.
    allowed : collection of str
        The dtypes the model takes (the builtin codec: only ``float32``, since cuFFT and
        ``torch.stft`` have no bfloat16).
    what : str
        The model, named in the message.
    """
    if dtype not in DTYPES:
        raise DeviceError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    if dtype not in allowed:
        raise DeviceError(
            f"--dtype {dtype}: {what} runs only in {', '.join(sorted(allowed))}; "
            f"use --dtype {sorted(allowed)[0]}"
        )
    return dtype


def torch_dtype(dtype: str) -> torch.dtype:
    """The ``torch.dtype`` named ``dtype`` (one of ``DTYPES``)."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        check_dtype(dtype)
    ]


@dataclass(frozen=True)
class Placement:
    """A resolved device and dtype, as commands record them in manifests and metrics."""

    device: str  # "cpu", "cuda:N" or "mps"
    dtype: str = "float32"  # one of DTYPES

    def describe(self) -> dict[str, Any]:
        """``{"device", "dtype", "device_name"}`` for manifests (the GPU's model name)."""
        return {"device": self.device, "dtype": self.dtype, "device_name": device_name(self.device)}


def placement(
    device: str = "auto",
    dtype: str = "float32",
    *,
    allowed: Collection[str] = DTYPES,
    what: str = "this model",
) -> Placement:
    """Resolve ``device`` and check ``dtype`` in one call (what a command does first)."""
    return Placement(resolve_device(device), check_dtype(dtype, allowed=allowed, what=what))


def device_name(device: str) -> str:
    """Human name of a resolved device: the GPU model for CUDA, else the device string."""
    import torch

    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(torch.device(device)))
    return device
