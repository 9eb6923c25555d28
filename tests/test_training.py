import json
import subprocess
import sys

import pytest
import torch

import hashing_utils as hu


def test_registered_methods_include_the_baselines():
    assert {"csq", "lsh"} <= set(hu.methods())


def test_csq_on_held_out_digits_beats_lsh_by_far(digits):
    y = digits.y_train.argmax(1)
    csq = hu.fit("csq", digits.x_train, y, bits=32, seed=0, epochs=25)
    lsh = hu.fit("lsh", digits.x_train, bits=32, seed=0)
    m_csq = hu.metrics.mean_average_precision(csq.encode(digits.x_query), csq.encode(digits.x_db),
                                              digits.y_query, digits.y_db)
    m_lsh = hu.metrics.mean_average_precision(lsh.encode(digits.x_query), lsh.encode(digits.x_db),
                                              digits.y_query, digits.y_db)
    assert m_csq >= 0.93
    assert m_lsh < m_csq - 0.2
    assert len(csq.history["val_map"]) == 25          # validation carved from training data, every epoch


def test_same_seed_same_codes_on_cpu(digits):
    kw = dict(bits=16, epochs=2, device="cpu")
    a = hu.fit("csq", digits.x_train, digits.y_train, seed=3, **kw).encode(digits.x_query)
    b = hu.fit("csq", digits.x_train, digits.y_train, seed=3, **kw).encode(digits.x_query)
    c = hu.fit("csq", digits.x_train, digits.y_train, seed=4, **kw).encode(digits.x_query)
    assert a.dtype == torch.int8 and set(a.unique().tolist()) == {-1, 1}
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_fit_rejects_bad_input(digits):
    x, y = digits.x_train, digits.y_train
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        hu.fit("nope", x, y)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hu.fit("csq", x, y, margin=0.3)
    with pytest.raises(ValueError, match="rows"):
        hu.fit("csq", x, y[:10])
    with pytest.raises(ValueError, match="supervised"):
        hu.fit("csq", x, None)
    with pytest.raises(ValueError, match="bits"):
        hu.fit("csq", x, y, bits=0)
    with pytest.raises(ValueError, match="images"):
        hu.fit("csq", x, y, backbone="cnn")


def test_image_inputs_use_the_cnn_and_train():
    x = torch.rand(64, 1, 28, 28)
    y = torch.arange(64) % 4
    h = hu.fit("csq", x, y, bits=8, epochs=1, val_fraction=0)
    assert isinstance(h.model.backbone, hu.models.SmallCNN)
    assert h.encode(x[:5]).shape == (5, 8)


def test_cli_prints_one_json_object():
    out = subprocess.run([sys.executable, "-m", "hashing_utils", "train", "--method", "lsh", "--dataset", "digits",
                          "--bits", "16", "--json"], capture_output=True, text=True, check=True).stdout
    rep = json.loads(out)
    assert rep["method"] == "lsh" and rep["bits"] == 16 and 0 < rep["map_all"] < 1
    bad = subprocess.run([sys.executable, "-m", "hashing_utils", "train", "--method", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown method" in bad.stderr
