"""Results that notebooks report: `record(notebook, {...})` writes one JSON file per notebook into
$HASHING_RESULTS_DIR when it is set (as `make workbook` does) and does nothing otherwise."""
from __future__ import annotations

import json
import os
from pathlib import Path


def record(notebook: str, results: dict) -> None:
    """Merge `results` (JSON-serialisable) into <$HASHING_RESULTS_DIR>/<notebook>.json."""
    folder = os.environ.get("HASHING_RESULTS_DIR")
    if not folder:
        return
    path = Path(folder) / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **results}, indent=1, default=float))
