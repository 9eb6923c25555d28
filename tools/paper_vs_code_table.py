"""Measure every recorded paper-versus-public-code difference (hashing_utils.papercode.PUBLIC_CODE) and print
the rows of the table in docs/paper-vs-code.md: method, difference, mAP@all of the paper's setting and of the
public code's, their seed-paired difference with its 95% t-interval, and the verdict.

    HASHING_OFFLINE=1 python tools/paper_vs_code_table.py            # the full-mode protocol of the notebooks
    HASHING_OFFLINE=1 python tools/paper_vs_code_table.py --fast     # the fast-mode protocol (CI-sized)

The protocols are the ones the notebooks' sections use (papercode.protocol); single-modal runs go through
the experiment cache. DCHML needs the Wikipedia file in full mode (data/ or HASHING_DATA_DIR).
"""
from __future__ import annotations

import argparse
import time

from hashing_utils import crossmodal as cm
from hashing_utils import papercode as pc


def fmt(d) -> str:
    return f"{d.mean:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="the fast-mode protocol")
    args = ap.parse_args(argv)
    print("| method | difference (switch) | protocol | paper | public code | code − paper [95% CI] | verdict |")
    print("|---|---|---|---|---|---|---|")
    paper_runs = {}
    for method, diffs in pc.PUBLIC_CODE.items():
        for diff in diffs:
            t = time.time()
            proto = pc.protocol(method, fast=args.fast)
            switch = ", ".join(f"{k}={v!r}" for k, v in diff.hparams.items())
            if method in ("dchml",):
                split = cm.load_two_view(proto["dataset"])
                r = pc.compare_cross_modal(diff.name, split, bits=proto["bits"], seeds=proto["seeds"],
                                           epochs=proto["epochs"], paper=paper_runs.get(method))
                paper_runs[method] = r["paper"]
                for direction, d in r["difference"].items():
                    paper = sum(r["paper"][direction].values()) / d.n
                    print(f"| {method} | {diff.name} (`{switch}`) | {proto['label']}, {direction} | {paper:.4f} | "
                          f"{paper + d.mean:.4f} | {fmt(d)} | {d.verdict} |", flush=True)
            else:
                r = pc.compare(method, diff.name, dataset=proto["dataset"], bits=proto["bits"], seeds=proto["seeds"],
                               epochs=proto["epochs"], fast=proto["fast"])
                d = r["difference"]
                paper = sum(r["paper"].values()) / d.n
                print(f"| {method} | {diff.name} (`{switch}`) | {proto['label']} | {paper:.4f} | {paper + d.mean:.4f} | "
                      f"{fmt(d)} | {d.verdict} |", flush=True)
            print(f"<!-- {method}: {diff.name}: {time.time() - t:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
