"""Command line:
    python -m hashing_utils train --method csq --dataset digits --bits 32 --seed 0 --json
    python -m hashing_utils download wikipedia|fashion-mnist|all [--dir FOLDER] [--force] [--archive FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time


class UsageError(Exception):
    """A mistake on the command line: reported as one 'error:' line, exit code 2, before any training."""


def _value(text: str):
    """--param key=value: numbers become numbers, true/false booleans, none None."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_params(items, method: str) -> dict:
    """The --param KEY=VALUE items as {key: value}, each checked against the method's hyperparameters and
    the type of its default (UsageError naming the item otherwise)."""
    import hashing_utils as hu
    defaults = hu.get_method(method).defaults
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--param takes KEY=VALUE, got {item!r}")
        k, text = item.split("=", 1)
        if k not in defaults:
            raise UsageError(f"--param {item}: {method} has no hyperparameter {k!r}; it takes "
                             f"{', '.join(sorted(defaults)) or 'none'}")
        default, v = defaults[k], _value(text)
        if isinstance(default, tuple):
            try:
                v = tuple(int(p) for p in text.split(",") if p.strip())
            except ValueError:
                raise UsageError(f"--param {item}: {k} takes comma-separated integers, e.g. {k}=512,256") from None
        elif isinstance(default, bool):
            if not isinstance(v, bool):
                raise UsageError(f"--param {item}: {k} takes true or false (default {default})")
        elif isinstance(default, (int, float)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UsageError(f"--param {item}: {k} takes a number (default {default})")
        out[k] = v
    return out


def check_device(name):
    """The --device value as a torch device that exists here (UsageError otherwise)."""
    from hashing_utils.devices import pick_device
    try:
        return pick_device(name)
    except RuntimeError as e:
        raise UsageError(f"--device {name}: {str(e).splitlines()[0]}") from None


def run_train(args) -> dict:
    import torch

    import hashing_utils as hu
    from hashing_utils.labels import class_ids

    if args.method not in hu.list_methods():
        raise UsageError(f"unknown method {args.method!r}; choose one of {', '.join(hu.list_methods())}")
    hparams = parse_params(args.param, args.method)
    device = check_device(args.device) if args.device is not None else None
    split = hu.load_dataset(args.dataset, fast=args.fast, seed=args.split_seed)
    extra = {k: v for k, v in dict(epochs=args.epochs, device=device, backbone=args.backbone).items()
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


def methods_help() -> str:
    """Every method with its settings, defaults and one line of meaning each (train --help's epilog)."""
    import hashing_utils as hu
    lines = ["methods (--method) and their settings (--epochs, or --param KEY=VALUE for the rest):"]
    for name in hu.list_methods():
        cls = hu.get_method(name)
        kind = "trained" if cls.trainable else "training-free"
        lines.append(f"  {name} ({kind}{', cross-modal' if cls.cross_modal else ''}): {cls.summary}")
        for k, (default, meaning) in hu.method_docs(name).items():
            lines.append(f"      {k} = {default!r}: {meaning}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hashing_utils", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    import hashing_utils as hu
    t = sub.add_parser("train", help="train one method on one data set and report retrieval metrics",
                       epilog=methods_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--method", required=True, metavar="{" + ",".join(hu.list_methods()) + "}",
                   help="the method (its settings are listed below)")
    t.add_argument("--dataset", default="digits")
    t.add_argument("--bits", type=int, default=32)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--split-seed", type=int, default=0, help="seed of the train/query/database split")
    t.add_argument("--epochs", type=int, help="passes over the training data (default: the method's, below)")
    t.add_argument("--device", help="cpu, cuda, mps, ... (default: cuda, then mps, then cpu)")
    t.add_argument("--backbone", help="auto (default), mlp, cnn, or a pretrained backbone name")
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
        for name in hu.list_methods():
            print(f"{name:10s} {hu.get_method(name).summary}")
        return 0
    try:
        result = run_train(args)
    except (UsageError, ValueError, TypeError, FileNotFoundError, FloatingPointError) as e:
        print(f"{p.prog} train: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:22s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
