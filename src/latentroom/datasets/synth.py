"""Synthetic sound families for license-clean training and evaluation data.

Every family is a pure function ``render_<family>(seconds, sample_rate, rng) -> (N,)`` float32 with
``N = round(seconds * sample_rate)``; the same ``rng`` state gives the same samples. ``FAMILIES``
maps family names to these functions (speech and koenig live in their own modules).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentroom.datasets.clip import finish, n_samples_for
from latentroom.datasets.koenig import render_koenig
from latentroom.datasets.speech import render_speech

#: ``(seconds, sample_rate, rng) -> samples (N,)``.
Renderer = Callable[[float, int, np.random.Generator], np.ndarray]
#: ``(t, sample_rate, rng) -> samples`` with ``t`` the note's time axis in seconds.
Note = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def note_onsets(seconds: float, rng: np.random.Generator, *, max_notes: int = 4) -> np.ndarray:
    """Sorted start times in seconds for 1..``max_notes`` notes, the first at 0."""
    n_notes = int(rng.integers(1, max_notes + 1))
    starts = np.sort(rng.uniform(0.0, seconds * 0.8, size=n_notes - 1))
    return np.concatenate([[0.0], starts])


def envelope(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """An attack-decay envelope [shape=(n,)]: attack 2-150 ms, exponential decay 0.1-3 s."""
    t = np.arange(n) / sample_rate
    attack = rng.uniform(0.002, 0.15)
    decay = rng.uniform(0.1, 3.0)
    return np.minimum(t / attack, 1.0) * np.exp(-np.maximum(t - attack, 0.0) / decay)


def _add_at(out: np.ndarray, start: int, x: np.ndarray) -> None:
    end = min(out.size, start + x.size)
    if end > start:
        out[start:end] += x[: end - start]


def _random_f0(rng: np.random.Generator, low: float = 55.0, octaves: float = 5.0) -> float:
    return float(low * 2 ** rng.uniform(0.0, octaves))


def play_notes(
    seconds: float, sample_rate: int, rng: np.random.Generator, note: Note, *, max_notes: int = 4
) -> np.ndarray:
    """Sum 1..``max_notes`` notes made by ``note``, each running from its onset to the end.

    Returns
    -------
    np.ndarray [shape=(N,), dtype=float64]
        Raw mix, before ``finish``.
    """
    n = n_samples_for(seconds, sample_rate)
    out = np.zeros(n)
    for start in note_onsets(seconds, rng, max_notes=max_notes):
        i0 = round(start * sample_rate)
        out[i0:] += note(np.arange(n - i0) / sample_rate, sample_rate, rng)
    return out


def additive_note(t: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """2-24 partials with random roll-off, inharmonic stretch and per-partial decay."""
    k = np.arange(1, int(rng.integers(2, 25)) + 1)
    stretch = rng.uniform(0.0, 1e-3)
    freqs = _random_f0(rng) * k * np.sqrt(1.0 + stretch * k**2)
    amps = k ** -rng.uniform(0.5, 2.0) * (freqs < 0.45 * sample_rate)
    decays = rng.uniform(0.2, 4.0) / k ** rng.uniform(0.0, 1.0)
    phases = rng.uniform(0, 2 * np.pi, size=k.size)
    partials = np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])
    partials *= (amps / k.size)[:, None] * np.exp(-t / decays[:, None])
    return partials.sum(axis=0) * envelope(t.size, sample_rate, rng)


def fm_note(t: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Two-operator FM: ratio 0.5-7, modulation index decaying from 0.5-10."""
    carrier = _random_f0(rng, low=65.0, octaves=4.0)
    ratio = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 5.0, 7.0]) * rng.uniform(0.995, 1.005)
    index = rng.uniform(0.5, 10.0) * np.exp(-t / rng.uniform(0.05, 2.0)) + rng.uniform(0, 1)
    phase = 2 * np.pi * carrier * t + index * np.sin(2 * np.pi * carrier * ratio * t)
    return np.sin(phase) * envelope(t.size, sample_rate, rng)


def pluck_note(t: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A Karplus-Strong pluck, 60-1000 Hz, from a bright or dull noise burst."""
    period = max(2, round(sample_rate / _random_f0(rng, low=60.0, octaves=4.0)))
    burst = rng.uniform(-1.0, 1.0, size=period)
    smooth = int(rng.integers(1, 6))  # moving average: higher = duller pluck
    burst = np.convolve(burst, np.ones(smooth) / smooth, mode="same")
    decay = 1.0 - 10 ** rng.uniform(-4.0, -1.5)
    return karplus_strong(t.size, period, burst, decay) * rng.uniform(0.3, 1.0)


def render_additive(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Additive tones: 1-4 notes (see ``additive_note``)."""
    return finish(play_notes(seconds, sample_rate, rng, additive_note), sample_rate, rng)


def render_fm(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """FM tones: 1-4 notes (see ``fm_note``)."""
    return finish(play_notes(seconds, sample_rate, rng, fm_note), sample_rate, rng)


def render_karplus(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Karplus-Strong plucks: 1-6 overlapping strings (see ``pluck_note``)."""
    raw = play_notes(seconds, sample_rate, rng, pluck_note, max_notes=6)
    return finish(raw, sample_rate, rng)


def karplus_strong(n: int, period: int, excitation: np.ndarray, decay: float) -> np.ndarray:
    """Karplus-Strong string: ``y[i] = x[i] + decay * (y[i-P] + y[i-P-1]) / 2``.

    Parameters
    ----------
    n : int > 0
        Output length.
    period : int >= 2
        Delay ``P`` in samples (pitch ``sample_rate / (P + 0.5)``).
    excitation : np.ndarray [shape=(period,)]
        The initial burst filling the delay line.
    decay : float in (0, 1]
        Loop gain per period.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    # One period at a time: each block depends only on the block before it (and its last sample).
    n_blocks = -(-n // period) + 1
    y = np.zeros(n_blocks * period + 1)
    y[1 : period + 1] = excitation
    for b in range(1, n_blocks):
        lo = 1 + b * period
        y[lo : lo + period] = 0.5 * decay * (y[lo - period : lo] + y[lo - period - 1 : lo - 1])
    return y[1 : n + 1]


def spectral_shape(n_bins: int, rng: np.random.Generator) -> np.ndarray:
    """A random magnitude response [shape=(n_bins,)]: tilt plus 1-4 log-frequency resonances."""
    position = np.linspace(0.0, 1.0, n_bins)  # 0 = DC, 1 = Nyquist, on a log-like axis
    log_pos = np.log1p(position * 1000) / np.log1p(1000)
    shape = -rng.uniform(0.0, 3.0) * log_pos
    for _ in range(int(rng.integers(1, 5))):
        centre, width = rng.uniform(0.3, 0.95), rng.uniform(0.01, 0.15)
        shape += rng.uniform(1.0, 4.0) * np.exp(-0.5 * ((log_pos - centre) / width) ** 2)
    return np.exp(shape)


def _filtered_noise(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n)) * spectral_shape(n // 2 + 1, rng)
    x = np.fft.irfft(spectrum, n)
    t = np.arange(n) / sample_rate
    rate, depth = rng.uniform(0.1, 8.0), rng.uniform(0.0, 0.9)
    return x * (1.0 - depth * 0.5 * (1 + np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3))))


def _granular(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    density = rng.uniform(5.0, 150.0)  # grains per second
    grain_n = max(8, round(rng.uniform(0.005, 0.08) * sample_rate))
    band = np.sort(rng.uniform(100.0, 0.4 * sample_rate, size=2))
    window = np.hanning(grain_n)
    t = np.arange(grain_n) / sample_rate
    for start in rng.integers(0, n, size=int(density * n / sample_rate)):
        if rng.random() < 0.5:
            grain = np.sin(2 * np.pi * rng.uniform(*band) * t + rng.uniform(0, 6.3))
        else:
            grain = rng.standard_normal(grain_n)
        _add_at(out, int(start), grain * window * rng.uniform(0.2, 1.0))
    return out


def render_noise(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Noise textures: spectrally shaped noise with slow tremolo, or clouds of sine/noise grains."""
    n = n_samples_for(seconds, sample_rate)
    make = _filtered_noise if rng.random() < 0.5 else _granular
    return finish(make(n, sample_rate, rng), sample_rate, rng)


def _drum_hit(kind: str, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = round(rng.uniform(0.08, 0.6) * sample_rate)
    t = np.arange(n) / sample_rate
    noise = rng.standard_normal(n)
    if kind == "kick":
        f = rng.uniform(40, 70) + rng.uniform(60, 200) * np.exp(-t / rng.uniform(0.01, 0.05))
        return np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * np.exp(-t / rng.uniform(0.08, 0.3))
    if kind == "snare":
        tone = np.sin(2 * np.pi * rng.uniform(150, 250) * t) * np.exp(-t / 0.04)
        return 0.5 * tone + noise * np.exp(-t / rng.uniform(0.04, 0.15))
    if kind == "hat":
        bright = np.diff(noise, prepend=0.0)  # first difference: a crude high-pass
        return bright * np.exp(-t / rng.uniform(0.01, 0.08))
    # tom
    f = rng.uniform(80, 300) * (1 + 0.3 * np.exp(-t / 0.05))
    return np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * np.exp(-t / rng.uniform(0.1, 0.4))


DRUM_KINDS = ("kick", "snare", "hat", "tom")


def render_percussion(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Drum patterns: kick/snare/hat/tom hits on a 16th-note grid at 70-170 BPM."""
    n = n_samples_for(seconds, sample_rate)
    out = np.zeros(n)
    step = 60.0 / rng.uniform(70.0, 170.0) / 4
    n_steps = int(seconds / step)
    for kind in DRUM_KINDS:
        hits = rng.random(n_steps) < rng.uniform(0.05, 0.5)
        for i in np.flatnonzero(hits):
            _add_at(out, round(i * step * sample_rate), _drum_hit(kind, sample_rate, rng))
    if not out.any():  # an empty pattern: one hit at the start keeps every clip audible
        _add_at(out, 0, _drum_hit("kick", sample_rate, rng))
    return finish(out, sample_rate, rng)


FAMILIES: dict[str, Renderer] = {
    "additive": render_additive,
    "fm": render_fm,
    "karplus": render_karplus,
    "noise": render_noise,
    "percussion": render_percussion,
    "speech": render_speech,
    "koenig": render_koenig,  # last: adding it kept every other family's clip seeds
}
