"""Command line:
    python -m hashing_utils train --method csq --dataset digits --bits 32 --seed 0 --json
    python -m hashing_utils download wikipedia|fashion-mnist|all [--dir FOLDER] [--force] [--archive FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def _value(text: str):
    """--param key=value: numbers become numbers."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def run_train(args) -> dict:
    import torch

    import hashing_utils as hu
    from hashing_utils.data import class_ids

    split = hu.load_dataset(args.dataset, fast=args.fast, seed=args.split_seed)
    hparams = {}
    for item in args.param or []:
        if "=" not in item:
            raise SystemExit(f"--param takes key=value, got {item!r}")
        k, v = item.split("=", 1)
        hparams[k] = _value(v)
    extra = {k: v for k, v in dict(epochs=args.epochs, device=args.device, backbone=args.backbone).items()
             if v is not None}
    y_train = split.y_train if split.multi_label else class_ids(split.y_train)
    start = time.perf_counter()
    hasher = hu.fit(args.method, split.x_train, y_train, bits=args.bits, seed=args.seed,
                    progress=not args.json, **extra, **hparams)
    seconds = time.perf_counter() - start
    report = hasher.evaluate(split.x_query, split.y_query, split.x_db, split.y_db, topk=args.topk)
    return {"method": args.method, "dataset": args.dataset, "fast": args.fast, "bits": args.bits, "seed": args.seed,
            **{k: round(v, 6) for k, v in report.items()}, "train_seconds": round(seconds, 3),
            "n_train": len(split.x_train), "n_query": len(split.x_query), "n_db": len(split.x_db),
            "device": str(hasher.device), "torch": torch.__version__, "settings": hasher.settings}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hashing_utils", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one method on one data set and report retrieval metrics")
    t.add_argument("--method", required=True)
    t.add_argument("--dataset", default="digits")
    t.add_argument("--bits", type=int, default=32)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--split-seed", type=int, default=0, help="seed of the train/query/database split")
    t.add_argument("--epochs", type=int)
    t.add_argument("--device")
    t.add_argument("--backbone")
    t.add_argument("--topk", type=int, default=1000, help="K of the mAP@K column")
    t.add_argument("--fast", action="store_true", help="the smaller fast-mode split")
    t.add_argument("--param", action="append", metavar="KEY=VALUE", help="a method hyperparameter (repeatable)")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("methods", help="list the registered methods")
    d = sub.add_parser("download", help="fetch a full data set from its original release, verified by SHA-256")
    d.add_argument("name", choices=["wikipedia", "fashion-mnist", "all"])
    d.add_argument("--dir", help="data folder to write into (default: the project's data/); Fashion-MNIST always "
                                 "goes to the project's data/ through torchvision")
    d.add_argument("--force", action="store_true", help="fetch again even if the file is there")
    d.add_argument("--archive", help="Wikipedia: a copy of the release archive fetched by hand (verified and "
                                     "converted like a download)")
    args = p.parse_args(argv)

    if args.command == "download":
        from hashing_utils.download import DownloadError, download
        try:
            download(args.name, data_dir=args.dir, force=args.force, archive=args.archive)
        except (DownloadError, FileNotFoundError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0

    if args.command == "methods":
        import hashing_utils as hu
        for name in hu.methods():
            print(f"{name:10s} {hu.get_method(name).summary}")
        return 0
    try:
        result = run_train(args)
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:22s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
