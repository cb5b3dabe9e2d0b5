"""Latent trajectories and the files they live in."""

from __future__ import annotations

from latentroom.latents.trajectory import LatentTrajectory

__all__ = ["LatentTrajectory"]
