"""Model weights for the hub-based backends: cache checks, offline-safe loading, seeded random init.

Imported only by backend modules (and lazily by ``latentroom codecs``); torch and the model
libraries are imported inside the functions.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Collection, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from latentroom.errors import BackendUnavailableError, ConfigError, first_line

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

M = TypeVar("M", bound="torch.nn.Module")

#: Set to 1 to let latentroom download missing hub weights; without it nothing touches the network.
DOWNLOAD_ENV = "LATENTROOM_DOWNLOAD"

#: Files that hold weights in a hub repository, in the order ``from_pretrained`` looks for them.
WEIGHT_FILES = (
    "model.safetensors",
    "diffusion_pytorch_model.safetensors",
    "pytorch_model.bin",
    "diffusion_pytorch_model.bin",
)


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or say, in one line, which pip extra provides it.

    Raises
    ------
    BackendUnavailableError
        ``module`` is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendUnavailableError(
            f"this codec needs the Python package {module!r} ({err}); "
            f"install it with: pip install 'latentroom[{extra}]'"
        ) from err


def weights_cached(repo_id: str, subfolder: str | None = None) -> bool:
    """True when the local Hugging Face cache holds a config and a weights file for ``repo_id``.

    Looks only at the cache (``HF_HOME`` / ``HF_HUB_CACHE``); never touches the network.
    """
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        path = f"{subfolder}/{filename}" if subfolder else filename
        return isinstance(try_to_load_from_cache(repo_id, path), str)

    return cached("config.json") and any(cached(name) for name in WEIGHT_FILES)


def merge_config(
    published: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    *,
    random_init: bool,
    allowed: Collection[str],
) -> dict[str, Any]:
    """The published config with test overrides applied; overrides need ``random_init``.

    Raises
    ------
    ConfigError
        Overrides given for pretrained weights (they would not match the checkpoint), or an
        override key the model's config does not have (the config classes would ignore it).
    """
    if overrides and not random_init:
        raise ConfigError(
            f"config_overrides {sorted(overrides)} only apply to random_init=True models; "
            "pretrained weights fix the architecture"
        )
    unknown = sorted(set(overrides or {}) - set(allowed))
    if unknown:
        raise ConfigError(
            f"config_overrides keys {unknown} are not config fields; choose from {sorted(allowed)}"
        )
    return {**published, **(overrides or {})}


def build_random(factory: Callable[[], M], *, seed: int, device: str, dtype: str = "float32") -> M:
    """Build a model with random weights drawn from ``seed``, in eval mode, on ``device``.

    The model libraries initialise weights from torch's global generator; ``fork_rng`` gives
    them a seeded copy and restores the caller's global state afterwards. Weights are drawn on
    the CPU in float32 and then moved, so a seed gives the same weights on every device. On
    ``device="meta"`` nothing is allocated (enough for parameter counts).
    """
    import torch

    from latentroom.devices import resolve_device, torch_dtype

    if device == "meta":
        with torch.device("meta"):
            return factory().eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = factory()
    return model.to(device=resolve_device(device), dtype=torch_dtype(dtype)).eval()


def load_pretrained(
    loader: Callable[..., M],
    repo_id: str,
    *,
    codec: str,
    device: str,
    dtype: str = "float32",
    subfolder: str | None = None,
    folder: str | None = None,
) -> M:
    """Load weights with ``loader`` (a ``from_pretrained``) without waiting on the network.

    From ``folder`` when given (a local copy: ``save_pretrained`` output or a downloaded
    repository); else from the Hugging Face cache; else, only when ``LATENTROOM_DOWNLOAD=1``,
    from the hub. Anything else fails at once with the fix, instead of retried requests. The
    model is returned on ``device`` in ``dtype`` (float32 by default) and eval mode, whatever
    dtype the checkpoint holds.

    Raises
    ------
    BackendUnavailableError
        The weights are not here (and downloading was not asked for); one line naming the fix.
    """
    from latentroom.codecs.compat import hub_cache
    from latentroom.devices import resolve_device, torch_dtype

    kwargs: dict[str, Any] = {"subfolder": subfolder} if subfolder and not folder else {}
    if folder is not None:
        source, local = folder, True
        if not os.path.isdir(folder):
            raise BackendUnavailableError(
                f"{folder}: no such folder for the weights of codec {codec!r}; give the folder "
                "that holds config.json and the weights file"
            )
    elif weights_cached(repo_id, subfolder):
        source, local = repo_id, True
    elif os.environ.get(DOWNLOAD_ENV) == "1":
        source, local = repo_id, False
    else:
        raise BackendUnavailableError(missing_weights_message(codec, repo_id, subfolder))
    try:
        model = loader(source, local_files_only=local, cache_dir=hub_cache(), **kwargs)
    except (OSError, ValueError) as err:
        logger.debug("loading %s failed: %s", source, err)
        if folder is not None:
            raise BackendUnavailableError(
                f"{folder}: holds no loadable weights for codec {codec!r} ({first_line(err)})"
            ) from None
        raise BackendUnavailableError(missing_weights_message(codec, repo_id, subfolder)) from None
    # transformers 5 keeps the checkpoint's dtype ("auto"); latentroom sets its own.
    return model.to(device=resolve_device(device), dtype=torch_dtype(dtype)).eval()


def missing_weights_message(codec: str, repo_id: str, subfolder: str | None = None) -> str:
    """One line saying which weights are missing and how to get them."""
    where = f"{repo_id}, folder {subfolder}/" if subfolder else repo_id
    include = f" --include '{subfolder}/*'" if subfolder else ""
    return (
        f"weights for codec {codec!r} ({where}) are not on this machine; give a local copy as "
        f"{codec}:FOLDER, point HF_HOME at a cache that has them (`huggingface-cli download "
        f"{repo_id}{include}`), or set {DOWNLOAD_ENV}=1 to let latentroom download them "
        "(--random-init builds untrained weights)"
    )
