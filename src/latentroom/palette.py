"""One colour per predictor and per codec, shared by every figure.

Colours come from matplotlib's colour-blind-safe "tab10" set, written out as hex so this module
imports nothing. A name outside the tables gets a colour from its CRC-32, so it is the same in
every figure and every run.
"""

from __future__ import annotations

import zlib

PREDICTOR_COLOURS = {
    "marginal_diag": "#7f7f7f",  # grey: the baseline every IG is measured against
    "marginal_full": "#8c564b",
    "linear": "#1f77b4",
    "mdn": "#2ca02c",
    "sequence": "#d62728",
}
CODEC_COLOURS = {
    "builtin": "#1f77b4",
    "mimi": "#ff7f0e",
    "encodec-24k": "#2ca02c",
    "encodec-48k": "#98df8a",
    "dac-16k": "#9467bd",
    "dac-24k": "#c5b0d5",
    "dac-44k": "#e377c2",
    "acestep-vae": "#d62728",
    "rave": "#8c564b",
    "input audio (log-mel)": "#000000",
}
_SPARE = ("#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#ff9896", "#f7b6d2", "#dbdb8d")
RANDOM_SUFFIX = "-random"  # ``analyze compare --random-init`` labels: same codec, same colour


def predictor_colour(name: str) -> str:
    """The colour of predictor ``name`` (hex)."""
    return PREDICTOR_COLOURS.get(name) or _spare(name)


def codec_colour(label: str) -> str:
    """The colour of codec ``label``: a registered name, ``NAME-random`` or ``prefix:PATH``."""
    name = label.removesuffix(RANDOM_SUFFIX)
    return CODEC_COLOURS.get(name) or CODEC_COLOURS.get(name.split(":")[0]) or _spare(name)


def _spare(name: str) -> str:
    return _SPARE[zlib.crc32(name.encode()) % len(_SPARE)]
