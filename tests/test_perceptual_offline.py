"""Every perceptual model loads from its wheel with the network blocked and HF_HUB_OFFLINE=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perceptual_audio import speak

SCRIPT = """
import json, socket, sys
import numpy as np
import torch

def refuse(*args, **kwargs):
    raise OSError("network blocked by test_perceptual_offline")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

torch.set_num_threads(2)
from latentroom.evaluation.perceptual import measure_pair

speech = np.load(sys.argv[1])[None]
result = measure_pair(speech, speech, 16000, voice=True)
print(json.dumps({
    "values": {k: m.value for k, m in result.items()},
    "threads": torch.get_num_threads(),
    "torchaudio_left": "torchaudio" in sys.modules,
}))
"""


def test_all_measures_run_with_the_network_blocked(tmp_path: Path) -> None:
    from latentroom.evaluation.perceptual.base import missing_packages

    if missing_packages():
        pytest.skip(f"missing {missing_packages()}: pip install -e '.[perceptual]'")
    clip = tmp_path / "speech.npy"
    np.save(clip, speak("every evening the old tower listens to the water", "en-gb", 45))
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(clip)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(value is not None for value in out["values"].values()), out["values"]
    assert out["threads"] == 2  # silero-vad's import-time set_num_threads(1) was undone
    assert out["torchaudio_left"] is False
