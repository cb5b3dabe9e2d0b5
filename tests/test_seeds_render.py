"""Rendering the Koenig seed: pulse positions, tails, timing modes, excitations and layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentroom import __version__
from latentroom.seeds import SeedConfig, SeedLayer, euclidean, render_seed, sieve_rhythm

PROTOCOL_PULSES = [0, 110769, 184615, 295385, 369231]  # round(i * 480000 / 13), i in 0 3 5 8 10


def _rms_db(x: np.ndarray) -> float:
    return float(20.0 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def _onset_steps(rhythm: list[int], n_steps: int) -> list[int]:
    return [i for i in range(n_steps) if rhythm[i % len(rhythm)]]


def test_protocol_defaults() -> None:
    seed = render_seed()
    assert seed.audio.samples.shape == (1, 480_000)
    assert seed.audio.sample_rate == 48_000
    assert seed.rhythm == [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert seed.pulse_samples.tolist() == PROTOCOL_PULSES
    assert seed.audio.samples[0, PROTOCOL_PULSES].tolist() == [1.0] * 5  # Dirac of 1.0


def test_tail_length_and_level() -> None:
    samples = render_seed().audio.samples[0]
    for pulse in PROTOCOL_PULSES:
        tail = samples[pulse + 1 : pulse + 961]  # 20 ms at 48 kHz
        assert np.all(tail != 0.0)
        assert _rms_db(tail) == pytest.approx(-40.0, abs=1.0)
        assert np.all(samples[pulse + 961 : pulse + 2000] == 0.0)


@pytest.mark.parametrize(("tail_ms", "tail_db", "n_tail"), [(5.0, -20.0, 240), (1.0, -60.0, 48)])
def test_tail_options(tail_ms: float, tail_db: float, n_tail: int) -> None:
    samples = render_seed(SeedConfig(tail_ms=tail_ms, tail_db=tail_db)).audio.samples[0]
    tail = samples[1 : 1 + n_tail]
    assert _rms_db(tail) == pytest.approx(tail_db, abs=1.0)
    assert samples[1 + n_tail] == 0.0
    assert np.count_nonzero(samples) == 5 * (1 + n_tail)


def test_zero_tail_leaves_only_the_impulses() -> None:
    samples = render_seed(SeedConfig(tail_ms=0.0)).audio.samples[0]
    assert np.flatnonzero(samples).tolist() == PROTOCOL_PULSES


def test_same_seed_same_samples_other_seed_other_noise() -> None:
    first = render_seed(SeedConfig(seed=3)).audio.samples
    assert np.array_equal(first, render_seed(SeedConfig(seed=3)).audio.samples)
    other = render_seed(SeedConfig(seed=4)).audio.samples
    assert not np.array_equal(first, other)
    assert np.array_equal(first[0, PROTOCOL_PULSES], other[0, PROTOCOL_PULSES])


@pytest.mark.parametrize(
    ("options", "step", "n_steps"),
    [
        pytest.param({"cycles": 2}, 480_000 / 26, 26, id="cycles"),
        pytest.param({"step_ms": 250.0}, 12_000.0, 40, id="step-ms"),
        pytest.param({"bpm": 120.0}, 6_000.0, 80, id="bpm-sixteenths"),
        pytest.param({"bpm": 90.0, "steps_per_beat": 3}, 32_000 / 3, 45, id="bpm-triplets"),
        pytest.param({"step_ms": 700.0}, 33_600.0, 15, id="step-ms-partial-cycle"),
    ],
)
def test_timing_modes(options: dict[str, float], step: float, n_steps: int) -> None:
    seed = render_seed(SeedConfig(tail_ms=5.0, **options))  # type: ignore[arg-type]
    expected = [round(i * step) for i in _onset_steps(seed.rhythm, n_steps)]
    assert seed.pulse_samples.tolist() == expected
    assert seed.layers[0].n_steps == n_steps


def test_rotation_moves_the_pulses() -> None:
    seed = render_seed(SeedConfig(rotation=3))
    assert seed.rhythm == euclidean(5, 13, rotation=3)
    assert seed.pulse_samples.tolist() == [0, 73846, 184615, 258462, 369231]


def test_sieve_replaces_euclid() -> None:
    seed = render_seed(SeedConfig(sieve="5@0|13@3", steps=65, tail_ms=2.0))
    assert seed.rhythm == sieve_rhythm("5@0|13@3", 65)
    expected = [round(i * 480_000 / 65) for i in _onset_steps(seed.rhythm, 65)]
    assert seed.pulse_samples.tolist() == expected


def test_stereo_channels_are_identical() -> None:
    samples = render_seed(SeedConfig(channels=2, seconds=1.0)).audio.samples
    assert samples.shape == (2, 48_000)
    assert np.array_equal(samples[0], samples[1])


def test_layers_add_at_their_level() -> None:
    layer = SeedLayer(pulses=3, steps=8, level_db=-6.0)
    seed = render_seed(SeedConfig(tail_ms=0.0, layers=(layer,)))
    assert seed.layers[1].pulse_samples.tolist() == [0, 180_000, 360_000]
    samples = seed.audio.samples[0]
    gain = 10 ** (-6 / 20)
    assert samples[180_000] == pytest.approx(gain)
    assert samples[0] == pytest.approx(1.0 + gain)
    assert np.count_nonzero(samples) == 7  # 5 + 3 onsets, one shared at 0


def test_noise_burst_length_and_peak() -> None:
    config = SeedConfig(excitation="noise-burst", excitation_ms=5.0, tail_ms=0.0, seconds=1.0)
    samples = render_seed(config).audio.samples[0]
    burst = samples[:240]
    assert np.max(np.abs(burst)) == pytest.approx(1.0)
    assert np.all(samples[240:2000] == 0.0)
    assert _rms_db(burst[:24]) > _rms_db(burst[-24:]) + 40.0  # decays by ~60 dB


def test_sine_ping_frequency_and_decay() -> None:
    config = SeedConfig(
        excitation="sine-ping", freq=1500.0, excitation_ms=20.0, tail_ms=0.0, seconds=1.0
    )
    samples = render_seed(config).audio.samples[0]
    ping = samples[:960]
    spectrum = np.abs(np.fft.rfft(ping, n=48_000))
    assert abs(int(np.argmax(spectrum)) - 1500) <= 30
    assert np.max(np.abs(ping)) == pytest.approx(1.0)
    assert np.max(np.abs(ping[-48:])) < 0.01


def test_click_is_band_limited_and_centred() -> None:
    config = SeedConfig(excitation="click", freq=2000.0, excitation_ms=4.0, tail_ms=0.0)
    seed = render_seed(config)
    samples = seed.audio.samples[0]
    pulse = int(seed.pulse_samples[1])
    assert samples[pulse] == pytest.approx(1.0)
    assert np.allclose(samples[pulse - 96 : pulse], samples[pulse + 96 : pulse : -1])
    spectrum = np.abs(np.fft.rfft(samples[pulse - 96 : pulse + 97], n=48_000))
    assert spectrum[6000:].max() < 0.05 * spectrum[:1000].max()


def test_sidecar_has_everything() -> None:
    seed = render_seed(SeedConfig(seed=11, layers=(SeedLayer(3, 8, level_db=-6.0),)))
    sidecar = seed.to_dict()
    assert sidecar["latentroom_version"] == __version__
    assert sidecar["seed"] == 11
    assert sidecar["rhythm"] == [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert sidecar["pulse_samples"] == PROTOCOL_PULSES
    assert SeedConfig.from_dict(sidecar["config"]) == seed.config
    assert sidecar["layers"][1]["pulse_samples"] == [0, 180_000, 360_000]
    assert sidecar["layers"][1]["level_db"] == -6.0


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.data())
def test_pulses_land_on_rounded_steps(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n), label="k")
    cycles = data.draw(st.integers(1, 4), label="cycles")
    rotation = data.draw(st.integers(-n, n), label="rotation")
    config = SeedConfig(
        pulses=k,
        steps=n,
        rotation=rotation,
        cycles=cycles,
        seconds=0.5,
        sample_rate=8000,
        tail_ms=0.0,
    )
    seed = render_seed(config)
    step = 4000 / (n * cycles)
    expected = [
        round(i * step) for i in _onset_steps(euclidean(k, n, rotation=rotation), n * cycles)
    ]
    assert seed.pulse_samples.tolist() == expected
    assert len(expected) == k * cycles
    assert np.flatnonzero(seed.audio.samples[0]).tolist() == expected
