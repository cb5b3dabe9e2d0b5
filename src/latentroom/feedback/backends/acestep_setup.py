"""What latentroom checks before handing control to ACE-Step 1.5: its version and its checkpoints.

ACE-Step, given a checkpoints folder that lacks a model, starts a multi-gigabyte download (and
leaves an empty ``checkpoints/`` behind when it cannot). So every folder it will demand is checked
here first, and the folder it reads is pinned to the one that was checked.
Read from ace-step/ACE-Step-1.5: ``acestep/model_downloader.py`` (``MAIN_MODEL_COMPONENTS``,
``_contains_model_weights``) and ``acestep/core/generation/handler/init_service_*.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentroom.errors import BackendUnavailableError, ConfigError

#: The oldest upstream ACE-Step 1.5 that runs the backend: ``cover_noise_strength`` and the model
#: code in ``acestep/models/`` came in c019bee (2026-02-12); ``initialize_service`` has honoured
#: its ``project_root`` since a993293 (2026-02-17) — before, it read the checkout's own folder.
SUPPORTED = "upstream ace-step/ACE-Step-1.5 >= a993293 (2026-02-17)"
UPDATE = "update the checkout (git pull) and reinstall it (pip install -e ./ACE-Step-1.5)"
#: latentroom's own variable; ACE-Step's ``ACESTEP_CHECKPOINTS_DIR`` is the fallback after it.
CHECKPOINTS_ENV = "LATENTROOM_ACESTEP_CHECKPOINTS"
ACESTEP_ENV = "ACESTEP_CHECKPOINTS_DIR"  # read by ACE-Step itself since a8b62a3 (2026-04-07)
PROJECT_ENV = "ACESTEP_PROJECT_ROOT"  # where newer ACE-Step keeps .cache/acestep/ (else the cwd)
#: Folders ACE-Step downloads unless they hold weights, whatever the model (even without the LM).
REQUIRED = ("acestep-v15-turbo", "vae", "Qwen3-Embedding-0.6B", "acestep-5Hz-lm-1.7B")
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.bin.index.json",
)
SILENCE = "silence_latent.pt"  # every DiT folder has one; ACE-Step fails without it


def check_version(acestep: Any, api: Any) -> None:
    """Refuse an ACE-Step older than ``SUPPORTED`` in one line, before anything is called.

    Parameters
    ----------
    acestep : module
        The imported ``acestep`` package (for its location).
    api : module
        Its ``acestep.inference``.

    Raises
    ------
    BackendUnavailableError
        ``GenerationParams`` has no ``cover_noise_strength``, or ``acestep/models/`` or the
        ``init_service_orchestrator`` handler module is missing.
    """
    missing = []
    if "cover_noise_strength" not in inspect.signature(api.GenerationParams).parameters:
        missing.append("GenerationParams.cover_noise_strength")
    if not _has_module("acestep.models"):
        missing.append("the model code acestep/models/")
    if not _has_module("acestep.core.generation.handler.init_service_orchestrator"):
        missing.append("initialize_service(project_root=...)")
    if missing:
        where = Path(acestep.__file__).parent
        raise BackendUnavailableError(
            f"ACE-Step 1.5 at {where} is too old: it lacks {', '.join(missing)}; "
            f"latentroom needs {SUPPORTED}: {UPDATE}"
        )


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def resolve_checkpoints(folder: str | os.PathLike[str] | None) -> Path:
    """The checkpoints folder: ``folder``, else ``$LATENTROOM_ACESTEP_CHECKPOINTS``, else
    ``$ACESTEP_CHECKPOINTS_DIR``, else ``./checkpoints`` (absolute)."""
    chosen = folder or os.environ.get(CHECKPOINTS_ENV) or os.environ.get(ACESTEP_ENV)
    return Path(chosen or "checkpoints").expanduser().resolve()


def check_checkpoints(folder: Path, model: str) -> None:
    """Check that ``folder`` holds every folder ACE-Step will demand for ``model``.

    Raises
    ------
    ConfigError
        ``model`` is not a plain folder name.
    BackendUnavailableError
        The folder is missing, or lacks some model folders (all are named).
    """
    if not model or Path(model).name != model or model in (".", ".."):
        raise ConfigError(
            f"ACE-Step model {model!r} must be a folder name inside the checkpoints folder, "
            "e.g. acestep-v15-base; give the folder itself with --checkpoints DIR"
        )
    where = f"give the folder with --checkpoints DIR or ${CHECKPOINTS_ENV}"
    if not folder.is_dir():
        raise BackendUnavailableError(
            f"ACE-Step checkpoints folder {folder} does not exist; {where}"
        )
    needed = [model, *(name for name in REQUIRED if name != model)]
    missing = [name for name in needed if not _has_weights(folder / name)]
    if not missing and not (folder / model / SILENCE).is_file():
        missing = [f"{model}/{SILENCE}"]
    if missing:
        raise BackendUnavailableError(
            f"ACE-Step checkpoints folder {folder} lacks {', '.join(missing)} (each a folder "
            f"with a weight file); ACE-Step needs {', '.join(REQUIRED)} and the model's own "
            f"folder even for {model} without its LM, and would start a download: fetch them "
            f"with ACE-Step's acestep-download, or {where}"
        )


def _has_weights(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).exists() for name in WEIGHT_FILES)


@contextlib.contextmanager
def pinned_checkpoints(folder: Path, downloader: Any) -> Iterator[str]:
    """The ``project_root`` that makes ACE-Step read exactly ``folder``; build the handler inside.

    ACE-Step reads ``<project_root>/checkpoints``; since a8b62a3 (2026-04-07) it reads
    ``$ACESTEP_CHECKPOINTS_DIR`` first when set, so that variable is set to ``folder`` for the
    duration, which also lets such versions read a folder of any name. ``$ACESTEP_PROJECT_ROOT``
    is set to ``folder``'s parent too: newer versions otherwise keep their cache
    (``.cache/acestep/``) in the working directory. Both are restored afterwards.

    Raises
    ------
    ConfigError
        ``folder`` is not named ``checkpoints`` and this ACE-Step cannot read another name.
    """
    pinned = {ACESTEP_ENV: str(folder), PROJECT_ENV: str(folder.parent)}
    saved = {name: os.environ.get(name) for name in pinned}
    os.environ.update(pinned)
    try:
        honours_env = Path(downloader.get_checkpoints_dir()).resolve() == folder
        if folder.name != "checkpoints" and not honours_env:
            raise ConfigError(
                f"this ACE-Step reads checkpoints only from <project_root>/checkpoints; "
                f"rename {folder} to 'checkpoints' or update ACE-Step (>= a8b62a3, 2026-04-07)"
            )
        yield str(folder.parent)
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
