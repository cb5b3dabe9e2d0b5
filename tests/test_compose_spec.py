"""Composition spec: parsing, defaults, dotted-path errors, seed resolution, TOML round trip."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentroom.compose.spec import derive_seed, load_spec, parse_spec, resolve_seeds
from latentroom.compose.spec_toml import spec_to_toml
from latentroom.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "composition.toml"


def _minimal(**top: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "sources": {"a": {"path": "a.npy"}},
        "sections": [{"a": "a"}],
    }
    raw.update(top)
    return raw


def test_example_spec_parses_with_absolute_paths() -> None:
    spec = load_spec(EXAMPLE)
    assert spec.codec == "builtin" and spec.seed == 2026 and spec.max_frames == 20000
    assert [s.name for s in spec.sources] == ["drums", "pad"]
    assert spec.sources[0].path == EXAMPLE.parent / "drums.wav"
    assert [s.pattern for s in spec.sections] == ["fibo", "orale", "blender", "swapper", "repeat"]
    assert spec.sections[1].options == {"depth": 2, "amount": 0.5}
    assert spec.synth[1].seed == 7 and spec.synth[0].seed is None


def test_defaults(tmp_path: Path) -> None:
    spec = parse_spec(_minimal(), base_dir=tmp_path)
    assert (spec.codec, spec.seed, spec.decode, spec.latent_wav_subtype) == (
        "builtin",
        None,
        True,
        "FLOAT",
    )
    assert spec.level == "keep"
    section = spec.sections[0]
    assert (section.name, section.pattern, section.loops, section.b) == (
        "section-0",
        "repeat",
        1,
        None,
    )


def test_resolve_seeds_fills_every_seed_and_keeps_given_ones() -> None:
    spec = resolve_seeds(load_spec(EXAMPLE))
    assert spec.seed == 2026
    assert spec.synth[0].seed == derive_seed(2026, 0, 0)
    assert spec.synth[1].seed == 7
    assert [s.seed for s in spec.sections] == [derive_seed(2026, 1, i) for i in range(5)]
    assert resolve_seeds(load_spec(EXAMPLE), seed=5).synth[0].seed == derive_seed(5, 0, 0)


def test_resolve_without_master_draws_one() -> None:
    spec = resolve_seeds(parse_spec(_minimal(), base_dir=Path("/")))
    assert spec.seed is not None and 0 <= spec.seed < 2**32


def test_toml_round_trip_of_resolved_spec() -> None:
    spec = resolve_seeds(load_spec(EXAMPLE))
    text = spec_to_toml(spec)
    again = parse_spec(tomllib.loads(text), base_dir=Path("/elsewhere"))
    assert again == spec
    assert spec_to_toml(again) == text


def test_toml_quotes_odd_names(tmp_path: Path) -> None:
    name = "my pad\x7f\t"
    raw = _minimal(sources={name: {"path": 'we"ird\\.npy'}}, sections=[{"a": name}])
    spec = parse_spec(raw, base_dir=tmp_path)
    assert parse_spec(tomllib.loads(spec_to_toml(spec)), base_dir=tmp_path) == spec


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=12), path=st.text(min_size=1, max_size=20))
def test_toml_round_trip_of_any_name_and_path(name: str, path: str) -> None:
    raw = _minimal(sources={name: {"path": "/" + path}}, sections=[{"a": name, "name": path}])
    spec = parse_spec(raw, base_dir=Path("/"))
    assert parse_spec(tomllib.loads(spec_to_toml(spec)), base_dir=Path("/")) == spec


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(_minimal(tempo=120), r"^tempo: unknown key", id="top-level"),
        pytest.param(
            _minimal(sources={"a": {"path": "a.npy", "lenght": 3}}),
            r"^sources\.a\.lenght: unknown key",
            id="source-key",
        ),
        pytest.param(
            _minimal(sections=[{"a": "a", "pattern": "fibo", "depth": 2}]),
            r"^sections\[0\]\.depth: unknown key for pattern 'fibo'",
            id="option-of-other-pattern",
        ),
        pytest.param(
            _minimal(sections=[{"a": "a", "pattern": "spiral"}]),
            r"^sections\[0\]\.pattern: unknown value 'spiral'",
            id="unknown-pattern",
        ),
        pytest.param(
            _minimal(
                stats={"s": {"sources": ["a"]}},
                synth={"n": {"stats": "s", "distribution": "gauss", "frames": 4}},
            ),
            r"^synth\.n\.distribution: unknown value 'gauss'",
            id="unknown-distribution",
        ),
        pytest.param(
            _minimal(
                stats={"s": {"sources": ["a"]}},
                synth={"n": {"stats": "s", "distribution": "normal", "frames": 0}},
            ),
            r"^synth\.n\.frames must be an integer >= 1; got 0",
            id="zero-frames",
        ),
        pytest.param(
            _minimal(sections=[{"a": "b"}]),
            r"^sections\[0\]\.a: unknown source or synth 'b'",
            id="unknown-material",
        ),
        pytest.param(
            _minimal(sections=[{"a": "a", "pattern": "blender"}]),
            r"^sections\[0\]\.b is missing",
            id="blender-without-b",
        ),
        pytest.param(
            _minimal(sections=[{"a": "a", "b": "a"}]),
            r"^sections\[0\]\.b: pattern 'repeat' takes no B",
            id="b-without-pattern",
        ),
        pytest.param(
            _minimal(stats={"s": {"sources": ["x"]}}),
            r"^stats\.s\.sources\[0\]: unknown source 'x'",
            id="stats-unknown-source",
        ),
        pytest.param(_minimal(sections=[]), r"^sections: the spec has no", id="no-sections"),
        pytest.param(_minimal(seed=-1), r"^seed must be an integer", id="negative-seed"),
        pytest.param(_minimal(level="loud"), r"'loud' is not a level policy", id="level"),
        pytest.param(_minimal(level=-23), r"^level must be a string", id="level-number"),
        pytest.param(
            _minimal(sources={"a": {"start": 0}}), r"^sources\.a\.path is missing", id="no-path"
        ),
    ],
)
def test_malformed_spec_names_the_key(raw: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec(raw, base_dir=tmp_path)


def test_unreadable_toml_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("codec = \n")
    with pytest.raises(ConfigError, match="not a readable TOML spec"):
        load_spec(path)
