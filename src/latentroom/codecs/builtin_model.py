"""The built-in codec's networks: an STFT-front-end VAE encoder and an iSTFT-head decoder.

The whole model works at frame rates, never per sample: the encoder reads log-magnitude STFT
frames (hop ``frame_hop``), mixes them with ConvNeXt-style blocks, and strides down to the
latent rate; the decoder upsamples latents to its own frame rate (``decoder_hop``, by default
``frame_hop``) and predicts a log-magnitude and a phase per bin that an inverse STFT turns into a
waveform (the Vocos idea; our own code).
Everything here is TorchScript-scriptable for the nn~ export.
"""

# No ``from __future__ import annotations`` here: TorchScript cannot resolve the string class
# annotations it would create for the buffers (``window: torch.Tensor``).
import math

import torch
from torch import nn

from latentroom.codecs.builtin_config import LONG_DECIMATION, LOWPASS_TAPS, BuiltinConfig
from latentroom.codecs.builtin_levels import frame_levels, k_weighting_bins, match_levels


def _lowpass_kernel() -> torch.Tensor:
    """Hann-windowed sinc [shape=(1, 1, LOWPASS_TAPS)], cut at 90 % of the decimated Nyquist."""
    cutoff = 0.9 * 0.5 / LONG_DECIMATION  # cycles per input sample
    n = torch.arange(LOWPASS_TAPS, dtype=torch.float64) - LOWPASS_TAPS // 2
    taps = torch.sinc(2 * cutoff * n) * torch.hann_window(
        LOWPASS_TAPS, periodic=False, dtype=torch.float64
    )
    return (taps / taps.sum()).float().reshape(1, 1, -1)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv, layer norm, pointwise MLP, scaled residual (as in ConvNeXt and Vocos)."""

    def __init__(self, channels: int, kernel_size: int, mlp_ratio: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(
            channels, channels, kernel_size, padding=kernel_size // 2, groups=channels
        )
        self.norm = nn.LayerNorm(channels)
        self.expand = nn.Linear(channels, channels * mlp_ratio)
        self.project = nn.Linear(channels * mlp_ratio, channels)
        self.scale = nn.Parameter(torch.full((channels,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` [shape=(B, channels, T)] to the same shape."""
        h = self.depthwise(x).transpose(1, 2)
        h = self.project(torch.nn.functional.gelu(self.expand(self.norm(h))))
        return x + (self.scale * h).transpose(1, 2)


def _blocks(config: BuiltinConfig, n_blocks: int) -> nn.Sequential:
    return nn.Sequential(
        *[
            ConvNeXtBlock(config.channels, config.kernel_size, config.mlp_ratio)
            for _ in range(n_blocks)
        ]
    )


class Encoder(nn.Module):
    """Waveform [shape=(B, 1, N)] -> posterior ``mu, logvar`` over ``T = ceil(N / hop)`` frames.

    ``mu`` [shape=(B, code_dim, T)] ends with the measured level channels (if any);
    ``logvar`` [shape=(B, latent_dim, T)] covers the learned dims only.
    """

    window: torch.Tensor
    window_short: torch.Tensor
    k_bins: torch.Tensor
    window_long: torch.Tensor
    lowpass: torch.Tensor

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__()
        self.hop_length = config.hop_length
        self.frame_hop = config.frame_hop
        self.n_fft = config.n_fft
        self.n_fft_short = config.n_fft_short
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        self.register_buffer(
            "window_short", torch.hann_window(config.n_fft_short), persistent=False
        )
        self.project = nn.Linear(config.n_fft // 2 + 1, config.channels)
        self.project_short = nn.Linear(config.n_fft_short // 2 + 1, config.channels)
        # The long STFT feeds only its low bins: that is where partials crowd within the main
        # lobe of a short window. It is taken of the decimated input (same frame times).
        self.long_fft = config.n_fft_long // LONG_DECIMATION
        self.long_hop = config.frame_hop // LONG_DECIMATION
        self.decimation = LONG_DECIMATION  # TorchScript reads module attributes, not globals
        self.lowpass_half = LOWPASS_TAPS // 2
        self.long_bins = config.long_bins if config.n_fft_long else 0
        self.register_buffer(
            "window_long", torch.hann_window(max(self.long_fft, 1)), persistent=False
        )
        self.register_buffer("lowpass", _lowpass_kernel(), persistent=False)
        # A list of zero or one layers: models without the long STFT keep their exact tensors.
        self.project_long = nn.ModuleList(
            [nn.Linear(self.long_bins, config.channels)] if self.long_bins else []
        )
        # The centred STFTs reflect-pad by half their window, which needs more input than that;
        # shorter audio is zero-extended to this length (longer audio is untouched).
        long_need = self.long_fft // 2 * self.decimation if self.long_bins else 0
        self.min_samples = max(self.n_fft // 2, self.n_fft_short // 2, long_need) + 1
        self.frame_blocks = _blocks(config, config.n_encoder_frame_blocks)
        self.down = nn.Conv1d(
            config.channels, config.channels, config.upsample, stride=config.upsample
        )
        self.latent_blocks = _blocks(config, config.n_encoder_latent_blocks)
        self.norm = nn.GroupNorm(1, config.channels)
        self.head = nn.Conv1d(config.channels, 2 * config.latent_dim, 3, padding=1)
        self.level_channels = config.level_channels
        self.level_k_weighted = config.level_k_weighted
        bins = k_weighting_bins(config.sample_rate, config.hop_length)
        self.register_buffer("k_bins", bins, persistent=False)

    def _log_magnitude(
        self, x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, n_bins: int
    ) -> torch.Tensor:
        """Scaled log-magnitude of the lowest ``n_bins`` bins [shape=(B, frames, n_bins)]."""
        spec = torch.stft(x, n_fft, hop, window=window, center=True, return_complex=True)
        # Frames first for the linear projection; the last centred frame starts the next hop.
        return 0.2 * torch.log(spec[:, :n_bins, :-1].abs() + 1e-5).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logvar)`` with ``T = ceil(N / hop_length)`` frames (see the class)."""
        pad = (-x.shape[-1]) % self.hop_length
        n_frames = (x.shape[-1] + pad) // self.hop_length
        short = self.min_samples - (x.shape[-1] + pad)
        if short > 0:  # whole hops, so frame times do not move; the extra frames are cut below
            pad += -(-short // self.hop_length) * self.hop_length
        flat = torch.nn.functional.pad(x, (0, pad)).reshape(x.shape[0], -1)
        hop = self.frame_hop
        h = self.project(
            self._log_magnitude(flat, self.n_fft, hop, self.window, self.n_fft // 2 + 1)
        )
        h = h + self.project_short(
            self._log_magnitude(
                flat, self.n_fft_short, hop, self.window_short, self.n_fft_short // 2 + 1
            )
        )
        for project in self.project_long:  # zero or one layers: the long STFT is optional
            # Zero-phase low-pass and decimation: decimated sample m is input sample 4m.
            half = self.lowpass_half
            padded = torch.nn.functional.pad(flat.unsqueeze(1), (half, half))
            low = torch.nn.functional.conv1d(padded, self.lowpass, stride=self.decimation)
            long = self._log_magnitude(
                low.squeeze(1),
                self.long_fft,
                self.long_hop,
                self.window_long,
                self.long_bins,
            )
            h = h + project(long)
        h = h.transpose(1, 2)
        h = self.frame_blocks(h)
        h = self.latent_blocks(self.down(h))
        mu, logvar = self.head(self.norm(h)).chunk(2, dim=1)
        mu = mu[..., :n_frames]
        if self.level_channels:
            weighting: torch.Tensor | None = None
            if self.level_k_weighted:
                weighting = self.k_bins
            levels = frame_levels(flat[:, : n_frames * self.hop_length], self.hop_length, weighting)
            mu = torch.cat([mu, levels], dim=1)
        return mu, logvar[..., :n_frames].clamp(-12.0, 6.0)


class Decoder(nn.Module):
    """Latents [shape=(B, code_dim, T)] -> waveform [shape=(B, 1, T * hop)] via iSTFT heads.

    With level channels the waveform is then rescaled to the levels the last two dims carry.
    """

    window: torch.Tensor
    window_fine: torch.Tensor
    bin_advance: torch.Tensor
    k_bins: torch.Tensor

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__()
        self.main_hop = config.main_hop
        self.n_fft = config.main_n_fft
        self.hop_length = config.hop_length
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        # Phase advance over one hop of a sinusoid centred on each bin: the increment's origin.
        bins = torch.arange(self.n_fft // 2 + 1, dtype=torch.float32)
        advance = 2 * math.pi * bins * self.main_hop / self.n_fft
        self.register_buffer("bin_advance", advance, persistent=False)
        self.phase = config.phase
        self.n_bins = self.n_fft // 2 + 1
        self.tonal_bins = config.tonal_bins or self.n_bins
        # The fine head: a longer iSTFT for the low bins, where a steady partial needs a narrower
        # line than an n_fft-point frame can draw (log-mel bands there are tens of Hz wide). It
        # reads the latent-rate features and hops by hop_length: half the frames of the main head.
        self.n_fft_fine = config.n_fft_fine
        self.fine_bins = config.fine_bins if config.n_fft_fine else 0
        self.register_buffer(
            "window_fine", torch.hann_window(max(config.n_fft_fine, 1)), persistent=False
        )
        self.level_channels = config.level_channels
        self.level_window = config.level_window
        self.level_k_weighted = config.level_k_weighted
        bins = k_weighting_bins(config.sample_rate, config.hop_length)
        self.register_buffer("k_bins", bins, persistent=False)
        self.input = nn.Conv1d(config.code_dim, config.channels, 3, padding=1)
        self.latent_blocks = _blocks(config, config.n_decoder_latent_blocks)
        upsample = config.hop_length // self.main_hop
        self.up = nn.ConvTranspose1d(config.channels, config.channels, upsample, stride=upsample)
        self.frame_blocks = _blocks(config, config.n_decoder_frame_blocks)
        self.norm = nn.LayerNorm(config.channels)
        # A log-magnitude and a phase per bin and path.
        n_outputs = 2 * self.n_bins + (2 * self.tonal_bins if config.phase == "dual" else 0)
        self.head = nn.Linear(config.channels, n_outputs)
        # Zero or one layers, so models without the fine head keep their exact tensors.
        self.fine_head = nn.ModuleList(
            [
                nn.Sequential(
                    nn.LayerNorm(config.channels), nn.Linear(config.channels, 2 * self.fine_bins)
                )
            ]
            if self.fine_bins
            else []
        )
        # Zero or one layers (as the fine head): per latent frame, how far the level match
        # follows each frame (1) rather than the window (0). Starts at 0.5 everywhere.
        gates = [_level_gate(config.channels)] if config.level_blend else []
        self.level_gate = nn.ModuleList(gates)
        if config.phase != "absolute":
            # Increments start at 0: every bin of the summed path begins as a coherent sinusoid
            # at its centre frequency. With random increments that path starts as noise and
            # training learns to silence it (measured: 1e-4 of the energy after 4500 steps).
            n_increments = self.tonal_bins if config.phase == "dual" else self.n_bins
            with torch.no_grad():
                self.head.weight[-n_increments:].zero_()
                self.head.bias[-n_increments:].zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return audio [shape=(B, 1, T * hop_length)] for latents ``z`` [shape=(B, D, T)]."""
        latent = self.latent_blocks(self.input(z))
        h = self.frame_blocks(self.up(latent)).transpose(1, 2)
        # Per frame and bin: a log-magnitude and a phase per path, frames first (contiguous).
        out = self.head(self.norm(h))
        n = self.n_bins
        if self.phase == "absolute":
            spec = self._spectrum(out[..., :n], out[..., n : 2 * n])
        elif self.phase == "increment":
            spec = self._spectrum(out[..., :n], self._summed_phase(out[..., n : 2 * n], n))
        else:
            spec = self._spectrum(out[..., :n], out[..., n : 2 * n])
            k = self.tonal_bins
            tonal = self._spectrum(
                out[..., 2 * n : 2 * n + k], self._summed_phase(out[..., 2 * n + k :], k)
            )
            if k < n:
                tonal = torch.nn.functional.pad(tonal, (0, n - k))
            spec = spec + tonal
        n_samples = z.shape[-1] * self.hop_length
        y = self._istft(spec, n_samples, self.n_fft, self.main_hop, self.window)
        for fine_head in self.fine_head:
            fine = fine_head(latent.transpose(1, 2))
            k = self.fine_bins
            # irfft zero-pads the bins above fine_bins.
            fine_spec = self._spectrum(fine[..., :k], fine[..., k:])
            y = y + self._istft(
                fine_spec, n_samples, self.n_fft_fine, self.hop_length, self.window_fine
            )
        if self.level_channels:
            blend: torch.Tensor | None = None
            for gate in self.level_gate:
                blend = torch.sigmoid(gate(latent)).squeeze(1)
            weighting: torch.Tensor | None = None
            if self.level_k_weighted:
                weighting = self.k_bins
            levels = z[:, -self.level_channels :]
            y = match_levels(y, levels, self.hop_length, self.level_window, blend, weighting)
        return y

    def _spectrum(self, log_magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        return torch.polar(torch.exp(log_magnitude.clamp(max=6.0)), phase)

    def _summed_phase(self, raw: torch.Tensor, n_bins: int) -> torch.Tensor:
        """Phase [shape=(B, F, n_bins)] from per-frame advances over the bin-centre advance.

        The advance is bounded to (-π, π) around the centre's (any phase advance modulo 2π), so
        a raw output near 0 means a partial near the bin centre and gradients stay tame.
        """
        # Steady partials keep coherent phase across overlapping frames by construction.
        return torch.cumsum(math.pi * torch.tanh(raw) + self.bin_advance[:n_bins], dim=1)

    def _istft(
        self, spec: torch.Tensor, n_samples: int, n_fft: int, hop: int, window: torch.Tensor
    ) -> torch.Tensor:
        """Inverse STFT of ``spec`` [shape=(B, F, bins)], centred frames, trimmed to n_samples.

        Bins missing above ``spec.shape[2]`` count as zero. Overlap-add is done block-wise
        (``n_fft`` is a multiple of ``hop``): output block ``j`` sums part ``k`` of frame
        ``j - k``; that is a handful of contiguous adds.
        """
        n_batch, n_frames = spec.shape[0], spec.shape[1]
        n_parts = n_fft // hop
        # 1. Windowed frames split into hop-sized parts: (B, F, parts, hop).
        frames = torch.fft.irfft(spec, n=n_fft, dim=2) * window
        frames = frames.reshape(n_batch, n_frames, n_parts, hop)
        window_sq = window.pow(2).reshape(n_parts, hop)
        # 2. Overlap-add the frames and the squared window.
        y = frames.new_zeros(n_batch, n_frames + n_parts - 1, hop)
        envelope = frames.new_zeros(n_frames + n_parts - 1, hop)
        for k in range(n_parts):
            y[:, k : k + n_frames] += frames[:, :, k]
            envelope[k : k + n_frames] += window_sq[k]
        # 3. Centred frames: sample 0 sits at the middle of frame 0.
        start = n_fft // 2
        y = y.reshape(n_batch, -1)[:, start : start + n_samples]
        envelope = envelope.reshape(-1)[start : start + n_samples]
        return (y / envelope.clamp(min=1e-8)).unsqueeze(1)


def _level_gate(channels: int) -> nn.Conv1d:
    """The level gate's layer, all zeros: an even blend until training moves it."""
    gate = nn.Conv1d(channels, 1, 3, padding=1)
    for parameter in gate.parameters():
        nn.init.zeros_(parameter)
    return gate


class BuiltinVAE(nn.Module):
    """Encoder + decoder; ``forward`` reconstructs through the posterior mean or a sample."""

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.latent_dim = config.latent_dim

    def encode(
        self, x: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Latents [shape=(B, code_dim, T)]: the posterior mean, or a sample from ``generator``.

        Only the learned dims are sampled; level channels are measurements and stay exact.
        """
        mu, logvar = self.encoder(x)
        if not sample:
            return mu
        return self._sample(mu, logvar, generator)

    def _sample(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        d = self.latent_dim
        z = mu[:, :d] + posterior_noise(logvar, generator) * torch.exp(0.5 * logvar)
        return torch.cat([z, mu[:, d:]], dim=1)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: return ``(reconstruction [shape=(B, 1, T * hop)], kl)``.

        ``kl`` is the KL divergence to N(0, I), summed over the learned dims and averaged over
        frames (the level channels are measured, not encoded, so they cost nothing).
        """
        mu, logvar = self.encoder(x)
        z = self._sample(mu, logvar, generator)
        learned = mu[:, : self.latent_dim]
        kl = 0.5 * (learned.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1).mean()
        return self.decoder(z), kl


def posterior_noise(mu: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """N(0, 1) noise shaped like ``mu``, drawn on the generator's device and moved to ``mu``'s.

    A CPU generator (what callers and the trainer seed) then gives the same noise whether the
    model runs on the CPU or a GPU, and works with a model on any device.
    """
    where = generator.device if generator is not None else mu.device
    noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=where)
    return noise.to(mu.device, non_blocking=True)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(int(p.numel()) for p in module.parameters())


def build_model(config: BuiltinConfig, seed: int) -> BuiltinVAE:
    """A freshly initialised model whose weights depend only on ``config`` and ``seed``.

    ``nn.Module`` initialisers draw from torch's global generator and take no ``generator``
    argument, so the global state is seeded for the build and restored afterwards.
    """
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return BuiltinVAE(config)
    finally:
        torch.random.set_rng_state(state)
