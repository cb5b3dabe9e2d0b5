"""Audio file round trips per format and every bad-input case of ``load_audio``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentroom.audio import Audio, check_audio_output, load_audio, save_audio
from latentroom.errors import ConfigError, InvalidAudioError


def _noise(channels: int = 2, n_samples: int = 4800, sample_rate: int = 48_000) -> Audio:
    rng = np.random.default_rng(7)
    return Audio(np.clip(0.2 * rng.standard_normal((channels, n_samples)), -0.9, 0.9), sample_rate)


@pytest.mark.parametrize("suffix", [".wav", ".aiff"])
def test_float_formats_round_trip_exactly(tmp_path: Path, suffix: str) -> None:
    audio = _noise()
    path = save_audio(tmp_path / f"x{suffix}", audio)
    assert sf.info(str(path)).subtype == "FLOAT"
    assert load_audio(path) == audio


def test_flac_round_trips_within_pcm_step(tmp_path: Path) -> None:
    audio = _noise()
    loaded = load_audio(save_audio(tmp_path / "x.flac", audio, subtype="PCM_24"))
    assert loaded.sample_rate == 48_000
    assert np.max(np.abs(loaded.samples - audio.samples)) < 2.0**-22


def test_ogg_round_trip_keeps_the_tone(tmp_path: Path) -> None:
    t = np.arange(48_000) / 48_000
    audio = Audio(0.5 * np.sin(2 * np.pi * 1000.0 * t), 48_000)
    loaded = load_audio(save_audio(tmp_path / "x.ogg", audio))
    assert sf.info(str(tmp_path / "x.ogg")).subtype == "VORBIS"
    assert loaded.samples.shape == (1, 48_000)
    spectrum = np.abs(np.fft.rfft(loaded.samples[0]))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over one second
    assert np.sqrt(np.mean(loaded.samples**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_load_converts_rate_and_channels(tmp_path: Path) -> None:
    path = save_audio(tmp_path / "x.wav", _noise(channels=2, n_samples=1600, sample_rate=16_000))
    loaded = load_audio(path, sample_rate=48_000, channels=1)
    assert loaded.samples.shape == (1, 4800)
    assert loaded.sample_rate == 48_000


def _write_bad(tmp_path: Path, case: str) -> Path:
    """Build one broken input file in tmp_path and return its path."""
    path = tmp_path / f"{case}.wav"
    frames = np.zeros((480, 1), dtype=np.float32)
    if case == "truncated":
        sf.write(str(path), np.ones((4800, 2), np.float32) * 0.1, 48_000, subtype="FLOAT")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "truncated_aiff":
        path = tmp_path / "truncated.aiff"
        sf.write(str(path), np.ones((4800, 1), np.float32) * 0.1, 48_000, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:-1000])
    elif case in ("truncated_flac", "truncated_ogg"):
        path = tmp_path / f"truncated.{case.split('_')[1]}"
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, (4800, 2)).astype(np.float32)
        sf.write(str(path), noise, 48_000)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "header_only":
        sf.write(str(path), frames, 48_000)
        path.write_bytes(path.read_bytes()[:30])
    elif case == "text":
        path.write_text("this is a text file, not a sound\n" * 20)
    elif case == "empty_file":
        path.write_bytes(b"")
    elif case == "zero_length":
        sf.write(str(path), np.zeros((0, 1), np.float32), 48_000)
    elif case in ("nan", "inf"):
        frames[100, 0] = np.nan if case == "nan" else np.inf
        sf.write(str(path), frames, 48_000, subtype="FLOAT")
    elif case == "nine_channels":
        sf.write(str(path), np.zeros((480, 9), np.float32), 48_000)
    elif case == "rate_low":
        sf.write(str(path), frames, 500)
    elif case == "rate_high":
        sf.write(str(path), frames, 400_000)
    return path


BAD_INPUTS = [
    pytest.param("missing", "no such file", id="missing"),
    pytest.param(
        "truncated",
        r"header promises 4800 samples per channel \(\d+ bytes more than it holds\), "
        r"the file holds \d+; re-export",
        id="truncated-wav",
    ),
    pytest.param("truncated_aiff", "truncated file", id="truncated-aiff"),
    pytest.param("truncated_flac", "corrupt or truncated", id="truncated-flac"),
    pytest.param("truncated_ogg", "corrupt or truncated", id="truncated-ogg"),
    pytest.param("header_only", "not a readable audio file", id="corrupt-header"),
    pytest.param("text", "not a readable audio file", id="text-file"),
    pytest.param("empty_file", "empty file", id="zero-bytes"),
    pytest.param("zero_length", "zero length", id="zero-length-audio"),
    pytest.param("nan", "NaN or Inf", id="nan"),
    pytest.param("inf", "NaN or Inf", id="inf"),
    pytest.param("nine_channels", "9 channels is more than 8", id="nine-channels"),
    pytest.param("rate_low", "500 Hz is outside", id="rate-below-1k"),
    pytest.param("rate_high", "400000 Hz is outside", id="rate-above-384k"),
]


@pytest.mark.parametrize(("case", "message"), BAD_INPUTS)
def test_bad_inputs_raise_invalid_audio_naming_the_file(
    tmp_path: Path, case: str, message: str
) -> None:
    path = tmp_path / "missing.wav" if case == "missing" else _write_bad(tmp_path, case)
    with pytest.raises(InvalidAudioError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_folder_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match="is a folder"):
        load_audio(tmp_path)


def test_more_channels_when_asked(tmp_path: Path) -> None:
    loaded = load_audio(_write_bad(tmp_path, "nine_channels"), max_channels=None)
    assert loaded.channels == 9


def test_unknown_suffix_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"suffix '\.mp4'"):
        save_audio(tmp_path / "x.mp4", _noise())
    assert list(tmp_path.iterdir()) == []


def test_subtype_the_format_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'VORBIS' cannot be written to WAV"):
        check_audio_output(tmp_path / "x.wav", subtype="VORBIS")


def test_default_subtypes_per_format(tmp_path: Path) -> None:
    assert check_audio_output(tmp_path / "x.wav") == ("WAV", "FLOAT")
    assert check_audio_output(tmp_path / "x.AIF") == ("AIFF", "FLOAT")
    assert check_audio_output(tmp_path / "x.flac") == ("FLAC", "PCM_16")
    assert check_audio_output(tmp_path / "x.ogg") == ("OGG", "VORBIS")


def test_failed_write_leaves_target_and_folder_untouched(tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    target.write_bytes(b"old contents")
    no_channels = Audio(np.zeros((0, 100), np.float32), 48_000)  # libsndfile refuses 0 channels
    with pytest.raises(sf.LibsndfileError):
        save_audio(target, no_channels)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]


@pytest.mark.parametrize("suffix", [".wav", ".aiff"])
def test_same_samples_give_identical_bytes(tmp_path: Path, suffix: str) -> None:
    """libsndfile stamps float files' PEAK chunk with the wall clock; we zero it."""
    import time

    audio = Audio(np.linspace(-0.5, 0.5, 4_800, dtype=np.float32), 48_000)
    first = save_audio(tmp_path / f"a{suffix}", audio)
    time.sleep(1.1)  # the timestamp has one-second resolution
    second = save_audio(tmp_path / f"b{suffix}", audio)
    assert first.read_bytes() == second.read_bytes()
    assert b"PEAK" in first.read_bytes()


def _peak_timestamp(path: Path) -> bytes:
    """The 4 timestamp bytes of a WAV's PEAK chunk (after its id, size and version)."""
    data = path.read_bytes()
    at = data.index(b"PEAK") + 12
    return data[at : at + 4]


def test_level_rescaled_and_streamed_files_carry_no_timestamp(tmp_path: Path) -> None:
    """The other two writers of sound files: a level gain rewrite and the streaming decode."""
    from latentroom.audio.levels import LevelPolicy, level_file
    from latentroom.codecs.registry import get_codec
    from latentroom.latents.encoding import write_decoded

    loud = save_audio(tmp_path / "loud.wav", Audio(np.full(4_800, 1.5, np.float32), 48_000))
    assert level_file(loud, LevelPolicy.parse("keep")).gain_db < 0  # rewritten through a copy
    assert _peak_timestamp(loud) == bytes(4)
    codec = get_codec("builtin", random_init=True, latent_dim=4)
    latents = codec.encode(Audio(np.zeros(4_096, np.float32), 48_000))
    write_decoded(tmp_path / "z.wav", codec, latents)
    assert _peak_timestamp(tmp_path / "z.wav") == bytes(4)
