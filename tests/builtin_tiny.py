"""A tiny configuration of the built-in codec shared by its tests (16 kHz, 4 dims, hop 256)."""

from __future__ import annotations

TINY_MODEL = {
    "sample_rate": 16_000,
    "hop_length": 256,
    "latent_dim": 4,
    "frame_hop": 64,
    "n_fft": 256,
    "n_fft_short": 128,
    "channels": 16,
    "n_encoder_latent_blocks": 1,
    "n_decoder_latent_blocks": 1,
}
