"""Codec registry: ``get_codec(name, **options)`` is the only door the CLI and the app use.

Backends register a *factory path* ("module:function") so that listing codecs imports nothing
heavy; the backend module (torch, transformers, diffusers) is imported only when a codec is built.
Names of the form ``PREFIX:ARG`` (``rave:/path/model.ts``) go to the factory registered for
``PREFIX:`` with ``ARG`` as its first argument.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentroom.errors import ConfigError, DeviceError

if TYPE_CHECKING:
    from latentroom.codecs.base import Codec


@dataclass(frozen=True)
class CodecEntry:
    """One registered codec name.

    Attributes
    ----------
    name : str
        Registry name; a name ending in ":" takes an argument (``rave:``).
    factory : str
        "package.module:function" building the codec; called as ``function(**options)`` or,
        for prefix names, ``function(arg, **options)``.
    summary : str
        One line for tables and help.
    extra : str
        The pip extra whose packages the backend needs ("" for the core install).
    """

    name: str
    factory: str
    summary: str
    extra: str = ""

    def load_factory(self) -> Callable[..., Codec]:
        module_name, _, attr = self.factory.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


_REGISTRY: dict[str, CodecEntry] = {}


def register_codec(name: str, factory: str, summary: str, *, extra: str = "") -> None:
    """Register (or replace) a codec name; see ``CodecEntry``."""
    _REGISTRY[name] = CodecEntry(name, factory, summary, extra)


def codec_names() -> list[str]:
    """All registered names, prefix names shown as ``prefix:PATH``."""
    return [f"{n}PATH" if n.endswith(":") else n for n in _REGISTRY]


def codec_entries() -> list[CodecEntry]:
    """All registry entries, in registration order."""
    return list(_REGISTRY.values())


def resolve(name: str) -> tuple[CodecEntry, str | None]:
    """Find the entry for ``name``; return it with the argument of a prefix name (else None).

    Names are matched without regard to case (``EnCodec-24K``); a prefix's argument (a path)
    keeps its case. ``NAME:PATH`` for a plain entry (``mimi:/models/mimi``) returns the entry
    with the path: ``get_codec`` passes it as the factory's ``weights`` folder. An unknown name
    gets the closest registered one as a suggestion.
    """
    import difflib

    if name.lower() in _REGISTRY and not name.endswith(":"):
        return _REGISTRY[name.lower()], None
    prefix, sep, arg = name.partition(":")
    if sep and f"{prefix.lower()}:" in _REGISTRY and arg:
        return _REGISTRY[f"{prefix.lower()}:"], arg
    if sep and prefix.lower() in _REGISTRY and arg:
        return _REGISTRY[prefix.lower()], arg
    close = difflib.get_close_matches(name.lower(), codec_names(), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"unknown codec {name!r}; {hint}choose one of {', '.join(codec_names())}")


def get_codec(name: str, **options: Any) -> Codec:
    """Build the codec registered under ``name``.

    Parameters
    ----------
    name : str
        A registered name (see ``latentroom codecs``) or ``prefix:ARG``.
    **options
        Passed to the backend factory (``random_init=True``, backend options). ``device``
        (``auto``, ``cpu``, ``cuda[:N]``, ``mps``; ``meta`` for weightless models) is resolved
        with ``latentroom.devices`` first; ``device`` and ``dtype`` may be given to any codec:
        one whose factory does not name them runs only on the CPU in float32.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the valid ones) or bad options.
    DeviceError
        A device that is not here, or a device / dtype the codec cannot run in.
    BackendUnavailableError
        The backend's extra is not installed or its weights are not on this machine.
    """
    entry, arg = resolve(name)
    factory = entry.load_factory()
    options = _placement_options(name, factory, options)
    if arg is not None and not entry.name.endswith(":"):  # NAME:PATH, a local weights folder
        if "weights" not in inspect.signature(factory).parameters:
            raise ConfigError(f"codec {entry.name!r} takes no weights folder; use {entry.name!r}")
        options["weights"] = arg
        arg = None
    _check_options(name, factory, options)
    codec = factory(arg, **options) if arg is not None else factory(**options)
    if options.get("random_init"):
        codec.random_init_seed = int(options.get("seed", 0))
    return codec


def _placement_options(
    name: str, factory: Callable[..., Codec], options: dict[str, Any]
) -> dict[str, Any]:
    """Resolve ``device``; drop ``device``/``dtype`` a factory lacks when they are the CPU/fp32."""
    from latentroom.devices import check_dtype, resolve_device

    options = dict(options)
    if options.get("device", "meta") != "meta":
        options["device"] = resolve_device(options["device"])
    if "dtype" in options:
        check_dtype(options["dtype"])
    takes = inspect.signature(factory).parameters  # named ones only: **options may not place
    for key, default in (("device", "cpu"), ("dtype", "float32")):
        if key in options and key not in takes:
            if options[key] != default:
                raise DeviceError(
                    f"--{key} {options[key]}: codec {name!r} runs only with {key} {default}; "
                    f"use --{key} {default}"
                )
            del options[key]
    return options


def _check_options(name: str, factory: Callable[..., Codec], options: dict[str, Any]) -> None:
    """Refuse option names the factory does not take (instead of a ``TypeError`` later)."""
    parameters = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    known = [n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        raise ConfigError(f"codec {name!r} has no options {unknown}; it takes {known}")


# The codecs latentroom ships adapters for. Factories live in the backend modules.
_BUILTINS = [
    (
        "builtin",
        "latentroom.codecs.builtin:load_builtin",
        "latentroom's own small VAE (mono, ships with the package)",
        "",
    ),
    (
        "builtin:",
        "latentroom.codecs.builtin:load_trained_builtin",
        "a builtin model you trained (builtin:/path/to/train-output)",
        "",
    ),
    (
        "mimi",
        "latentroom.codecs.hf_codecs:make_mimi",
        "Kyutai Mimi, 24 kHz, 512-d at 12.5 Hz",
        "transformers",
    ),
    (
        "encodec-24k",
        "latentroom.codecs.hf_codecs:make_encodec_24k",
        "Meta EnCodec 24 kHz mono, 128-d at 75 Hz",
        "transformers",
    ),
    (
        "encodec-48k",
        "latentroom.codecs.hf_codecs:make_encodec_48k",
        "Meta EnCodec 48 kHz stereo, 128-d at 150 Hz",
        "transformers",
    ),
    (
        "dac-16k",
        "latentroom.codecs.hf_codecs:make_dac_16k",
        "Descript DAC 16 kHz, 1024-d at 50 Hz",
        "transformers",
    ),
    (
        "dac-24k",
        "latentroom.codecs.hf_codecs:make_dac_24k",
        "Descript DAC 24 kHz, 1024-d at 75 Hz",
        "transformers",
    ),
    (
        "dac-44k",
        "latentroom.codecs.hf_codecs:make_dac_44k",
        "Descript DAC 44.1 kHz, 1024-d at 86.13 Hz",
        "transformers",
    ),
    (
        "acestep-vae",
        "latentroom.codecs.acestep_vae:make_acestep_vae",
        "ACE-Step 1.5 VAE (AutoencoderOobleck), 48 kHz stereo, 64-d at 25 Hz",
        "vae",
    ),
    (
        "rave:",
        "latentroom.codecs.rave:load_rave",
        "a RAVE TorchScript export (rave:/path/model.ts)",
        "",
    ),
]
for _name, _factory, _summary, _extra in _BUILTINS:
    register_codec(_name, _factory, _summary, extra=_extra)
