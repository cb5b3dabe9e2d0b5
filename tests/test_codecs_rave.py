"""RAVE TorchScript backend: params from the file, seeding, length rule, streaming, bad files."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers import sine
from latentroom.audio.io import load_audio, save_audio
from latentroom.audio.types import Audio
from latentroom.codecs import get_codec
from latentroom.codecs.rave import DEFAULT_SEED, RaveCodec
from latentroom.errors import ConfigError
from rave_fixture import export_tiny_rave, load_script


def load(path: Path, **options: object) -> RaveCodec:
    codec = get_codec(f"rave:{path}", **options)
    assert isinstance(codec, RaveCodec)
    return codec


@pytest.fixture
def rave_path(tmp_path: Path) -> Path:
    """The default tiny export: mono, 44.1 kHz, ratio 2048, 4 of 8 dims kept."""
    return export_tiny_rave(tmp_path / "tiny.ts")


def noise(n_samples: int, sample_rate: int, channels: int = 1, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(0.3 * rng.standard_normal((channels, n_samples)), sample_rate)


@pytest.mark.parametrize(
    ("config", "sample_rate", "hop", "dims", "channels", "out_channels"),
    [
        pytest.param({}, 44_100, 2048, 4, 1, 1, id="v2-default"),
        pytest.param(
            {"ratio": 1024, "sample_rate": 48_000, "rate_attr": "sampling_rate"},
            48_000,
            1024,
            4,
            1,
            1,
            id="v1-48k-ratio1024",
        ),
        pytest.param(
            {
                "ratio": 512,
                "sample_rate": 22_050,
                "latent_size": 8,
                "n_channels": 2,
                "target_channels": 2,
            },
            22_050,
            512,
            8,
            2,
            2,
            id="stereo-22k-ratio512",
        ),
        pytest.param({"target_channels": 2}, 44_100, 2048, 4, 1, 2, id="mono-in-stereo-out"),
    ],
)
def test_facts_come_from_the_file(
    tmp_path: Path,
    config: dict[str, Any],
    sample_rate: int,
    hop: int,
    dims: int,
    channels: int,
    out_channels: int,
) -> None:
    codec = load(export_tiny_rave(tmp_path / "m.ts", **config))
    assert (codec.sample_rate, codec.hop_length, codec.latent_dim) == (sample_rate, hop, dims)
    assert (codec.channels, codec.output_channels) == (channels, out_channels)
    assert codec.frame_rate == sample_rate / hop
    assert codec.stochastic
    assert codec.parameter_count == sum(p.numel() for p in codec.module.parameters())
    assert codec.describe()["output_channels"] == out_channels


@pytest.mark.parametrize("n_samples", [1, 1023, 1024, 1025, 4096, 5000])
def test_length_rule_pads_to_the_ratio(tmp_path: Path, n_samples: int) -> None:
    codec = load(export_tiny_rave(tmp_path / "m.ts", ratio=1024, sample_rate=48_000))
    trajectory = codec.encode(noise(n_samples, 48_000))
    n_frames = math.ceil(n_samples / 1024)
    assert trajectory.data.shape == (n_frames, 4) == (codec.n_frames(n_samples), 4)
    assert trajectory.data.dtype == np.float32
    assert trajectory.frame_rate == 46.875
    assert trajectory.meta["hop_length"] == 1024
    decoded = codec.decode(trajectory)
    assert (decoded.channels, decoded.n_samples, decoded.sample_rate) == (
        1,
        n_frames * 1024,
        48_000,
    )


def test_default_encode_is_the_export_seeded_with_default_seed(rave_path: Path) -> None:
    codec = load(rave_path)
    audio = noise(5000, 44_100)
    padded = torch.nn.functional.pad(torch.from_numpy(np.array(audio.samples))[None], (0, 1144))
    torch.manual_seed(DEFAULT_SEED)
    expected = load_script(rave_path).encode(padded)[0].T.detach().numpy()
    trajectory = codec.encode(audio)
    np.testing.assert_allclose(trajectory.data, expected, rtol=1e-5, atol=1e-6)
    assert trajectory.meta["sampled"] is False
    assert trajectory.meta["latent_kind"] == "rave-pca-sample"
    assert np.array_equal(codec.encode(audio).data, trajectory.data)


def test_default_decode_is_the_export_seeded_with_default_seed(rave_path: Path) -> None:
    codec = load(rave_path)
    trajectory = codec.encode(noise(4096, 44_100))
    torch.manual_seed(DEFAULT_SEED)
    z = torch.from_numpy(np.array(trajectory.data)).T[None]
    expected = load_script(rave_path).decode(z)[0].detach().numpy()
    np.testing.assert_allclose(codec.decode(trajectory).samples, expected, rtol=1e-5, atol=1e-6)


def test_generator_seeds_encode_and_decode(rave_path: Path) -> None:
    codec = load(rave_path)
    audio = noise(8192, 44_100)

    def run(seed: int) -> tuple[np.ndarray, np.ndarray]:
        generator = torch.Generator().manual_seed(seed)
        trajectory = codec.encode(audio, generator=generator)
        return trajectory.data, codec.decode(trajectory, generator=generator).samples

    z1, y1 = run(1)
    z1_again, y1_again = run(1)
    z2, y2 = run(2)
    assert np.array_equal(z1, z1_again) and np.array_equal(y1, y1_again)
    assert not np.allclose(z1, z2) and not np.allclose(y1, y2)
    assert not np.allclose(z1, codec.encode(audio).data)


def test_sample_without_generator_draws_fresh_noise(rave_path: Path) -> None:
    codec = load(rave_path)
    audio = noise(4096, 44_100)
    assert not np.allclose(
        codec.encode(audio, sample=True).data, codec.encode(audio, sample=True).data
    )


def test_global_torch_rng_is_untouched(rave_path: Path) -> None:
    codec = load(rave_path)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    codec.decode(codec.encode(noise(4096, 44_100), generator=torch.Generator().manual_seed(5)))
    assert torch.equal(torch.rand(3), expected)


def test_input_is_converted_to_the_model_format(rave_path: Path) -> None:
    codec = load(rave_path)
    trajectory = codec.encode(sine(seconds=0.5, sample_rate=22_050, channels=2))
    assert trajectory.meta["resampled"] and trajectory.meta["remixed"]
    assert trajectory.meta["n_samples"] == 22_050
    assert trajectory.n_frames == math.ceil(22_050 / 2048)


def test_stereo_model_decodes_two_channels(tmp_path: Path) -> None:
    path = export_tiny_rave(tmp_path / "st.ts", n_channels=2, target_channels=2, ratio=512)
    codec = load(path)
    trajectory = codec.encode(noise(2048, 44_100, channels=1))
    assert trajectory.meta["remixed"] and trajectory.data.shape == (4, 4)
    assert codec.decode(trajectory).samples.shape == (2, 2048)


def test_latents_follow_the_audio(rave_path: Path) -> None:
    """A real encoder: silence and noise give different latents, equal audio equal latents."""
    codec = load(rave_path)
    silent = codec.encode(Audio(np.zeros((1, 8192), np.float32), 44_100)).data
    loud = codec.encode(noise(8192, 44_100)).data
    assert np.abs(silent - loud).mean() > 1e-3


def test_wrong_latent_dim_is_refused(rave_path: Path) -> None:
    codec = load(rave_path)
    trajectory = codec.encode(noise(4096, 44_100))
    other = trajectory.with_data(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="decodes 4-d latents; got 3-d"):
        codec.decode(other)


@pytest.mark.parametrize(
    ("config", "name", "reason"),
    [
        pytest.param({"streaming": "cached"}, "m.ts", "modules CachedPadding1d", id="cached-conv"),
        pytest.param({"streaming": "stateful"}, "m.ts", "buffers encoder.0.pad", id="state"),
        pytest.param({}, "m_streaming.ts", "_streaming suffix", id="file-name"),
    ],
)
def test_streaming_export_warns_once(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    config: dict[str, Any],
    name: str,
    reason: str,
) -> None:
    path = export_tiny_rave(tmp_path / name, **config)
    with caplog.at_level(logging.WARNING, logger="latentroom.codecs.rave"):
        codec = load(path)
        for _ in range(2):
            codec.decode(codec.encode(noise(4096, 44_100)))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert reason in messages[0] and "non-streaming export" in messages[0]
    assert codec.describe()["streaming"] is True


def test_streaming_state_carries_over(tmp_path: Path) -> None:
    """Why the warning exists: identical seeded calls differ once the cache holds audio."""
    codec = load(export_tiny_rave(tmp_path / "m.ts", streaming="cached"))
    audio = noise(4096, 44_100)
    assert not np.array_equal(codec.encode(audio).data, codec.encode(audio).data)


def test_offline_export_does_not_warn(rave_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="latentroom.codecs.rave"):
        codec = load(rave_path)
        codec.decode(codec.encode(noise(4096, 44_100)))
    assert caplog.records == []
    assert codec.describe()["streaming"] is False


def test_home_in_path_is_expanded(rave_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(rave_path.parent))
    assert load(Path("~") / rave_path.name).hop_length == 2048


def test_sample_rate_option_fills_a_missing_rate(tmp_path: Path) -> None:
    path = export_tiny_rave(tmp_path / "m.ts", rate_attr=None)
    assert load(path, sample_rate=32_000).frame_rate == 32_000 / 2048
    assert load(tmp_path / "m.ts", sample_rate=32_000).sample_rate == 32_000


def write_bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "bad.ts"
    if kind == "text":
        path.write_text("not a model")
    elif kind == "pickle":
        torch.save({"state_dict": {}}, path)
    elif kind == "plain":
        export_tiny_rave(path, plain=True)
    elif kind == "directory":
        path.mkdir()
    elif kind != "missing":
        export_tiny_rave(path, **BAD_CONFIGS[kind])
    return path


BAD_CONFIGS: dict[str, dict[str, Any]] = {
    "no-encode-params": {"encode_params": []},
    "no-decode-params": {"decode_params": []},
    "inconsistent": {"decode_params": [4, 1024, 1, 1]},
    "zero-entry": {"encode_params": [1, 1, 0, 2048]},
    "no-rate": {"rate_attr": None},
}


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        pytest.param("missing", r"bad\.ts does not exist", id="missing"),
        pytest.param("directory", r"bad\.ts is a directory", id="directory"),
        pytest.param("text", "is not a TorchScript file", id="text"),
        pytest.param("pickle", "is not a TorchScript file", id="pickle"),
        pytest.param("plain", "has no encode or decode method", id="no-methods"),
        pytest.param("no-encode-params", "has no encode_params buffer", id="no-encode-params"),
        pytest.param("no-decode-params", "has no decode_params buffer", id="no-decode-params"),
        pytest.param("inconsistent", "inconsistent params", id="inconsistent"),
        pytest.param("zero-entry", r"every entry must be >= 1", id="zero-entry"),
        pytest.param("no-rate", "stores no sample rate", id="no-rate"),
    ],
)
def test_bad_file_is_one_line_config_error(tmp_path: Path, kind: str, match: str) -> None:
    path = write_bad_file(tmp_path, kind)
    with pytest.raises(ConfigError, match=match) as info:
        load(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"random_init": True}, "random_init does not apply", id="random-init"),
        pytest.param({"sample_rate": 48_000}, "contradicts the 44100 Hz", id="rate-mismatch"),
        pytest.param({"bandwidth": 6}, r"unknown option\(s\) bandwidth", id="unknown-option"),
    ],
)
def test_bad_options_are_refused(rave_path: Path, options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load(rave_path, **options)


def test_export_breaking_its_params_is_refused_on_encode(tmp_path: Path) -> None:
    path = export_tiny_rave(
        tmp_path / "m.ts", encode_params=[1, 1, 4, 1024], decode_params=[4, 1024, 1, 1]
    )
    codec = load(path)  # the params claim ratio 1024; the convs compress by 2048
    with pytest.raises(ConfigError, match=r"encode returned shape \(1, 4, 2\); .* \(1, 4, 4\)"):
        codec.encode(noise(4096, 44_100))


def test_cli_round_trip_and_bad_model(tmp_path: Path, run_cli: Any) -> None:
    model = export_tiny_rave(tmp_path / "m.ts", ratio=1024, sample_rate=48_000)
    source = tmp_path / "in.wav"
    save_audio(source, noise(48_000, 48_000))
    latent, decoded = tmp_path / "z.npy", tmp_path / "y.wav"
    result = run_cli("encode", source, "--codec", f"rave:{model}", "-o", latent, "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads(latent.with_suffix(".json").read_text())["frame_rate"] == 46.875
    assert run_cli("decode", latent, "-o", decoded).exit_code == 0
    assert load_audio(decoded).samples.shape == (1, 47 * 1024)

    result = run_cli("encode", source, "--codec", f"rave:{source}", "-o", tmp_path / "bad.npy")
    assert result.exit_code == 2
    assert "is not a TorchScript file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad.npy").exists()
