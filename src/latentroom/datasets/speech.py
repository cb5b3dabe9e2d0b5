"""Synthetic speech from the espeak-ng binary (optional: used for training data only)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from latentroom.datasets.clip import finish, n_samples_for
from latentroom.errors import BackendUnavailableError

ESPEAK = "espeak-ng"
VOICES = ("en-us", "en-gb", "en-us+m3", "en-us+f2", "en-gb+m1", "en-gb+f3", "en-gb-x-rp+m5")
PITCH_RANGE = (20, 80)  # espeak-ng -p, 0..99
SPEED_RANGE = (120, 220)  # espeak-ng -s, words per minute
_WORD_TEXT = (
    "the a one two three four five six seven eight nine ten red green blue small large old new "
    "river stone window garden winter summer morning evening light shadow sound silence wave "
    "water fire paper glass metal wood voice echo room door table chair city road bridge tower "
    "moves falls turns sings waits listens opens closes breaks grows fades returns carries "
    "slowly quickly softly always never again under over across between inside outside and but "
    "then because while where when who what every many some no "
)
WORDS = tuple(_WORD_TEXT.split())  # a small vocabulary of our own


def espeak_available() -> bool:
    """True when the ``espeak-ng`` binary is on ``PATH``."""
    return shutil.which(ESPEAK) is not None


def espeak_version() -> str | None:
    """The first line of ``espeak-ng --version`` (None when the binary is missing).

    Recorded in corpus manifests: another espeak-ng version may render other samples.
    """
    if not espeak_available():
        return None
    done = subprocess.run([ESPEAK, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def random_sentence(rng: np.random.Generator) -> str:
    """A sentence of 4-12 words drawn from ``WORDS``."""
    n_words = int(rng.integers(4, 13))
    return " ".join(rng.choice(WORDS, size=n_words))


def speak(text: str, *, voice: str, pitch: int, speed: int) -> tuple[np.ndarray, int]:
    """Run espeak-ng once; return mono samples [shape=(N,)] and their rate (22050 Hz).

    Raises
    ------
    BackendUnavailableError
        The binary is missing or fails.
    """
    import soundfile as sf

    if not espeak_available():
        raise BackendUnavailableError(
            "espeak-ng is not installed; install the Debian package (apt-get install espeak-ng) "
            "or leave the speech family out"
        )
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = [ESPEAK, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.exists():
            raise BackendUnavailableError(f"espeak-ng failed ({done.stderr.strip()!r})")
        data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def render_speech(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Speech: random sentences, one voice/pitch/speed per clip, 0.1-0.6 s pauses between them.

    Deterministic: espeak-ng renders the same text with the same settings to the same samples.
    """
    from latentroom.audio.convert import resample
    from latentroom.audio.types import Audio

    n = n_samples_for(seconds, sample_rate)
    voice = str(rng.choice(VOICES))
    pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
    speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
    out = np.zeros(n)
    pos = round(rng.uniform(0.0, 0.3) * sample_rate)
    while pos < n:
        samples, rate = speak(random_sentence(rng), voice=voice, pitch=pitch, speed=speed)
        voiced = resample(Audio(samples, rate), sample_rate).samples[0]
        end = min(n, pos + voiced.size)
        out[pos:end] = voiced[: end - pos]
        pos = end + round(rng.uniform(0.1, 0.6) * sample_rate)
    return finish(out, sample_rate, rng)
