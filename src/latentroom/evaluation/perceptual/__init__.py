"""Perceptual measures from pretrained models and classical speech metrics (optional extra).

Each measure family lives in its own module and imports its package only when called; the
models' weights all ship inside the installed wheels, so nothing is downloaded (see
docs/evaluation.md, "Perceptual measures").
"""

from __future__ import annotations

from latentroom.evaluation.perceptual.base import (
    INSTALL_HINT,
    Measure,
    missing_packages,
    require_packages,
)
from latentroom.evaluation.perceptual.suite import MEASURES, VOICE_MEASURES, measure_pair

__all__ = [
    "INSTALL_HINT",
    "MEASURES",
    "VOICE_MEASURES",
    "Measure",
    "measure_pair",
    "missing_packages",
    "require_packages",
]
