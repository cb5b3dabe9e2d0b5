"""write_seed and the demo: audio + sidecar + plot, identical bytes per seed, nothing on failure."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import soundfile as sf

from latentroom import demo
from latentroom.audio import load_audio
from latentroom.seeds import SeedConfig, render_seed, write_seed

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHORT = SeedConfig(seconds=1.0)


def test_writes_audio_sidecar_and_plot(tmp_path: Path) -> None:
    rendered = render_seed(SHORT)
    paths = write_seed(rendered, tmp_path / "s.wav", plot=True)
    assert [p.name for p in paths] == ["s.wav", "s.json", "s.png"]
    assert load_audio(paths[0]) == rendered.audio
    assert sf.info(str(paths[0])).subtype == "FLOAT"
    sidecar = json.loads(paths[1].read_text())
    assert sidecar["audio_file"] == "s.wav"
    assert sidecar["subtype"] == "FLOAT"
    assert sidecar["pulse_samples"] == [0, 11077, 18462, 29538, 36923]
    png = paths[2].read_bytes()
    assert png[:8] == PNG_MAGIC
    assert struct.unpack(">II", png[16:24]) == (1000, 650)  # IHDR: 10 x 6.5 in at 100 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.png", "s.wav"]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = SeedConfig(seconds=1.0, seed=5)
    first = write_seed(render_seed(config), tmp_path / "a.wav")[0].read_bytes()
    again = write_seed(render_seed(config), tmp_path / "b.wav")[0].read_bytes()
    other = write_seed(render_seed(SeedConfig(seconds=1.0, seed=6)), tmp_path / "c.wav")
    assert first == again
    assert first != other[0].read_bytes()


def test_flac_gets_its_default_subtype(tmp_path: Path) -> None:
    paths = write_seed(render_seed(SHORT), tmp_path / "s.flac")
    assert json.loads(paths[1].read_text())["subtype"] == "PCM_16"
    assert sf.info(str(paths[0])).format == "FLAC"


def test_failure_while_plotting_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import latentroom.plots

    def broken_plot(*args: object, **kwargs: object) -> None:
        raise RuntimeError("plot failed")

    monkeypatch.setattr(latentroom.plots, "plot_seed", broken_plot)
    (tmp_path / "s.json").write_text("old sidecar")
    with pytest.raises(RuntimeError, match="plot failed"):
        write_seed(render_seed(SHORT), tmp_path / "s.wav", plot=True)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
    assert (tmp_path / "s.json").read_text() == "old sidecar"


def test_demo_writes_the_default_seed_twice(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "demo"
    for _ in range(2):
        paths = demo.main(out, loop=False)
    assert [p.name for p in paths] == ["koenig_seed.wav", "koenig_seed.json", "koenig_seed.png"]
    sidecar = json.loads((out / "koenig_seed.json").read_text())
    assert sidecar["rhythm"] == [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert sidecar["config"] == SeedConfig().to_dict()
    assert load_audio(out / "koenig_seed.wav").samples.shape == (1, 480_000)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
