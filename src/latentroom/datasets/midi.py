"""Seeded little MIDI pieces, written as Standard MIDI Files by hand (no MIDI library needed).

``make corpus-real`` renders them through fluidsynth and a General MIDI SoundFont, which turns
sampled real instruments into the corpus's ``instrument`` family (one GM program per piece) and,
on channel 10, real sampled drum kits into extra ``drums`` material.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from latentroom.fileio import write_bytes_atomic

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # GM channel 10, counted from 0
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# GM drum keys: kick, snare, closed hat, open hat, low/mid/high tom, crash, ride, clap
DRUM_KEYS = (36, 38, 42, 46, 45, 47, 50, 49, 51, 39)


def varlen(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits a byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf_bytes(events: list[tuple[int, bytes]], *, tempo_bpm: float) -> bytes:
    """A format-0 Standard MIDI File from ``(tick, message)`` events (sorted here, stably)."""
    tempo = round(60_000_000 / tempo_bpm)
    track = bytearray(b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big"))
    now = 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        track += varlen(tick - now) + message
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def note(channel: int, key: int, velocity: int, start: int, length: int) -> list[tuple[int, bytes]]:
    """Note-on at ``start`` and note-off ``length`` ticks later."""
    return [
        (start, bytes((0x90 | channel, key, velocity))),
        (start + length, bytes((0x80 | channel, key, 0))),
    ]


def melodic_piece(program: int, rng: np.random.Generator, *, bars: int = 16) -> bytes:
    """A piece for one GM ``program`` (0..127): a seeded melody over a chord in each bar.

    Key, mode, tempo, register and rhythm are drawn from ``rng``; notes stay in the scale.
    """
    tempo = float(rng.uniform(70, 150))
    scale = MAJOR if rng.random() < 0.5 else MINOR
    root = int(rng.integers(48, 60))
    events = [(0, bytes((0xC0, program)))]
    beat = TICKS_PER_BEAT
    for bar in range(bars):
        start = bar * 4 * beat
        degree = int(rng.choice([0, 3, 4, 5]))
        for step in (0, 2, 4):  # a triad on the bar's degree, held for the bar
            key = root + scale[(degree + step) % 7] + 12 * ((degree + step) // 7)
            events += note(0, key, int(rng.integers(50, 80)), start, 4 * beat - 10)
        tick = start
        while tick < start + 4 * beat:
            length = int(rng.choice([beat // 2, beat, beat, 2 * beat]))
            length = min(length, start + 4 * beat - tick)
            if rng.random() < 0.85:
                octave = 12 * int(rng.integers(1, 3))
                key = root + octave + scale[int(rng.integers(0, 7))]
                events += note(0, key, int(rng.integers(60, 115)), tick, length - 10)
            tick += length
    return smf_bytes(events, tempo_bpm=tempo)


def drum_piece(rng: np.random.Generator, *, bars: int = 16) -> bytes:
    """A seeded drum groove on GM channel 10: sixteenth-note grid, a fill every fourth bar."""
    tempo = float(rng.uniform(80, 170))
    sixteenth = TICKS_PER_BEAT // 4
    density = rng.uniform(0.1, 0.5, size=len(DRUM_KEYS))
    density[:3] = (0.3, 0.25, 0.7)  # kick, snare and hats carry the groove
    events: list[tuple[int, bytes]] = []
    for bar in range(bars):
        fill = bar % 4 == 3
        for step in range(16):
            tick = (bar * 16 + step) * sixteenth
            for key, p in zip(DRUM_KEYS, density, strict=True):
                backbeat = key == 38 and step in (4, 12)
                downbeat = key == 36 and step in (0, 8)
                if backbeat or downbeat or rng.random() < p * (1.6 if fill else 1.0) / 2:
                    velocity = int(rng.integers(40, 127))
                    events += note(DRUM_CHANNEL, key, velocity, tick, sixteenth - 5)
    return smf_bytes(events, tempo_bpm=tempo)


def write_midi_set(out_dir: Path, *, seed: int = 0, per_program: int = 2, drums: int = 24) -> int:
    """Write ``instrument/gm<P>_<i>.mid`` for every GM program and ``drums/groove_<i>.mid``.

    Each file gets its own generator from ``(seed, program, i)``, so the set is the same on
    every machine. Returns the number of files written.
    """
    count = 0
    for program in range(128):
        for i in range(per_program):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(program, i)))
            path = out_dir / "instrument" / f"gm{program:03d}" / f"gm{program:03d}_{i}.mid"
            write_bytes_atomic(path, melodic_piece(program, rng))
            count += 1
    for i in range(drums):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(128, i)))
        write_bytes_atomic(out_dir / "drums" / f"groove_{i:02d}.mid", drum_piece(rng))
        count += 1
    return count
