"""The builtin codec's level channels: measured frame RMS / peak, and the decoder's rescale."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from builtin_tiny import TINY_MODEL
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_levels import (
    frame_levels,
    k_weighted_share,
    k_weighting_bins,
    k_weighting_filters,
    k_weighting_gain,
    match_levels,
)
from latentroom.codecs.builtin_model import build_model

HOP = 256


def _levels_db(x: torch.Tensor) -> np.ndarray:
    """Frame RMS and peak in dBFS [shape=(B, 2, T)]."""
    return 20 * frame_levels(x, HOP).numpy()


def test_frame_levels_of_known_signals():
    t = torch.arange(4 * HOP, dtype=torch.float64)
    # A full-scale square wave: RMS = peak = 0 dBFS; a half-scale one: -6.02 dB both.
    square = torch.where((t // 8) % 2 == 0, 1.0, -1.0)
    x = torch.stack([square, 0.5 * square])
    got = _levels_db(x)
    assert np.allclose(got[0], 0.0, atol=1e-9)
    assert np.allclose(got[1], 20 * math.log10(0.5), atol=1e-9)
    # A sine over whole periods: RMS 3.01 dB under its peak; digital silence sits at the floor.
    sine = 0.8 * torch.sin(2 * math.pi * t / 64)
    got = _levels_db(torch.stack([sine, torch.zeros_like(sine)]))
    assert np.allclose(got[0, 1], 20 * math.log10(0.8), atol=1e-3)
    assert np.allclose(got[0, 0] - got[0, 1], -10 * math.log10(2), atol=1e-3)
    assert np.allclose(got[1], -120.0)


def test_match_levels_brings_every_frame_to_its_target_rms():
    gen = torch.Generator().manual_seed(0)
    # A decoder output whose frames are 0..30 dB off the targets, but steady within each frame.
    n_frames = 12
    offsets = torch.linspace(-30, 10, n_frames)
    y = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.05
    target = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.05
    y = y * torch.repeat_interleave(10 ** (offsets / 20), HOP)
    levels = frame_levels(target[:, 0], HOP)
    unlimited = levels.clone()
    unlimited[:, 1] = 0.0  # full-scale peak targets: the RMS stage alone
    error_db = 20 * (frame_levels(match_levels(y, unlimited, HOP)[:, 0], HOP) - levels)[0, 0]
    # The refinement meets each frame's RMS to a fraction of a dB despite 40 dB of spread.
    assert float(error_db.abs().max()) < 0.6
    assert float(error_db.abs().mean()) < 0.2
    # With the target's own peaks, the limiter (0.5 dB of headroom) costs independent Gaussian
    # noise about 0.6 dB: over 256 samples, two such noises' frame peaks differ by 1-2 dB.
    error_db = 20 * (frame_levels(match_levels(y, levels, HOP)[:, 0], HOP) - levels)[0, 0]
    assert float(error_db.max()) < 0.6
    assert float(error_db.mean()) > -0.75


def test_a_level_window_corrects_the_level_and_keeps_the_decoders_envelope():
    """level_window 9: one smooth gain from 9-frame spans. A level offset is undone exactly; a
    burst the decoder drew a frame early stays where it is, where per-frame matching smears it
    over its quiet neighbour."""
    gen = torch.Generator().manual_seed(3)
    n_frames = 24
    target = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.02
    target[..., 12 * HOP : 13 * HOP] *= 8.0  # a burst in frame 12, 18 dB up
    levels = frame_levels(target[:, 0], HOP)
    levels[:, 1] = 0.0  # full-scale peak targets: the RMS stage alone
    target_db = _levels_db(target[:, 0])[0, 0]
    # The decoder's sound, 12 dB too quiet: every frame comes back to its level.
    quiet = match_levels(0.25 * target, levels, HOP, 9)
    assert np.abs(_levels_db(quiet[:, 0])[0, 0] - target_db).max() < 0.01
    # The decoder's burst one frame early (frame 11).
    y = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.01
    y[..., 11 * HOP : 12 * HOP] *= 8.0
    per_frame = _levels_db(match_levels(y, levels, HOP)[:, 0])[0, 0]
    windowed = _levels_db(match_levels(y, levels, HOP, 9)[:, 0])[0, 0]
    # Per frame, the ramp towards frame 12's large gain lifts the quiet frame 11 by > 10 dB.
    assert per_frame[11] - target_db[11] > 10.0
    # With the window the burst keeps its place and, near enough, the input burst's level.
    assert windowed[11] - windowed[12] > 10.0
    assert abs(windowed[11] - target_db[12]) < 1.5
    # Away from the burst the level is the input's.
    assert np.abs(windowed[:4] - target_db[:4]).max() < 1.0
    assert torch.equal(match_levels(y, levels, HOP, 1), match_levels(y, levels, HOP))


def test_a_level_blend_moves_each_frame_between_the_per_frame_and_the_windowed_match():
    """blend 1 is the per-frame match, 0 the windowed one, and a frame's blend acts there:
    the burst drawn a frame early keeps its place where the blend is 0, and a steady frame
    reaches its own level where it is 1."""
    gen = torch.Generator().manual_seed(3)
    n_frames = 24
    target = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.02
    target[..., 12 * HOP : 13 * HOP] *= 8.0
    levels = frame_levels(target[:, 0], HOP)
    levels[:, 1] = 0.0
    y = torch.randn(1, 1, n_frames * HOP, generator=gen, dtype=torch.float64) * 0.01
    y[..., 11 * HOP : 12 * HOP] *= 8.0
    ones = torch.ones(1, n_frames, dtype=torch.float64)
    per_frame, windowed = match_levels(y, levels, HOP), match_levels(y, levels, HOP, 9)
    assert torch.allclose(match_levels(y, levels, HOP, 9, ones), per_frame)
    assert torch.allclose(match_levels(y, levels, HOP, 9, 0 * ones), windowed)
    low_db = _levels_db(windowed[:, 0])[0, 0]
    high_db = _levels_db(per_frame[:, 0])[0, 0]
    # Per frame before the burst, the window around it: frame 7 (the two differ by 3 dB there)
    # takes the per-frame match's level, frame 11 (3 dB too) the window's.
    blend = torch.zeros(1, n_frames, dtype=torch.float64)
    blend[0, :9] = 1.0
    mixed_db = _levels_db(match_levels(y, levels, HOP, 9, blend)[:, 0])[0, 0]
    assert abs(high_db[7] - low_db[7]) > 2.0 and abs(high_db[11] - low_db[11]) > 2.0
    assert abs(mixed_db[7] - high_db[7]) < 0.1
    assert abs(mixed_db[11] - low_db[11]) < 0.1


def test_refinement_reads_rms_and_peaks_under_a_gain_curve_without_building_it():
    """The half-frame moments give each frame's RMS under the centre curve exactly, and the
    block peaks an upper bound of its peak within the curve's change over a block."""
    from latentroom.codecs.builtin_levels import (
        _centre_curve,
        _centre_segments,
        _frame_peak,
        _frame_rms,
        _HalfFrames,
    )

    gen = torch.Generator().manual_seed(3)
    n_frames = 9
    y = torch.randn(2, 1, n_frames * HOP, generator=gen, dtype=torch.float64)
    gain = torch.rand(2, n_frames, generator=gen, dtype=torch.float64) * 10 ** torch.linspace(
        -2, 2, n_frames, dtype=torch.float64
    )
    shaped = y * _centre_curve(gain, HOP)
    halves = _HalfFrames(y, n_frames, HOP)
    assert torch.allclose(halves.rms(gain), _frame_rms(shaped, n_frames, HOP), rtol=1e-10)
    peak, bound = _frame_peak(shaped, n_frames, HOP), halves.peak_bound(gain)
    assert bool((bound >= peak * (1 - 1e-12)).all())
    # a block is 1/16 of a half frame: within one, the gain moves by at most 1/16 of the half
    # frame's ramp, and that sets how far above the true peak the bound can be
    start, step = _centre_segments(gain)
    lowest = torch.minimum(start, start + step).reshape(2, n_frames, 2).amin(dim=2)
    ramp = step.abs().reshape(2, n_frames, 2).amax(dim=2)
    assert bool((bound <= peak * (1 + ramp / 16 / lowest) * (1 + 1e-12)).all())
    assert float((bound / peak).max()) > 1.0  # (the ramps here are steep enough to show it)


def test_match_levels_never_exceeds_the_target_peak_or_full_scale():
    gen = torch.Generator().manual_seed(1)
    n_frames = 10
    # Spiky output (a click in every frame) asked to match the RMS of smooth noise: the RMS
    # gain alone would push the clicks far above the target peak.
    y = torch.randn(2, 1, n_frames * HOP, generator=gen) * 0.01
    y[..., HOP // 3 :: HOP] = 0.9
    target = torch.randn(2, n_frames * HOP, generator=gen) * 0.3
    levels = frame_levels(target, HOP)
    levels[1, 1] += 1.0  # ask the second item for peaks 20 dB above full scale
    levels[1, 0] += 1.0
    out = match_levels(y, levels, HOP)
    peaks = out.reshape(2, n_frames, HOP).abs().amax(dim=2)
    headroom = 10 ** (0.5 / 20)
    assert bool((peaks[0] <= headroom * torch.pow(10.0, levels[0, 1]) * (1 + 1e-4)).all())
    assert float(out.abs().max()) <= 1.0 + 1e-6


def test_silence_stays_silent_and_a_silent_output_is_not_blown_up():
    y = torch.zeros(1, 1, 4 * HOP)
    levels = frame_levels(torch.full((1, 4 * HOP), 0.5), HOP)
    assert float(match_levels(y, levels, HOP).abs().max()) == 0.0
    # Output near -100 dBFS asked for -6 dBFS: at most 60 dB of gain.
    y = torch.full((1, 1, 4 * HOP), 1e-5)
    assert float(match_levels(y, levels, HOP).abs().max()) <= 1e-2 * (1 + 1e-4)
    quiet = frame_levels(torch.zeros(1, 4 * HOP), HOP)
    assert float(match_levels(torch.full((1, 1, 4 * HOP), 0.5), quiet, HOP).abs().max()) < 1e-5


def test_k_weighting_gain_is_the_bs1770_response():
    from scipy.signal import freqz

    from latentroom.audio.loudness import k_weighting

    rate, n_fft = 48_000, 2048
    b1, a1, b2, a2 = k_weighting(rate)
    hz = np.arange(n_fft // 2 + 1) * rate / n_fft
    response = np.abs(freqz(b1, a1, hz, fs=rate)[1] * freqz(b2, a2, hz, fs=rate)[1])
    gain = k_weighting_gain(n_fft, k_weighting_filters(rate).double()).numpy()
    # to 0.01 dB above 20 Hz: the model keeps the coefficients in float32
    audible = hz >= 20.0
    np.testing.assert_allclose(20 * np.log10(gain[audible]), 20 * np.log10(response[audible]),
                               atol=0.01)  # fmt: skip


@pytest.mark.parametrize("hz", [45.0, 60.0, 100.0, 1000.0, 5000.0])
def test_k_weighted_share_reads_a_tone_as_the_iir_filters_do(hz):
    from scipy.signal import lfilter

    from latentroom.audio.loudness import k_weighting

    rate, hop = 48_000, 1024
    t = torch.arange(64 * hop, dtype=torch.float64) / rate
    tone = torch.sin(2 * math.pi * hz * t)[None]
    share = k_weighted_share(tone, hop, k_weighting_bins(rate, hop))
    assert share.shape == (1, 64)
    b1, a1, b2, a2 = k_weighting(rate)
    steady = lfilter(b2, a2, lfilter(b1, a1, tone[0].numpy()))[32 * hop :]  # after the transient
    expected_db = 10 * math.log10(steady.var() / 0.5)
    # inner frames (the end frames' windows reach into the zero padding)
    assert 10 * math.log10(float(share[0, 1:-1].mean())) == pytest.approx(expected_db, abs=0.2)


def test_k_weighted_share_of_silence_is_one_and_of_the_highs_about_4_db():
    bins = k_weighting_bins(48_000, 1024)
    assert torch.equal(k_weighted_share(torch.zeros(1, 4096), 1024, bins), torch.ones(1, 4))
    noise = torch.randn(1, 64 * 1024, generator=torch.Generator().manual_seed(0))
    above_6k = torch.arange(32 * 1024 + 1) > 8192  # rfft bins of 64 * 1024 points at 48 kHz
    highs = torch.fft.irfft(torch.fft.rfft(noise) * above_6k, n=64 * 1024)
    assert 10 * math.log10(float(k_weighted_share(highs, 1024, bins).mean())) > 3.5


def test_a_k_weighted_match_keeps_the_loudness_of_a_tilted_output():
    """A decoder that drew the input's energy an octave lower keeps the energy but not the
    loudness with the plain match; the K-weighted match keeps the loudness."""
    from latentroom.audio.loudness import integrated_loudness

    rate, n_frames = TINY_MODEL["sample_rate"], 64
    t = torch.arange(n_frames * HOP, dtype=torch.float64) / rate
    x = 0.1 * torch.sin(2 * math.pi * 3000.0 * t)[None]  # on the shelf: K-weighting adds ~4 dB
    y = 0.1 * torch.sin(2 * math.pi * 60.0 * t)[None, None]  # near the high-pass: it loses
    bins = k_weighting_bins(rate, HOP).double()

    def full_scale_peaks(levels: torch.Tensor) -> torch.Tensor:
        # The RMS stage alone: the limiter would hold the low tone to the high one's peak.
        return torch.cat([levels[:, :1], torch.zeros_like(levels[:, 1:])], dim=1)

    plain = match_levels(y, full_scale_peaks(frame_levels(x, HOP)), HOP)
    target = full_scale_peaks(frame_levels(x, HOP, bins))
    weighted = match_levels(y, target, HOP, weighting=bins)

    def lufs(v: torch.Tensor) -> float:
        return integrated_loudness(v.reshape(1, -1).numpy(), rate)

    assert abs(lufs(plain) - lufs(x)) > 3.0
    assert lufs(weighted) == pytest.approx(lufs(x), abs=0.3)


@pytest.fixture(params=[1, 5, -5, 3], ids=["per-frame", "window-5", "window-5-blend", "k-window-3"])
def level_model(request):
    window, blend = abs(request.param), request.param < 0
    config = BuiltinConfig(
        **TINY_MODEL, level_channels=2, level_window=window, level_blend=blend,
        level_k_weighted=request.param == 3,
    )  # fmt: skip
    return build_model(config, seed=3).eval(), config


def _weighting(model, config):
    """The K-weighting bins the model's level channels use, or None."""
    return model.encoder.k_bins if config.level_k_weighted else None


def test_the_level_gate_starts_at_an_even_blend():
    config = BuiltinConfig(**TINY_MODEL, level_channels=2, level_window=5, level_blend=True)
    model = build_model(config, seed=3)
    (gate,) = model.decoder.level_gate
    z = torch.randn(1, config.channels, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.sigmoid(gate(z)), torch.full((1, 1, 7), 0.5))
    no_gate = build_model(BuiltinConfig(**TINY_MODEL, level_channels=2, level_window=5), seed=3)
    assert not any("level_gate" in key for key in no_gate.state_dict())


def test_encoder_appends_exact_levels_and_sampling_leaves_them_alone(level_model):
    model, config = level_model
    assert config.code_dim == config.latent_dim + 2
    x = torch.randn(2, 1, 5 * HOP + 17, generator=torch.Generator().manual_seed(0)) * 0.2
    with torch.no_grad():
        mu = model.encode(x)
        sampled = model.encode(x, sample=True, generator=torch.Generator().manual_seed(1))
    assert mu.shape == (2, config.code_dim, 6)
    padded = torch.nn.functional.pad(x[:, 0], (0, 6 * HOP - x.shape[-1]))
    assert torch.allclose(mu[:, -2:], frame_levels(padded, HOP, _weighting(model, config)))
    assert torch.equal(sampled[:, -2:], mu[:, -2:])
    assert not torch.equal(sampled[:, :-2], mu[:, :-2])


def test_decoded_frames_carry_the_encoded_levels(level_model):
    model, config = level_model
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 1, 8 * HOP, generator=gen) * torch.linspace(0.01, 0.5, 8 * HOP)
    with torch.no_grad():
        z = model.encode(x)
        y = model.decoder(z)
    rms_error_db = 20 * (frame_levels(y[:, 0], HOP, _weighting(model, config)) - z[:, -2:])[0, 0]
    peak_excess_db = 20 * (frame_levels(y[:, 0], HOP) - z[:, -2:])[0, 1]
    # Even an untrained decoder comes back at the input's levels, within the limiter's 0.5 dB.
    assert float(peak_excess_db.max()) <= 20 * math.log10(1.0593) + 1e-3
    # A level window keeps the untrained decoder's own envelope inside each span, so its
    # frames sit further from the input's (here: 2.6 dB at the quiet end of a 34 dB ramp).
    tolerance_db = 1.0 if config.level_window == 1 else 2.0
    assert float(rms_error_db.abs().median()) < tolerance_db


def test_kl_counts_only_the_learned_dims(level_model):
    model, config = level_model
    x = torch.randn(1, 1, 4 * HOP, generator=torch.Generator().manual_seed(4))
    _, kl = model(x, generator=torch.Generator().manual_seed(0))
    mu, logvar = model.encoder(x)
    assert logvar.shape[1] == config.latent_dim
    learned = mu[:, : config.latent_dim]
    expected = 0.5 * (learned.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1).mean()
    assert torch.allclose(kl, expected)


def test_level_channels_must_be_0_or_2_and_the_window_odd():
    from latentroom.errors import ConfigError

    with pytest.raises(ConfigError, match="level_channels must be 0"):
        BuiltinConfig(**TINY_MODEL, level_channels=1)
    with pytest.raises(ConfigError, match="level_window must be an odd number"):
        BuiltinConfig(**TINY_MODEL, level_channels=2, level_window=4)
    with pytest.raises(ConfigError, match="level_blend blends"):
        BuiltinConfig(**TINY_MODEL, level_channels=2, level_blend=True)
    with pytest.raises(ConfigError, match="level_blend must be true or false"):
        BuiltinConfig(**TINY_MODEL, level_channels=2, level_window=5, level_blend=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="level_k_weighted weights the level channels"):
        BuiltinConfig(**TINY_MODEL, level_k_weighted=True)
    with pytest.raises(ConfigError, match="level_k_weighted must be true or false"):
        BuiltinConfig(**TINY_MODEL, level_channels=2, level_k_weighted="yes")  # type: ignore[arg-type]


def test_nn_tilde_export_reports_the_level_dims(level_model):
    from latentroom.export.nn_tilde import script_codec

    model, config = level_model
    scripted = script_codec(model, config)
    x = torch.randn(1, 1, 4 * HOP, generator=torch.Generator().manual_seed(5)) * 0.3
    with torch.no_grad():
        z = scripted.encode(x)
        assert z.shape[1] == config.code_dim
        assert torch.allclose(scripted.decode(z), model.decoder(model.encode(x)), atol=1e-6)
    assert scripted.encode_params.tolist() == [1, 1, config.code_dim, HOP]
