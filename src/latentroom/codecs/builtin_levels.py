"""Level side channels of the built-in codec: each latent frame's RMS and peak, carried exactly.

A codec trained with spectral losses learns the shape of a sound far better than its level: the
log-magnitude terms are median-seeking, and the first builtin came back 2-8 LU quiet on real
sound with true peaks up to +15 dB. With ``level_channels = 2`` the encoder appends two
measured (not learned) dims to every latent frame: the frame's RMS and sample peak, as
``log10`` amplitude (dBFS / 20). The decoder reads them like any latent dim and then rescales
its own waveform, frame by frame, to that RMS without exceeding that peak. EnCodec's 48 kHz
model transmits a per-segment scale the same way; here it is per latent frame, so loudness and
peaks survive ``decode(encode(x))`` by construction, and a feedback loop cannot run away.

Frame ``t`` is input samples ``[t * hop, (t + 1) * hop)`` of the zero-padded input, the same
frame the latent describes. TorchScript-scriptable (the nn~ export scripts the decoder).
"""

import torch

# The constants are literals inside the functions because TorchScript cannot read module-level
# floats: 1e-6 (-120 dBFS) floors both channels so digital silence has a finite log, and the
# rescale never boosts a decoded frame by more than 1e3 (60 dB), so a frame the network left
# (nearly) silent stays quiet instead of turning numerical noise into sound.


def frame_levels(x: torch.Tensor, hop: int, weighting: torch.Tensor | None = None) -> torch.Tensor:
    """RMS and peak per frame of ``x`` [shape=(B, T * hop)] as log10 amplitude [shape=(B, 2, T)].

    Channel 0 is the RMS (K-weighted when ``weighting``, ``k_weighting_bins``, is given:
    ``k_weighted_share``), channel 1 the sample peak; both floored at 1e-6 (-120 dBFS).
    """
    n_frames = x.shape[-1] // hop
    rms = _frame_rms(x, n_frames, hop)
    if weighting is not None:
        rms = rms * k_weighted_share(x, hop, weighting).sqrt()
    levels = torch.stack([rms, _frame_peak(x, n_frames, hop)], dim=1)
    return torch.log10(levels.clamp(min=1e-6))


def k_weighting_filters(sample_rate: int) -> torch.Tensor:
    """BS.1770's two K-weighting biquads at ``sample_rate`` as [shape=(2, 2, 3)]:
    ``[filter, (b, a), coefficient]`` (``latentroom.audio.loudness.k_weighting``)."""
    import numpy as np

    from latentroom.audio.loudness import k_weighting

    b1, a1, b2, a2 = k_weighting(sample_rate)
    return torch.tensor(np.stack([[b1, a1], [b2, a2]]), dtype=torch.float32)


def k_weighting_bins(sample_rate: int, hop: int) -> torch.Tensor:
    """What ``k_weighted_share`` needs of the K-weighting, computed once per model: for each
    bin of a ``2 * hop``-point rfft, its weight in a frame's K-weighted energy (row 0) and in
    its plain energy (row 1) [shape=(2, hop + 1)]."""
    # A one-sided spectrum's bins between DC and Nyquist each stand for two.
    counts = torch.full((hop + 1,), 2.0, dtype=torch.float64)
    counts[0] = 1.0
    counts[-1] = 1.0
    gain = k_weighting_gain(2 * hop, k_weighting_filters(sample_rate).double())
    return torch.stack([counts * gain.square(), counts]).float()


def k_weighted_share(x: torch.Tensor, hop: int, bins: torch.Tensor) -> torch.Tensor:
    """The share of each frame's energy that BS.1770's K-weighting keeps [shape=(B, T)] (above
    1 where the shelf lifts the highs) for ``x`` [shape=(B, T * hop) or (B, 1, T * hop)].

    Read from the spectrum of a Hann window over the frame and half of each neighbour, weighted
    by ``bins`` (``k_weighting_bins``): zero phase, so the share stays with the frame it
    describes (the IIR filters' phase would move a hit's weighted energy later). On steady
    tones it is within 0.2 dB of the IIR filters' from 45 Hz up and 0.6 dB at 30 Hz; one FFT
    over the whole buffer per side (the first version) cost the codec 45 % of its speed.
    """
    n_frames = x.shape[-1] // hop
    flat = x.reshape(x.shape[0], n_frames * hop)
    padded = torch.nn.functional.pad(flat, (hop // 2, hop // 2))
    window = torch.hann_window(2 * hop, dtype=x.dtype, device=x.device)
    spectrum = torch.fft.rfft(padded.unfold(1, 2 * hop, hop) * window)
    sums = torch.view_as_real(spectrum).square().sum(dim=3) @ bins.to(x.dtype).t()
    # Digital silence has no spectrum to weigh: its share is 1.
    return (sums[..., 0] + 1e-12) / (sums[..., 1] + 1e-12)


def k_weighting_gain(n_fft: int, filters: torch.Tensor) -> torch.Tensor:
    """Magnitude of ``filters`` [shape=(F, 2, 3)] at the bins of an ``n_fft``-point rfft
    [shape=(n_fft // 2 + 1,)], in the filters' dtype and device."""
    w = torch.arange(n_fft // 2 + 1, dtype=filters.dtype, device=filters.device)
    w = w * (6.283185307179586 / n_fft)
    # cos and sin of w and 2w once, for all four polynomials: per-polynomial trig cost as
    # much as the two FFTs on a 30 s buffer.
    cos1, sin1 = torch.cos(w), torch.sin(w)
    cos2, sin2 = 2.0 * cos1 * cos1 - 1.0, 2.0 * sin1 * cos1
    power = torch.ones_like(w)
    for i in range(filters.shape[0]):
        power = power * _power(filters[i, 0], cos1, sin1, cos2, sin2)
        power = power / _power(filters[i, 1], cos1, sin1, cos2, sin2)
    return torch.sqrt(power)


def _power(
    c: torch.Tensor, cos1: torch.Tensor, sin1: torch.Tensor, cos2: torch.Tensor, sin2: torch.Tensor
) -> torch.Tensor:
    """``|c0 + c1 e^-iw + c2 e^-2iw|**2`` from the cosines and sines of ``w`` and ``2w``."""
    real = c[0] + c[1] * cos1 + c[2] * cos2
    imag = c[1] * sin1 + c[2] * sin2
    return real * real + imag * imag


def match_levels(
    y: torch.Tensor,
    levels: torch.Tensor,
    hop: int,
    window: int = 1,
    blend: torch.Tensor | None = None,
    weighting: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rescale ``y`` [shape=(B, 1, T * hop)] to the frame ``levels`` [shape=(B, 2, T)].

    With ``weighting`` (``k_weighting_bins``, as ``frame_levels`` measured the RMS channel with
    them) step 1 matches the K-weighted RMS of ``y``'s frames: each frame's energy times its
    ``k_weighted_share``, which a gain smooth over the frame leaves as it is.

    Two steps, both with smooth gains (no steps at frame edges, which would click):

    1. **RMS.** A gain per frame, linear between frame centres, refined three times so each
       frame's RMS after the interpolation meets its target (a transient whose frame needs far
       more gain than its neighbour would otherwise lose level to the ramp), each time lowered
       where the frame could peak above its target. With ``window`` > 1 (odd) the gain is
       instead one smooth correction: the Hann-weighted RMS of the ``window`` frames centred
       on each frame, the input's over the decoder's, then lowered where a frame could peak
       too high. The decoder's envelope within that span is kept and only its level corrected;
       per-frame matching forces the input's envelope onto the decoded frames, and a burst the
       decoder drew a frame early is spread over its neighbours by the linear ramps.
       ``blend`` [shape=(B, T)] in [0, 1], given with ``window`` > 1, mixes the two per frame
       (geometrically: ``frame_gain ** blend * window_gain ** (1 - blend)``), so a decoder can
       ask for the per-frame match at a hit and the windowed one in steady noise.
    2. **Peak.** Where a frame still peaks more than 0.5 dB above its target (or above 0 dBFS
       at all), it is scaled down by a limiter gain that is linear between knots at frame
       centres (the frame's factor) and frame edges (the smaller of the two neighbours'), so no
       sample is scaled by more than its own frame's factor: every frame peaks at most 0.5 dB
       above its target, and no decoded frame peaks above full scale. The 0.5 dB (a factor
       1.0593) is headroom for the crest factor: two noises of equal RMS differ in frame peak
       by about a dB, and holding every frame to the input's exact peak cost noisy sound 0.5-1
       dB of loudness.

    The refinement never builds a curve: the gain is linear on each half frame, so a half
    frame's energy under it is a quadratic in its two knot gains over three moments of ``y``
    squared (``_HalfFrames``), and its peak is bounded from above by blocks' peaks at the
    blocks' largest gain. Only the final gain and the limiter touch every sample, which made
    the level matching ~2.5x cheaper than refining on the full curve (docs/builtin-codec.md).
    """
    n_frames = levels.shape[2]
    target_rms = torch.pow(10.0, levels[:, 0].clamp(max=0.0))
    target_peak = (1.0593 * torch.pow(10.0, levels[:, 1])).clamp(max=1.0)
    share: torch.Tensor | None = None
    if weighting is not None:
        share = k_weighted_share(y, hop, weighting)
    halves = _HalfFrames(y, n_frames, hop, share)
    if window > 1:
        # One smooth correction, not refined: where the decoder drew a burst a frame away from
        # the input's, no gain meets every overlapping span, and refining oscillates there.
        target = _window_rms(target_rms, window)
        ones = torch.ones_like(target_rms)
        gain = (target / (_window_rms(halves.rms(ones), window) + 1e-9)).clamp(max=1e3)
        gain = gain * (target_peak / (halves.peak_bound(gain) + 1e-9)).clamp(max=1.0)
        if blend is not None:
            frame_gain = _frame_gain(halves, target_rms, target_peak)
            gain = torch.exp(
                blend * torch.log(frame_gain + 1e-9) + (1.0 - blend) * torch.log(gain + 1e-9)
            )
    else:
        gain = _frame_gain(halves, target_rms, target_peak)
    y = y * _centre_curve(gain, hop)
    peak = _frame_peak(y, n_frames, hop)
    limit = (target_peak / (peak + 1e-9)).clamp(max=1.0)
    return y * _curve(_knots(limit, torch.minimum(limit[:, :-1], limit[:, 1:])), hop)


class _HalfFrames:
    """What the refinement needs of ``y`` [shape=(B, 1, T * hop)], per half frame ``k``.

    ``moments[:, k]`` are the sums of ``y**2``, ``u * y**2`` and ``u**2 * y**2`` over the half
    frame, times its frame's ``share`` of K-weighted energy [shape=(B, T)] when given, with
    ``u = j / (hop / 2)`` the sample's place between the two knots (as the linear curve
    interpolates); ``block_peaks[:, k, b]`` is the sample peak of block ``b`` of
    ``n_blocks`` in it, and ``block_u`` the first and last ``u`` of each block.
    """

    def __init__(
        self, y: torch.Tensor, n_frames: int, hop: int, share: torch.Tensor | None = None
    ) -> None:
        half = hop // 2
        n_blocks = 16 if half % 16 == 0 else 1  # hop is a power of two: 32 samples at 1024
        segments = y.reshape(y.shape[0], 2 * n_frames, half)
        u = torch.arange(half, dtype=y.dtype, device=y.device) / half
        self.moments = segments.square() @ torch.stack([torch.ones_like(u), u, u * u], dim=1)
        if share is not None:
            self.moments = self.moments * share.repeat_interleave(2, dim=1).unsqueeze(2)
        blocked = segments.abs().reshape(y.shape[0], 2 * n_frames, n_blocks, -1)
        self.block_peaks = blocked.amax(dim=3)
        blocks = u.reshape(n_blocks, -1)
        self.block_u = torch.stack([blocks[:, 0], blocks[:, -1]], dim=1)  # (n_blocks, 2)
        self.n_frames = n_frames
        self.hop = hop

    def rms(self, gain: torch.Tensor) -> torch.Tensor:
        """Per-frame RMS [shape=(B, T)] of ``y`` times the centre curve of ``gain``."""
        start, step = _centre_segments(gain)
        energy = (
            start.square() * self.moments[..., 0]
            + 2.0 * start * step * self.moments[..., 1]
            + step.square() * self.moments[..., 2]
        )
        frames = energy.reshape(energy.shape[0], self.n_frames, 2).sum(dim=2)
        return (frames.clamp(min=0.0) / self.hop).sqrt()

    def peak_bound(self, gain: torch.Tensor) -> torch.Tensor:
        """An upper bound [shape=(B, T)] of each frame's peak under the centre curve of ``gain``:
        every block's peak times the larger gain at its two ends (the curve is linear)."""
        start, step = _centre_segments(gain)
        ends = start[..., None, None] + step[..., None, None] * self.block_u  # (B, 2T, blocks, 2)
        bound = (self.block_peaks * ends.amax(dim=3)).amax(dim=2)
        return bound.reshape(bound.shape[0], self.n_frames, 2).amax(dim=2)


def _frame_gain(
    halves: _HalfFrames, target_rms: torch.Tensor, target_peak: torch.Tensor
) -> torch.Tensor:
    """Centre gains [shape=(B, T)] that meet every frame's RMS, refined three times."""
    gain = (target_rms / (halves.rms(torch.ones_like(target_rms)) + 1e-9)).clamp(max=1e3)
    for _ in range(3):
        gain = (gain * target_rms / (halves.rms(gain) + 1e-9)).clamp(max=1e3)
        # Lowering the centre gain of a frame that may peak too high spreads the cut over
        # its neighbours' ramps; the next RMS pass then gives them back what they lost.
        gain = gain * (target_peak / (halves.peak_bound(gain) + 1e-9)).clamp(max=1.0)
    return gain


def _window_rms(rms: torch.Tensor, window: int) -> torch.Tensor:
    """RMS [shape=(B, T)] over the ``window`` frames centred on each frame, Hann-weighted (so
    the gain moves smoothly as a burst enters or leaves the span), renormalised at the ends."""
    if window == 1:
        return rms
    kernel = torch.hann_window(window + 2, periodic=False, dtype=rms.dtype, device=rms.device)
    kernel = kernel[1:-1].reshape(1, 1, window)
    energy = torch.nn.functional.conv1d(rms.square().unsqueeze(1), kernel, padding=window // 2)
    weight = torch.nn.functional.conv1d(
        torch.ones_like(rms).unsqueeze(1), kernel, padding=window // 2
    )
    return (energy / weight).squeeze(1).sqrt()


def _centre_segments(gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The centre curve of ``gain`` [shape=(B, T)] per half frame: its value at the half
    frame's first knot and the change to the next knot, each [shape=(B, 2 * T)]."""
    knots = _centre_knots(gain)
    return knots[:, :-1], knots[:, 1:] - knots[:, :-1]


def _frame_rms(y: torch.Tensor, n_frames: int, hop: int) -> torch.Tensor:
    """RMS per frame of ``y`` [shape=(B, T * hop) or (B, 1, T * hop)] -> [shape=(B, T)]."""
    return y.reshape(y.shape[0], n_frames, hop).square().mean(dim=2).sqrt()


def _frame_peak(y: torch.Tensor, n_frames: int, hop: int) -> torch.Tensor:
    """Sample peak per frame of ``y`` [shape=(B, T * hop) or (B, 1, T * hop)] -> [shape=(B, T)]."""
    return y.reshape(y.shape[0], n_frames, hop).abs().amax(dim=2)


def _centre_curve(gain: torch.Tensor, hop: int) -> torch.Tensor:
    """Per-sample gain [shape=(B, 1, T * hop)]: linear between frame centres, flat at the ends."""
    return _curve(_centre_knots(gain), hop)


def _centre_knots(gain: torch.Tensor) -> torch.Tensor:
    """``_knots`` of the centre curve: each edge halfway between its two frames' gains."""
    return _knots(gain, 0.5 * (gain[:, :-1] + gain[:, 1:]))


def _knots(centres: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Knots [shape=(B, 2 * T + 1)] every half frame: ``centres`` [shape=(B, T)] at frame
    centres, ``edges`` [shape=(B, T - 1)] between frames; the first and last edge take their
    frame's value."""
    n_batch, n_frames = centres.shape
    knots = torch.empty(n_batch, 2 * n_frames + 1, dtype=centres.dtype, device=centres.device)
    knots[:, 1::2] = centres
    knots[:, 2:-1:2] = edges
    knots[:, 0] = centres[:, 0]
    knots[:, -1] = centres[:, -1]
    return knots


def _curve(knots: torch.Tensor, hop: int) -> torch.Tensor:
    """Linear curve through ``knots`` [shape=(B, 2 * T + 1)], one every ``hop / 2`` samples
    -> [shape=(B, 1, T * hop)]."""
    n_samples = (knots.shape[1] - 1) // 2 * hop
    # align_corners: knot k lands on sample k * hop / 2; the extra end sample is dropped.
    curve = torch.nn.functional.interpolate(
        knots.unsqueeze(1), size=n_samples + 1, mode="linear", align_corners=True
    )
    return curve[..., :-1]
