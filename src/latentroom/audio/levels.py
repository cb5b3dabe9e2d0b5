"""Output level policies: what gain a written sound gets, so nothing leaves above 0 dBFS unasked.

A policy is chosen with ``--level`` and parsed by ``LevelPolicy.parse``:

- ``keep``: the sound keeps its own level, except that a true peak above the ceiling
  (−1 dBTP) is brought down to it by one gain (no limiter, so no distortion);
- ``match-input`` (``loop`` only): each pass gets the integrated loudness of the loop's input;
- ``lufs:X``: integrated loudness X LUFS;
- ``peak:X``: true peak X dBTP;
- ``off``: no gain at all; a sound over 0 dBFS is written as it is, with a warning.

Loudness targets never raise a sound by more than ``MAX_BOOST_DB`` (a near-silent pass would
otherwise turn its noise floor into the loudest thing in the run) and never push its true
peak above the ceiling: the gain actually applied is what ``LevelDecision`` records.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from latentroom.audio.headers import clear_peak_timestamp
from latentroom.errors import ConfigError

CEILING_DBTP = -1.0  # the ceiling of keep/match-input/lufs; ACE-Step peak-normalises to −1 dBFS
MAX_BOOST_DB = 30.0  # the most a loudness target may raise a sound
FILE_BLOCK = 1 << 18  # frames per block when a written file is measured or rescaled
PEAK_OVERLAP = 64  # frames shared by neighbouring blocks, so no inter-sample peak is missed
Mode = Literal["keep", "match-input", "lufs", "peak", "off"]
LOOP_MODES: tuple[Mode, ...] = ("keep", "match-input", "lufs", "off")
OUTPUT_MODES: tuple[Mode, ...] = ("keep", "lufs", "peak", "off")


@dataclass(frozen=True)
class LevelPolicy:
    """A parsed ``--level`` value."""

    mode: Mode
    target: float | None = None  # LUFS for "lufs", dBTP for "peak"; None otherwise

    @classmethod
    def parse(cls, text: str, *, allowed: tuple[Mode, ...] = OUTPUT_MODES) -> LevelPolicy:
        """Parse ``keep``, ``match-input``, ``lufs:-23``, ``peak:-1`` or ``off``.

        Raises
        ------
        ConfigError
            An unknown mode, one not in ``allowed``, or a target that is not a finite number
            (a peak target above 0 dBTP is refused: it would clip).
        """
        name, _, value = text.strip().lower().partition(":")
        choices = ", ".join(f"{m}:X" if m in ("lufs", "peak") else m for m in allowed)
        if name not in allowed:
            raise ConfigError(f"--level {text!r} is not a level policy; use one of {choices}")
        if name not in ("lufs", "peak"):
            if value:
                raise ConfigError(f"--level {name} takes no value; use one of {choices}")
            return cls(name)
        try:
            target = float(value)
        except ValueError:
            target = math.nan
        if not math.isfinite(target) or (name == "peak" and target > 0):
            limit = "a number ≤ 0 dBTP" if name == "peak" else "a finite loudness in LUFS"
            raise ConfigError(f"--level {text!r}: the target must be {limit}, e.g. {name}:-1")
        return cls(name, target)

    def __str__(self) -> str:
        return self.mode if self.target is None else f"{self.mode}:{self.target:g}"


@dataclass(frozen=True)
class LevelDecision:
    """What a policy did to one sound: its level before, and the gain applied."""

    policy: str  # the policy as given, e.g. "keep"
    gain_db: float  # applied gain; 0.0 when none
    lufs_before: float  # loudness before the gain (NaN: not measured or too short; −inf: silent)
    true_peak_dbtp_before: float  # true peak before the gain
    peak_dbfs_before: float  # sample peak before the gain

    @property
    def true_peak_dbtp_after(self) -> float:
        return self.true_peak_dbtp_before + self.gain_db

    @property
    def peak_dbfs_after(self) -> float:
        return self.peak_dbfs_before + self.gain_db

    @property
    def over_full_scale(self) -> bool:
        """A written sample is beyond ±1 (0 dBFS): it clips in any fixed-point copy.

        Only ``off`` (or a loudness target on a sound too short to measure) lets that happen.
        """
        return self.peak_dbfs_after > 0.0

    def to_dict(self) -> dict[str, float | str | bool]:
        return {
            "policy": self.policy,
            "gain_db": self.gain_db,
            "lufs_before": self.lufs_before,
            "true_peak_dbtp_before": self.true_peak_dbtp_before,
            "true_peak_dbtp": self.true_peak_dbtp_after,
            "peak_dbfs": self.peak_dbfs_after,
            "over_0dbfs": self.over_full_scale,
        }


def decide_gain(
    policy: LevelPolicy,
    true_peak_dbtp: float,
    lufs: float,
    *,
    reference_lufs: float | None = None,
) -> float:
    """The gain (dB) ``policy`` gives a sound with this true peak and loudness.

    Parameters
    ----------
    policy : LevelPolicy
    true_peak_dbtp : float
        The sound's true peak (−inf: digital silence).
    lufs : float
        Its integrated loudness (NaN when shorter than a 400 ms block, −inf when gated away).
    reference_lufs : float or None
        The loudness ``match-input`` matches.
    """
    if policy.mode == "off" or not math.isfinite(true_peak_dbtp):
        return 0.0
    if policy.mode == "peak":
        assert policy.target is not None  # parse guarantees it
        return policy.target - true_peak_dbtp
    ceiling = CEILING_DBTP - true_peak_dbtp
    target = policy.target if policy.mode == "lufs" else reference_lufs
    if (
        policy.mode == "keep"
        or target is None
        or not (math.isfinite(target) and math.isfinite(lufs))
    ):
        return min(0.0, ceiling)  # no loudness to aim at: only keep below the ceiling
    return min(target - lufs, MAX_BOOST_DB, ceiling)


def level_audio(
    samples: np.ndarray,
    sample_rate: int,
    policy: LevelPolicy,
    *,
    reference_lufs: float | None = None,
) -> tuple[np.ndarray, LevelDecision]:
    """Apply ``policy`` to ``samples`` [shape=(C, N)]; return the levelled copy and the record.

    Samples keep their dtype; with no gain the input array itself is returned.
    """
    from latentroom.audio.loudness import integrated_loudness, level_dbfs, true_peak_dbfs

    peak = true_peak_dbfs(samples, sample_rate)
    lufs = integrated_loudness(samples, sample_rate)
    gain = decide_gain(policy, peak, lufs, reference_lufs=reference_lufs)
    decision = LevelDecision(str(policy), round(gain, 6), lufs, peak, level_dbfs(samples)[1])
    if decision.gain_db == 0.0:
        return samples, decision
    factor = np.asarray(10.0 ** (decision.gain_db / 20.0), dtype=samples.dtype)
    return samples * factor, decision


def level_file(path: str | os.PathLike[str], policy: LevelPolicy) -> LevelDecision:
    """Apply ``policy`` to a written audio file in place, block by block; return the record.

    The true peak is measured in overlapping blocks, so files of any length stay out of
    memory. Only ``lufs:X`` reads the whole file (integrated loudness gates over all of it);
    other policies record the loudness as not measured (NaN).
    """
    import soundfile as sf

    from latentroom.audio.loudness import integrated_loudness, level_dbfs, true_peak_dbfs

    path = Path(path)
    info = sf.info(str(path))
    true_peak, peak = -math.inf, -math.inf
    for block in sf.blocks(str(path), FILE_BLOCK, PEAK_OVERLAP, dtype="float32", always_2d=True):
        true_peak = max(true_peak, true_peak_dbfs(block.T, info.samplerate))
        peak = max(peak, level_dbfs(block.T)[1])
    lufs = math.nan
    if policy.mode == "lufs":
        lufs = integrated_loudness(sf.read(str(path), always_2d=True)[0].T, info.samplerate)
    decision = LevelDecision(
        str(policy), round(decide_gain(policy, true_peak, lufs), 6), lufs, true_peak, peak
    )
    if decision.gain_db != 0.0:
        _rescale_file(path, 10.0 ** (decision.gain_db / 20.0))
    return decision


def _rescale_file(path: Path, factor: float) -> None:
    """Multiply every sample of ``path`` by ``factor``, through a sibling file then a rename."""
    import soundfile as sf

    scaled = path.with_name(path.name + ".level")
    try:
        with sf.SoundFile(str(path)) as source:
            options = (source.samplerate, source.channels, source.subtype, None, source.format)
            with sf.SoundFile(str(scaled), "w", *options) as target:
                for block in source.blocks(FILE_BLOCK, dtype="float32", always_2d=True):
                    target.write(block * np.float32(factor))
        clear_peak_timestamp(scaled)  # the same samples, the same bytes (audio/io.write_frames)
        os.replace(scaled, path)
    finally:
        scaled.unlink(missing_ok=True)


def over_full_scale_warning(what: str, decision: LevelDecision) -> str:
    """The warning line for a sound written above 0 dBFS."""
    return (
        f"{what} peaks at {decision.peak_dbfs_after:+.1f} dBFS, over full scale "
        f"(--level {decision.policy}); lower it with --level keep"
    )
