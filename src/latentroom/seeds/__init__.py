"""Koenig seeds: Euclidean rhythms and Xenakis sieves rendered as pulses with noise tails."""

from __future__ import annotations

from latentroom.seeds.config import SeedConfig, SeedLayer, parse_layer
from latentroom.seeds.euclid import euclidean, rotate
from latentroom.seeds.excitations import EXCITATIONS, make_excitation
from latentroom.seeds.output import seed_output_paths, write_seed
from latentroom.seeds.render import RenderedLayer, RenderedSeed, render_seed, step_starts
from latentroom.seeds.sieves import sieve_rhythm

__all__ = [
    "EXCITATIONS",
    "RenderedLayer",
    "RenderedSeed",
    "SeedConfig",
    "SeedLayer",
    "euclidean",
    "make_excitation",
    "parse_layer",
    "render_seed",
    "rotate",
    "seed_output_paths",
    "sieve_rhythm",
    "step_starts",
    "write_seed",
]
