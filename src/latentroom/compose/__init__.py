"""Latent composition (after UnRAVEl): statistics, synthetic latents, patterns, tempo, specs."""

from __future__ import annotations

from latentroom.compose.patterns import apply_pattern, blender, fibo, orale, swapper
from latentroom.compose.stats import LatentStats, compute_stats
from latentroom.compose.stats_file import load_stats, save_stats
from latentroom.compose.synth import synthesize
from latentroom.compose.tempo import nearest_k, tempo_table

__all__ = [
    "LatentStats",
    "apply_pattern",
    "blender",
    "compute_stats",
    "fibo",
    "load_stats",
    "nearest_k",
    "orale",
    "save_stats",
    "swapper",
    "synthesize",
    "tempo_table",
]
