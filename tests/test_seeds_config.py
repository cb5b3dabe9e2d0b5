"""SeedConfig and SeedLayer validation: one ConfigError per branch, dict round trips, layer text."""

from __future__ import annotations

from typing import Any

import pytest

from latentroom.errors import ConfigError
from latentroom.seeds import SeedConfig, SeedLayer, parse_layer

INVALID = [
    pytest.param({"pulses": 14}, r"pulses \(14\) cannot exceed steps \(13\)", id="k-above-n"),
    pytest.param({"steps": 0, "pulses": 0}, "steps must be >= 1; got 0", id="n-below-1"),
    pytest.param({"pulses": -2}, "pulses must be >= 0; got -2", id="k-negative"),
    pytest.param({"seconds": 0.0}, r"at most 3600 seconds; got 0\.0", id="zero-duration"),
    pytest.param({"seconds": -1.0}, "at most 3600 seconds; got -1", id="negative-duration"),
    pytest.param({"seconds": 1e9}, "at most 3600 seconds; got 1000000000", id="huge-duration"),
    pytest.param({"seconds": 1e-5}, "duration 1e-05 s is shorter", id="duration-below-one-sample"),
    pytest.param(
        {"step_ms": 20_000.0}, "step of 20000 ms is longer than the 10 s buffer", id="step-long"
    ),
    pytest.param(
        {"steps": 13, "pulses": 1, "seconds": 1e-4},
        r"step of 0\.0\d+ ms is shorter than one sample",
        id="step-below-one-sample",
    ),
    pytest.param(
        {"tail_ms": 800.0}, r"tail of 800 ms is longer than a step \(769\.231 ms\)", id="tail-long"
    ),
    pytest.param(
        {"excitation": "gong"},
        "unknown excitation 'gong'; choose one of impulse",
        id="unknown-excitation",
    ),
    pytest.param({"sieve": "5@0|"}, r"malformed sieve '5@0\|'", id="malformed-sieve"),
    pytest.param({"sample_rate": 500}, "sample rate 500 Hz is outside", id="sample-rate"),
    pytest.param({"channels": 9}, "channels must be 1..8; got 9", id="channels"),
    pytest.param({"cycles": 0}, "cycles must be >= 1; got 0", id="cycles"),
    pytest.param({"step_ms": -5.0}, "step_ms must be > 0; got -5", id="step-ms-negative"),
    pytest.param({"bpm": 0.0}, "bpm must be > 0; got 0", id="bpm-zero"),
    pytest.param(
        {"bpm": 120.0, "step_ms": 100.0}, "either step_ms or bpm, not both", id="step-ms-and-bpm"
    ),
    pytest.param({"bpm": 120.0, "cycles": 2}, r"cycles \(2\) only applies", id="cycles-with-bpm"),
    pytest.param({"steps_per_beat": 0}, "steps_per_beat must be >= 1", id="steps-per-beat"),
    pytest.param({"amplitude": float("nan")}, "amplitude must be finite", id="amplitude-nan"),
    pytest.param({"freq": 30_000.0}, "Nyquist frequency 24000 Hz", id="freq-above-nyquist"),
    pytest.param({"excitation_ms": 0.0}, "excitation_ms must be > 0", id="excitation-ms"),
    pytest.param({"tail_ms": -1.0}, "tail_ms must be >= 0", id="tail-ms-negative"),
    pytest.param({"tail_db": float("inf")}, "tail_db must be a finite level", id="tail-db-inf"),
    pytest.param({"seed": -1}, "seed must be >= 0; got -1", id="seed-negative"),
    pytest.param(
        {"excitation": "sine-ping", "excitation_ms": 50.0, "step_ms": 40.0, "tail_ms": 10.0},
        "the sine-ping of 50 ms is longer than a step",
        id="excitation-long",
    ),
]


@pytest.mark.parametrize(("options", "message"), INVALID)
def test_invalid_config(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SeedConfig(**options)


def test_layer_is_checked_against_the_timing() -> None:
    with pytest.raises(ConfigError, match=r"tail of 20 ms is longer than a step \(15\.625 ms\)"):
        SeedConfig(layers=(SeedLayer(pulses=1, steps=640),))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"pulses": 9, "steps": 8}, r"pulses \(9\) cannot exceed", id="k-above-n"),
        pytest.param({"level_db": float("nan")}, "level_db must be a finite", id="level-nan"),
        pytest.param({"excitation": "bell"}, "unknown excitation 'bell'", id="excitation"),
        pytest.param({"sieve": "(3@0"}, "ends too early", id="sieve"),
    ],
)
def test_invalid_layer(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SeedLayer(**options)


def test_sieve_ignores_pulses() -> None:
    assert SeedLayer(pulses=99, steps=12, sieve="3@0").rhythm() == [1, 0, 0] * 4


def test_config_dict_round_trip_with_layers() -> None:
    config = SeedConfig(bpm=100.0, layers=(SeedLayer(3, 8, rotation=1, excitation="click"),))
    data = config.to_dict()
    assert data["layers"] == [
        {
            "pulses": 3,
            "steps": 8,
            "rotation": 1,
            "sieve": None,
            "level_db": 0.0,
            "excitation": "click",
        }
    ]
    assert SeedConfig.from_dict(data) == config


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown SeedConfig keys \['pulse'\]"):
        SeedConfig.from_dict({"pulse": 5})
    with pytest.raises(ConfigError, match=r"unknown SeedLayer keys \['gain'\]"):
        SeedLayer.from_dict({"gain": 1.0})


def test_parse_layer() -> None:
    layer = parse_layer("pulses=3, steps=8,rotation=2,level_db=-6,excitation=click,sieve=2@0")
    assert layer == SeedLayer(3, 8, 2, "2@0", -6.0, "click")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("pulses=3,8", "cannot read '8'; write KEY=VALUE pairs", id="no-equals"),
        pytest.param("pulse=3", "cannot read 'pulse=3'", id="unknown-key"),
        pytest.param("pulses=three", "pulses must be int; got 'three'", id="bad-int"),
        pytest.param("pulses=9,steps=8", r"pulses \(9\) cannot exceed", id="invalid-layer"),
    ],
)
def test_parse_layer_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_layer(text)
