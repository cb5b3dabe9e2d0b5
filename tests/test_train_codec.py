"""Codec training: loss goes down, exact resume, schedules, data split, CLI and its errors."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from builtin_tiny import TINY_MODEL
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_model import build_model
from latentroom.codecs.registry import get_codec
from latentroom.errors import CheckpointError, ConfigError, InvalidAudioError
from latentroom.evaluation.spectral import mel_filterbank
from latentroom.train.config import TrainConfig, beta_at, lr_at
from latentroom.train.data import TrainingData, load_training_data
from latentroom.train.loop import train_codec, validate
from latentroom.train.losses import ReconstructionLoss

TINY_TRAIN = {
    "steps": 6,
    "batch_size": 2,
    "segment_seconds": 0.125,
    "learning_rate": 3e-3,
    "warmup_steps": 0,
    "kl_warmup_steps": 2,
    "checkpoint_every": 3,
    "n_val_segments": 4,
    "model": TINY_MODEL,
}


def tiny_config(**changes: object) -> TrainConfig:
    return TrainConfig.from_dict({**TINY_TRAIN, **changes})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short clips in nested folders: a tone, clicks, and noise (FLAC, 22.05 kHz)."""
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    t = np.arange(11_025) / 11_025
    clicks = np.zeros(8_000)
    clicks[::1_000] = 0.9
    clips = {
        "tones/a.wav": (0.4 * np.sin(2 * np.pi * 330 * t), 11_025),
        "hits/b.wav": (clicks, 16_000),
        "c.flac": (0.2 * rng.standard_normal(22_050), 22_050),
    }
    for name, (x, rate) in clips.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, x.astype(np.float32), rate)
    (root / "notes.txt").write_text("not audio")
    return root


def read_log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_few_steps_lower_the_validation_loss(data_dir, tmp_path):
    config = tiny_config(steps=25, checkpoint_every=25)
    data = load_training_data(
        data_dir,
        sample_rate=16_000,
        n_samples=config.segment_samples(),
        val_fraction=config.val_fraction,
        n_val_segments=4,
    )
    loss_fn = ReconstructionLoss(16_000)
    before = validate(build_model(config.model, config.seed), loss_fn, data)
    result = train_codec(data_dir, tmp_path / "run", config)
    assert result.steps == 25
    assert result.val_loss < 0.9 * before
    assert result.n_files == 3


def test_resume_after_interruption_matches_the_uninterrupted_run(data_dir, tmp_path):
    config = tiny_config()
    train_codec(data_dir, tmp_path / "straight", config)

    finished = []

    def interrupt_after_four(n: int) -> None:
        finished.append(n)
        if len(finished) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_codec(data_dir, tmp_path / "broken", config, progress=interrupt_after_four)
    assert len(read_log(tmp_path / "broken" / "log.csv")) == 4
    train_codec(data_dir, tmp_path / "broken", config, resume=True)

    straight = read_log(tmp_path / "straight" / "log.csv")
    resumed = read_log(tmp_path / "broken" / "log.csv")
    assert [r["step"] for r in resumed] == [str(s) for s in range(1, 7)]
    for key in ("loss", "stft", "mel", "kl", "val_loss"):
        assert [r[key] for r in resumed] == [r[key] for r in straight]
    a = get_codec("builtin", checkpoint=tmp_path / "straight").model.state_dict()
    b = get_codec("builtin", checkpoint=tmp_path / "broken").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_killed_after_its_last_checkpoint_resumes_to_its_model(data_dir, tmp_path):
    """A checkpoint at the last step without model files (killed before they were written, or
    stopped early and ended with ``--steps``) gives the model the uninterrupted run wrote."""
    config = tiny_config(steps=6)
    train_codec(data_dir, tmp_path / "straight", config)
    train_codec(data_dir, tmp_path / "killed", config)
    for name in ("model.safetensors", "model.json"):
        (tmp_path / "killed" / name).unlink()
    result = train_codec(data_dir, tmp_path / "killed", config, resume=True)
    assert result.steps == 6 and result.train_loss == pytest.approx(
        float(read_log(tmp_path / "straight" / "log.csv")[-1]["loss"])
    )
    tensors = "model.safetensors"
    assert (tmp_path / "killed" / tensors).read_bytes() == (
        tmp_path / "straight" / tensors
    ).read_bytes()
    assert len(read_log(tmp_path / "killed" / "log.csv")) == 6
    # Stopped by Ctrl-C after 4 of 6 steps (checkpoint at 4), then ended there with --steps 4.
    broken = []
    with pytest.raises(KeyboardInterrupt):
        train_codec(
            data_dir,
            tmp_path / "early",
            config,
            progress=lambda n: broken.append(n) or (len(broken) == 4 and _interrupt()),
        )
    result = train_codec(data_dir, tmp_path / "early", config.replace(steps=4), resume=True)
    assert result.steps == 4 and (tmp_path / "early" / tensors).is_file()


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_resume_refuses_another_config(data_dir, tmp_path):
    train_codec(data_dir, tmp_path / "run", tiny_config(steps=3))
    with pytest.raises(CheckpointError, match="started with another config"):
        train_codec(data_dir, tmp_path / "run", tiny_config(steps=3, beta=0.5), resume=True)


def test_resume_without_checkpoint_is_refused(data_dir, tmp_path):
    with pytest.raises(CheckpointError, match="no training checkpoint to resume from"):
        train_codec(data_dir, tmp_path / "empty", tiny_config(), resume=True)


def test_corrupted_training_checkpoint_is_refused(data_dir, tmp_path):
    train_codec(data_dir, tmp_path / "run", tiny_config(steps=3))
    (tmp_path / "run" / "train_state.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable training checkpoint"):
        train_codec(data_dir, tmp_path / "run", tiny_config(steps=3), resume=True)


def test_validation_split_is_the_tail_of_every_file(data_dir):
    data = load_training_data(
        data_dir, sample_rate=16_000, n_samples=512, val_fraction=0.25, n_val_segments=100
    )
    assert data.n_files == 3
    # 1 s, 0.5 s and 1 s files at 16 kHz: heads keep 75 %.
    assert sorted(c.size for c in data.clips) == [6_000, 12_000, 12_000]
    assert data.validation.shape == (8 + 4 + 8, 1, 512)


def test_batches_are_a_function_of_the_generator(data_dir):
    data = load_training_data(
        data_dir, sample_rate=16_000, n_samples=512, val_fraction=0.1, n_val_segments=2
    )
    a = data.batch(np.random.default_rng(5), 3, 512, (0.0, 0.0))
    b = data.batch(np.random.default_rng(5), 3, 512, (0.0, 0.0))
    assert a.shape == (3, 1, 512)
    np.testing.assert_array_equal(a, b)


def test_16_bit_files_are_held_as_int16_and_hard_links_once(tmp_path):
    """A 16-bit corpus repeated with hard links costs one int16 copy; batches are unchanged."""
    rng = np.random.default_rng(1)
    x = (0.3 * rng.standard_normal(9_600)).astype(np.float32)
    (tmp_path / "a").mkdir()
    sf.write(tmp_path / "a" / "pcm16.wav", x, 48_000, subtype="PCM_16")
    sf.write(tmp_path / "a" / "float.wav", x, 48_000, subtype="FLOAT")
    (tmp_path / "b").mkdir()
    os.link(tmp_path / "a" / "pcm16.wav", tmp_path / "b" / "pcm16.wav")
    data = load_training_data(
        tmp_path, sample_rate=48_000, n_samples=480, val_fraction=0.1, n_val_segments=8
    )
    by_dtype = sorted((c.dtype.name, id(c)) for c in data.clips)
    assert [d for d, _ in by_dtype] == ["float32", "int16", "int16"]
    assert by_dtype[1][1] == by_dtype[2][1]  # the hard link shares its array
    as_read = sf.read(tmp_path / "a" / "pcm16.wav", dtype="float32")[0]
    int16_head = next(c for c in data.clips if c.dtype == np.int16)
    np.testing.assert_array_equal(int16_head.astype(np.float32) / 32768, as_read[:8_640])
    # Batches read int16 heads back as the floats the file decodes to.
    floats = TrainingData(
        [c.astype(np.float32) / 32768 if c.dtype == np.int16 else c for c in data.clips],
        data.validation,
        data.n_files,
    )
    np.testing.assert_array_equal(
        data.batch(np.random.default_rng(2), 6, 480, (-12.0, 0.0)),
        floats.batch(np.random.default_rng(2), 6, 480, (-12.0, 0.0)),
    )


def test_folder_without_audio_is_refused(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(InvalidAudioError, match="no audio files found"):
        train_codec(tmp_path, tmp_path / "run", tiny_config())


def test_learning_rate_schedule_known_values():
    config = tiny_config(steps=110, warmup_steps=10, learning_rate=1.0, min_lr_ratio=0.1)
    assert lr_at(0, config) == pytest.approx(0.1)
    assert lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(60, config) == pytest.approx(0.55)  # half-way down the cosine
    assert lr_at(110, config) == pytest.approx(0.1)


def test_kl_weight_warms_up_linearly():
    config = tiny_config(beta=0.01, kl_warmup_steps=100)
    assert [beta_at(s, config) for s in (0, 50, 100, 500)] == pytest.approx([0, 0.005, 0.01, 0.01])


def test_loss_weighs_mel_bands_as_codec_eval_does():
    """One filterbank (evaluation/spectral.py): the loss holds a float32 copy of the one log-mel L1
    uses, triangles peaking at 1."""
    for rate in (16_000, 24_000, 44_100):
        loss = ReconstructionLoss(rate, n_mels=80)
        expected = mel_filterbank(rate, 2048, 80).astype(np.float32)
        assert loss.mel_basis.dtype == torch.float32
        assert np.array_equal(loss.mel_basis.numpy(), expected)
        assert loss.mel_basis.max(dim=1).values.min() > 0.5


def test_loss_is_zero_for_identical_signals():
    x = torch.randn(2, 1, 4096) * 0.1
    losses = ReconstructionLoss(16_000, level_weight=1.0)(x, x)
    assert float(losses["total"]) == pytest.approx(0.0, abs=1e-6)


def test_level_term_measures_a_gain_in_log_energy():
    """A 6 dB quieter copy: every frame's and the segment's log energy is off by ln(4)."""
    x = torch.randn(2, 1, 8192, generator=torch.Generator().manual_seed(0)) * 0.1
    losses = ReconstructionLoss(16_000, level_weight=1.0)(x * 0.5, x)
    assert float(losses["level"]) == pytest.approx(2 * np.log(4.0), rel=1e-3)
    unweighted = ReconstructionLoss(16_000)(x * 0.5, x)
    assert float(unweighted["total"]) == pytest.approx(
        float(losses["total"]) - float(losses["level"]), rel=1e-5
    )


def test_a_k_weighted_level_term_sees_a_tilt_the_plain_one_does_not():
    """A 3 kHz tone drawn as a 100 Hz tone of the same energy: the plain level term reads no
    change, the K-weighted one the K-weighting's gain difference, in log energy (frames and
    segment: twice); rescaled to the same K-weighted energy, it reads none."""
    from scipy.signal import freqz

    from latentroom.audio.loudness import k_weighting

    rate = 16_000
    t = torch.arange(16_000) / rate
    high = (0.1 * torch.sin(2 * torch.pi * 3000.0 * t)).reshape(1, 1, -1)
    low = (0.1 * torch.sin(2 * torch.pi * 100.0 * t)).reshape(1, 1, -1)
    plain = ReconstructionLoss(rate, level_weight=1.0)(low, high)["level"]
    weighted = ReconstructionLoss(rate, level_weight=1.0, level_k_weighted=True)
    assert float(plain) < 0.01
    b1, a1, b2, a2 = k_weighting(rate)
    gain = [abs(freqz(b1, a1, [f], fs=rate)[1][0] * freqz(b2, a2, [f], fs=rate)[1][0])
            for f in (100.0, 3000.0)]  # fmt: skip
    expected = 2 * abs(np.log(gain[0] ** 2 / gain[1] ** 2))
    assert float(weighted(low, high)["level"]) == pytest.approx(expected, rel=0.02)
    assert float(weighted(low * gain[1] / gain[0], high)["level"]) < 0.02


def _hit(rate: int, attack_seconds: float) -> torch.Tensor:
    """0.5 s: silence, then a noise burst entering at 0.25 s over ``attack_seconds`` (0: at
    once) [shape=(1, 1, N)]. Noise keeps every bin far above the onset floor."""
    t = torch.arange(rate // 2) / rate
    envelope = ((t - 0.25) / max(attack_seconds, 1e-9)).clamp(0.0, 1.0)
    noise = torch.randn(t.shape, generator=torch.Generator().manual_seed(0))
    return (0.1 * envelope * noise).reshape(1, 1, -1)


def test_the_onset_term_reads_a_smeared_hit_and_ignores_a_gain():
    from latentroom.evaluation.onsets import onset_flux
    from latentroom.train.losses import onset_fft_size

    rate = 48_000
    assert [onset_fft_size(r) for r in (48_000, 44_100, 16_000)] == [512, 512, 128]
    loss = ReconstructionLoss(rate, onset_weight=1.0)
    sharp = _hit(rate, 0.0)
    # 12 dB down: the same rises, but from silence the hit rises ln(4) less above the floor in
    # its one onset frame, out of the 187 frame-to-frame rises of 0.5 s.
    assert float(loss(sharp * 0.25, sharp)["onset"]) == pytest.approx(np.log(4.0) / 187, rel=0.1)
    smeared = float(loss(_hit(rate, 0.04), sharp)["onset"])
    slightly = float(loss(_hit(rate, 0.01), sharp)["onset"])
    assert smeared > slightly > 0.01
    # Against silence the term is the input's mean flux: codec eval's onset strength (in dB)
    # over 20 / ln(10).
    flux_db, _, _ = onset_flux(sharp.reshape(-1).numpy(), rate)
    silent = float(loss(sharp * 0.0, sharp)["onset"])
    assert silent == pytest.approx(flux_db.mean() * np.log(10.0) / 20.0, rel=0.1)
    terms = loss(_hit(rate, 0.04), sharp)
    unweighted = ReconstructionLoss(rate)(_hit(rate, 0.04), sharp)
    assert float(terms["total"]) == pytest.approx(float(unweighted["total"]) + smeared, rel=1e-5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"steps": 0}, "steps must be >= 1", id="steps"),
        pytest.param({"learning_rate": 0.0}, "learning_rate must be > 0", id="lr"),
        pytest.param({"min_lr_ratio": 0.0}, "min_lr_ratio must be in", id="min-lr"),
        pytest.param({"val_fraction": 0.6}, "val_fraction must be in", id="val"),
        pytest.param({"gain_db": (0.0, -6.0)}, "low <= high", id="gain"),
        pytest.param({"onset_weight": -1.0}, "onset_weight must be >= 0", id="onset"),
        pytest.param({"beta": -1.0}, "beta must be >= 0", id="beta"),
    ],
)
def test_train_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        tiny_config(**changes)


def test_train_config_rejects_unknown_keys_and_round_trips():
    with pytest.raises(ConfigError, match="unknown keys \\['epochs'\\]"):
        TrainConfig.from_dict({"epochs": 3})
    config = tiny_config()
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.model == BuiltinConfig(**TINY_MODEL)
    assert config.segment_samples() == 2_048


def test_cli_trains_and_the_model_loads(run_cli, data_dir, tmp_path):
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(TINY_TRAIN))
    out = tmp_path / "model"
    args = ["train", "codec", "--data", data_dir, "-o", out, "--config", config_file, "--quiet"]
    result = run_cli(*args, "--steps", "2", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "2 steps" in result.stdout
    assert "note:" not in result.stderr  # short runs are not announced
    codec = get_codec("builtin", checkpoint=out)
    assert codec.latent_dim == 4
    assert len(read_log(out / "log.csv")) == 2

    again = run_cli(*args, "--steps", "2")
    assert again.exit_code == 2
    assert "already exists; pass --force" in again.stderr

    resumed = run_cli(
        "train", "codec", "--data", data_dir, "-o", out, "--resume", "--steps", "3", "--quiet"
    )
    assert resumed.exit_code == 0, resumed.stderr
    assert len(read_log(out / "log.csv")) == 3


def test_cli_announces_a_long_cpu_run(run_cli, data_dir, tmp_path, monkeypatch):
    import latentroom.cli.train as cli_train

    monkeypatch.setattr(cli_train, "LONG_CPU_RUN", 2)  # the real threshold is 1000 steps
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(TINY_TRAIN))
    args = ["--data", data_dir, "-o", tmp_path / "m", "--config", config_file, "--steps", "2"]
    result = run_cli("train", "codec", *args, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "note: 2 steps from random weights take hours on a CPU" in result.stderr
    assert "--init FOLDER fine-tunes" in result.stderr


def test_cli_reports_a_bad_config_file(run_cli, data_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stepz": 3}))
    result = run_cli("train", "codec", "--data", data_dir, "-o", tmp_path / "m", "--config", bad)
    assert result.exit_code == 2
    assert "unknown keys ['stepz']" in result.stderr


def test_cli_writes_an_eval_report_on_a_corpus(run_cli, tmp_path):
    """--eval-data scores the trained model beside the PCA baseline on held-out clips."""
    rng = np.random.default_rng(1)
    for split in ("train", "holdout"):
        for family in ("tone", "noise"):
            folder = tmp_path / "corpus" / split / family
            folder.mkdir(parents=True)
            for i in range(2):
                t = np.arange(16_000) / 16_000
                x = (
                    np.sin(2 * np.pi * 220 * (i + 1) * t)
                    if family == "tone"
                    else rng.normal(size=t.size)
                )
                sf.write(folder / f"{i}.wav", (0.3 * x).astype(np.float32), 16_000)
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps({**TINY_TRAIN, "steps": 2}))
    out = tmp_path / "model"
    result = run_cli(
        "train",
        "codec",
        "--data",
        tmp_path / "corpus" / "train",
        "-o",
        out,
        "--config",
        config_file,
        "--eval-data",
        tmp_path / "corpus",
        "--eval-clips",
        "1",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    assert "tone: log-mel L1" in result.stdout
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert sorted(metrics["families"]) == ["noise", "tone"]
    assert (out / "eval" / "report.md").is_file()


def test_init_starts_from_a_trained_model(data_dir, tmp_path):
    train_codec(data_dir, tmp_path / "base", tiny_config(steps=2))
    tuned = tiny_config(steps=1, learning_rate=1e-9, warmup_steps=0)
    train_codec(data_dir, tmp_path / "tuned", tuned, init=tmp_path / "base")
    a = get_codec("builtin", checkpoint=tmp_path / "base").model.state_dict()
    b = get_codec("builtin", checkpoint=tmp_path / "tuned").model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_init_that_does_not_fit_is_refused(data_dir, tmp_path):
    train_codec(data_dir, tmp_path / "base", tiny_config(steps=1))
    wider = tiny_config(model={**TINY_MODEL, "channels": 8})
    with pytest.raises(CheckpointError, match="do not fit the model config"):
        train_codec(data_dir, tmp_path / "other", wider, init=tmp_path / "base")


def test_identical_runs_write_identical_checkpoint_bytes(data_dir, tmp_path):
    # torch.save once named the zip's records after the temporary file it wrote to.
    for name in ("a", "b"):
        train_codec(data_dir, tmp_path / name, tiny_config(steps=3))
    state = "train_state.pt"
    assert (tmp_path / "a" / state).read_bytes() == (tmp_path / "b" / state).read_bytes()


def test_resuming_a_finished_run_is_refused_and_changes_nothing(data_dir, tmp_path):
    train_codec(data_dir, tmp_path / "run", tiny_config(steps=3))
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    with pytest.raises(ConfigError, match="already finished its 3 steps; pass --steps above 3"):
        train_codec(data_dir, tmp_path / "run", tiny_config(steps=3), resume=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
