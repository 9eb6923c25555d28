"""The logic of benchmarks/gpu_check.py, on the CPU (the check itself needs a GPU)."""
import csv
import importlib.util
from pathlib import Path

import pytest
import torch

import hashing_utils as hu

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_without_an_accelerator_it_says_so_in_one_line_and_exits_0(gpu_check, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hu.devices, "mps_available", lambda: False)
    assert gpu_check.main(["--out", str(tmp_path / "g.csv")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no accelerator" in out[0]
    assert not (tmp_path / "g.csv").exists()


def test_with_the_cpu_standing_in_the_table_has_every_column(gpu_check, tmp_path):
    out = tmp_path / "g.csv"
    assert gpu_check.main(["--device", "cpu", "--methods", "csq,lsh", "--epochs", "1", "--small",
                           "--no-amp", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == gpu_check.COLUMNS
    assert [r["method"] for r in rows] == ["csq", "lsh"]
    for r in rows:
        # CPU against CPU with the same seed: bit-identical codes, so the same metrics and a repeat that agrees
        assert float(r["delta_map"]) == 0.0 and r["within_tolerance"] == "True"
        assert float(r["bits_equal_share"]) == 1.0 and r["acc_repeat_identical"] == "True"
        assert 0 < float(r["map_cpu"]) < 1 and float(r["throughput_ratio"]) > 0
    md = out.with_suffix(".md").read_text()
    assert "| csq |" in md and "2 of 2 methods within" in md and "CPU standing in" in md


def test_unknown_method_fails_before_training(gpu_check, tmp_path):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        gpu_check.main(["--device", "cpu", "--methods", "csq,nope", "--out", str(tmp_path / "g.csv")])
