"""latentroom: play, furnish and measure the latent spaces of neural audio models."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from latentroom.errors import LatentroomError

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.latents.trajectory import LatentTrajectory

__version__ = "0.1.0"

__all__ = ["Audio", "LatentTrajectory", "LatentroomError", "__version__"]

# These pull in numpy; loading them on first use keeps ``latentroom --help`` instant.
_LAZY = {"Audio": "latentroom.audio.types", "LatentTrajectory": "latentroom.latents.trajectory"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latentroom' has no attribute {name!r}")
