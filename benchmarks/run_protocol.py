"""The CIFAR-10 protocol table: methods × bits × seeds under a paper protocol, with the published numbers beside ours.

    # frozen-feature mode (a CPU): extract the backbone's features once (cached), train each method's hash head
    python benchmarks/run_protocol.py --dataset cifar10 --protocol cifar10-1 --backbone resnet50 --mode frozen
    # fine-tune mode (a GPU): backbone + head trained together, backbone at 0.1x the learning rate
    python benchmarks/run_protocol.py --dataset cifar10 --protocol cifar10-1 --backbone alexnet --mode finetune
    # where CIFAR-10 is absent: the protocol's rule on Fashion-MNIST (the output says so on every line)
    python benchmarks/run_protocol.py --dataset fashion-mnist --protocol cifar10 --backbone pixels

--backbone: alexnet | vgg16 | resnet50 (ImageNet weights, from torch's cache), <name>-random (random weights:
a runnable check, not a result), or pixels (no CNN: the flattened images are the features). Writes a CSV (one
row per run) and a Markdown file (same name, .md) with the data actually used, the protocol, the backbone and
its weights, the environment, the exact command, ours as mean ± std with tie bounds, extraction and training
times, and the published numbers, each compared only when data set, protocol and backbone all match.
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import hashing_utils as hu  # noqa: E402
from hashing_utils import experiments as hx  # noqa: E402
from hashing_utils import features as ft  # noqa: E402
from hashing_utils import protocols as P  # noqa: E402
from hashing_utils.data import class_ids  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmark import git_commit, pm  # noqa: E402

# Published numbers (from ../shared/reference/methods.md and issue 13), each with what it was measured under.
# protocol None = the source does not say which CIFAR-10 split; backbone None = not stated in our source.
PUBLISHED = [
    {"method": "greedyhash", "dataset": "cifar10", "protocol": "cifar10-1", "backbone": None, "metric": "mAP@all",
     "bits": {48: 0.817}, "source": "GreedyHash re-implemented (issue 13)"},
    {"method": "greedyhash", "dataset": "cifar10", "protocol": "cifar10-2", "backbone": None, "metric": "mAP@all",
     "bits": {48: 0.932}, "source": "GreedyHash re-implemented (issue 13)"},
    {"method": "dcwh", "dataset": "cifar10", "protocol": "cifar10-2", "backbone": None, "metric": "mAP@all",
     "bits": {16: 0.940, 24: 0.950, 32: 0.954, 48: 0.952}, "source": "DCWH paper (bit labels 12 or 16 uncertain)"},
    {"method": "orthohash", "dataset": "cifar10", "protocol": None, "backbone": None, "metric": "mAP@all",
     "bits": {64: 0.824}, "source": "OrthoHash README ('at best')"},
    {"method": "csq", "dataset": "nus-wide-21", "protocol": "nus-wide-21", "backbone": "resnet50",
     "metric": "mAP@5000", "bits": {16: 0.810, 32: 0.825, 64: 0.839}, "source": "CSQ official README"},
    {"method": "csq", "dataset": "nus-wide-21", "protocol": "nus-wide-21", "backbone": "alexnet",
     "metric": "mAP@5000", "bits": {16: 0.744, 32: 0.785, 64: 0.789}, "source": "CSQ official README"},
    {"method": "csq", "dataset": "imagenet-100", "protocol": "imagenet-100", "backbone": "resnet50",
     "metric": "mAP@1000", "bits": {16: 0.851, 32: 0.865, 64: 0.873}, "source": "CSQ official README"},
    {"method": "orthohash", "dataset": "imagenet-100", "protocol": "imagenet-100", "backbone": "alexnet",
     "metric": "mAP@1000", "bits": {16: 0.608, 32: 0.679, 64: 0.711}, "source": "OrthoHash supplement"},
    {"method": "orthohash", "dataset": "nus-wide-21", "protocol": "nus-wide-21", "backbone": "alexnet",
     "metric": "mAP@5000", "bits": {16: 0.804, 32: 0.830, 64: 0.845}, "source": "OrthoHash supplement"},
    {"method": "orthohash", "dataset": "ms-coco", "protocol": "ms-coco", "backbone": "alexnet",
     "metric": "mAP@5000", "bits": {16: 0.706, 32: 0.759, 64: 0.776}, "source": "OrthoHash supplement"},
]

COLUMNS = ["dataset", "data", "protocol", "backbone", "weights", "mode", "method", "bits", "seed", "map_protocol",
           "k", "map_all_pessimistic", "map_all_optimistic", "p_h2", "train_seconds", "encode_seconds", "device",
           "threads", "torch", "date"]


def comparison(pub: dict, ours: dict) -> str:
    """'comparable' or the reason it is not."""
    why = []
    if pub["dataset"] != ours["dataset"]:
        why.append(f"other data set ({pub['dataset']}; ours {ours['dataset']})")
    if pub["protocol"] is None:
        why.append("the source does not name its CIFAR-10 split")
    elif pub["protocol"] != ours["protocol"]:
        why.append(f"other protocol ({pub['protocol']}; ours {ours['protocol']})")
    if pub["backbone"] is None:
        why.append("backbone not stated in our source")
    elif pub["backbone"] != ours["arch"] or not ours["pretrained"]:
        why.append(f"other backbone ({pub['backbone']}; ours {ours['backbone_label']})")
    if pub["dataset"] == ours["dataset"] and ours["mode"] != "finetune":
        why.append("the paper fine-tunes; ours is frozen features")
    return "comparable" if not why else "not compared: " + "; ".join(why)


def features_of(split, backbone: str, device, times: dict):
    """(train, query, db) features of the split and the extraction seconds of the parts not read from cache."""
    if backbone == "pixels":
        return split.x_train.flatten(1), split.x_query.flatten(1), split.x_db.flatten(1)
    out = []
    for part in ("train", "query", "db"):
        info = {}
        out.append(ft.extract_features(backbone, getattr(split, f"x_{part}"), device=device, info=info))
        if not info["cached"]:
            times["extract_seconds"] += info["seconds"]
            times["extracted"] += len(getattr(split, f"x_{part}"))
        print(f"  features of {part}: {len(out[-1])} x {out[-1].shape[1]}, "
              + ("cache" if info["cached"] else f"{info['seconds']:.1f} s"), flush=True)
    return tuple(out)


def markdown(rows, args, header, command, published) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [f"# Protocol benchmark: {header['protocol']} on {header['data_short']}", "",
             f"- **data actually used**: {header['data']}",
             f"- protocol: {header['protocol_desc']}",
             f"- backbone: `{header['backbone_label']}`, mode **{args.mode}**"
             + (f", hash head `{args.head}` on " + ("the flattened pixels" if args.backbone == "pixels" else "cached features")
                if args.mode == "frozen" else
                f", backbone lr x{hu.backbones.BACKBONE_LR_MULTIPLIER}") + f", {args.epochs} epochs for trained methods",
             f"- environment: torch {header['torch']}, device {header['device']}, {header['threads']} threads; "
             f"load average at start {header['load']}",
             f"- date: {header['date']}; git commit: {header['commit']}; wall time {header['wall']:.0f} s",
             f"- feature extraction: {header['extract']}",
             f"- command: `{command}`", "",
             f"Ours: {header['k_name']} (expected ties), mean ± std over {len(args.seeds)} seed(s), "
             f"[pessimistic, optimistic] tie bounds of mAP@all; every number: {header['tag']}.", "",
             "| method | " + " | ".join(f"{b} bits" for b in args.bits) + " | train s (mean) |",
             "|---|" + "---|" * (len(args.bits) + 1)]
    for m in methods:
        cells, secs = [], []
        for b in args.bits:
            rs = [r for r in rows if r["method"] == m and r["bits"] == b]
            if not rs:
                cells.append("")
                continue
            v = np.array([r["map_protocol"] for r in rs])
            cells.append(f"{pm(v.mean(), v.std(ddof=1) if len(v) > 1 else 0.0, len(v))} "
                         f"[{np.mean([r['map_all_pessimistic'] for r in rs]):.3f}, "
                         f"{np.mean([r['map_all_optimistic'] for r in rs]):.3f}]")
            secs += [r["train_seconds"] for r in rs]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {np.mean(secs):.2f} |")
    lines += ["", "## Published numbers (with what each was measured under)", "",
              "| method | data set | protocol | backbone | metric | bits: value | source | beside ours |",
              "|---|---|---|---|---|---|---|---|"]
    for pub, verdict in published:
        vals = ", ".join(f"{b}: {v:.3f}" for b, v in pub["bits"].items())
        lines.append(f"| {pub['method']} | {pub['dataset']} | {pub['protocol'] or 'not named'} | "
                     f"{pub['backbone'] or 'not stated'} | {pub['metric']} | {vals} | {pub['source']} | {verdict} |")
    lines += ["", "A published number is put beside ours only when data set, protocol and backbone all match (and "
              "the paper's fine-tuning is matched by `--mode finetune`); otherwise the row says why it is not "
              "compared.", ""]
    return "\n".join(lines)


def measure_extraction(split, args, device, load) -> int:
    """Time extraction of N images (a batch first, untimed, to warm up) and print seconds per 10,000 images."""
    n = min(args.measure_extraction, len(split.x_train))
    x = split.x_train[:n]
    body = hu.backbones.imagenet_backbone(args.backbone)
    ft.extract_features(body, x[:8], cache=False, progress=False, device=device)
    t0 = time.perf_counter()
    ft.extract_features(body, x, cache=False, progress=False, device=device, batch_size=64)
    sec = time.perf_counter() - t0
    print(f"extraction {args.backbone} ({body.out_features}-d) on {device}, {torch.get_num_threads()} threads: "
          f"{n} images {tuple(x.shape[1:])} -> 224x224 in {sec:.1f} s = {sec / n * 1e4:.0f} s per 10,000 images "
          f"(extrapolated from {n}; load average at start {load})")
    # a hash head's training time does not depend on the feature values: time it on (n_train, F) stand-ins
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(len(split.x_train), body.out_features, generator=g)
    y = class_ids(split.y_train)
    for m in ("csq", "itq"):
        t0 = time.perf_counter()
        ft.fit_on_features(m, feats, y, bits=64, epochs=args.epochs, head=args.head, device=device)
        print(f"hash head {m} ({args.head}, 64 bits, {args.epochs} epochs) on {len(feats):,} x {body.out_features} "
              f"features: {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "fashion-mnist"])
    p.add_argument("--protocol", default="cifar10", choices=["cifar10", "cifar10-1", "cifar10-2"])
    p.add_argument("--fast", action="store_true", help="fashion-mnist only: the packaged subset, protocol x 0.1")
    p.add_argument("--root", default=None, help="cifar10: the cifar-10-batches-py folder (default: searched)")
    p.add_argument("--backbone", default="resnet50", help="alexnet | vgg16 | resnet50 | <name>-random | pixels")
    p.add_argument("--mode", default="frozen", choices=["frozen", "finetune"])
    p.add_argument("--head", default="linear", choices=["linear", "mlp"], help="frozen mode: the hash head")
    p.add_argument("--methods", nargs="+", default=["lsh", "pca", "itq", "csq", "orthohash"])
    p.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=20, help="trained methods (frozen: head epochs)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="CSV path (default benchmarks/results/protocol-<...>.csv)")
    p.add_argument("--measure-extraction", type=int, default=0, metavar="N",
                   help="only time the backbone's feature extraction on N training images (no cache) and "
                        "extrapolate to 10,000 images, then exit")
    args = p.parse_args(argv)

    for m in args.methods:
        hu.get_method(m)
    if args.backbone != "pixels" and not hu.backbones.is_imagenet_backbone(args.backbone):
        p.error(f"--backbone {args.backbone!r}: choose one of {', '.join(hu.backbones.BACKBONE_NAMES)}, pixels")
    if args.mode == "finetune" and args.backbone == "pixels":
        p.error("--mode finetune needs a CNN backbone")
    device = hu.pick_device(None if args.device == "auto" else args.device)
    command = "python benchmarks/run_protocol.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    tag = f"{args.dataset}{' fast' if args.fast else ''} / {args.protocol} / {args.backbone} / {args.mode}"
    out = Path(args.out or f"benchmarks/results/protocol-{tag.replace(' / ', '_').replace(' ', '-')}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())

    kw = {"root": args.root} if args.dataset == "cifar10" else {"fast": args.fast}
    split = hu.load_dataset(args.dataset, protocol=args.protocol, seed=args.split_seed, **kw)
    print(split.description, flush=True)
    if args.measure_extraction:
        return measure_extraction(split, args, device, load)
    start = time.perf_counter()
    times = {"extract_seconds": 0.0, "extracted": 0}
    arch = args.backbone.removesuffix("-random")
    pretrained = args.backbone != "pixels" and not args.backbone.endswith("-random")
    weights = "none" if args.backbone == "pixels" else ft.describe_backbone(args.backbone).weights_id
    if args.mode == "frozen":
        f_tr, f_q, f_db = features_of(split, args.backbone, device, times)
    y_tr = class_ids(split.y_train) if not split.multi_label else split.y_train
    hu.metrics.evaluate(torch.ones(4, 8), torch.ones(6, 8), torch.arange(4) % 2, torch.arange(6) % 2)  # warm-up
    rows = []
    for m in args.methods:
        for b in args.bits:
            for s in args.seeds:
                t0 = time.perf_counter()
                if args.mode == "frozen":
                    h = ft.fit_on_features(m, f_tr, y_tr, bits=b, seed=s, head=args.head, epochs=args.epochs,
                                           device=device)
                    t1 = time.perf_counter()
                    q, db = h.encode(f_q), h.encode(f_db)
                else:
                    h = hu.fit(m, split.x_train, y_tr, bits=b, seed=s, backbone=args.backbone, epochs=args.epochs,
                               device=device, progress=True)
                    t1 = time.perf_counter()
                    q, db = h.encode(split.x_query), h.encode(split.x_db)
                t2 = time.perf_counter()
                res = split.evaluate(q, db)
                rows.append({"dataset": args.dataset, "data": "fast subset" if args.fast else "full",
                             "protocol": split.protocol.name, "backbone": args.backbone, "weights": weights,
                             "mode": args.mode, "method": m, "bits": b, "seed": s,
                             "map_protocol": res["map_protocol"], "k": split.topk,
                             "map_all_pessimistic": res["map_all_pessimistic"],
                             "map_all_optimistic": res["map_all_optimistic"], "p_h2": res["p_h2"],
                             "train_seconds": t1 - t0, "encode_seconds": t2 - t1, "device": str(device),
                             "threads": torch.get_num_threads(), "torch": torch.__version__,
                             "date": time.strftime("%Y-%m-%d %H:%M:%S")})
                print(f"[{time.perf_counter() - start:7.1f}s] {m} {b} bits seed {s}: "
                      f"mAP@{split.topk} {res['map_protocol']:.3f} (train {t1 - t0:.1f} s)", flush=True)
    wall = time.perf_counter() - start
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    n_ext = times["extracted"]
    extract = ("none (pixels are the features)" if args.backbone == "pixels" else
               "all read from the cache" if n_ext == 0 else
               f"{n_ext:,} images in {times['extract_seconds']:.0f} s = "
               f"{times['extract_seconds'] / n_ext * 1e4:.0f} s per 10,000 images on {device}")
    if args.mode == "finetune":
        extract = "not used (fine-tune mode)"
    backbone_label = ("pixels (no CNN)" if args.backbone == "pixels" else
                      f"{args.backbone} [{weights}]" + ("" if pretrained else " — RANDOM weights: a runnable check, "
                                                        "not a result"))
    header = {"protocol": args.protocol, "data_short": args.dataset + (" (fast subset)" if args.fast else ""),
              "data": split.description + ("" if args.dataset == "cifar10" else
                                           " — NOT CIFAR-10: numbers are not comparable with CIFAR-10 papers"),
              "protocol_desc": split.protocol.describe(), "backbone_label": backbone_label,
              "torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(), "load": load,
              "date": time.strftime("%Y-%m-%d %H:%M"), "commit": git_commit(), "wall": wall, "extract": extract,
              "k_name": f"mAP@{split.topk} (= mAP@all)" if split.protocol.topk is None else f"mAP@{split.topk}",
              "tag": f"data {args.dataset}{' fast subset' if args.fast else ''}, protocol {split.protocol.name}, "
                     f"backbone {args.backbone}, {args.mode}"}
    ours = {"dataset": args.dataset, "protocol": args.protocol, "arch": arch, "pretrained": pretrained,
            "backbone_label": args.backbone, "mode": args.mode}
    published = [(pub, comparison(pub, ours)) for pub in PUBLISHED]
    md = markdown(rows, args, header, command, published)
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
