"""Drift metrics of one pass: rhythm, silence, spectral shape, level, loudness, latent distance.

Definitions (docs/feedback-loop.md repeats them): multichannel audio is averaged to mono for
everything except level and loudness; spectra are time-averaged power spectra of Hann-windowed
frames of ~42.7 ms (2048 samples at 48 kHz) at a quarter-window hop.
"""

from __future__ import annotations

import math

import numpy as np

from latentroom.audio.loudness import integrated_loudness, level_dbfs
from latentroom.evaluation.metrics import mel_n_fft
from latentroom.evaluation.onsets import detect_onsets
from latentroom.evaluation.spectral import amplitude_spectrogram

ONSET_TOLERANCE = 0.020  # s: a pulse persists when an output onset lies within +-20 ms
PULSE_BEFORE = 0.010  # s: a pulse's region starts this long before it ...
PULSE_AFTER = 0.060  # s: ... and ends this long after (the 20 ms tail and some decay)
SHEEN_HZ = 8_000.0  # "metallic sheen": share of power at or above this frequency
POWER_FLOOR = 1e-12  # power floor of ratios: -120 dB re full scale

#: Every per-pass metric: ``audio_metrics``'s, ``feedback.taxonomy``'s (the pulse measures and
#: the speech share) and the engine's latent drifts.
METRIC_NAMES = (
    "persistence",
    "onset_deviation_ms",
    "pulse_offset_ms",
    "pulse_crest_db",
    "gap_to_pulse_db",
    "dust_per_s",
    "flatness",
    "entropy",
    "centroid_hz",
    "hf_share",
    "rms_dbfs",
    "peak_dbfs",
    "lufs",
    "speech_share",
    "drift_prev",
    "drift_first",
)


def audio_metrics(
    samples: np.ndarray, sample_rate: int, pulse_times: np.ndarray
) -> dict[str, float]:
    """Every audio metric of one pass (the latent drifts are added by the engine).

    Parameters
    ----------
    samples : np.ndarray [shape=(C, N)]
        The pass's audio.
    sample_rate : int > 0
        Its rate.
    pulse_times : np.ndarray [shape=(P,)]
        The input's pulses in seconds.
    """
    mono = np.asarray(samples, dtype=np.float64).mean(axis=0)
    persistence, deviation = rhythm_persistence(mono, sample_rate, pulse_times)
    flatness, entropy, centroid, hf_share = spectral_shape(mono, sample_rate)
    rms, peak = level_dbfs(samples)
    return {
        "persistence": persistence,
        "onset_deviation_ms": deviation,
        "gap_to_pulse_db": gap_to_pulse_db(mono, sample_rate, pulse_times),
        "flatness": flatness,
        "entropy": entropy,
        "centroid_hz": centroid,
        "hf_share": hf_share,
        "rms_dbfs": rms,
        "peak_dbfs": peak,
        "lufs": integrated_loudness(samples, sample_rate),
    }


def rhythm_persistence(
    mono: np.ndarray,
    sample_rate: int,
    pulse_times: np.ndarray,
    *,
    tolerance: float = ONSET_TOLERANCE,
) -> tuple[float, float]:
    """Share of pulses with an onset within ``+-tolerance``, and the median signed deviation.

    Onsets come from ``latentroom.evaluation.onsets.detect_onsets`` (log-spectral flux). Each
    pulse takes its nearest onset; the deviation (onset - pulse, ms) is the median over the
    pulses that persisted: positive is "drag", negative "rush". NaN when none persisted.
    """
    pulses = np.asarray(pulse_times, dtype=np.float64)
    onsets = detect_onsets(mono, sample_rate)
    if pulses.size == 0:
        return math.nan, math.nan
    if onsets.size == 0:
        return 0.0, math.nan
    nearest = onsets[np.abs(onsets[None, :] - pulses[:, None]).argmin(axis=1)]
    offsets = nearest - pulses
    kept = np.abs(offsets) <= tolerance + 1e-9
    deviation = float(np.median(offsets[kept]) * 1000.0) if kept.any() else math.nan
    return float(kept.mean()), deviation


def pulse_mask(n_samples: int, sample_rate: int, pulse_times: np.ndarray) -> np.ndarray:
    """Boolean [shape=(N,)]: True within ``[pulse - 10 ms, pulse + 60 ms)`` of any pulse."""
    mask = np.zeros(n_samples, dtype=bool)
    for time in np.asarray(pulse_times, dtype=np.float64):
        lo = max(0, round((time - PULSE_BEFORE) * sample_rate))
        hi = min(n_samples, round((time + PULSE_AFTER) * sample_rate))
        mask[lo:hi] = True
    return mask


def gap_to_pulse_db(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> float:
    """``10 log10(mean power between pulses / mean power around pulses)``, powers floored.

    "Around" is ``pulse_mask``; "between" is every other sample. A clean click train sits near
    -120 dB; a texture that fills the silence rises toward 0 dB. NaN without both regions.
    """
    mask = pulse_mask(mono.size, sample_rate, pulse_times)
    if mask.all() or not mask.any():
        return math.nan
    power = np.asarray(mono, dtype=np.float64) ** 2
    gap, pulse = float(power[~mask].mean()), float(power[mask].mean())
    return 10.0 * math.log10((gap + POWER_FLOOR) / (pulse + POWER_FLOOR))


def average_spectrum(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged power spectrum and its bin frequencies (Hz), both [shape=(K,)]."""
    n_fft = mel_n_fft(sample_rate)
    power = (amplitude_spectrogram(mono, n_fft, n_fft // 4) ** 2).mean(axis=0)
    return power, np.fft.rfftfreq(n_fft, 1.0 / sample_rate)


def spectral_shape(mono: np.ndarray, sample_rate: int) -> tuple[float, float, float, float]:
    """Flatness, normalised entropy, centroid (Hz) and share above 8 kHz of the mean spectrum.

    - flatness: geometric over arithmetic mean of the power, floored at 1e-12 of its peak
      (0 for a pure tone, near 1 for white noise);
    - entropy: ``-sum(p log p) / log K`` of the power as a distribution over the K bins;
    - centroid: power-weighted mean frequency;
    - hf share: power at or above 8 kHz over all power (0 when Nyquist is at or below 8 kHz).

    All NaN for silence.
    """
    power, freqs = average_spectrum(mono, sample_rate)
    total = float(power.sum())
    if total <= 0.0:
        return math.nan, math.nan, math.nan, math.nan
    floored = np.maximum(power, POWER_FLOOR * float(power.max()))
    flatness = float(np.exp(np.log(floored).mean()) / floored.mean())
    share = power / total
    nonzero = share[share > 0]
    entropy = float(-(nonzero * np.log(nonzero)).sum() / math.log(power.size))
    centroid = float((freqs * power).sum() / total)
    hf_share = float(power[freqs >= SHEEN_HZ].sum() / total)
    return flatness, entropy, centroid, hf_share


def latent_scale(data: np.ndarray) -> np.ndarray:
    """Per-dim std over frames of latents [shape=(T, D)] -> [shape=(D,)], floored.

    The floor (1e-3 of the mean std, at least 1e-8) keeps a constant dim from scaling to 0.
    """
    std = np.asarray(data, dtype=np.float64).std(axis=0)
    return np.maximum(std, max(1e-3 * float(std.mean()), 1e-8))


def latent_drift(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> float:
    """RMS over frames and dims of ``(a - b) / scale`` on the frames both have.

    Parameters
    ----------
    a, b : np.ndarray [shape=(T, D)]
        Two passes' latents in one codec.
    scale : np.ndarray [shape=(D,)]
        The run's latent scale (``latent_scale`` of pass 0).
    """
    n_frames = min(a.shape[0], b.shape[0])
    diff = (np.asarray(a[:n_frames], np.float64) - np.asarray(b[:n_frames], np.float64)) / scale
    return float(np.sqrt((diff**2).mean())) if n_frames else math.nan


def detect_pulses(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onset times (s) of an input that is not a rendered seed: its pulses for the metrics."""
    return detect_onsets(np.asarray(samples, dtype=np.float64).mean(axis=0), sample_rate)
