"""The ``--level`` help texts, one per kind of command (policies: ``latentroom.audio.levels``)."""

OUTPUT_HELP = (  # every command that writes decoded audio
    "Output level: keep (default: a true peak over -1 dBTP is brought down), lufs:X, "
    "peak:X (dBTP) or off (nothing; warns above 0 dBFS)."
)
LOOP_HELP = (
    "Per-pass level: keep (default: peaks over -1 dBTP brought down), match-input, lufs:X "
    "or off (nothing; warns above 0 dBFS). Gains and the room's own gain go in the manifest."
)
