#!/usr/bin/env bash
# The first real-audio runs (issue #14 §4, docs/real-audio.md): the feedback protocol, compose and
# Phases 0-2 on the real corpus that `make corpus-real` builds, with one codec.
#
#   scripts/real_audio_runs.sh CORPUS OUT [CODEC] [CONTRAST]
#
# CORPUS   a `corpus build` folder (train/, holdout/<family>/, corpus.json), e.g. runs/corpus-real
# OUT      where every run goes (one sub-folder per run; reruns reuse what is finished)
# CODEC    the codec under test (default: builtin, the shipped weights)
# CONTRAST a second codec for Phase 2, e.g. builtin:runs/old_builtin (default: none); random-init
#          EnCodec is always added as a labelled architecture-only contrast
#
# Every command is seeded; the whole script takes about 25 min on 2 CPU cores.
set -euo pipefail
corpus=${1:?usage: scripts/real_audio_runs.sh CORPUS OUT [CODEC] [CONTRAST]}
out=${2:?usage: scripts/real_audio_runs.sh CORPUS OUT [CODEC] [CONTRAST]}
codec=${3:-builtin}
contrast=${4:-}
lr=${LATENTROOM:-latentroom}
mkdir -p "$out/inputs"

# One held-out clip per family (the first in sorted order) as loop and compose inputs.
for family in drums music voice instrument; do
    first=$(find "$corpus/holdout/$family" -name '*.wav' | sort | sed -n 1p)  # sed reads all: no SIGPIPE under pipefail
    [ -n "$first" ] && cp -n "$first" "$out/inputs/$family.wav"
done

# 1. The feedback protocol: the Koenig seed, then each real input, 5 passes, default level policy.
[ -f "$out/loop-seed/report.md" ] || $lr loop -o "$out/loop-seed" --backend "room:$codec" -q --force
for input in "$out"/inputs/*.wav; do
    name=$(basename "$input" .wav)
    [ -f "$out/loop-$name/report.md" ] ||
        $lr loop "$input" -o "$out/loop-$name" --backend "room:$codec" -q --force
done

# 2. Phase 0 and 1 on the encoded holdout.
[ -d "$out/holdout.zarr" ] || $lr encode "$corpus/holdout" -c "$codec" -o "$out/holdout.zarr" -q
$lr analyze clusters "$out/holdout.zarr" -o "$out/analysis" --force
$lr analyze predict "$out/holdout.zarr" --horizons 1,2,4,8 -o "$out/analysis" --force

# 3. Compose: statistics of the music clip's latents, an AR draw from them, rendered to audio.
$lr encode "$out/inputs/music.wav" -c "$codec" -o "$out/compose/music.npy" --force
$lr compose stats "$out/compose/music.npy" -o "$out/compose/stats.json" --force
$lr compose synth --stats "$out/compose/stats.json" --distribution ar --frames 470 --seed 1 \
    -o "$out/compose/ar.npy" --force
$lr decode "$out/compose/ar.npy" -o "$out/compose/ar.wav" --force

# 4. Phase 2 on a slice of the holdout (8 clips per family), the codec beside the contrast.
mkdir -p "$out/slice"
for family in drums music voice instrument; do
    find "$corpus/holdout/$family" -name '*.wav' | sort | sed -n 1,8p |
        while read -r clip; do cp -n "$clip" "$out/slice/${family}_$(basename "$clip")"; done
done
# The decoded-mel and learned-key variants are left out to keep the script within its time.
codecs=$codec${contrast:+,$contrast}
quick=(--max-epochs 5 --no-decoded-mel --no-learned-key -q --force)
$lr analyze compare "$out/slice" --codecs "$codecs" -o "$out/compare" "${quick[@]}"
$lr analyze compare "$out/slice" --codecs encodec-24k --random-init -o "$out/compare-random" \
    "${quick[@]}"
