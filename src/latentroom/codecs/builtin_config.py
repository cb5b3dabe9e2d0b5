"""The built-in codec's hyperparameters (``BuiltinConfig``), checked on construction.

Stored in every checkpoint (``model.json``) to rebuild the networks of ``builtin_model``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from latentroom.errors import ConfigError

# Decoder phase heads. "absolute": a phase per frame and bin (Vocos). "increment": each frame's
# phase advance over the bin centre's, summed over frames, so steady partials stay coherent.
# "dual": both, as two spectra that are added; transients take the absolute path, steady
# partials the summed one (an absolute phase cannot stay coherent over overlapping frames).
PHASE_MODES = ("absolute", "increment", "dual")
# The long encoder STFT runs on the input decimated by this factor: its low bins are all the
# encoder reads, and an n_fft_long-point FFT at the full rate costs more than the decoder head.
LONG_DECIMATION = 4
LOWPASS_TAPS = 31


@dataclass(frozen=True)
class BuiltinConfig:
    """Hyperparameters of the built-in VAE; stored in every checkpoint to rebuild it."""

    sample_rate: int = 48_000  # Hz; the rate of the Koenig seed and ACE-Step
    hop_length: int = 1024  # samples per latent frame (power of two): 46.875 Hz at 48 kHz
    latent_dim: int = 16  # latent dims D
    frame_hop: int = 512  # internal STFT hop of the encoder input and the decoder iSTFT
    n_fft: int = 1024  # long encoder STFT and decoder iSTFT size (multiple of frame_hop)
    n_fft_short: int = 512  # short encoder STFT, sharper in time (multiple of frame_hop)
    channels: int = 192  # width of every hidden layer
    kernel_size: int = 7  # depthwise kernel of the ConvNeXt blocks
    mlp_ratio: int = 3  # pointwise expansion inside a block
    n_encoder_frame_blocks: int = 0  # blocks at the STFT frame rate before striding down
    n_encoder_latent_blocks: int = 2  # blocks at the latent rate before mu/logvar
    n_decoder_latent_blocks: int = 4  # blocks at the latent rate after the input conv
    n_decoder_frame_blocks: int = 1  # blocks at the STFT frame rate before the iSTFT head
    n_fft_long: int = 0  # a third, long encoder STFT that resolves low partials (0 = none)
    long_bins: int = 256  # its lowest bins the encoder reads (up to 6 kHz at 48 kHz)
    phase: str = "absolute"  # decoder phase head: one of PHASE_MODES
    tonal_bins: int = 0  # "dual": lowest bins that get the summed-phase path (0 = all)
    n_fft_fine: int = 0  # a second decoder iSTFT, hop = hop_length, added to the first (0 = none)
    fine_bins: int = 256  # its lowest bins the head predicts (up to 6 kHz at 2048 points)
    level_channels: int = 0  # 0, or 2: frame RMS and peak appended to the latent (builtin_levels)
    level_window: int = 1  # odd: the decoder matches RMS over this many frames, centred
    # With level_window > 1: the decoder also predicts, per latent frame, how far to follow the
    # per-frame match instead (onsets need it, steady noise does not).
    level_blend: bool = False
    # With level channels: the RMS channel and the decoder's match read K-weighted frames (the
    # BS.1770 filters of integrated loudness), so a decoder that tilts the spectrum cannot move
    # the loudness away from the input's (builtin_levels.k_weighted_share).
    level_k_weighted: bool = False
    # The decoder's main iSTFT head may use shorter frames than the encoder reads, to draw
    # transient edges sharper (0 = the encoder's n_fft / frame_hop).
    n_fft_decoder: int = 0  # decoder main-head iSTFT size (multiple of decoder_hop)
    decoder_hop: int = 0  # decoder main-head hop (divides hop_length)

    def __post_init__(self) -> None:
        if self.phase not in PHASE_MODES:
            raise ConfigError(
                f"builtin config: phase must be one of {list(PHASE_MODES)}; got {self.phase!r}"
            )
        zero_allowed = ("n_", "phase", "tonal", "level", "decoder")
        positive = [f.name for f in fields(self) if not f.name.startswith(zero_allowed)]
        positive += ["n_fft", "n_fft_short"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"builtin config: {name} must be a positive int; got {value!r}")
        for name in [
            f.name for f in fields(self) if f.name.startswith("n_") and "fft" not in f.name
        ] + ["n_fft_long", "tonal_bins", "n_fft_fine", "n_fft_decoder", "decoder_hop"]:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"builtin config: {name} must be an int >= 0; got {value!r}")
        if self.level_channels not in (0, 2):
            raise ConfigError(
                "builtin config: level_channels must be 0 (none) or 2 (frame RMS and peak); "
                f"got {self.level_channels!r}"
            )
        if self.level_window < 1 or self.level_window % 2 == 0:
            raise ConfigError(
                "builtin config: level_window must be an odd number of frames >= 1 (1 matches "
                f"every frame's RMS); got {self.level_window!r}"
            )
        if not isinstance(self.level_blend, bool):
            raise ConfigError(
                f"builtin config: level_blend must be true or false; got {self.level_blend!r}"
            )
        if not isinstance(self.level_k_weighted, bool):
            raise ConfigError(
                "builtin config: level_k_weighted must be true or false; "
                f"got {self.level_k_weighted!r}"
            )
        if self.level_k_weighted and not self.level_channels:
            raise ConfigError(
                "builtin config: level_k_weighted weights the level channels; it needs "
                "level_channels 2"
            )
        if self.level_blend and (not self.level_channels or self.level_window == 1):
            raise ConfigError(
                "builtin config: level_blend blends the per-frame and the windowed level match; "
                "it needs level_channels 2 and level_window > 1"
            )
        if self.kernel_size % 2 == 0:
            raise ConfigError(
                f"builtin config: kernel_size must be odd (same padding); got {self.kernel_size}"
            )
        self._check_rates()

    def _check_rates(self) -> None:
        if self.hop_length & (self.hop_length - 1):
            raise ConfigError(
                f"builtin config: hop_length must be a power of two; got {self.hop_length} "
                "(try 1024 or 2048)"
            )
        if self.hop_length % self.frame_hop:
            raise ConfigError(
                f"builtin config: hop_length {self.hop_length} must be a multiple of frame_hop "
                f"{self.frame_hop}"
            )
        if self.n_fft_fine % self.hop_length:
            raise ConfigError(
                f"builtin config: n_fft_fine must be a multiple of hop_length {self.hop_length} "
                f"(the fine head runs at the latent rate); got {self.n_fft_fine}"
            )
        for name in ("n_fft", "n_fft_short", "n_fft_long"):
            value = getattr(self, name)
            if value % self.frame_hop:
                raise ConfigError(
                    f"builtin config: {name} must be a multiple of frame_hop {self.frame_hop}; "
                    f"got {value}"
                )
        long_limit = self.n_fft_long // (2 * LONG_DECIMATION) + 1
        if self.n_fft_long and self.long_bins > long_limit:
            raise ConfigError(
                f"builtin config: long_bins {self.long_bins} exceeds the {long_limit} bins below "
                f"a {LONG_DECIMATION}x-decimated Nyquist of n_fft_long {self.n_fft_long}"
            )
        if self.n_fft_long and self.frame_hop % LONG_DECIMATION:
            raise ConfigError(
                f"builtin config: n_fft_long needs frame_hop divisible by {LONG_DECIMATION}; "
                f"got {self.frame_hop}"
            )
        if self.n_fft_fine and self.fine_bins > self.n_fft_fine // 2 + 1:
            raise ConfigError(
                f"builtin config: fine_bins {self.fine_bins} exceeds the "
                f"{self.n_fft_fine // 2 + 1} bins of n_fft_fine {self.n_fft_fine}"
            )
        self._check_decoder_head()
        if not 1_000 <= self.sample_rate <= 384_000:
            raise ConfigError(
                f"builtin config: sample_rate {self.sample_rate} is outside 1000..384000 Hz"
            )

    def _check_decoder_head(self) -> None:
        hop, n_fft = self.main_hop, self.main_n_fft
        if self.hop_length % hop:
            raise ConfigError(
                f"builtin config: decoder_hop {hop} must divide hop_length {self.hop_length}"
            )
        if n_fft % hop:
            raise ConfigError(
                f"builtin config: n_fft_decoder {n_fft} must be a multiple of decoder_hop {hop}"
            )
        if self.tonal_bins > n_fft // 2 + 1:
            raise ConfigError(
                f"builtin config: tonal_bins {self.tonal_bins} exceeds the {n_fft // 2 + 1} "
                f"bins of the decoder's {n_fft}-point frames"
            )

    @property
    def main_n_fft(self) -> int:
        """Frame size of the decoder's main iSTFT head (``n_fft_decoder``, else ``n_fft``)."""
        return self.n_fft_decoder or self.n_fft

    @property
    def main_hop(self) -> int:
        """Hop of the decoder's main iSTFT head (``decoder_hop``, else ``frame_hop``)."""
        return self.decoder_hop or self.frame_hop

    @property
    def code_dim(self) -> int:
        """Dims of the codec's latent: the learned ``latent_dim`` plus the level channels."""
        return self.latent_dim + self.level_channels

    @property
    def upsample(self) -> int:
        """STFT frames per latent frame, ``hop_length // frame_hop``."""
        return self.hop_length // self.frame_hop

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuiltinConfig:
        """Build from a dict, refusing keys this version does not know."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"builtin config: unknown keys {unknown}; allowed keys are {sorted(known)}"
            )
        return cls(**data)
