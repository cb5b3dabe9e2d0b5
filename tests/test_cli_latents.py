"""``latentroom encode`` / ``latentroom decode`` in-process: outputs, corpus resume, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from helpers import TinyConvCodec, sine
from latentroom.latents.corpus import open_corpus
from latentroom.latents.files import load_latents, save_latents
from latentroom.latents.trajectory import LatentTrajectory

Run = Callable[..., Any]


def _wav(path: Path, seconds: float = 0.5, freq: float = 330.0) -> Path:
    audio = sine(freq, seconds=seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples.T, audio.sample_rate, subtype="FLOAT")
    return path


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_encode_one_file_to_npy_then_decode(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    wav = _wav(tmp_path / "in.wav")
    result = run_cli("encode", wav, "--codec", tiny_codec_name, "-o", tmp_path / "z.npy", "-q")
    assert result.exit_code == 0, result.stderr
    assert "50 frames x 8 dims" in result.stdout
    latents = load_latents(tmp_path / "z.npy")
    expected = TinyConvCodec().encode(sine(330.0, seconds=0.5))
    np.testing.assert_allclose(latents.data, expected.data, atol=1e-6)
    assert latents.codec == "tiny" and latents.meta["source"] == str(wav)
    result = run_cli("decode", tmp_path / "z.npy", "-o", tmp_path / "out.wav")
    assert result.exit_code == 0, result.stderr
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.channels, info.frames) == (16_000, 1, 8_000)


def test_encode_to_a_double_latent_wav(run_cli: Run, tiny_codec_name: str, tmp_path: Path) -> None:
    wav = _wav(tmp_path / "in.wav")
    out = tmp_path / "z.wav"
    args = ("encode", wav, "-c", tiny_codec_name, "-o", out, "--subtype", "DOUBLE", "-q")
    assert run_cli(*args).exit_code == 0
    info = sf.info(str(out))
    assert (info.subtype, info.samplerate, info.channels) == ("DOUBLE", 100, 8)
    assert load_latents(out).data.shape == (50, 8)
    assert run_cli("decode", out, "-o", tmp_path / "back.wav").exit_code == 0


def test_encode_a_folder_to_a_corpus_and_resume(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    for i in range(3):
        _wav(tmp_path / "in" / f"spk{i}" / f"take{i}.wav", seconds=0.3 + 0.1 * i)
    out = tmp_path / "c.zarr"
    args = ("encode", tmp_path / "in", "-c", tiny_codec_name, "-o", out, "-q")
    result = run_cli(*args, "--group-regex", r"spk(\d)")
    assert result.exit_code == 0, result.stderr
    assert "3 items, 120 frames" in result.stdout
    corpus = open_corpus(out)
    assert corpus.groups == ["0", "1", "2"] and corpus.complete
    again = run_cli(*args, "--group-regex", r"spk(\d)")  # nothing left to do: resumes
    assert again.exit_code == 0 and "3 items" in again.stdout
    other = run_cli(*args, "--group-regex", r"take(\d)")
    assert other.exit_code == 2 and "pass --force to start over" in other.stderr
    assert run_cli(*args, "--force").exit_code == 0
    assert open_corpus(out).groups is None


def _bad_latents(tmp_path: Path, kind: str) -> tuple[list[str], Path]:
    out = tmp_path / "out.wav"
    if kind == "wrong-dim":
        save_latents(tmp_path / "z.npy", LatentTrajectory(np.zeros((5, 4)), 100.0, "tiny"))
        return ["decode", str(tmp_path / "z.npy"), "-o", str(out)], out
    if kind == "nan":
        data = np.zeros((5, 8))
        data[3, 2] = np.nan
        save_latents(tmp_path / "z.npy", LatentTrajectory(data, 100.0, "tiny"))
        return ["decode", str(tmp_path / "z.npy"), "-o", str(out)], out
    if kind == "no-sidecar":
        np.save(tmp_path / "z.npy", np.zeros((5, 8), dtype=np.float32))
        return ["decode", str(tmp_path / "z.npy"), "-o", str(out), "-c", "tiny"], out
    if kind == "no-codec":
        np.save(tmp_path / "z.npy", np.zeros((5, 8), dtype=np.float32))
        return ["decode", str(tmp_path / "z.npy"), "-o", str(out), "--frame-rate", "100"], out
    wav = _wav(tmp_path / "in.wav")
    if kind == "unknown-codec":
        return [
            "encode",
            str(wav),
            "-c",
            "nosuch",
            "-o",
            str(tmp_path / "z.npy"),
        ], tmp_path / "z.npy"
    (tmp_path / "text.wav").write_text("not audio")
    args = ["encode", str(tmp_path / "text.wav"), "-c", "tiny", "-o", str(tmp_path / "z.npy")]
    if kind == "non-audio-corpus":
        args = [*args[:-1], str(tmp_path / "c.zarr"), str(wav)]
        return args, tmp_path / "c.zarr"
    return args, tmp_path / "z.npy"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param("wrong-dim", "decodes 8-d latents; got 4-d", id="wrong-dim"),
        pytest.param("nan", "1 NaN/Inf values (first at frame 3)", id="nan"),
        pytest.param("no-sidecar", "no sidecar z.json and no frame rate", id="no-sidecar"),
        pytest.param("no-codec", "do not say which codec made them; pass --codec", id="no-codec"),
        pytest.param("unknown-codec", "unknown codec 'nosuch'; choose one of", id="unknown-codec"),
        pytest.param("non-audio", "text.wav: not a readable audio file", id="non-audio"),
        pytest.param("non-audio-corpus", "text.wav: not a readable audio", id="non-audio-corpus"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path, kind: str, message: str
) -> None:
    args, output = _bad_latents(tmp_path, kind)
    before = _files(tmp_path)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("latentroom: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert not output.exists() and _files(tmp_path) == before


def test_unknown_codec_lists_the_valid_names(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("encode", _wav(tmp_path / "in.wav"), "-c", "nosuch", "-o", tmp_path / "z.npy")
    assert "encodec-24k" in result.stderr and "builtin" in result.stderr


@pytest.mark.parametrize(
    ("extra", "output", "message"),
    [
        pytest.param(["--subtype", "DOUBLE"], "z.npy", "DOUBLE for a .wav output", id="subtype"),
        pytest.param([], "z.pt", "must end in .npy, .wav", id="suffix"),
        pytest.param(["--group-regex", "x"], "z.npy", "use it with -o NAME.zarr", id="regex"),
    ],
)
def test_one_file_options_are_checked_first(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path, extra: list[str], output: str, message: str
) -> None:
    wav = _wav(tmp_path / "in.wav")
    result = run_cli("encode", wav, "-c", tiny_codec_name, "-o", tmp_path / output, *extra)
    assert result.exit_code == 2 and message in result.stderr
    assert _files(tmp_path) == {"in.wav"}


def test_several_inputs_need_a_corpus_and_outputs_need_force(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    a, b = _wav(tmp_path / "a.wav"), _wav(tmp_path / "b.wav")
    result = run_cli("encode", a, b, "-c", tiny_codec_name, "-o", tmp_path / "z.npy")
    assert result.exit_code == 2 and "2 input files need a corpus output" in result.stderr
    assert (
        run_cli("encode", a, "-c", tiny_codec_name, "-o", tmp_path / "z.npy", "-q").exit_code == 0
    )
    again = run_cli("encode", a, "-c", tiny_codec_name, "-o", tmp_path / "z.npy")
    assert again.exit_code == 2 and "pass --force" in again.stderr
    forced = run_cli("encode", b, "-c", tiny_codec_name, "-o", tmp_path / "z.npy", "-q", "--force")
    assert forced.exit_code == 0 and load_latents(tmp_path / "z.npy").meta["source"] == str(b)


def test_decode_bare_latents_with_frame_rate_and_codec(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    np.save(tmp_path / "bare.npy", np.zeros((7, 8), dtype=np.float32))
    args = ("decode", tmp_path / "bare.npy", "-o", tmp_path / "o.wav", "--frame-rate", "100")
    result = run_cli(*args, "--codec", tiny_codec_name, "--seed", "3")
    assert result.exit_code == 0, result.stderr
    assert sf.info(str(tmp_path / "o.wav")).frames == 7 * 160


def test_chunked_and_one_call_decoding_write_the_same_audio(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    wav = _wav(tmp_path / "in.wav", seconds=2.0)
    assert (
        run_cli("encode", wav, "-c", tiny_codec_name, "-o", tmp_path / "z.npy", "-q").exit_code == 0
    )
    base = ("decode", tmp_path / "z.npy", "-q", "-o")
    assert run_cli(*base, tmp_path / "a.wav", "--chunk-seconds", "0.3").exit_code == 0
    assert run_cli(*base, tmp_path / "b.flac", "--chunk-seconds", "0").exit_code == 0
    a, rate = sf.read(str(tmp_path / "a.wav"))
    b, _ = sf.read(str(tmp_path / "b.flac"))
    assert rate == 16_000 and a.shape == b.shape == (32_000,)
    np.testing.assert_allclose(a, b, atol=2.0 / 2**15)  # FLAC stores 16-bit samples
    bad = run_cli(*base, tmp_path / "c.mp4")
    assert bad.exit_code == 2 and "write decoded audio to one of" in bad.stderr
    assert not (tmp_path / "c.mp4").exists()


def test_decode_keeps_a_loud_decoder_under_the_ceiling_and_off_warns(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from latentroom.audio.loudness import integrated_loudness, true_peak_dbfs

    wav = _wav(tmp_path / "in.wav", seconds=1.0)
    assert run_cli("encode", wav, "-c", tiny_codec_name, "-o", tmp_path / "z.npy").exit_code == 0
    latents = load_latents(tmp_path / "z.npy")
    loud = LatentTrajectory(latents.data * 100, latents.frame_rate, latents.codec, latents.meta)
    save_latents(tmp_path / "loud.npy", loud)  # a decoder 40 dB too hot, like the +30.8 dBFS loop
    base = ("decode", tmp_path / "loud.npy", "-q", "-o")

    kept = run_cli(*base, tmp_path / "keep.wav")
    assert kept.exit_code == 0, kept.stderr
    samples, rate = sf.read(str(tmp_path / "keep.wav"), always_2d=True)
    assert true_peak_dbfs(samples.T, rate) == pytest.approx(-1.0, abs=0.01)
    assert "--level keep: gain -" in kept.stdout and "true peak -1.0 dBTP" in kept.stdout

    off = run_cli(*base, tmp_path / "off.wav", "--level", "off")
    assert off.exit_code == 0
    assert np.abs(sf.read(str(tmp_path / "off.wav"))[0]).max() > 1.0
    assert "true peak +" in off.stdout
    (warning,) = [r.getMessage() for r in caplog.records if "over full scale" in r.getMessage()]
    assert "off.wav peaks at +" in warning
    assert "(--level off); lower it with --level keep" in warning

    assert run_cli(*base, tmp_path / "p.wav", "--level", "peak:-6").exit_code == 0
    samples, _ = sf.read(str(tmp_path / "p.wav"), always_2d=True)
    assert true_peak_dbfs(samples.T, rate) == pytest.approx(-6.0, abs=0.01)
    assert run_cli(*base, tmp_path / "l.flac", "--level", "lufs:-30").exit_code == 0
    samples, _ = sf.read(str(tmp_path / "l.flac"), always_2d=True)
    assert integrated_loudness(samples.T, rate) == pytest.approx(-30.0, abs=0.05)  # 16-bit

    bad = run_cli(*base, tmp_path / "bad.wav", "--level", "loud")
    assert bad.exit_code == 2 and "'loud' is not a level policy" in bad.stderr
    assert not (tmp_path / "bad.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".level") == []


def test_decode_refuses_non_finite_output_and_writes_nothing(run_cli: Run, tmp_path: Path) -> None:
    # The builtin decoder turns latents of 1e30 into NaN (a linear one would stay finite).
    huge = LatentTrajectory(np.full((20, 16), 1e30, np.float32), 46.875, "builtin")
    save_latents(tmp_path / "huge.npy", huge)
    result = run_cli("decode", tmp_path / "huge.npy", "-o", tmp_path / "out.wav", "-q")
    assert result.exit_code == 2
    assert "NaN or Inf samples from sample 0 on (the latents reach 1e+30" in result.stderr
    assert not (tmp_path / "out.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.json", "huge.npy"]


def test_random_init_latents_record_it_and_decode_without_the_flag(
    run_cli: Run, tmp_path: Path
) -> None:
    wav = _wav(tmp_path / "in.wav", seconds=0.5)
    args = ("encode", wav, "-c", "builtin", "--random-init", "-o", tmp_path / "z.npy", "-q")
    assert run_cli(*args).exit_code == 0
    latents = load_latents(tmp_path / "z.npy")
    assert latents.meta["random_init"] is True and latents.meta["random_init_seed"] == 0
    plain = run_cli("decode", tmp_path / "z.npy", "-o", tmp_path / "a.wav", "-q")
    flagged = run_cli("decode", tmp_path / "z.npy", "-o", tmp_path / "b.wav", "-q", "--random-init")
    assert plain.exit_code == 0 and flagged.exit_code == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    shipped = run_cli("decode", tmp_path / "z.npy", "-c", "builtin", "-o", tmp_path / "c.wav")
    assert shipped.exit_code == 0  # naming the codec asks for its trained weights
    assert (tmp_path / "c.wav").read_bytes() != (tmp_path / "a.wav").read_bytes()


def test_encode_says_when_the_input_was_resampled_or_remixed(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path
) -> None:
    stereo = np.stack([sine(330.0, seconds=0.5, sample_rate=22_050).samples[0]] * 2)
    sf.write(str(tmp_path / "in.wav"), stereo.T, 22_050, subtype="FLOAT")
    result = run_cli("encode", tmp_path / "in.wav", "-c", tiny_codec_name, "-o", tmp_path / "z.npy")
    assert result.exit_code == 0, result.stderr
    assert "was resampled from 22050 to 16000 Hz and mixed from 2 to 1 channels" in result.stdout
    same = run_cli("encode", _wav(tmp_path / "ok.wav"), "-c", "tiny", "-o", tmp_path / "ok.npy")
    assert "note:" not in same.stdout
