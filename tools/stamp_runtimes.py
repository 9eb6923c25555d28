"""Write measured run times into each notebook's header, after the label and between the markers

    **Measured run time:** <!-- runtime -->...<!-- /runtime -->

in its first markdown cells. The line must not start with the comment: CommonMark reads a line that starts with
`<!--` as a raw HTML block, and the bold label inside it would show its asterisks in Jupyter and on the site.
Reads the times.json files that tools/run_workbook.py writes:

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

# the optional label in front: headers stamped before the label moved out of the span
SPAN = re.compile(r"(\*\*Measured run time:\*\* )?<!-- runtime -->.*?<!-- /runtime -->", re.S)


def fmt(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def merged(paths) -> dict | None:
    """Several times.json files (e.g. one per notebook) as one: per-notebook seconds, status and machine."""
    out = None
    for path in paths or []:
        t = json.loads(Path(path).read_text())
        out = out or {"seconds": {}, "status": {}, "machines": {}, "date": t.get("date", "")}
        for name, sec in t["seconds"].items():
            out["seconds"][name], out["status"][name] = sec, t["status"].get(name)
            out["machines"][name] = t.get("machine", "unknown machine")
    return out


def sentence(name: str, full: dict, fast: dict, outputs: str | None) -> str:
    parts, where = [], "machine not recorded"
    for label, t in (("full mode", full), ("fast mode", fast)):
        if t and name in t["seconds"] and t["status"].get(name) == "ok":
            machine = t["machines"][name]
            load = machine.split(", load average ")[1] if ", load average " in machine else None
            parts.append(f"{label} {fmt(t['seconds'][name])}" + (f" (load average {load})" if load else ""))
            where = machine.split(", load")[0]
        elif label == "full mode":
            parts.append("full mode not yet measured")
    date = (full or fast or {}).get("date", "")
    gpu = "" if "GPU" in where else "; on a GPU: not yet measured"
    shown = f" The outputs below are from a {outputs}-mode run." if outputs else ""
    return (f"**Measured run time:** <!-- runtime -->{', '.join(parts) or 'not measured'} "
            f"({where}, {date}){gpu}.{shown}<!-- /runtime -->")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--full", type=Path, nargs="*", help="times.json of full-mode runs (several are merged)")
    p.add_argument("--fast", type=Path, nargs="*", help="times.json of fast-mode runs (several are merged)")
    p.add_argument("--outputs", choices=("fast", "full"), help="say which mode the committed outputs come from")
    args = p.parse_args()
    full, fast = merged(args.full), merged(args.fast)
    missing = 0
    for path in map(Path, args.notebooks):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and SPAN.search(cell.source):
                cell.source = SPAN.sub(lambda _: sentence(path.stem, full, fast, args.outputs), cell.source)
                nbformat.write(nb, path)
                break
        else:
            print(f"{path}: no <!-- runtime --> span in a markdown cell", file=sys.stderr)
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
