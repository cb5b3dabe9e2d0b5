"""The ``Backend`` interface of the feedback loop (audio in, audio out) and its name registry."""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from latentroom.errors import ConfigError

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.codecs.base import Codec

Params = dict[str, float | str]


class Backend(abc.ABC):
    """One model pass: ``process(audio, params, *, seed) -> Audio``.

    Attributes
    ----------
    name : str
        Registry name as given (``room:builtin``, ``acestep``).
    honoured : frozenset of str
        Schedule params the backend acts on; the engine warns once about every other param a
        schedule sets, and records the warning in the manifest.
    defaults : dict
        Values used for honoured params a schedule leaves unset.
    codec : Codec or None
        The codec whose latent space the backend works in (None: it has none of ours).
    """

    name: str
    honoured: frozenset[str] = frozenset()
    defaults: ClassVar[Params] = {}
    codec: Codec | None = None

    @abc.abstractmethod
    def process(self, audio: Audio, params: Params, *, seed: int) -> Audio:
        """Run one pass on ``audio`` [shape=(C, N)] with this pass's ``params`` and ``seed``.

        The same audio, params and seed give the same output on the same machine.
        """

    def used_params(self, params: Params) -> Params:
        """The values this backend acts on for ``params``: honoured ones, defaults filled in."""
        chosen = {**self.defaults, **params}
        return {k: v for k, v in chosen.items() if k in self.honoured}

    def notes(self) -> list[str]:
        """Warnings about this backend's setup (e.g. a model that ignores guidance)."""
        return []

    def describe(self) -> dict[str, Any]:
        """Identity for the manifest: name, model, honoured params, defaults."""
        return {
            "name": self.name,
            "honoured": sorted(self.honoured),
            "defaults": dict(self.defaults),
        }


_REGISTRY: dict[str, tuple[str, str]] = {}


def register_backend(name: str, factory: str, summary: str) -> None:
    """Register ``name`` (a name ending in ":" takes an argument) -> "module:function" factory.

    The factory is called as ``function(**options)`` or ``function(arg, **options)`` and is
    imported only when the backend is built.
    """
    _REGISTRY[name] = (factory, summary)


def backend_names() -> list[str]:
    """Registered names, prefix names shown as ``prefix:CODEC``."""
    return [f"{n}CODEC" if n.endswith(":") else n for n in _REGISTRY]


def check_backend_name(name: str) -> tuple[str, str | None]:
    """Resolve ``name`` to ``(factory, argument)`` without importing anything.

    Raises
    ------
    ConfigError
        An unknown name; the message lists the registered ones.
    """
    if name in _REGISTRY and not name.endswith(":"):
        return _REGISTRY[name][0], None
    prefix, sep, arg = name.partition(":")
    if sep and arg and f"{prefix}:" in _REGISTRY:
        return _REGISTRY[f"{prefix}:"][0], arg
    raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}")


def get_backend(name: str, **options: Any) -> Backend:
    """Build the backend registered under ``name`` (``room:CODEC``, ``acestep``, ...).

    Raises
    ------
    ConfigError
        Unknown name or options.
    BackendUnavailableError
        The backend's package, weights or hardware are missing here.
    """
    factory_path, arg = check_backend_name(name)
    module_name, _, attr = factory_path.partition(":")
    factory: Callable[..., Backend] = getattr(importlib.import_module(module_name), attr)
    return factory(arg, **options) if arg is not None else factory(**options)


def fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Cut or zero-pad ``samples`` [shape=(C, N)] to ``n_samples`` columns."""
    if samples.shape[1] >= n_samples:
        return samples[:, :n_samples]
    return np.pad(samples, ((0, 0), (0, n_samples - samples.shape[1])))


def placement_options(name: str, device: str, dtype: str = "float32") -> dict[str, Any]:
    """Backend options that put backend ``name`` on a resolved ``device`` in ``dtype``.

    Rooms take both (their codec runs there); ACE-Step 1.5 takes the device and picks its own
    precision; ACE-Step v1 takes a dtype and, on CUDA, the GPU index (elsewhere its pipeline
    picks the device itself).

    Raises
    ------
    DeviceError
        A dtype the backend cannot be asked for.
    """
    from latentroom.errors import DeviceError

    if name.startswith("room:"):
        return {"device": device, "dtype": dtype}
    if name == "acestep":
        if dtype != "float32":
            raise DeviceError(
                f"--dtype {dtype}: the acestep backend picks its own precision (bfloat16 on "
                "CUDA); leave --dtype out"
            )
        # ACE-Step's own spelling of the first GPU ("cuda"); other indices pass as they are.
        return {"device": "cuda" if device == "cuda:0" else device}
    if name == "acestep-v1":
        if not device.startswith("cuda"):
            return {"dtype": dtype}
        return {"device_id": int(device.partition(":")[2] or 0), "dtype": dtype}
    return {}


def reject_options(backend: str, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise ``ConfigError`` naming the first option ``backend`` does not take."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none"
        raise ConfigError(
            f"backend {backend!r} takes no option {unknown[0]!r}; options it takes: {accepted}"
        )


for _name, _factory, _summary in [
    ("room:", "latentroom.feedback.backends.room:make_room", "a codec as the room (room:builtin)"),
    ("acestep", "latentroom.feedback.backends.acestep:make_acestep", "ACE-Step 1.5 cover task"),
    (
        "acestep-v1",
        "latentroom.feedback.backends.acestep_v1:make_acestep_v1",
        "ACE-Step v1 audio2audio",
    ),
]:
    register_backend(_name, _factory, _summary)
