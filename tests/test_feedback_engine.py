"""The feedback engine: equals k manual backend calls, records everything, warns, resumes."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from latentroom.audio import Audio, load_audio
from latentroom.errors import ConfigError, InvalidAudioError, OutputExistsError
from latentroom.feedback import (
    Backend,
    LoopSettings,
    default_schedule,
    get_backend,
    parse_schedule,
    pass_seed,
    resume_run,
    seed_input,
    start_run,
)
from latentroom.feedback.manifest import file_sha256, read_manifest, write_manifest
from latentroom.feedback.metrics import METRIC_NAMES

SHORT_SEED = {"seconds": 2.0}
FILES = [
    "horizon.png",
    "manifest.json",
    "metrics.csv",
    "metrics.json",
    "metrics.png",
    "report.md",
    "spectrograms.png",
]


@pytest.fixture(scope="module")
def room() -> str:
    """``room:tiny`` (registered for the module, so runs can be shared between tests)."""
    from latentroom.codecs.registry import register_codec

    register_codec("tiny", "helpers:make_tiny", "test codec (tests/helpers.py)")
    return "room:tiny"


@pytest.fixture(scope="module")
def whole(room: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted 3-pass run with master seed 5, shared read-only by the tests."""
    out = tmp_path_factory.mktemp("whole") / "run"
    run(out, room, passes=3, seed=5)
    return out


def run(path: Path, backend: str, passes: int = 3, seed: int = 0, **kwargs: object) -> dict:
    settings = LoopSettings(default_schedule().with_passes(passes), backend, seed=seed)
    return start_run(path, seed_input(SHORT_SEED), settings, **kwargs)  # type: ignore[arg-type]


def cut_copy(whole: Path, target: Path, keep_passes: int, remove: list[str]) -> Path:
    """A copy of ``whole`` as if killed after ``keep_passes - 1`` passes were recorded."""
    shutil.copytree(whole, target)
    manifest = read_manifest(target)
    manifest["passes"] = manifest["passes"][:keep_passes]
    manifest["timings"]["pass_seconds"] = manifest["timings"]["pass_seconds"][:keep_passes]
    manifest["complete"] = False
    write_manifest(target, manifest)
    for name in remove:
        (target / name).unlink()
    return target


def test_engine_equals_manual_backend_calls(whole: Path, room: str) -> None:
    backend = get_backend(room)
    audio = seed_input(SHORT_SEED).audio
    schedule = default_schedule()
    for index in range(1, 4):
        audio = backend.process(audio, schedule.params_at(index), seed=pass_seed(5, index))
        on_disk = load_audio(whole / f"iter_{index:02d}.wav")
        np.testing.assert_array_equal(on_disk.samples, audio.samples)
    manifest = read_manifest(whole)
    assert manifest["complete"] is True
    assert [p["seed"] for p in manifest["passes"][1:]] == [pass_seed(5, i) for i in (1, 2, 3)]


def test_run_directory_holds_everything(whole: Path, room: str) -> None:
    out = whole
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*FILES, ".lock", "iter_00.wav", "iter_01.wav", "iter_02.wav", "iter_03.wav"]
    )
    manifest = read_manifest(out)
    assert manifest["backend"]["name"] == room
    assert manifest["backend"]["codec"]["name"] == "tiny"
    assert manifest["latent_codec"] == "tiny"
    assert manifest["schedule"]["passes"] == 3
    first, second = manifest["passes"][1], manifest["passes"][2]
    assert first["params"]["strength"] == 0.6 and second["params"]["strength"] == 0.45
    assert first["used"] == {"strength": 0.6, "gain": 1.0}
    assert first["input_sha256"] == manifest["passes"][0]["output_sha256"]
    assert second["output_sha256"] == file_sha256(out / "iter_02.wav")
    assert manifest["input"]["kind"] == "koenig_seed"
    assert len(manifest["input"]["pulse_times"]) == 5
    assert set(manifest["passes"][0]["metrics"]) == set(METRIC_NAMES)
    assert manifest["passes"][0]["metrics"]["persistence"] == 1.0
    assert manifest["passes"][0]["metrics"]["drift_first"] == 0.0
    assert manifest["passes"][2]["metrics"]["drift_first"] > 0.0
    table = json.loads((out / "metrics.json").read_text())
    assert [row["pass"] for row in table["passes"]] == [0, 1, 2, 3]
    csv_lines = (out / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("pass,seed,strength,guidance,persistence")
    assert len(csv_lines) == 5
    assert len(manifest["warnings"]) == 2
    report = (out / "report.md").read_text()
    for claim in (
        "rhythm persists",
        "silence vanishes",
        "entropy rises",
        "sheen appears",
        "loudness drifts",
        "phase smearing",
        "granular dust",
        "phantom voices",
        "swing / drag",
    ):
        assert f"- {claim}: **" in report
    assert "- judged as: pulse train (a Koenig seed with 5 pulses)" in report
    assert manifest["input"]["class"] == "pulses"
    assert all(math.isfinite(p["metrics"]["pulse_crest_db"]) for p in manifest["passes"])
    assert [v["phenomenon"] for v in table["verdicts"]][-1] == "swing / drag"
    assert "- from pass 2: strength = 0.45, guidance = 15.0, prompt = 'Granular" in report
    assert "- from pass 3" not in report  # unchanged params are not repeated


def test_warnings_once_per_unhonoured_param_none_for_honoured(
    tmp_path: Path, room: str, caplog: pytest.LogCaptureFixture
) -> None:
    schedule = parse_schedule("passes = 2\n[defaults]\nstrength = 0.2\ngain = 0.5\nsteps = 4")
    with caplog.at_level(logging.WARNING, logger="latentroom.feedback.engine"):
        manifest = start_run(tmp_path / "r", seed_input(SHORT_SEED), LoopSettings(schedule, room))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "ignores 'steps'" in messages[0]
    assert "it honours gain, strength" in messages[0]
    assert manifest["warnings"] == messages
    assert manifest["passes"][1]["used"] == {"strength": 0.2, "gain": 0.5}


def test_strength_zero_is_the_codec_reconstruction(tmp_path: Path, room: str) -> None:
    backend = get_backend(room)
    audio = seed_input(SHORT_SEED).audio
    plain = backend.codec.decode(backend.codec.encode(audio))  # type: ignore[union-attr]
    out = backend.process(audio, {"strength": 0.0}, seed=1)
    np.testing.assert_allclose(out.samples, plain.samples[:, : out.n_samples], atol=1e-6)
    louder = backend.process(audio, {"strength": 0.0, "gain": 2.0}, seed=1)
    assert not np.allclose(louder.samples, out.samples)
    assert out.n_samples == round(audio.n_samples * backend.codec.sample_rate / 48_000)  # type: ignore[union-attr]


def test_the_room_leaves_a_codecs_measured_dims_out_of_the_noise() -> None:
    """A builtin with level channels: at strength 1 the learned dims are noise, the level
    channels pass unchanged, so the output keeps the input's frame RMS."""
    from builtin_tiny import TINY_MODEL
    from latentroom.audio.types import Audio
    from latentroom.codecs.builtin import BuiltinCodec
    from latentroom.codecs.builtin_config import BuiltinConfig
    from latentroom.codecs.builtin_model import build_model
    from latentroom.feedback.backends.room import RoomBackend

    config = BuiltinConfig(**TINY_MODEL, level_channels=2)
    codec = BuiltinCodec(build_model(config, seed=0), config, name="tiny-levels")
    assert codec.measured_dims == (config.latent_dim, config.latent_dim + 1)
    assert codec.describe()["measured_dims"] == [config.latent_dim, config.latent_dim + 1]
    rng = np.random.default_rng(0)
    envelope = np.repeat([0.02, 0.2, 0.05, 0.3], config.sample_rate // 4)  # levels to keep
    audio = Audio((envelope * rng.standard_normal(envelope.size))[None], config.sample_rate)
    decoded: list[np.ndarray] = []
    decode = codec.decode
    codec.decode = lambda t, **kw: (decoded.append(t.data), decode(t, **kw))[1]  # type: ignore[method-assign]
    out = RoomBackend(codec).process(audio, {"strength": 1.0}, seed=3)
    z = codec.encode(audio).data
    np.testing.assert_array_equal(decoded[0][:, -2:], z[:, -2:])
    assert not np.allclose(decoded[0][:, :-2], z[:, :-2], atol=0.1)
    quarters = out.samples[0, : envelope.size].reshape(4, -1)
    quarters = quarters[:, quarters.shape[1] // 4 : -quarters.shape[1] // 4]  # away from steps
    rms_db = 20 * np.log10(np.sqrt((quarters**2).mean(axis=1)))
    np.testing.assert_allclose(rms_db, 20 * np.log10([0.02, 0.2, 0.05, 0.3]), atol=1.0)


def test_existing_run_needs_force(whole: Path, tmp_path: Path, room: str) -> None:
    out = tmp_path / "run"
    shutil.copytree(whole, out)
    (out / "notes.txt").write_text("mine")
    before = file_sha256(out / "manifest.json")
    with pytest.raises(OutputExistsError, match="--force"):
        run(out, room, passes=1, seed=1)
    assert file_sha256(out / "manifest.json") == before
    run(out, room, passes=1, seed=1, force=True)
    assert read_manifest(out)["master_seed"] == 1
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "iter_02.wav").exists()  # the old run's files went


def test_resume_finishes_a_cut_run_identically(whole: Path, tmp_path: Path) -> None:
    # as if killed after iter_02.wav was written but before the manifest recorded pass 2,
    # while iter_03.wav was being written
    cut = cut_copy(whole, tmp_path / "cut", 2, ["iter_03.wav", "report.md", "metrics.csv"])
    (cut / ".iter_03.k1ll3d.tmp.wav").write_bytes(b"half a file")
    (cut / ".manifest.abc.tmp.json").write_bytes(b"{")
    resumed = resume_run(cut)
    assert sorted(p.name for p in cut.iterdir()) == sorted(p.name for p in whole.iterdir())
    assert resumed["timings"]["resumed_after_pass"] == [1]
    derived = [name for name in FILES if name != "manifest.json"]  # its timings differ
    for name in ["iter_00.wav", "iter_01.wav", "iter_02.wav", "iter_03.wav", *derived]:
        assert (cut / name).read_bytes() == (whole / name).read_bytes(), name


def test_resume_refuses_changed_or_missing_files(whole: Path, tmp_path: Path) -> None:
    out = cut_copy(whole, tmp_path / "run", 3, [])
    (out / "iter_01.wav").write_bytes(b"changed")
    with pytest.raises(ConfigError, match="missing or changed since pass 1"):
        resume_run(out)
    with pytest.raises(ConfigError, match="not a loop run directory"):
        resume_run(tmp_path / "elsewhere")


def test_resume_before_the_input_was_written(whole: Path, tmp_path: Path) -> None:
    cut = cut_copy(whole, tmp_path / "cut", 0, ["iter_00.wav", "iter_01.wav", "iter_03.wav"])
    resume_run(cut)
    for name in ("iter_00.wav", "iter_01.wav", "iter_03.wav", "metrics.json"):
        assert (cut / name).read_bytes() == (whole / name).read_bytes()


def test_unknown_backend_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown backend 'nope'"):
        run(tmp_path / "run", "nope")
    with pytest.raises(ConfigError, match="takes no option 'model'"):
        get_backend("room:tiny", model="x")
    assert not (tmp_path / "run").exists()


def test_demo_runs_the_protocol(tmp_path: Path, room: str) -> None:
    from latentroom import demo

    paths = demo.main(tmp_path / "demo", backend=room)
    names = {p.name for p in paths}
    assert {
        "koenig_seed.wav",
        "iter_00.wav",
        "iter_05.wav",
        "report.md",
        "spectrograms.png",
    } <= names
    manifest = read_manifest(tmp_path / "demo")
    assert manifest["n_passes"] == 5 and manifest["complete"]
    assert manifest["input"]["config"]["seconds"] == 10.0


class _Broken(Backend):
    """A backend whose second pass returns NaN (a real failure mode of diverging models)."""

    name = "broken"
    honoured = frozenset({"strength"})

    def process(self, audio: Audio, params: dict, *, seed: int) -> Audio:
        value = np.nan if params["strength"] < 0.5 else 0.5
        return audio.with_samples(np.full_like(audio.samples, value))


def test_a_backend_producing_nan_stops_the_run_at_that_pass(tmp_path: Path) -> None:
    settings = LoopSettings(default_schedule().with_passes(3), "broken")
    with pytest.raises(InvalidAudioError, match=r"pass 2: \d+ samples are NaN or Inf"):
        start_run(tmp_path / "run", seed_input(SHORT_SEED), settings, backend=_Broken())
    manifest = read_manifest(tmp_path / "run")
    assert [p["index"] for p in manifest["passes"]] == [0, 1]
    assert not (tmp_path / "run" / "iter_02.wav").exists()
