"""Where benchmark scripts put their results: stdout, optional JSON rows, optional RESULTS.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def emit(
    section: str, rows: list[dict[str, Any]], *, json_path: Path | None, markdown: bool
) -> None:
    """Print ``section``; write ``rows`` to ``json_path``; append ``section`` to RESULTS.md."""
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=2) + "\n")
    print(section)
    if markdown:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + section)
