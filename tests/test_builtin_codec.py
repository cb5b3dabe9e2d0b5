"""The built-in codec: shipped weights, length rule, determinism, weight files and their errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from builtin_tiny import TINY_MODEL
from helpers import sine
from latentroom.audio.types import Audio
from latentroom.codecs.builtin import FORMAT_VERSION, load_builtin, read_weights, write_weights
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.registry import get_codec
from latentroom.errors import CheckpointError, ConfigError


@pytest.fixture
def tiny():
    return load_builtin(random_init=True, **TINY_MODEL)


def test_shipped_weights_load_offline():
    codec = get_codec("builtin")
    assert (codec.sample_rate, codec.hop_length, codec.latent_dim) == (48_000, 1024, 16)
    assert codec.frame_rate == 46.875
    assert codec.channels == 1
    trajectory = codec.encode(sine(220.0, seconds=0.5, sample_rate=48_000))
    assert trajectory.data.shape == (math.ceil(24_000 / 1024), 16)
    assert np.isfinite(trajectory.data).all()


def test_shipped_model_keeps_impulse_onsets():
    """Koenig-style impulses (1.0, 20 ms noise tail) come back within one latent frame."""
    codec = get_codec("builtin")
    rng = np.random.default_rng(0)
    x = np.zeros(48_000 * 2, dtype=np.float32)
    onsets = [6_000, 30_500, 55_000, 80_100]
    for p in onsets:
        x[p] = 1.0
        x[p + 1 : p + 961] += 0.05 * rng.standard_normal(960).astype(np.float32)
    decoded = codec.decode(codec.encode(Audio(x, 48_000))).samples[0]
    energy = np.add.reduceat(decoded[: x.size] ** 2, np.arange(0, x.size, 1024))
    for p in onsets:
        frame = p // 1024
        window = energy[frame - 4 : frame + 5]
        assert abs(int(np.argmax(window)) - 4) <= 1, (p, window.round(3))


@pytest.mark.parametrize(
    "n_samples",
    [
        pytest.param(256, id="one-hop"),
        pytest.param(257, id="hop-plus-one"),
        pytest.param(1000, id="ragged"),
        pytest.param(4096, id="many-hops"),
    ],
)
def test_frames_are_ceil_of_samples_over_hop(tiny, n_samples):
    audio = Audio(np.random.default_rng(0).normal(0, 0.1, n_samples).astype(np.float32), 16_000)
    trajectory = tiny.encode(audio)
    assert trajectory.n_frames == math.ceil(n_samples / 256) == tiny.n_frames(n_samples)
    assert tiny.decode(trajectory).n_samples == trajectory.n_frames * 256


def test_input_is_resampled_and_remixed(tiny):
    stereo = sine(300.0, seconds=0.5, sample_rate=48_000, channels=2)
    trajectory = tiny.encode(stereo)
    assert trajectory.meta["resampled"] and trajectory.meta["remixed"]
    assert trajectory.n_frames == math.ceil(8_000 / 256)


def test_mean_path_is_deterministic_and_sampling_follows_the_generator(tiny):
    audio = sine(330.0, seconds=0.25, sample_rate=16_000)
    mean_a, mean_b = tiny.encode(audio), tiny.encode(audio)
    np.testing.assert_array_equal(mean_a.data, mean_b.data)
    assert not mean_a.meta["sampled"]
    draw = [tiny.encode(audio, generator=torch.Generator().manual_seed(s)).data for s in (1, 1, 2)]
    np.testing.assert_array_equal(draw[0], draw[1])
    assert not np.array_equal(draw[0], draw[2])
    assert not np.array_equal(draw[0], mean_a.data)


def test_random_init_is_seeded():
    a = load_builtin(random_init=True, seed=3, **TINY_MODEL).model.state_dict()
    b = load_builtin(random_init=True, seed=3, **TINY_MODEL).model.state_dict()
    c = load_builtin(random_init=True, seed=4, **TINY_MODEL).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_weights_round_trip_through_a_model_folder(tiny, tmp_path):
    write_weights(tmp_path, tiny.model, tiny.config, info={"steps": 3})
    loaded = get_codec("builtin", checkpoint=tmp_path)
    assert loaded.config == tiny.config
    audio = sine(200.0, seconds=0.25, sample_rate=16_000)
    np.testing.assert_array_equal(loaded.encode(audio).data, tiny.encode(audio).data)
    assert json.loads((tmp_path / "model.json").read_text())["training"] == {"steps": 3}


def _saved(tiny, tmp_path: Path) -> tuple[Path, Path]:
    return write_weights(tmp_path / "m.safetensors", tiny.model, tiny.config)


def test_corrupted_weights_file_is_a_checkpoint_error(tiny, tmp_path):
    tensors, _ = _saved(tiny, tmp_path)
    tensors.write_bytes(tensors.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_weights(tensors)


def _edit_json(meta: Path, **changes: object) -> None:
    """Rewrite a weights JSON with top-level ``changes``; ``model`` entries are merged."""
    data = json.loads(meta.read_text())
    model = {**data["model"], **changes.pop("model", {})}  # type: ignore[dict-item]
    meta.write_text(json.dumps({**data, **changes, "model": model}))


def test_wrong_format_version_is_refused(tiny, tmp_path):
    tensors, meta = _saved(tiny, tmp_path)
    _edit_json(meta, format_version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="format_version 2 is not 1"):
        read_weights(tensors)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        pytest.param({"latent_dim": 8}, r"has shape .* needs", id="shape-mismatch"),
        pytest.param(
            {"n_decoder_latent_blocks": 2}, r"missing \['decoder.latent_blocks.1", id="missing"
        ),
        pytest.param({"n_decoder_latent_blocks": 0}, r"unexpected \['decoder.latent", id="extra"),
        pytest.param({"dropout": 0.1}, r"unknown keys \['dropout'\]", id="unknown-key"),
    ],
)
def test_config_that_does_not_fit_the_tensors_is_refused(tiny, tmp_path, model, message):
    tensors, meta = _saved(tiny, tmp_path)
    _edit_json(meta, model=model)
    with pytest.raises(CheckpointError, match=message):
        read_weights(tensors)


def test_missing_files_are_named(tiny, tmp_path):
    tensors, meta = _saved(tiny, tmp_path)
    tensors.unlink()
    with pytest.raises(CheckpointError, match=r"m\.safetensors: no such weights file"):
        read_weights(tensors)
    meta.unlink()
    with pytest.raises(CheckpointError, match=r"m\.json: no such file"):
        read_weights(tensors)


def test_unreadable_json_is_refused(tiny, tmp_path):
    tensors, meta = _saved(tiny, tmp_path)
    meta.write_text("{not json")
    with pytest.raises(CheckpointError, match="not a readable JSON config"):
        read_weights(tensors)


def test_model_options_without_random_init_are_refused():
    with pytest.raises(ConfigError, match="only with random_init=True"):
        load_builtin(latent_dim=8)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"hop_length": 1000}, "power of two", id="hop-not-power-of-two"),
        pytest.param({"frame_hop": 384}, "multiple of frame_hop", id="hop-not-multiple"),
        pytest.param({"n_fft": 1000}, "n_fft must be a multiple", id="fft-not-multiple"),
        pytest.param({"latent_dim": 0}, "latent_dim must be a positive int", id="no-dims"),
        pytest.param({"n_decoder_frame_blocks": -1}, "must be an int >= 0", id="negative"),
        pytest.param({"kernel_size": 4}, "kernel_size must be odd", id="even-kernel"),
        pytest.param({"sample_rate": 500}, "outside 1000..384000", id="rate"),
        pytest.param({"phase": "sideways"}, "phase must be one of", id="phase-mode"),
        pytest.param({"tonal_bins": 600}, "tonal_bins 600 exceeds the 513 bins", id="tonal-bins"),
        pytest.param({"n_fft_long": 2048, "long_bins": 300}, "exceeds the 257 bins", id="long"),
        pytest.param({"n_fft_long": 2000}, "n_fft_long must be a multiple", id="long-fft"),
        pytest.param({"n_fft_fine": 1536}, "n_fft_fine must be a multiple of hop", id="fine"),
        pytest.param({"n_fft_fine": 2048, "fine_bins": 2000}, "exceeds the 1025", id="fine-bins"),
        pytest.param({"decoder_hop": 384}, "decoder_hop 384 must divide", id="decoder-hop"),
        pytest.param(
            {"n_fft_decoder": 768, "decoder_hop": 512}, "multiple of decoder_hop", id="decoder-fft"
        ),
        pytest.param(
            {"n_fft_decoder": 512, "decoder_hop": 256, "tonal_bins": 300},
            "exceeds the 257 bins of the decoder's 512-point",
            id="decoder-tonal",
        ),
    ],
)
def test_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        BuiltinConfig(**changes)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown keys \\['width'\\]"):
        BuiltinConfig.from_dict({"width": 3})
    assert BuiltinConfig.from_dict(BuiltinConfig().to_dict()) == BuiltinConfig()


def test_phase_increment_decoder_keeps_a_steady_bin_coherent():
    """With zero predicted increments every bin advances by its centre frequency per hop."""
    codec = load_builtin(random_init=True, phase="increment", **TINY_MODEL)
    decoder = codec.model.decoder
    bins = torch.arange(TINY_MODEL["n_fft"] // 2 + 1)
    expected = 2 * math.pi * bins * TINY_MODEL["frame_hop"] / TINY_MODEL["n_fft"]
    torch.testing.assert_close(decoder.bin_advance, expected.float())
    z = torch.zeros(1, 4, 5)
    assert decoder(z).shape == (1, 1, 5 * 256)


def test_dual_head_summed_path_plays_a_steady_sine_at_the_bin_centre():
    """Known answer: silence the absolute path, one tonal bin with zero increments -> a sine.

    The head's bias alone sets the outputs (weights zeroed): the absolute path at exp(-30),
    tonal bin 8 of a 256-point spectrum at 16 kHz (500 Hz) with magnitude 1 and increment 0.
    Overlapping frames then add coherently, so the output is a steady 500 Hz sinusoid.
    """
    codec = load_builtin(random_init=True, phase="dual", tonal_bins=32, **TINY_MODEL)
    decoder = codec.model.decoder
    n_bins, k = TINY_MODEL["n_fft"] // 2 + 1, 8
    bias = torch.zeros(decoder.head.out_features)
    bias[:n_bins] = -30.0  # absolute path: silent
    bias[2 * n_bins : 2 * n_bins + 32] = -30.0  # tonal magnitudes ...
    bias[2 * n_bins + k] = 0.0  # ... but bin k at 1
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.copy_(bias)
        y = decoder(torch.zeros(1, 4, 12))[0, 0].numpy()
    steady = y[256:-256]  # away from the centred frames' edges
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
    peak_hz = np.argmax(spectrum) * 16_000 / steady.size
    assert abs(peak_hz - 500.0) < 16_000 / steady.size
    envelope = np.abs(steady).reshape(-1, 64).max(axis=1)  # per 4 ms, > one 2 ms period
    assert envelope.max() / envelope.min() < 1.02  # constant amplitude: the frames cohere


def test_a_trained_model_folder_is_a_codec_name(tiny, tmp_path, run_cli):
    """``builtin:PATH`` loads a training output everywhere a codec name is taken."""
    write_weights(tmp_path / "run", tiny.model, tiny.config)
    codec = get_codec(f"builtin:{tmp_path / 'run'}")
    audio = sine(440.0, seconds=0.2, sample_rate=16_000)
    np.testing.assert_array_equal(codec.encode(audio).data, tiny.encode(audio).data)
    with pytest.raises(ConfigError, match="names trained weights"):
        get_codec(f"builtin:{tmp_path / 'run'}", random_init=True)
    with pytest.raises(CheckpointError):
        get_codec(f"builtin:{tmp_path / 'missing'}")
    listing = run_cli("codecs")
    assert "builtin:PATH" in listing.stdout


def test_fine_head_alone_plays_a_narrow_steady_line():
    """Known answer: main head silent, fine head (512 points at 16 kHz, hop 256) one bin on.

    Bin 16 of 512 points at 16 kHz is 500 Hz. Its frames hop by the latent hop with an
    absolute phase of 0 in every frame, so the output is a steady 500 Hz partial.
    """
    codec = load_builtin(random_init=True, n_fft_fine=512, fine_bins=64, **TINY_MODEL)
    decoder = codec.model.decoder
    fine = decoder.fine_head[0][1]
    bias = torch.full((fine.out_features,), -30.0)
    bias[16] = 0.0
    bias[64:] = 0.0  # phases
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.fill_(-30.0)
        fine.weight.zero_()
        fine.bias.copy_(bias)
        y = decoder(torch.zeros(1, 4, 16))[0, 0].numpy()
    steady = y[512:-512]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
    assert abs(np.argmax(spectrum) * 16_000 / steady.size - 500.0) < 16_000 / steady.size
    envelope = np.abs(steady).reshape(-1, 64).max(axis=1)
    assert envelope.min() > 0.5 * envelope.max()


def test_a_shorter_main_head_plays_its_own_bins_at_its_own_hop():
    """Known answer: main head of 128 points at hop 32 (the encoder's: 256 at 64), one bin on.

    Bin 8 of 128 points at 16 kHz is 1000 Hz, exactly 2 cycles per 32-sample hop, so an absolute
    phase of 0 in every frame is coherent and the output is a steady 1000 Hz sine. The decoder
    still returns ``T * hop_length`` samples, and it scripts for the nn~ export.
    """
    codec = load_builtin(random_init=True, n_fft_decoder=128, decoder_hop=32, **TINY_MODEL)
    decoder = codec.model.decoder
    assert decoder.head.out_features == 2 * 65
    bias = torch.full((130,), -30.0)
    bias[8] = 0.0
    bias[65:] = 0.0  # phases
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.copy_(bias)
        y = decoder(torch.zeros(1, 4, 16))[0, 0].numpy()
        scripted = torch.jit.script(decoder)(torch.zeros(1, 4, 16))[0, 0].numpy()
    assert y.shape == (16 * 256,)
    np.testing.assert_allclose(scripted, y, atol=1e-6)
    steady = y[256:-256]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
    assert abs(np.argmax(spectrum) * 16_000 / steady.size - 1000.0) < 16_000 / steady.size
    envelope = np.abs(steady).reshape(-1, 32).max(axis=1)
    assert envelope.min() > 0.9 * envelope.max()
