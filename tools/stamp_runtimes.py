"""Write measured run times into each notebook's header, between the markers

    <!-- runtime -->...<!-- /runtime -->

in its first markdown cells. Reads the times.json files that tools/run_workbook.py writes:

    python tools/stamp_runtimes.py --full build/workbook-full/times.json --fast build/workbook/times.json \
        notebooks/[0-9]*.ipynb

Only that span of markdown changes (no output, no execution count), so a notebook stays executed as committed.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

SPAN = re.compile(r"<!-- runtime -->.*?<!-- /runtime -->", re.S)


def fmt(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def sentence(name: str, full: dict, fast: dict) -> str:
    parts = []
    for label, t in (("full mode", full), ("fast mode", fast)):
        if t and name in t["seconds"] and t["status"].get(name) == "ok":
            parts.append(f"{label} {fmt(t['seconds'][name])}")
    where = (full or fast or {}).get("machine", "unknown machine")
    date = (full or fast or {}).get("date", "")
    gpu = "" if "GPU" in where else "; on a GPU: not yet measured"
    return (f"<!-- runtime -->**Measured run time:** {', '.join(parts) or 'not measured'} "
            f"({where.split(', load')[0]}, `make workbook-full` / `make workbook`, {date}){gpu}.<!-- /runtime -->")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--full", type=Path)
    p.add_argument("--fast", type=Path)
    args = p.parse_args()
    full = json.loads(args.full.read_text()) if args.full else None
    fast = json.loads(args.fast.read_text()) if args.fast else None
    missing = 0
    for path in map(Path, args.notebooks):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and SPAN.search(cell.source):
                cell.source = SPAN.sub(lambda _: sentence(path.stem, full, fast), cell.source)
                nbformat.write(nb, path)
                break
        else:
            print(f"{path}: no <!-- runtime --> span in a markdown cell", file=sys.stderr)
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
