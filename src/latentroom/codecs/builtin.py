"""The ``builtin`` codec: latentroom's own small VAE, its weight files and its registry factory.

Weights are a safetensors file beside a JSON file holding ``format_version`` and the model config;
loading rebuilds the network from that config and loads the tensors strictly. The shipped model
lives in ``latentroom/codecs/weights/builtin.{safetensors,json}``; retrained models are folders
holding ``model.safetensors`` + ``model.json`` (``latentroom train codec`` writes them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from latentroom.codecs.base import Codec
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_model import BuiltinVAE, build_model
from latentroom.devices import check_dtype, resolve_device
from latentroom.errors import CheckpointError, ConfigError, LatentroomError
from latentroom.fileio import atomic_path, write_text_atomic

FORMAT_VERSION = 1
WEIGHTS_DIR = Path(__file__).parent / "weights"
SHIPPED_WEIGHTS = WEIGHTS_DIR / "builtin.safetensors"
BUILTIN_DTYPE_REASON = "the builtin codec (its STFT / iSTFT have no half-precision FFT on CUDA)"


class BuiltinCodec(Codec):
    """The built-in VAE as a ``Codec``: mono, ``T = ceil(N / hop_length)`` frames.

    The encoder pads the input with zeros up to a whole number of hops, so ``T = ceil(N / hop)``
    (the base-class rule) and decoding returns ``T * hop`` samples.
    """

    latent_kind = "posterior-mean"
    stochastic = True

    def __init__(
        self,
        model: BuiltinVAE,
        config: BuiltinConfig,
        *,
        name: str = "builtin",
        device: str = "cpu",
    ) -> None:
        self.name = name
        self.config = config
        self.device = device
        self.model = model.to(device).eval()
        self.sample_rate = config.sample_rate
        self.channels = 1
        self.hop_length = config.hop_length
        self.latent_dim = config.code_dim
        # The level channels are the last dims (builtin_levels): RMS, then peak.
        self.measured_dims = tuple(range(config.latent_dim, config.code_dim))

    def modules_for_count(self) -> torch.nn.Module:
        return self.model

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        return self.model.encode(self.place(x), sample=sample, generator=generator)

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        return self.model.decoder(self.place(z))


def load_builtin(
    *,
    random_init: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    seed: int = 0,
    device: str = "cpu",
    dtype: str = "float32",
    **options: Any,
) -> BuiltinCodec:
    """Registry factory for ``builtin``.

    Parameters
    ----------
    random_init : bool
        Build an untrained model (seeded by ``seed``) instead of loading weights; ``options``
        then override ``BuiltinConfig`` fields (e.g. ``latent_dim=8``).
    checkpoint : path-like or None
        A model folder (``model.safetensors`` + ``model.json``) or a ``.safetensors`` file with
        its ``.json`` beside it. ``None`` loads the shipped weights.
    seed : int
        Seeds the random initialisation.
    device : str
        Where the model runs (``auto``, ``cpu``, ``cuda[:N]``, ``mps``).
    dtype : str
        Only ``float32``: the STFT front end and the iSTFT head have no half-precision FFT.

    Raises
    ------
    CheckpointError
        Missing, unreadable or mismatched weights.
    ConfigError
        Unknown options.
    DeviceError
        A device that is not here, or a dtype other than float32.
    """
    check_dtype(dtype, allowed=("float32",), what=BUILTIN_DTYPE_REASON)
    device = resolve_device(device)
    if random_init:
        config = BuiltinConfig.from_dict(options)
        return BuiltinCodec(build_model(config, seed), config, device=device)
    if options:
        raise ConfigError(
            f"builtin codec: unknown options {sorted(options)} when loading weights; "
            "model options apply only with random_init=True"
        )
    model, config = read_weights(SHIPPED_WEIGHTS if checkpoint is None else checkpoint)
    return BuiltinCodec(model, config, device=device)


def load_trained_builtin(
    path: str,
    *,
    random_init: bool = False,
    device: str = "cpu",
    dtype: str = "float32",
    **options: Any,
) -> BuiltinCodec:
    """Registry factory for ``builtin:PATH``: a model trained with ``latentroom train codec``.

    ``PATH`` is the training output folder (or its ``.safetensors`` file), so a retrained codec
    works in every command (``encode``, ``loop --backend room:builtin:PATH``, ``codec eval``).
    """
    if random_init:
        raise ConfigError(
            f"builtin:{path} names trained weights; for an untrained model use 'builtin' with "
            "random_init"
        )
    return load_builtin(checkpoint=path, device=device, dtype=dtype, **options)


def weight_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(safetensors, json)`` paths for a model folder or a ``.safetensors`` file."""
    path = Path(path)
    if path.is_dir():
        return path / "model.safetensors", path / "model.json"
    return path.with_suffix(".safetensors"), path.with_suffix(".json")


def write_weights(
    path: str | os.PathLike[str],
    model: BuiltinVAE,
    config: BuiltinConfig,
    *,
    info: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``model`` as safetensors + JSON (atomically); return both paths.

    ``path`` is a folder (``model.*`` inside) or a ``.safetensors`` file name. ``info`` is stored
    under ``"training"`` in the JSON (how the weights were made).
    """
    from safetensors.torch import save_file

    tensors_path, json_path = weight_paths(path)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(tensors_path) as tmp:
        save_file(tensors, str(tmp))
    meta = {"format_version": FORMAT_VERSION, "model": config.to_dict(), "training": info or {}}
    write_text_atomic(json_path, json.dumps(meta, indent=2) + "\n")
    return tensors_path, json_path


def read_weights(path: str | os.PathLike[str]) -> tuple[BuiltinVAE, BuiltinConfig]:
    """Rebuild the model from its JSON config and load its tensors strictly.

    Raises
    ------
    CheckpointError
        Missing or unreadable files, another ``format_version``, a config that does not parse,
        missing or unexpected tensors, or tensors of the wrong shape.
    """
    tensors_path, json_path = weight_paths(path)
    config = read_config(json_path)
    tensors = _read_tensors(tensors_path)
    model = BuiltinVAE(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{tensors_path}: tensors do not match the config in {json_path.name} "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}); "
            "use the JSON file that was saved with these weights"
        )
    for key, value in expected.items():
        if tensors[key].shape != value.shape:
            raise CheckpointError(
                f"{tensors_path}: tensor {key!r} has shape {tuple(tensors[key].shape)}, the "
                f"config in {json_path.name} needs {tuple(value.shape)}; "
                "use the JSON file that was saved with these weights"
            )
    model.load_state_dict(tensors, strict=True)
    return model.eval(), config


def read_config(json_path: Path) -> BuiltinConfig:
    """Read and check the JSON half of a weights pair."""
    if not json_path.is_file():
        raise CheckpointError(
            f"{json_path}: no such file; builtin weights need their JSON config beside them"
        )
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{json_path}: not a readable JSON config ({err})") from err
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise CheckpointError(
            f"{json_path}: format_version {version!r} is not {FORMAT_VERSION}; "
            "retrain or re-export the weights with this version of latentroom"
        )
    try:
        return BuiltinConfig.from_dict(dict(meta.get("model", {})))
    except (LatentroomError, TypeError) as err:
        raise CheckpointError(f"{json_path}: invalid model config ({err})") from err


def _read_tensors(tensors_path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not tensors_path.is_file():
        raise CheckpointError(
            f"{tensors_path}: no such weights file; train a model with `latentroom train codec` "
            "or reinstall latentroom for the shipped weights"
        )
    try:
        return load_file(str(tensors_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{tensors_path}: not a readable safetensors file ({err}); the file is corrupted, "
            "write it again"
        ) from err
