"""Train every method × bits × seeds on one data set and write a CSV and a Markdown table of the results.

    python benchmarks/run_benchmark.py --dataset fashion-mnist --bits 16 32 64 --seeds 0 1 2 \
        --methods all --epochs 4 --device auto --out benchmarks/results/fashion-mnist.csv

Every run goes through hashing_utils.experiments.run_experiment, so it is cached ($HASHING_CACHE_DIR or
build/cache/): a second invocation (or notebook 09 in full mode) reads the runs back instead of training.
--methods all = every registered single-modality method (dchml is cross-modal and is left out) + lsh + the
"classifier as hash" reference. Same backbone (hu's default for the data set), same epochs, same
train/validation split for every method. The CSV has one row per run (with the environment it ran in); the
Markdown file (same name, .md) has an environment header, the exact command and mean ± std over seeds.
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

import hashing_utils as hu  # noqa: E402
from hashing_utils import experiments as hx  # noqa: E402
from hashing_utils.devices import pick_device  # noqa: E402

COLUMNS = ["method", "bits", "code_bits", "seed", "map_all", "map_all_optimistic", "map_all_pessimistic",
           "map_1000", "p_h2", "train_seconds", "encode_seconds", "cached", "key", "torch", "device", "threads",
           "date"]


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() + ("+local changes" if dirty.stdout.strip() else "") if out.returncode == 0 \
            else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pm(mean: float, std: float, n: int) -> str:
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def versus_classifier(rows: list[dict], bits: list[int]) -> list[str]:
    """Markdown lines: each method's mAP@all minus the classifier's, paired by seed, with its 95 % t-interval
    (hx.versus); a ranking only where the interval excludes 0."""
    if not any(r["method"] == hx.CLASSIFIER for r in rows):
        return []
    diffs = hx.versus(rows)
    methods = list(dict.fromkeys(m for m, _ in diffs))
    lines = ["", "Against the classifier, seed by seed: mAP@all of the method minus the classifier's (same seed), "
             "mean and 95 % t-interval over the seeds; **above** / below where the interval excludes 0, – where it "
             "includes 0 (one seed: no interval, no ranking).", "",
             "| method | " + " | ".join(f"{b} bits" for b in bits) + " |", "|---|" + "---|" * len(bits)]
    for m in methods:
        cells = []
        for b in bits:
            d = diffs.get((m, b))
            cells.append("" if d is None else f"{d.mean:+.3f} (one seed)" if d.n == 1 else
                         f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] "
                         f"{'**above**' if d.low > 0 else 'below' if d.high < 0 else '–'}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def markdown(summary: list[dict], bits: list[int], header: dict, command: str, rows: list[dict] = ()) -> str:
    methods = list(dict.fromkeys(r["method"] for r in summary))
    by = {(r["method"], r["bits"]): r for r in summary}
    n_seeds = max(r["n"] for r in summary)
    lines = [f"# Benchmark: {header['dataset']}", "",
             f"- command: `{command}`",
             f"- data: {header['data']}",
             f"- budget: backbone `{header['backbone']}`, {header['epochs']} epochs for every trained method, "
             f"the same train/validation split (10% of the training data; the last epoch is reported)",
             f"- environment: torch {header['torch']}, device {header['device']}, {header['threads']} threads, "
             f"{header['platform']}",
             f"- date: {header['date']}; git commit: {header['commit']}; sweep wall time {header['wall']:.0f} s "
             f"({header['trained']} runs trained, {header['cached']} read from the cache)", "",
             f"mAP@all with expected ties, mean ± std over {n_seeds} seed(s); in brackets the pessimistic and "
             "optimistic tie bounds (means).", "",
             "| method | " + " | ".join(f"{b} bits" for b in bits) + " |",
             "|---|" + "---|" * len(bits)]
    for m in methods:
        cells = []
        for b in bits:
            r = by.get((m, b))
            cells.append("" if r is None else f"{pm(r['map_all'], r['map_all_std'], r['n'])} "
                         f"[{r['map_all_pessimistic']:.3f}, {r['map_all_optimistic']:.3f}]")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += versus_classifier(list(rows), bits)
    lines += ["", "All metrics (mean ± std over seeds; training time = hu.fit wall time, set-up stages included):",
              "", "| method | bits | mAP@all | mAP@1000 | P@H≤2 | train s |", "|---|---|---|---|---|---|"]
    for b in bits:
        for m in methods:
            r = by.get((m, b))
            if r is None:
                continue
            lines.append(f"| {m} | {b} | {pm(r['map_all'], r['map_all_std'], r['n'])} | "
                         f"{pm(r['map_1000'], r['map_1000_std'], r['n'])} | {pm(r['p_h2'], r['p_h2_std'], r['n'])} | "
                         f"{r['train_seconds']:.1f} |")
    lines += ["", "Notes: `classifier` is the softmax classifier on the same backbone, its code the ±1 one-hot of the "
              "predicted class (length C = 10, whatever the bits column says; `classifier-top2`: the two most "
              "probable classes); it is repeated in every bits column as a reference. Its P@H≤2 is 1/C by "
              "construction (every pair of one-hot codes is within distance 2). "
              f"Training-free (no loop, no labels): {', '.join(f'`{m}`' for m in hu.list_methods(trainable=False))}. "
              f"Cross-modal, so not run on this single-modality data set (they need image–text pairs): "
              f"{', '.join(hu.list_methods(cross_modal=True))}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=["all"],
                   help="'all' or names (hu.list_methods(cross_modal=False), plus 'classifier')")
    p.add_argument("--epochs", type=int, default=4, help="the same for every trained method")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu in that order), cpu, cuda, ...")
    p.add_argument("--fast", action="store_true", help="the smaller fast-mode split of the data set")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--refresh", action="store_true", help="retrain even when a run is in the cache")
    p.add_argument("--out", default=None, help="CSV path (default benchmarks/results/<dataset>.csv)")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    methods = hx.benchmark_methods() if args.methods == ["all"] else args.methods
    for m in methods:
        hx._check_names(m, args.dataset)          # fail before any training
    device = pick_device(None if args.device == "auto" else args.device)
    out = Path(args.out or f"benchmarks/results/{args.dataset}{'-fast' if args.fast else ''}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/run_benchmark.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))

    # compile the numba evaluation kernel first, so that the first run's time does not include it
    hx.metrics.evaluate(torch.ones(4, 8), torch.ones(6, 8), torch.arange(4) % 2, torch.arange(6) % 2)
    start = time.perf_counter()
    results = hx.sweep(methods, args.dataset, bits=args.bits, seeds=args.seeds, epochs=args.epochs,
                       fast=args.fast, device=device, refresh=args.refresh,
                       progress=lambda msg: print(f"[{time.perf_counter() - start:7.1f}s] {msg}", flush=True))
    wall = time.perf_counter() - start

    rows = []
    for r in results:
        env = r["environment"]
        for row in hx.result_rows([r], args.bits):
            rows.append({**row, "encode_seconds": r["encode_seconds"], "cached": r["cached"], "key": r["key"],
                         "torch": env["torch"], "device": env["device"], "threads": env["threads"],
                         "date": r["date"]})
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})

    env = hx.environment(device)
    cfg = results[0]["config"]
    header = {"dataset": args.dataset + (" (fast split)" if args.fast else ""), "data": cfg["data"]["description"],
              "backbone": cfg["backbone"], "epochs": args.epochs, "torch": env["torch"], "device": env["device"],
              "threads": env["threads"], "platform": env["platform"], "date": time.strftime("%Y-%m-%d %H:%M"),
              "commit": git_commit(), "wall": wall, "trained": sum(not r["cached"] for r in results),
              "cached": sum(r["cached"] for r in results)}
    md = markdown(hx.summarise(rows), args.bits, header, command, rows)
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
