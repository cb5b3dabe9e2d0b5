"""Rendering a spec with the tiny codec: outputs, sections, byte-exact re-render, refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import TinyConvCodec, sine
from latentroom.audio import save_audio
from latentroom.compose.output import render_spec
from latentroom.errors import ConfigError, InvalidLatentError, OutputExistsError
from latentroom.latents.files import load_latents, save_latents
from latentroom.latents.latent_wav import load_latent_wav

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "composition.toml"


def make_project(folder: Path) -> Path:
    """The example spec switched to the tiny codec, with its two source files beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text().replace('codec = "builtin"', 'codec = "tiny"')
    spec = folder / "song.toml"
    spec.write_text(text)
    save_audio(folder / "drums.wav", sine(220.0, seconds=0.5))
    pad = TinyConvCodec().encode(sine(330.0, seconds=0.3))
    save_latents(folder / "pad.npy", pad)
    return spec


def test_render_writes_every_output(tmp_path: Path, tiny_codec_name: str) -> None:
    written = render_spec(make_project(tmp_path / "project"), tmp_path / "out")
    assert set(written) == {
        "latents",
        "sidecar",
        "latent_wav",
        "latent_wav_sidecar",
        "audio",
        "heatmap",
        "spec",
    }
    trajectory = load_latents(written["latents"])
    # fibo 1+2+3+5+8+13+21 + orale 4**2*22 + blender 22*(1+ceil(22*8/32)) + swapper 2*8*22
    # + outro 2*50
    assert trajectory.n_frames == 53 + 352 + 154 + 352 + 100
    assert trajectory.frame_rate == 100.0 and trajectory.codec == "tiny"
    starts = [s["start"] for s in trajectory.meta["sections"]]
    assert starts == [0, 53, 405, 559, 911]
    np.testing.assert_array_equal(load_latent_wav(written["latent_wav"]).data, trajectory.data)
    assert written["heatmap"].read_bytes()[:4] == b"\x89PNG"
    assert "seed = 2026" in written["spec"].read_text()


def test_rerendering_resolved_spec_gives_same_bytes(tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    spec.write_text(spec.read_text().replace("seed = 2026", ""))  # the master seed is drawn
    first = render_spec(spec, tmp_path / "one")
    second = render_spec(first["spec"], tmp_path / "two")
    for role, path in first.items():
        assert path.read_bytes() == second[role].read_bytes(), role
    # The drawn master seed is written as a top-level key (a section's seed may start with 2026).
    resolved = tomllib.loads(first["spec"].read_text())
    assert isinstance(resolved["seed"], int) and resolved["seed"] != 2026


def test_spec_seed_changes_the_result(tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    one = render_spec(spec, tmp_path / "one")
    two = render_spec(spec, tmp_path / "two", seed=99)
    assert one["latents"].read_bytes() != two["latents"].read_bytes()


def test_existing_outputs_refused_before_work(tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "composition.png").write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match=r"composition\.png already exists"):
        render_spec(spec, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["composition.png"]


def test_latents_from_another_codec_refused(tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    other = TinyConvCodec(latent_dim=4).encode(sine(330.0, seconds=0.3))
    save_latents(tmp_path / "project" / "pad.npy", other)
    with pytest.raises(InvalidLatentError, match=r"sources\.pad .*4-d latents"):
        render_spec(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        pytest.param(
            "max_frames = 20000",
            "max_frames = 500",
            ConfigError,
            r"sections\[2\] \(morph\) brings the composition to 559 frames, over max_frames",
            id="over-max-frames",
        ),
        pytest.param(
            'b = "cloud"',
            'b = "drums"',
            InvalidLatentError,
            r"sections\[2\] \(morph\): A has shape \(22, 8\) but B has shape \(50, 8\)",
            id="a-b-shape-mismatch",
        ),
        pytest.param(
            "frames = 22              #",
            "frames = 99 #",
            ConfigError,
            r"sources\.pad .*asks for frames 0\.\.99 but the latents have 30 frames",
            id="slice-past-the-end",
        ),
    ],
)
def test_bad_spec_refused_and_nothing_written(
    tmp_path: Path, tiny_codec_name: str, old: str, new: str, error: type, message: str
) -> None:
    spec = make_project(tmp_path / "project")
    spec.write_text(spec.read_text().replace(old, new))
    with pytest.raises(error, match=message):
        render_spec(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_no_decode_and_double_latent_wav(tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    text = spec.read_text().replace("decode = true", "decode = false")
    spec.write_text(text.replace('latent_wav_subtype = "FLOAT"', 'latent_wav_subtype = "DOUBLE"'))
    written = render_spec(spec, tmp_path / "out")
    assert "audio" not in written and not (tmp_path / "out" / "composition.wav").exists()
    assert sf.info(str(written["latent_wav"])).subtype == "DOUBLE"
    latents = load_latents(written["latents"]).data
    np.testing.assert_array_equal(load_latent_wav(written["latent_wav"]).data, latents)


def test_a_wav_with_a_seed_sidecar_is_audio_not_latents(tmp_path: Path) -> None:
    """A Koenig seed's NAME.json (its parameters) must not make NAME.wav look like a latent WAV."""
    from latentroom.compose.sources import is_latent_file
    from latentroom.seeds import SeedConfig, render_seed, write_seed

    seed_wav = tmp_path / "drums.wav"
    write_seed(render_seed(SeedConfig(seconds=1.0)), seed_wav)
    assert seed_wav.with_suffix(".json").exists()
    assert not is_latent_file(seed_wav)

    latent_wav = tmp_path / "lat.wav"
    from latentroom.latents.latent_wav import save_latent_wav
    from latentroom.latents.trajectory import LatentTrajectory

    save_latent_wav(latent_wav, LatentTrajectory(np.zeros((4, 2)), 10.0, "tiny"))
    assert is_latent_file(latent_wav)


def test_rendered_audio_follows_the_level_policy_and_records_it(
    tmp_path: Path, tiny_codec_name: str
) -> None:
    from latentroom.audio.loudness import true_peak_dbfs

    spec = make_project(tmp_path / "project")
    kept = render_spec(spec, tmp_path / "keep")
    samples, rate = sf.read(str(kept["audio"]), always_2d=True)
    assert true_peak_dbfs(samples.T, rate) <= -1.0 + 1e-3
    assert kept["spec"].read_text().startswith("# audio level: --level keep, gain ")
    quiet = render_spec(spec, tmp_path / "quiet", level="peak:-12")
    samples, rate = sf.read(str(quiet["audio"]), always_2d=True)
    assert true_peak_dbfs(samples.T, rate) == pytest.approx(-12.0, abs=0.01)
    text = quiet["spec"].read_text()
    assert text.startswith("# audio level: --level peak:-12, gain ")
    assert 'level = "peak:-12"' in text
    with pytest.raises(ConfigError, match="'match-input' is not a level policy"):
        render_spec(spec, tmp_path / "bad", level="match-input")
    assert not (tmp_path / "bad").exists()
