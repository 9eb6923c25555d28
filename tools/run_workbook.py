"""Execute notebooks headless (top to bottom, fresh kernel) and write a results summary.

    python tools/run_workbook.py --out build/workbook notebooks/*.ipynb

Writes <out>/<name>.ipynb (executed), <out>/results/<name>.json (what each notebook recorded with
hu.results.record), <out>/times.json (seconds per notebook, mode, machine, date) and <out>/RESULTS.md (run time
and recorded numbers per notebook). Set HASHING_FAST=1 for fast mode; --inplace rewrites the notebooks themselves
(to commit them). tools/stamp_runtimes.py copies the measured times into each notebook's header.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--out", default="build/workbook")
    p.add_argument("--inplace", action="store_true", help="write executed notebooks back over the sources")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = p.parse_args()
    out = Path(args.out)
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HASHING_RESULTS_DIR"] = str(results_dir.resolve())
    # the kernel inherits this environment: a non-interactive backend there would drop every figure
    os.environ.pop("MPLBACKEND", None)
    mode = "fast" if os.environ.get("HASHING_FAST") == "1" else "full"
    machine = machine_description()
    lines = [f"# Workbook run ({mode} mode)", "", f"Machine: {machine}; {time.strftime('%Y-%m-%d')}.", "",
             "| notebook | status | seconds |", "|---|---|---|"]
    times = {"mode": mode, "machine": machine, "date": time.strftime("%Y-%m-%d"), "seconds": {}, "status": {}}
    failed = 0
    for path in map(Path, args.notebooks):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        status = "ok"
        try:
            NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except Exception as e:  # report and go on with the next notebook
            status, failed = f"FAILED: {type(e).__name__}", failed + 1
        seconds = time.perf_counter() - start
        # a failed run never overwrites the source: its partial output goes to --out for inspection
        nbformat.write(nb, path if args.inplace and status == "ok" else out / path.name)
        lines.append(f"| {path.name} | {status} | {seconds:.0f} |")
        times["seconds"][path.stem], times["status"][path.stem] = round(seconds, 1), status
        (out / "times.json").write_text(json.dumps(times, indent=1))
        print(f"{path.name}: {status} in {seconds:.0f} s", flush=True)
    lines += ["", "## Recorded results", ""]
    for f in sorted(results_dir.glob("*.json")):
        lines += [f"### {f.stem}", "", "```", json.dumps(json.loads(f.read_text()), indent=1), "```", ""]
    (out / "RESULTS.md").write_text("\n".join(lines))
    print(f"summary: {out / 'RESULTS.md'}")
    return 1 if failed else 0


def machine_description() -> str:
    """CPU model and cores (or the GPU torch sees) and the load average when the run started."""
    model = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = ""
    try:
        import torch
        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except Exception:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores{gpu}, load average {load:.2f} at start"


if __name__ == "__main__":
    sys.exit(main())
