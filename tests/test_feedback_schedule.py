"""Feedback schedules: TOML parsing, stages, ramps, overrides, errors naming the key, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentroom.errors import ConfigError
from latentroom.feedback.schedule import (
    PROMPT,
    PROMPT_EXTENDED,
    Ramp,
    default_schedule,
    load_schedule,
    parse_schedule,
    pass_seed,
    schedule_from_dict,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "default-schedule.toml"

RAMPED = """
passes = 7
[defaults]
gain = 1.0
[[stage]]
start = 2
strength = { ramp = [0.8, 0.2] }
[[stage]]
start = 5
strength = { ramp = [0.0, 1.0], curve = "cosine" }
guidance = 3.0
"""


def test_default_schedule_is_the_protocol() -> None:
    schedule = default_schedule()
    assert schedule.passes == 5
    assert schedule.params_at(1) == {"strength": 0.6, "guidance": 15.0, "prompt": PROMPT}
    for index in range(2, 6):
        assert schedule.params_at(index) == {
            "strength": 0.45,
            "guidance": 15.0,
            "prompt": PROMPT_EXTENDED,
        }
    assert PROMPT_EXTENDED.endswith("spectral degradation, digital artifacts, bitcrushing")


def test_docs_example_is_the_default_schedule() -> None:
    assert load_schedule(EXAMPLE) == default_schedule()


def test_ramps_span_their_stage_and_defaults_fill_the_rest() -> None:
    schedule = parse_schedule(RAMPED)
    assert schedule.params_at(1) == {"gain": 1.0}  # before the first stage: defaults only
    assert [schedule.params_at(i)["strength"] for i in (2, 3, 4)] == pytest.approx([0.8, 0.5, 0.2])
    cosine = [schedule.params_at(i)["strength"] for i in (5, 6, 7)]
    assert cosine == pytest.approx([0.0, 0.5, 1.0])
    assert schedule.params_at(6)["guidance"] == 3.0
    assert "guidance" not in schedule.params_at(4)
    assert schedule.set_params() == ["strength", "guidance", "gain"]


def test_more_passes_stretch_the_last_stage() -> None:
    schedule = parse_schedule(RAMPED).with_passes(9)
    assert [schedule.params_at(i)["strength"] for i in (5, 9)] == pytest.approx([0.0, 1.0])


def test_overrides_win_on_every_pass() -> None:
    schedule = default_schedule().with_overrides(["strength=0.3", "prompt=hiss", "gain=2"])
    assert {schedule.params_at(i)["strength"] for i in range(1, 6)} == {0.3}
    assert schedule.params_at(3)["prompt"] == "hiss"
    assert schedule.params_at(3)["gain"] == 2.0


def test_steps_are_integers() -> None:
    schedule = parse_schedule("passes = 3\n[defaults]\nsteps = { ramp = [10, 20] }")
    assert [schedule.params_at(i)["steps"] for i in (1, 2, 3)] == [10, 15, 20]


def test_to_dict_round_trips() -> None:
    schedule = parse_schedule(RAMPED).with_overrides(["strength=0.1"])
    assert schedule_from_dict(schedule.to_dict()) == schedule


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("passes = 5\nspeed = 1", "unknown key 'speed'", id="top-key"),
        pytest.param(
            "[[stage]]\nstart = 1\nstrenght = 0.5", "unknown key 'strenght'", id="stage-key"
        ),
        pytest.param("[defaults]\ncfg = 3", "unknown key 'cfg'", id="defaults-key"),
        pytest.param("[[stage]]\nstrength = 0.5", "needs a 'start'", id="no-start"),
        pytest.param(
            "[[stage]]\nstart = 1\nstrength = 1.5", r"strength = 1.5 is out of range", id="strength"
        ),
        pytest.param("[[stage]]\nstart = 1\nstrength = -0.1", "strength = -0.1", id="negative"),
        pytest.param("[defaults]\ngain = 0", "gain = 0 is out of range", id="gain"),
        pytest.param("[defaults]\nsteps = 2.5", "steps = 2.5 is out of range", id="steps"),
        pytest.param("[defaults]\nguidance = true", "guidance = True", id="bool"),
        pytest.param("[defaults]\nprompt = 3", "prompt: must be text", id="prompt"),
        pytest.param("passes = 0", "passes = 0 is out of range", id="passes"),
        pytest.param("passes = 2.5", "passes = 2.5 must be a whole number", id="passes-float"),
        pytest.param(
            "[[stage]]\nstart = 2\n[[stage]]\nstart = 2", "starts must increase", id="starts"
        ),
        pytest.param("[defaults]\nstrength = { ramp = [0.5] }", "a ramp is", id="ramp-len"),
        pytest.param(
            "[defaults]\nstrength = { ramp = [0, 1], curve = 'exp' }", "curve 'exp'", id="curve"
        ),
        pytest.param(
            "[defaults]\nstrength = { ramp = [0, 2] }",
            "strength = 2 is out of range",
            id="ramp-end",
        ),
        pytest.param("passes = ", "not valid TOML", id="toml"),
    ],
)
def test_schedule_errors_name_the_key(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_schedule(text)


def test_override_errors() -> None:
    with pytest.raises(ConfigError, match="write key=value"):
        default_schedule().with_overrides(["strength"])
    with pytest.raises(ConfigError, match="unknown param 'temperature'"):
        default_schedule().with_overrides(["temperature=1"])
    with pytest.raises(ConfigError, match="strength = 2 is out of range"):
        default_schedule().with_overrides(["strength=2"])


def test_load_schedule_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_schedule(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="passes = 0"):
        load_schedule(None, passes=0)
    with pytest.raises(ConfigError, match=r"outside 1\.\.5"):
        default_schedule().params_at(6)


def test_pass_seeds_are_pure_and_distinct() -> None:
    seeds = [pass_seed(7, i) for i in range(1, 101)]
    assert len(set(seeds)) == 100
    assert seeds[:5] == [pass_seed(7, i) for i in range(1, 6)]
    assert pass_seed(8, 1) != pass_seed(7, 1)
    assert all(0 <= s < 2**32 for s in seeds)


@given(
    first=st.floats(0, 1),
    last=st.floats(0, 1),
    curve=st.sampled_from(["linear", "cosine"]),
    fraction=st.floats(0, 1),
)
def test_ramps_stay_between_their_ends(
    first: float, last: float, curve: str, fraction: float
) -> None:
    value = Ramp(first, last, curve).at(fraction)
    assert min(first, last) - 1e-12 <= value <= max(first, last) + 1e-12
    assert Ramp(first, last, curve).at(0.0) == pytest.approx(first)
    assert np.isclose(Ramp(first, last, curve).at(1.0), last)


def test_ramp_example_parses() -> None:
    schedule = load_schedule(EXAMPLE.with_name("drift-ramp.toml"))
    assert schedule.passes == 20
    assert schedule.params_at(1)["strength"] == pytest.approx(0.6)
    assert schedule.params_at(10)["strength"] == pytest.approx(0.3)
    assert schedule.params_at(20) == pytest.approx({"strength": 0.1, "gain": 1.1})


def test_default_and_override_ramps_span_the_whole_run() -> None:
    schedule = parse_schedule(
        "passes = 5\n[defaults]\ngain = { ramp = [1.0, 2.0] }\n[[stage]]\nstart = 3\nstrength = 0.5"
    )
    assert [schedule.params_at(i)["gain"] for i in range(1, 6)] == pytest.approx(
        [1.0, 1.25, 1.5, 1.75, 2.0]
    )
    ramped = default_schedule().with_overrides(["strength={ramp=[0.6, 0.2]}"])
    assert [ramped.params_at(i)["strength"] for i in range(1, 6)] == pytest.approx(
        [0.6, 0.5, 0.4, 0.3, 0.2]
    )
