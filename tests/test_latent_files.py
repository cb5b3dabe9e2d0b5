"""Latent .npy + sidecar and the Pure Data latent WAV: round trips, header rate, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from latentroom import __version__
from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.files import load_latents, save_latents, sidecar_path
from latentroom.latents.latent_wav import header_rate, load_latent_wav, save_latent_wav
from latentroom.latents.trajectory import LatentTrajectory


def _trajectory(n_frames: int = 30, dim: int = 6, frame_rate: float = 12.5) -> LatentTrajectory:
    data = np.random.default_rng(0).normal(scale=3.0, size=(n_frames, dim)).astype(np.float32)
    meta = {"hop_length": 1920, "sample_rate": 24_000, "latent_kind": "raw", "source": "x.wav"}
    return LatentTrajectory(data, frame_rate, "mimi", meta)


@pytest.mark.parametrize("suffix", [".npy", ".wav"])
def test_round_trip_restores_an_equal_trajectory(tmp_path: Path, suffix: str) -> None:
    trajectory = _trajectory()
    written = save_latents(tmp_path / f"z{suffix}", trajectory)
    assert written == tmp_path / f"z{suffix}"
    assert load_latents(written) == trajectory


def test_sidecar_holds_the_documented_fields(tmp_path: Path) -> None:
    trajectory = _trajectory(frame_rate=86.1328125)
    save_latents(tmp_path / "z.npy", trajectory, source="in/voice.flac")
    sidecar = json.loads(sidecar_path(tmp_path / "z.npy").read_text())
    assert sidecar_path(tmp_path / "z.npy") == tmp_path / "z.json"
    assert sidecar["format_version"] == 1
    assert sidecar["codec"] == "mimi"
    assert sidecar["frame_rate"] == 86.1328125  # exact, not rounded
    assert (sidecar["hop_length"], sidecar["sample_rate"]) == (1920, 24_000)
    assert (sidecar["latent_dim"], sidecar["n_frames"]) == (6, 30)
    assert sidecar["latent_kind"] == "raw"
    assert sidecar["source"] == "in/voice.flac"
    assert sidecar["latentroom_version"] == __version__
    assert sidecar["meta"] == trajectory.meta
    stored = np.load(tmp_path / "z.npy", allow_pickle=False)
    assert stored.dtype == np.float32 and stored.shape == (30, 6)


def test_numpy_scalars_in_meta_are_stored_as_numbers(tmp_path: Path) -> None:
    trajectory = LatentTrajectory(np.zeros((2, 2)), 10.0, "c", {"gain": np.float64(0.5)})
    assert load_latents(save_latents(tmp_path / "z.npy", trajectory)).meta == {"gain": 0.5}


@pytest.mark.parametrize(
    ("frame_rate", "expected"),
    [
        pytest.param(12.5, 12, id="mimi-rounds-half-to-even"),
        pytest.param(86.1328125, 86, id="dac-44k"),
        pytest.param(0.3, 1, id="never-below-1"),
        pytest.param(75.0, 75, id="integer"),
    ],
)
def test_latent_wav_header_rate_is_rounded_and_exact_rate_is_in_sidecar(
    tmp_path: Path, frame_rate: float, expected: int
) -> None:
    trajectory = _trajectory(frame_rate=frame_rate)
    save_latent_wav(tmp_path / "z.wav", trajectory)
    info = sf.info(str(tmp_path / "z.wav"))
    assert header_rate(frame_rate) == expected
    assert (info.samplerate, info.channels, info.frames) == (expected, 6, 30)
    assert json.loads((tmp_path / "z.json").read_text())["frame_rate"] == frame_rate
    assert load_latent_wav(tmp_path / "z.wav").frame_rate == frame_rate


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
def test_latent_wav_keeps_values_beyond_one_exactly(tmp_path: Path, subtype: str) -> None:
    trajectory = _trajectory()
    assert np.abs(trajectory.data).max() > 1.0
    save_latent_wav(tmp_path / "z.wav", trajectory, subtype=subtype)  # type: ignore[arg-type]
    assert sf.info(str(tmp_path / "z.wav")).subtype == subtype
    raw, _ = sf.read(str(tmp_path / "z.wav"), dtype="float64", always_2d=True)
    np.testing.assert_array_equal(raw, trajectory.data.astype(np.float64))
    assert load_latents(tmp_path / "z.wav") == trajectory


def test_latent_wav_refuses_more_than_64_dims(tmp_path: Path) -> None:
    with pytest.raises(InvalidLatentError, match=r"1\.\.64 dims .* 65; save them as \.npy"):
        save_latent_wav(tmp_path / "z.wav", _trajectory(dim=65))
    assert not (tmp_path / "z.wav").exists()


def test_latent_wav_refuses_other_subtypes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="subtype must be one of"):
        save_latent_wav(tmp_path / "z.wav", _trajectory(), subtype="PCM_16")  # type: ignore[arg-type]


def test_without_sidecar_the_frame_rate_must_be_given(tmp_path: Path) -> None:
    np.save(tmp_path / "bare.npy", np.ones((5, 3), dtype=np.float64))
    with pytest.raises(InvalidLatentError, match=r"no sidecar bare\.json .* pass --frame-rate"):
        load_latents(tmp_path / "bare.npy")
    loaded = load_latents(tmp_path / "bare.npy", frame_rate=25.0)
    assert loaded == LatentTrajectory(np.ones((5, 3)), 25.0)
    assert loaded.data.dtype == np.float32


def test_latent_wav_without_sidecar_does_not_trust_the_header(tmp_path: Path) -> None:
    sf.write(str(tmp_path / "pd.wav"), np.zeros((4, 2)), 12, subtype="FLOAT")
    with pytest.raises(InvalidLatentError, match=r"header's 12 Hz is rounded.* --frame-rate"):
        load_latents(tmp_path / "pd.wav")
    assert load_latents(tmp_path / "pd.wav", frame_rate=12.5).frame_rate == 12.5


def test_the_sidecar_rate_wins_over_a_given_rate(tmp_path: Path) -> None:
    save_latents(tmp_path / "z.npy", _trajectory(frame_rate=12.5))
    assert load_latents(tmp_path / "z.npy", frame_rate=50.0).frame_rate == 12.5


def test_a_newer_format_version_is_refused(tmp_path: Path) -> None:
    save_latents(tmp_path / "z.npy", _trajectory())
    sidecar = json.loads((tmp_path / "z.json").read_text())
    (tmp_path / "z.json").write_text(json.dumps({**sidecar, "format_version": 99}))
    with pytest.raises(InvalidLatentError, match="format_version 99 is not supported"):
        load_latents(tmp_path / "z.npy")


def test_a_sidecar_that_does_not_match_the_data_is_refused(tmp_path: Path) -> None:
    save_latents(tmp_path / "z.npy", _trajectory())
    np.save(tmp_path / "z.npy", np.zeros((7, 6), dtype=np.float32))
    with pytest.raises(InvalidLatentError, match=r"shape \(7, 6\) but the sidecar says \(30, 6\)"):
        load_latents(tmp_path / "z.npy")


def test_a_broken_sidecar_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "z.npy", np.zeros((2, 2), dtype=np.float32))
    (tmp_path / "z.json").write_text("{not json")
    with pytest.raises(InvalidLatentError, match="unreadable sidecar"):
        load_latents(tmp_path / "z.npy")


@pytest.mark.parametrize(
    ("array", "match"),
    [
        pytest.param(np.zeros(5, dtype=np.float32), "2-D float array", id="1-d"),
        pytest.param(np.zeros((3, 2), dtype=np.int16), "2-D float array", id="int"),
        pytest.param(np.array([{"a": 1}], dtype=object), "not a readable .npy", id="pickle"),
    ],
)
def test_bad_npy_files_are_refused(tmp_path: Path, array: np.ndarray, match: str) -> None:
    np.save(tmp_path / "z.npy", array, allow_pickle=True)
    with pytest.raises(InvalidLatentError, match=match):
        load_latents(tmp_path / "z.npy", frame_rate=10.0)


def test_missing_file_and_unknown_suffix_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidLatentError, match="no such latent file"):
        load_latents(tmp_path / "none.npy")
    with pytest.raises(ConfigError, match=r"end in one of \.npy, \.wav; got '\.pt'"):
        save_latents(tmp_path / "z.pt", _trajectory())


def test_meta_that_is_not_json_is_refused(tmp_path: Path) -> None:
    trajectory = LatentTrajectory(np.zeros((2, 2)), 10.0, "c", {"bad": object()})
    with pytest.raises(InvalidLatentError, match="cannot be stored as JSON"):
        save_latents(tmp_path / "z.npy", trajectory)


@settings(max_examples=25, deadline=None)
@given(
    data=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
        elements=st.floats(-1e6, 1e6, width=32),
    ),
    frame_rate=st.floats(0.01, 1e4),
    container=st.sampled_from([".npy", ".wav"]),
)
def test_any_finite_latents_round_trip(
    tmp_path_factory: pytest.TempPathFactory, data: np.ndarray, frame_rate: float, container: str
) -> None:
    path = tmp_path_factory.mktemp("rt") / f"z{container}"
    trajectory = LatentTrajectory(data, frame_rate, "any", {"k": [1, "two"]})
    assert load_latents(save_latents(path, trajectory)) == trajectory
