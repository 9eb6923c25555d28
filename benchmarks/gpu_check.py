"""GPU check: every registered method trained on the CPU and on the first accelerator found (cuda, then mps),
same seed, same data; metrics side by side, training throughput ratio, peak accelerator memory.

    python benchmarks/gpu_check.py                      # 32 bits, 10 epochs, every method
    python benchmarks/gpu_check.py --methods csq,lsh --epochs 2 --device cpu     # the logic, with no GPU

Data: the Fashion-MNIST fast split shipped in the package (hu.load_dataset("fashion-mnist", fast=True):
900 training + 100 validation images, 200 queries, a 5,000-image database); DCHML, the cross-modal method,
on the two-view digits (hu.data.load_digits_two_view()). With no accelerator it prints one line and exits 0.
`--device cpu` makes the CPU stand in for the accelerator (the smoke test in `make test` does this).

Tolerance: |ΔmAP@all| <= 0.02 between the CPU and the accelerator run. The two runs share the initial
weights (drawn on the CPU), the minibatch order (a CPU generator) and the codebooks; they differ in the
dropout masks (drawn from the device's generator), in float rounding (other reduction orders, cuDNN's
convolution algorithms and TF32) and so in every step after the first. They are therefore two nearly
equal runs, closer than two seeds: the seed-to-seed standard deviation of mAP@all at 32 bits is
0.005-0.013 for the trained methods (benchmarks/results/fashion-mnist.md), so a gap above 0.02 (1.5x the
largest) points to a device bug rather than noise. LSH trains nothing and should agree to rounding.
Throughput ratio = CPU seconds / accelerator seconds of the same hu.fit (setup stages included), after a
synchronise. Results: benchmarks/results/gpu-check.csv and .md (written after every method, so a run cut
short keeps what it finished).
"""
from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

import hashing_utils as hu  # noqa: E402

TOLERANCE = 0.02
OUT = Path(__file__).resolve().parent / "results" / "gpu-check.csv"
COLUMNS = ["method", "data", "bits", "epochs", "map_cpu", "map_acc", "delta_map", "within_tolerance",
           "map_1000_cpu", "map_1000_acc", "p_h2_cpu", "p_h2_acc", "bits_equal_share", "train_s_cpu",
           "train_s_acc", "throughput_ratio", "peak_mem_mib", "acc_repeat_identical", "map_acc_amp",
           "train_s_acc_amp", "amp_dtype"]


def find_accelerator() -> torch.device | None:
    """cuda if torch sees a GPU, then mps, else None."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hu.devices.mps_available():
        return torch.device("mps")
    return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    if device.type == "mps":      # no peak counter on MPS: what the driver holds after the fit
        return torch.mps.driver_allocated_memory() / 2 ** 20
    return None


def load(method: str):
    """(X_train, y_train, encode_and_evaluate(hasher) -> (metrics, query codes), data name) for a method."""
    if hu.get_method(method).cross_modal:
        tv = hu.data.load_digits_two_view()

        def run(h):
            q = h.encode(tv.query("image"), modality="image")
            return h.evaluate(tv.query("image"), tv.y_query, tv.db("text"), tv.y_db, query_modality="image",
                              db_modality="text"), q
        return tv.train, tv.y_train, run, "digits-two-view (image->text)"
    s = _fashion()

    def run(h):
        q = h.encode(s.x_query)
        return hu.metrics.evaluate(q, h.encode(s.x_db), s.y_query, s.y_db), q
    return s.x_train, s.y_train, run, "fashion-mnist fast"


_FASHION = {}
SMALL = {"n_train_per_class": 20, "n_query_per_class": 5, "n_db": 300}    # --small: for the smoke test only
DATA = {"small": False}


def _fashion():
    key = DATA["small"]
    if key not in _FASHION:
        _FASHION[key] = hu.load_dataset("fashion-mnist", fast=True, **(SMALL if key else {}))
    return _FASHION[key]


def fit_timed(method, x, y, bits, seed, epochs, device, **kw):
    sync(device)
    start = time.perf_counter()
    h = hu.fit(method, x, y, bits=bits, seed=seed, epochs=epochs, device=device, **kw)
    sync(device)
    return h, time.perf_counter() - start


def warm_up(device: torch.device) -> None:
    """One tiny fit and encode on the CPU and on `device`, untimed: library loading, CUDA context and cuDNN
    start-up would otherwise be charged to the first method."""
    s = _fashion()
    for dev in {torch.device("cpu"), device}:
        h = hu.fit("csq", s.x_train[:64], s.y_train[:64], bits=16, epochs=1, device=dev, val_fraction=0)
        hu.metrics.evaluate(h.encode(s.x_query[:32]), h.encode(s.x_db[:64]), s.y_query[:32], s.y_db[:64])
        sync(dev)


def trains_with_the_shared_loop(method: str) -> bool:
    """True for methods trained by training.train_model (their `trainable` flag), where amp applies."""
    return hu.get_method(method).trainable


def check_method(method: str, device: torch.device, bits: int = 32, epochs: int = 10, seed: int = 0,
                 repeat: bool = True, amp: bool = True) -> dict:
    """One row: the method trained on the CPU and on `device` with the same seed."""
    x, y, run, data = load(method)
    y = None if not hu.get_method(method).supervised else y
    cpu = torch.device("cpu")
    h_cpu, s_cpu = fit_timed(method, x, y, bits, seed, epochs, cpu)
    m_cpu, q_cpu = run(h_cpu)
    reset_peak(device)
    h_acc, s_acc = fit_timed(method, x, y, bits, seed, epochs, device)
    m_acc, q_acc = run(h_acc)
    row = {"method": method, "data": data, "bits": bits, "epochs": epochs, "map_cpu": m_cpu["map_all"],
           "map_acc": m_acc["map_all"], "delta_map": m_acc["map_all"] - m_cpu["map_all"],
           "map_1000_cpu": m_cpu["map_1000"], "map_1000_acc": m_acc["map_1000"], "p_h2_cpu": m_cpu["p_h2"],
           "p_h2_acc": m_acc["p_h2"], "bits_equal_share": float((q_cpu == q_acc).float().mean()),
           "train_s_cpu": s_cpu, "train_s_acc": s_acc, "throughput_ratio": s_cpu / s_acc if s_acc > 0 else None,
           "peak_mem_mib": peak_mib(device)}
    row["within_tolerance"] = abs(row["delta_map"]) <= TOLERANCE
    if repeat:     # determinism on the device: a second run with the same seed gives the same codes
        h_again, _ = fit_timed(method, x, y, bits, seed, epochs, device)
        row["acc_repeat_identical"] = bool(torch.equal(run(h_again)[1], q_acc))
    if amp and trains_with_the_shared_loop(method):   # lsh, pca, itq train nothing
        h_amp, s_amp = fit_timed(method, x, y, bits, seed, epochs, device, amp=True)
        row["map_acc_amp"], row["train_s_acc_amp"] = run(h_amp)[0]["map_all"], s_amp
        row["amp_dtype"] = h_amp.history.get("amp")
    return row


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return f"{p.name} ({p.total_memory / 2 ** 30:.0f} GiB), CUDA {torch.version.cuda}"
    return "CPU standing in for the accelerator" if device.type == "cpu" else device.type


def fmt(v, digits=3):
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def write(rows: list, path: Path, device: torch.device, command: str, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in COLUMNS})
    ok = sum(bool(r["within_tolerance"]) for r in rows)
    lines = [
        "# GPU check: CPU vs accelerator, same seed",
        "",
        f"- accelerator: {describe(device)}; CPU: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads; torch {torch.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: `{command}`",
        f"- whole check: {seconds:.0f} s; {ok} of {len(rows)} methods within |ΔmAP@all| <= {TOLERANCE}",
        "- throughput ratio = CPU time / accelerator time of the same hu.fit; peak memory: "
        "torch.cuda.max_memory_allocated during the accelerator fit",
        "",
        "| method | data | mAP@all CPU | mAP@all acc. | Δ | within | equal bits | train s CPU | train s acc. "
        "| ratio | peak MiB | repeat equal | mAP amp | train s amp |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join([
            r["method"], r["data"], fmt(r["map_cpu"]), fmt(r["map_acc"]), f"{r['delta_map']:+.3f}",
            fmt(r["within_tolerance"]), fmt(r["bits_equal_share"]), fmt(r["train_s_cpu"], 1),
            fmt(r["train_s_acc"], 1), fmt(r["throughput_ratio"], 1), fmt(r["peak_mem_mib"], 0),
            fmt(r.get("acc_repeat_identical")), fmt(r.get("map_acc_amp")), fmt(r.get("train_s_acc_amp"), 1),
        ]) + " |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default=None, help="the accelerator to check (default: cuda, then mps); "
                                                  "'cpu' to run the logic with the CPU standing in")
    p.add_argument("--methods", default="all", help="comma-separated names, or all (hu.list_methods())")
    p.add_argument("--bits", type=int, default=32)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-repeat", action="store_true", help="skip the second accelerator run (determinism)")
    p.add_argument("--no-amp", action="store_true", help="skip the amp=True accelerator run")
    p.add_argument("--small", action="store_true", help="a 200-image training set and 300-image database "
                                                        "(to test this script quickly, not to judge a device)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    DATA["small"] = a.small
    device = torch.device(a.device) if a.device else find_accelerator()
    if device is None:
        print("gpu_check: no accelerator (no CUDA GPU, no Apple MPS) on this machine; nothing to check")
        return 0
    methods = hu.list_methods() if a.methods == "all" else [m.strip() for m in a.methods.split(",") if m.strip()]
    for m in methods:
        hu.get_method(m)              # an unknown name fails now, not after an hour of training
    command = "python benchmarks/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:])
    start, rows = time.perf_counter(), []
    print(f"gpu_check on {describe(device)}: {', '.join(methods)} at {a.bits} bits, {a.epochs} epochs", flush=True)
    warm_up(device)
    for m in methods:
        row = check_method(m, device, a.bits, a.epochs, a.seed, repeat=not a.no_repeat, amp=not a.no_amp)
        rows.append(row)
        write(rows, a.out, device, command, time.perf_counter() - start)
        print(f"  {m}: mAP cpu {row['map_cpu']:.3f} acc {row['map_acc']:.3f} (Δ {row['delta_map']:+.3f}), "
              f"train {row['train_s_cpu']:.1f} s / {row['train_s_acc']:.1f} s", flush=True)
    total = time.perf_counter() - start
    write(rows, a.out, device, command, total)
    print(f"gpu_check: {sum(bool(r['within_tolerance']) for r in rows)} of {len(rows)} within "
          f"{TOLERANCE}; {total:.0f} s; {a.out} and {a.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
