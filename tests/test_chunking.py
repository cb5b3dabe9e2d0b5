"""Chunked encoding equals whole-file encoding for convolutional codecs, with bounded windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import TinyConvCodec
from latentroom.audio.io import load_audio
from latentroom.audio.types import Audio
from latentroom.codecs.base import Codec
from latentroom.codecs.chunking import ChunkPlan, decode_long, encode_file, encode_long, iter_decode
from latentroom.errors import ConfigError, InvalidAudioError, InvalidLatentError

#: Measured with ``DacEncoderCodec`` below (random init, 1 s chunks, >= 0.05 s context): the max
#: absolute difference to whole-file encoding is 4.8e-7 for latents of magnitude ~0.8 (float
#: rounding from different conv lengths). The stated tolerance leaves a 20x margin.
CONV_TOLERANCE = 1e-5


class DacEncoderCodec(Codec):
    """A real deep convolutional codec: transformers' DAC encoder/decoder at a tiny width.

    Dilated residual units and strided convs give a receptive field of several hops, unlike
    ``TinyConvCodec`` whose frames see only their own hop.
    """

    name = "dac-tiny"
    sample_rate = 16_000
    channels = 1
    hop_length = 64

    def __init__(self) -> None:
        from transformers import DacConfig
        from transformers.models.dac.modeling_dac import DacDecoder, DacEncoder

        config = DacConfig(
            encoder_hidden_size=8, downsampling_ratios=[2, 4, 8], decoder_hidden_size=32
        )
        torch.manual_seed(0)  # the test model's weights; no generator argument in transformers
        self.encoder, self.decoder = DacEncoder(config).eval(), DacDecoder(config).eval()
        self.latent_dim = config.hidden_size
        self.calls: list[int] = []

    def modules_for_count(self) -> torch.nn.Module:
        return self.encoder

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        self.calls.append(x.shape[-1])
        pad = (-x.shape[-1]) % self.hop_length
        return self.encoder(torch.nn.functional.pad(x, (0, pad)))

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        return self.decoder(z)


def _noise(seconds: float, sample_rate: int = 16_000, channels: int = 1) -> Audio:
    rng = np.random.default_rng(1)
    n_samples = round(seconds * sample_rate)
    return Audio(0.3 * rng.standard_normal((channels, n_samples)), sample_rate)


@pytest.fixture(scope="module")
def dac() -> DacEncoderCodec:
    return DacEncoderCodec()


@pytest.mark.parametrize(
    ("seconds", "chunk_seconds", "overlap_seconds"),
    [
        pytest.param(3.0, 0.5, 0.0, id="aligned-no-context"),
        pytest.param(3.0123, 0.7, 0.05, id="ragged-tail"),
        pytest.param(0.3, 1.0, 0.1, id="shorter-than-a-chunk"),
    ],
)
def test_tiny_conv_codec_chunked_equals_whole(
    seconds: float, chunk_seconds: float, overlap_seconds: float
) -> None:
    codec = TinyConvCodec()
    audio = _noise(seconds)
    whole = codec.encode(audio)
    chunked = encode_long(
        codec, audio, chunk_seconds=chunk_seconds, overlap_seconds=overlap_seconds
    )
    assert chunked.data.shape == whole.data.shape == (codec.n_frames(audio.n_samples), 8)
    np.testing.assert_allclose(chunked.data, whole.data, rtol=0, atol=1e-6)
    assert chunked.frame_rate == whole.frame_rate and chunked.codec == "tiny"
    assert chunked.meta["n_samples"] == audio.n_samples


def test_dac_chunked_equals_whole_within_the_stated_tolerance(dac: DacEncoderCodec) -> None:
    audio = _noise(4.01)
    whole = dac.encode(audio)
    dac.calls.clear()
    chunked = encode_long(dac, audio, chunk_seconds=1.0, overlap_seconds=0.1)
    assert chunked.data.shape == whole.data.shape == (1003, 64)
    assert np.abs(chunked.data - whole.data).max() < CONV_TOLERANCE
    plan = ChunkPlan.from_seconds(dac, 1.0, 0.1)
    assert (plan.chunk_frames, plan.context_frames) == (250, 25)
    assert max(dac.calls) <= (250 + 2 * 25) * dac.hop_length  # bounded model input


def test_dac_needs_the_context(dac: DacEncoderCodec) -> None:
    """Without context the receptive field is cut at chunk edges: the error is not rounding."""
    audio = _noise(2.0)
    chunked = encode_long(dac, audio, chunk_seconds=0.5, overlap_seconds=0.0)
    assert np.abs(chunked.data - dac.encode(audio).data).max() > 100 * CONV_TOLERANCE


def test_encode_file_streams_to_the_same_result(tmp_path: Path, dac: DacEncoderCodec) -> None:
    audio = _noise(3.3, sample_rate=22_050, channels=2)
    sf.write(str(tmp_path / "in.wav"), audio.samples.T, audio.sample_rate, subtype="FLOAT")
    done: list[int] = []
    streamed = encode_file(
        dac, tmp_path / "in.wav", chunk_seconds=0.8, overlap_seconds=0.1, progress=done.append
    )
    in_memory = encode_long(
        dac, load_audio(tmp_path / "in.wav"), chunk_seconds=0.8, overlap_seconds=0.1
    )
    np.testing.assert_array_equal(streamed.data, in_memory.data)
    assert streamed.meta == in_memory.meta
    assert streamed.meta["resampled"] and streamed.meta["remixed"]
    assert sum(done) == streamed.n_frames


@pytest.mark.parametrize(
    ("chunk_seconds", "overlap_seconds", "match"),
    [
        pytest.param(0.0, 1.0, "chunk_seconds must be > 0", id="zero-chunk"),
        pytest.param(1.0, -0.1, "overlap_seconds must be >= 0", id="negative-overlap"),
    ],
)
def test_bad_chunk_sizes_are_refused(
    chunk_seconds: float, overlap_seconds: float, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        encode_long(
            TinyConvCodec(),
            _noise(0.1),
            chunk_seconds=chunk_seconds,
            overlap_seconds=overlap_seconds,
        )


def test_encode_file_refuses_non_audio_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(InvalidAudioError, match="not a readable audio file"):
        encode_file(TinyConvCodec(), tmp_path / "notes.wav")
    sf.write(str(tmp_path / "empty.wav"), np.zeros((0, 1)), 16_000)
    with pytest.raises(InvalidAudioError, match="zero length"):
        encode_file(TinyConvCodec(), tmp_path / "empty.wav")
    with pytest.raises(InvalidAudioError, match="no such audio file"):
        encode_file(TinyConvCodec(), tmp_path / "missing.wav")


def _peak_bytes_encoding(path: Path, minutes: int) -> tuple[int, int]:
    """Write ``minutes`` of float32 noise at 16 kHz; return (traced peak, latent bytes)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", 16_000, 1, subtype="FLOAT") as handle:
        for _ in range(6 * minutes):
            handle.write((0.1 * rng.standard_normal(160_000)).astype(np.float32))
    tracemalloc.start()
    try:
        latents = encode_file(TinyConvCodec(), path, chunk_seconds=5.0, overlap_seconds=0.5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert latents.data.shape == (6_000 * minutes, 8)
    return peak, latents.data.nbytes


def test_encode_file_memory_grows_only_with_the_latents(tmp_path: Path) -> None:
    """Streaming: a 4x longer file costs only its extra latents, never the whole audio."""
    short_peak, short_latents = _peak_bytes_encoding(tmp_path / "short.wav", 1)
    long_peak, long_latents = _peak_bytes_encoding(tmp_path / "long.wav", 4)
    long_audio_bytes = 4 * 60 * 16_000 * 4  # 15.4 MB at the codec's rate
    assert long_peak - short_peak < 2.5 * (long_latents - short_latents)
    assert long_peak < long_audio_bytes / 3


def test_tiny_conv_codec_chunked_decode_equals_whole() -> None:
    codec = TinyConvCodec()
    latents = codec.encode(_noise(2.345))
    done: list[int] = []
    chunked = decode_long(
        codec, latents, chunk_seconds=0.3, overlap_seconds=0.05, progress=done.append
    )
    whole = codec.decode(latents)
    assert chunked.samples.shape == whole.samples.shape == (1, latents.n_frames * 160)
    np.testing.assert_allclose(chunked.samples, whole.samples, rtol=0, atol=1e-6)
    assert sum(done) == latents.n_frames


def test_dac_chunked_decode_equals_whole_within_the_stated_tolerance(dac: DacEncoderCodec) -> None:
    """Measured: 1.8e-7 on audio up to 0.88 with >= 0.05 s of context; 0.32 without context."""
    latents = dac.encode(_noise(3.01))
    whole = dac.decode(latents).samples
    chunked = decode_long(dac, latents, chunk_seconds=0.7, overlap_seconds=0.1).samples
    assert chunked.shape == whole.shape == (1, 48_192)
    assert np.abs(chunked - whole).max() < CONV_TOLERANCE
    no_context = decode_long(dac, latents, chunk_seconds=0.7, overlap_seconds=0.0).samples
    assert np.abs(no_context - whole).max() > 100 * CONV_TOLERANCE


def test_chunked_decode_refuses_latents_the_codec_cannot_decode() -> None:
    bad = TinyConvCodec(latent_dim=4).encode(_noise(0.2))
    with pytest.raises(InvalidLatentError, match="decodes 8-d latents; got 4-d"):
        next(iter_decode(TinyConvCodec(), bad))
