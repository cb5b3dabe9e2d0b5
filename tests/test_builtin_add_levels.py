"""scripts/builtin_add_levels.py: a trained builtin model given level dims, a shorter main head
or a level gate, as an init for `train codec --init`."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from builtin_tiny import TINY_MODEL
from latentroom.codecs.builtin import read_weights, write_weights
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_levels import frame_levels, k_weighting_bins, match_levels
from latentroom.codecs.builtin_model import build_model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "builtin_add_levels.py"


def _add_levels(
    tmp_path: Path, *options: str, source_model: torch.nn.Module | None = None
) -> tuple[torch.nn.Module, BuiltinConfig]:
    """Write the source (a seeded tiny model unless given), run the script, read the init."""
    source = tmp_path / "source"
    config = BuiltinConfig(**TINY_MODEL, tonal_bins=0)
    write_weights(source, source_model or build_model(config, seed=4), config)
    target = tmp_path / "init"
    subprocess.run(
        [sys.executable, str(SCRIPT), str(source), "-o", str(target), *options],
        check=True,
        capture_output=True,
    )
    return read_weights(target)


def _source(tmp_path: Path) -> torch.nn.Module:
    return read_weights(tmp_path / "source")[0]


def test_the_level_dims_start_silent_so_the_model_decodes_as_before_then_rescales(tmp_path):
    model, config = _add_levels(tmp_path, "--frame-blocks", "1")
    source = _source(tmp_path)
    assert config.level_channels == 2 and config.n_decoder_frame_blocks == 1
    x = torch.randn(1, 1, 12 * 256, generator=torch.Generator().manual_seed(0)) * 0.3
    with torch.no_grad():
        z = model.encode(x)
        assert torch.equal(z[:, :-2], source.encode(x))  # the encoder is the source's
        expected = match_levels(source.decoder(z[:, :-2]), z[:, -2:], config.hop_length)
        assert torch.allclose(model.decoder(z), expected, atol=1e-6)


def test_k_weighted_levels_are_measured_and_matched_k_weighted(tmp_path):
    model, config = _add_levels(tmp_path, "--level-k-weighted")
    source = _source(tmp_path)
    assert config.level_k_weighted
    x = torch.randn(1, 1, 12 * 256, generator=torch.Generator().manual_seed(1)) * 0.3
    bins = k_weighting_bins(config.sample_rate, config.hop_length)
    with torch.no_grad():
        z = model.encode(x)
        assert torch.allclose(z[:, -2:], frame_levels(x[:, 0], config.hop_length, bins))
        assert not torch.allclose(z[:, -2], frame_levels(x[:, 0], config.hop_length)[:, 0])
        expected = match_levels(
            source.decoder(z[:, :-2]), z[:, -2:], config.hop_length, weighting=bins
        )
        assert torch.allclose(model.decoder(z), expected, atol=1e-6)


def test_a_shorter_main_head_reads_the_same_frequencies_centred_in_its_frames(tmp_path):
    # The tiny source draws 256-point frames every 64 samples; the new head 64-point frames
    # every 32: twice the frame rate, a quarter of the bins.
    model, config = _add_levels(tmp_path, "--decoder-fft", "64")
    source = _source(tmp_path).state_dict()
    state = model.state_dict()
    assert (config.main_n_fft, config.main_hop) == (64, 32)
    # Each new frame repeats the upsampler's output for the old frame it falls in.
    old_up, new_up = source["decoder.up.weight"], state["decoder.up.weight"]
    assert new_up.shape[2] == 2 * old_up.shape[2]
    assert torch.equal(new_up[..., 0::2], old_up) and torch.equal(new_up[..., 1::2], old_up)
    # New bin k (of 33) is old bin 4k (of 129): the same frequency, 250 Hz apart at 16 kHz.
    n_old, n_new, step = 129, 33, 4
    rows = step * torch.arange(n_new)
    weight, bias = state["decoder.head.weight"], state["decoder.head.bias"]
    old_weight, old_bias = source["decoder.head.weight"], source["decoder.head.bias"]
    assert torch.equal(weight[:n_new], old_weight[rows])
    assert torch.equal(weight[n_new:], old_weight[n_old + rows])
    # A quarter of the frame: half the magnitude keeps noise at the same RMS ...
    assert torch.allclose(bias[:n_new], old_bias[rows] - 0.5 * math.log(step))
    # ... and the frame centre moves from sample 128 to 32: bin k turns by pi * k * 3.
    turn = bias[n_new:] - old_bias[n_old + rows]
    expected = math.pi * torch.arange(n_new) * (step - 1)
    assert torch.allclose(
        torch.polar(torch.ones(n_new), turn - expected), torch.ones(n_new) + 0j, atol=1e-4
    )


def test_a_pulse_centred_in_the_old_frames_stays_centred_in_the_new_ones(tmp_path):
    """Behaviour, not tensors: with a head that draws the same spectrum every frame, phase
    pi * k (a pulse at the centre of the old 256-point frame), the mapped head's 64-point
    frames hold the pulse at their own centre, where the window keeps it, not at an edge."""
    config = BuiltinConfig(**TINY_MODEL, tonal_bins=0)
    model = build_model(config, seed=4)
    n_bins = config.n_fft // 2 + 1
    with torch.no_grad():
        model.decoder.head.weight.zero_()
        model.decoder.head.bias[:n_bins] = -2.0
        model.decoder.head.bias[n_bins:] = math.pi * torch.arange(n_bins) % (2 * math.pi)
    mapped, _ = _add_levels(tmp_path, "--decoder-fft", "64", source_model=model)
    frames = mapped.decoder.head(torch.zeros(1, 1, config.channels))[0, 0]
    spec = torch.polar(torch.exp(frames[:33]), frames[33:])
    frame = torch.fft.irfft(spec.detach(), n=64)
    assert int(frame.abs().argmax()) == 32


@pytest.mark.parametrize("decoder_fft", [[], ["--decoder-fft", "64"]], ids=["256", "64"])
def test_a_level_gate_is_added_at_an_even_blend(tmp_path, decoder_fft):
    model, config = _add_levels(tmp_path, "--level-window", "5", "--level-blend", *decoder_fft)
    assert config.level_blend and config.level_window == 5
    (gate,) = model.decoder.level_gate
    assert all(float(p.detach().abs().max()) == 0.0 for p in gate.parameters())
