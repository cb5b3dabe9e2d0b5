"""latentroom: play, furnish and measure the latent spaces of neural audio models."""

from __future__ import annotations

from latentroom.audio.types import Audio
from latentroom.errors import LatentroomError
from latentroom.latents.trajectory import LatentTrajectory

__version__ = "0.1.0"

__all__ = ["Audio", "LatentTrajectory", "LatentroomError", "__version__"]
