"""``make corpus-real``: render the voice and instrument sources, then ``latentroom corpus build``.

Usage: python scripts/corpus_real.py OUT_DIR [--seed N]

Expects the Debian packages the Makefile target installs (docs/real-audio.md lists them and their
licenses). Renders go to OUT_DIR-sources/ (kept, so a rerun skips them); the corpus goes to
OUT_DIR and resumes if the build was killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from latentroom.cli.main import main as latentroom
from latentroom.datasets.midi import write_midi_set

HERE = Path(__file__).resolve().parent
SENTENCES = HERE / "corpus-real-sentences.txt"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
ESPEAK_VOICES = (
    "en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)  # fmt: skip
ESPEAK_VARIANTS = ("m1", "f2", "m3", "f4")  # espeak-ng's voice variants: other pitch and timbre
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
# Sources in packages whose copyright file is free text (not DEP-5), or files it does not name:
# the license read from that file by hand (docs/real-audio.md quotes each).
MUSIC = {
    "/usr/share/games/wesnoth/1.16/data/core/music": "GPL-2+",
    "/usr/share/games/fretsonfire/data/songs/muldjord": "CC-BY-SA-3.0",
    "/usr/share/games/fretsonfire/data/songs/sectoid": "Expat",
}
DRUMKITS = "/usr/share/hydrogen/data/drumkits"
DRUMKITS_FALLBACK = "CC-BY-SA-3.0"  # "circAfrique v4", packed as drumkits/circAfrique.h2drumkit
ESPEAK_LICENSE = "GPL-3+"  # espeak-ng-data, the voice data the renders come from
FESTIVAL_LICENSE = "festival-permissive"  # festvox-* voices: MIT-like, keep the notice
SOUNDFONT_LICENSE = "Expat"  # fluid-soundfont-gm: "I hereby release Fluid under the MIT license"


def render(command: list[str], target: Path) -> None:
    """Run ``command`` (which writes ``target.tmp.wav``) unless ``target`` exists; then rename."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.wav")
    subprocess.run([part.replace("{out}", str(tmp)) for part in command], check=True)
    os.replace(tmp, target)


def render_speech(out: Path) -> tuple[Path, Path]:
    """Read the shipped sentences with every espeak-ng voice + variant and festival voice."""
    espeak, festival = out / "espeak-ng", out / "festival"
    for voice in ESPEAK_VOICES:
        for variant in ESPEAK_VARIANTS:
            name = f"{voice}+{variant}"
            command = ["espeak-ng", "-v", name, "-s", "160", "-f", str(SENTENCES), "-w", "{out}"]
            render(command, espeak / f"{name}.wav")
    for voice in FESTIVAL_VOICES:
        command = ["text2wave", "-eval", f"(voice_{voice})", str(SENTENCES), "-o", "{out}"]
        render(command, festival / f"{voice}.wav")
    return espeak, festival


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for program in ("espeak-ng", "text2wave", "fluidsynth", "dpkg-query"):
        if shutil.which(program) is None:
            sys.exit(f"corpus-real: {program} is not installed; run `make corpus-real` as root")
    if (args.out / "corpus.json").exists():
        print(f"{args.out} is already built; remove it to build it again")
        return
    start = time.monotonic()
    sources = Path(f"{args.out}-sources")
    write_midi_set(sources / "midi", seed=args.seed)
    espeak, festival = render_speech(sources / "speech")
    print(f"sources rendered in {time.monotonic() - start:.0f} s", flush=True)
    midi = sources / "midi"
    latentroom(
        [
            "corpus",
            "build",
            *(f"{path}=music" for path in MUSIC),
            f"{DRUMKITS}=drums",
            f"{midi / 'drums'}=drums",
            f"{midi / 'instrument'}=instrument",
            f"{espeak}=voice",
            f"{festival}=voice",
            *(f"--license={path}={name}" for path, name in MUSIC.items()),
            f"--license={DRUMKITS}={DRUMKITS_FALLBACK}",
            f"--license={midi / 'drums'}={SOUNDFONT_LICENSE}",
            f"--license={midi / 'instrument'}={SOUNDFONT_LICENSE}",
            f"--license={espeak}={ESPEAK_LICENSE}",
            f"--license={festival}={FESTIVAL_LICENSE}",
            "--soundfont",
            str(SOUNDFONT),
            "--sample-rate",
            "48000",
            "--clip-seconds",
            "4",
            "--max-clips-per-file",
            "40",
            "--pad-short",
            "--holdout",
            "0.1",
            "--seed",
            str(args.seed),
            "-o",
            str(args.out),
        ]
    )
    print(f"corpus-real built in {time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
