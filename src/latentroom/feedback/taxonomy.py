"""The seed's §5.4 artifact taxonomy, measured per pass, and §7.3's spectral horizon.

- phase smearing: ``pulse_crest_db``, the crest factor of a short window at each pulse;
- granular dust: ``dust_per_s``, isolated clicks between the pulses per second;
- swing / drag: ``pulse_offset_ms``, the signed mean offset of the onsets from the pulses;
- phantom voices: ``speech_share``, silero-vad's share of speech (optional extra);
- spectral horizon: ``horizon_levels``, the mel spectrum of the frames between the pulses.

docs/feedback-loop.md ("Artifact taxonomy") repeats the definitions and thresholds.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from latentroom.evaluation.onsets import detect_onsets
from latentroom.feedback.metrics import pulse_mask

SHARP_BEFORE = 0.005  # s: the sharpness window starts this long before a pulse ...
SHARP_AFTER = 0.025  # s: ... and ends this long after it (the attack and the seed's 20 ms tail)
SILENT_RMS = 1e-6  # a window quieter than -120 dBFS has no transient to measure
OFFSET_WINDOW = 0.040  # s: an onset this close to a pulse is that pulse, displaced ...
OFFSET_SHARE = 0.5  # ... and closer than this share of the shortest pulse interval
DUST_BLOCK = 0.0025  # s: blocks of the high-passed signal whose RMS make the envelope ...
DUST_CONTEXT = 0.050  # s: ... the envelope is their median within +-50 ms
DUST_RATIO_DB = 20.0  # a click: a high-passed sample this far above the envelope ...
DUST_FLOOR_DBFS = -60.0  # ... and above this absolute level (dither is not dust)
DUST_MERGE = 0.005  # s: detections closer than this are one click
HORIZON_BANDS = 64  # mel bands of the spectral-horizon figure
HORIZON_FLOOR = 1e-6  # amplitude floor of its levels: -120 dB
#: What the speech share needs installed (import name -> distribution name).
SPEECH_PACKAGES = {"silero_vad": "silero-vad", "onnxruntime": "onnxruntime"}
SPEECH_HINT = "install latentroom[perceptual]"


def pulse_crest_db(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> float:
    """Median over pulses of the crest factor (dB) in ``[pulse - 5 ms, pulse + 25 ms)``.

    Crest factor = ``20 log10(peak |x| / RMS)`` of the window: a Dirac impulse with the seed's
    -40 dB noise tail scores about 31 dB, a steady noise about 11 dB and a sine 3 dB, so a
    transient that loses its punch (phase smearing) scores lower. Windows quieter than
    -120 dBFS are skipped; NaN when every window is (or there are no pulses).

    Parameters
    ----------
    mono : np.ndarray [shape=(N,)]
        The pass's audio, averaged to mono.
    sample_rate : int > 0
        Its rate.
    pulse_times : np.ndarray [shape=(P,)]
        The input's pulses in seconds.
    """
    x = np.asarray(mono, dtype=np.float64)
    crests = []
    for time in np.asarray(pulse_times, dtype=np.float64):
        lo = max(0, round((time - SHARP_BEFORE) * sample_rate))
        window = x[lo : max(lo, round((time + SHARP_AFTER) * sample_rate))]
        rms = math.sqrt(float(np.mean(window**2))) if window.size else 0.0
        if rms > SILENT_RMS:
            crests.append(20.0 * math.log10(float(np.abs(window).max()) / rms))
    return float(np.median(crests)) if crests else math.nan


def pulse_offset_ms(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> float:
    """Signed mean offset (ms) of the onsets from the pulses they belong to; > 0 is late.

    Each pulse takes its nearest onset (``detect_onsets``) when it lies within 40 ms and within
    half the shortest interval between pulses (so a neighbour's onset is never taken). Wider
    than the 20 ms of ``persistence``, so a rhythm that drags further stays measured. NaN when
    no pulse has an onset that close.
    """
    pulses = np.sort(np.asarray(pulse_times, dtype=np.float64))
    onsets = detect_onsets(np.asarray(mono, dtype=np.float64), sample_rate)
    if pulses.size == 0 or onsets.size == 0:
        return math.nan
    window = OFFSET_WINDOW
    if pulses.size > 1:
        window = min(window, OFFSET_SHARE * float(np.diff(pulses).min()))
    nearest = onsets[np.abs(onsets[None, :] - pulses[:, None]).argmin(axis=1)]
    offsets = nearest - pulses
    kept = offsets[np.abs(offsets) <= window + 1e-9]
    return float(kept.mean() * 1000.0) if kept.size else math.nan


def click_times(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> np.ndarray:
    """Times (s) of the isolated clicks between the pulses (the granular-dust detector).

    1. high-pass: the first difference ``d[n] = x[n] - x[n-1]`` (+6 dB per octave, so a click's
       broadband edge stands out of low-frequency sound);
    2. envelope: the RMS of ``|d|`` in 2.5 ms blocks, then the median of those within +-50 ms,
       which a few clicks cannot lift but a steady texture does;
    3. a sample is a click when ``|d|`` is at least 20 dB above its block's envelope and above
       -60 dBFS, outside every pulse region (``pulse_mask``: 10 ms before to 60 ms after);
    4. detections less than 5 ms apart are one click, timed at its first sample.

    Returns
    -------
    np.ndarray [shape=(K,)]
        Sorted click times in seconds.
    """
    x = np.asarray(mono, dtype=np.float64)
    if x.size < 2:
        return np.zeros(0)
    jump = np.abs(np.diff(x, prepend=x[0]))
    block = max(1, round(DUST_BLOCK * sample_rate))
    n_blocks = -(-jump.size // block)
    padded = np.pad(jump, (0, n_blocks * block - jump.size))
    rms = np.sqrt((padded.reshape(n_blocks, block) ** 2).mean(axis=1))
    half = max(1, round(DUST_CONTEXT / DUST_BLOCK))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(rms, half, mode="edge"), 2 * half + 1)
    envelope = np.repeat(np.median(windows, axis=1), block)[: jump.size]
    is_click = (jump >= envelope * 10 ** (DUST_RATIO_DB / 20)) & (
        jump >= 10 ** (DUST_FLOOR_DBFS / 20)
    )
    is_click &= ~pulse_mask(x.size, sample_rate, pulse_times)
    found = np.flatnonzero(is_click)
    if found.size == 0:
        return np.zeros(0)
    starts = found[np.concatenate([[True], np.diff(found) >= DUST_MERGE * sample_rate])]
    return starts / sample_rate


def dust_per_s(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> float:
    """Isolated clicks (``click_times``) per second of audio between the pulse regions.

    NaN when the pulse regions cover everything.
    """
    between = int((~pulse_mask(np.size(mono), sample_rate, pulse_times)).sum())
    if between == 0:
        return math.nan
    return click_times(mono, sample_rate, pulse_times).size / (between / sample_rate)


def taxonomy_metrics(
    mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray
) -> dict[str, float]:
    """The pulse measures of one pass: ``pulse_crest_db``, ``pulse_offset_ms``, ``dust_per_s``.

    The arguments are those of ``pulse_crest_db``.
    """
    return {
        "pulse_crest_db": pulse_crest_db(mono, sample_rate, pulse_times),
        "pulse_offset_ms": pulse_offset_ms(mono, sample_rate, pulse_times),
        "dust_per_s": dust_per_s(mono, sample_rate, pulse_times),
    }


def missing_speech_packages() -> list[str]:
    """Distribution names of what the speech share needs and is not installed (no import)."""
    return [d for name, d in SPEECH_PACKAGES.items() if importlib.util.find_spec(name) is None]


def speech_share(samples: np.ndarray, sample_rate: int) -> float:
    """silero-vad's share (0..1) of 32 ms chunks that are speech; NaN when shorter than 256 ms.

    Multichannel audio is averaged to mono and resampled to 16 kHz first
    (``latentroom.evaluation.perceptual.speech.speech_share``). ``samples`` [shape=(C, N)] is
    the pass's audio at ``sample_rate``. Needs the ``perceptual`` extra: check
    ``missing_speech_packages()`` first.
    """
    from latentroom.evaluation.perceptual.base import to_model_rate
    from latentroom.evaluation.perceptual.speech import speech_share as vad_share

    mono, _ = to_model_rate(samples, sample_rate)
    measured = vad_share(mono)
    return math.nan if measured.value is None else measured.value


def horizon_levels(mono: np.ndarray, sample_rate: int, pulse_times: np.ndarray) -> np.ndarray:
    """The between-pulse spectrum: mel levels (dB re a full-scale sine) of the frames between.

    Frames are those of the loop's spectra (``average_spectrum``: Hann, ~42.7 ms, quarter
    hop); a frame counts when its whole window lies inside the signal and outside every pulse
    region (``pulse_mask``). Its amplitude spectrum goes through the 64-band HTK mel filterbank, the
    bands are RMS-averaged over the frames, floored at -120 dB. All NaN when no frame lies
    wholly between pulses.

    Returns
    -------
    np.ndarray [shape=(64,)]
        Bands from 0 Hz to Nyquist, as ``spectrogram_plots.draw_mel`` draws them.
    """
    from latentroom.evaluation.metrics import mel_n_fft
    from latentroom.evaluation.spectral import amplitude_spectrogram, mel_filterbank

    x = np.asarray(mono, dtype=np.float64)
    n_fft = mel_n_fft(sample_rate)
    hop = n_fft // 4
    amplitude = amplitude_spectrogram(x, n_fft, hop)
    # Frame t covers [t*hop - n_fft/2, t*hop + n_fft/2): padding counts as covered, so a frame
    # reaching past either end (part zeros) is left out too.
    covered = np.pad(pulse_mask(x.size, sample_rate, pulse_times), n_fft // 2, constant_values=True)
    counts = np.concatenate([[0], np.cumsum(covered)])
    starts = np.arange(amplitude.shape[0]) * hop
    ends = np.minimum(starts + n_fft, covered.size)
    between = counts[ends] - counts[starts] == 0
    if not between.any():
        return np.full(HORIZON_BANDS, np.nan)
    mel = amplitude[between] @ mel_filterbank(sample_rate, n_fft, HORIZON_BANDS).T
    level = np.sqrt((mel**2).mean(axis=0))
    return np.asarray(20.0 * np.log10(np.maximum(level, HORIZON_FLOOR)))
