import json
import subprocess
import sys

import pytest
import torch

import hashing_utils as hu


def test_registered_methods_include_the_baselines():
    assert {"csq", "lsh"} <= set(hu.list_methods())


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


# ----------------------------------------------------------------------------- the GPU path, tested on the CPU
def _reference_fit_csq(x, y, bits, seed, epochs, batch_size=64, lr=1e-3, weight_decay=1e-5):
    """The loop as it was before data went to the device once: every minibatch copied with .to(device),
    float(loss) after every step, validation on CPU outputs. A naive copy kept here to pin the behaviour."""
    from hashing_utils.methods.base import validation_split
    from hashing_utils.models import HashingModel, make_backbone
    y = hu.data.to_multi_hot(y)
    hu.seed_everything(seed)
    x_tr, y_tr, _, _ = validation_split(x, y, 0.1, seed)
    method = hu.get_method("csq")(bits, y.shape[1], seed=seed)
    body = make_backbone(tuple(x.shape[1:]))
    model = HashingModel(body, method.make_head(body.out_features))
    method.setup(model, x_tr, y_tr, "cpu")
    opt = torch.optim.Adam(list(model.parameters()) + list(method.parameters()), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        total, batches = 0.0, 0
        for s in range(0, len(x_tr), batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2:
                continue
            loss = method.loss(model(x_tr[idx].to("cpu")), y_tr[idx].to("cpu"))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        losses.append(total / batches)     # (its validation pass, in eval mode, changes no state)
    model.eval()
    return model, losses


def test_cpu_training_is_bit_identical_to_the_per_batch_reference_loop(digits):
    h = hu.fit("csq", digits.x_train, digits.y_train, bits=32, seed=1, epochs=2, device="cpu")
    model, losses = _reference_fit_csq(digits.x_train, digits.y_train, 32, 1, 2)
    with torch.no_grad():
        ref = hu.binarize(model(digits.x_query))
    assert torch.equal(h.encode(digits.x_query), ref)
    assert h.history["loss"] == losses          # exactly: the loss is read back once per epoch, same sums


def test_data_on_device_path_equals_the_per_batch_path(digits):
    kw = dict(bits=32, seed=2, epochs=2, device="cpu")
    extra = {"csq": {}, "dcwh": {"update_every": 1}}       # dcwh: a centre update from the resident data too
    runs = {m: {flag: hu.fit(m, digits.x_train, digits.y_train, data_on_device=flag, **kw, **extra[m])
                for flag in (True, False)} for m in extra}
    for m, r in runs.items():
        assert r[True].history["data_on_device"] and not r[False].history["data_on_device"]
        assert torch.equal(r[True].encode(digits.x_db), r[False].encode(digits.x_db)), m
        assert r[True].history["loss"] == r[False].history["loss"], m
        assert r[True].history["val_map"] == r[False].history["val_map"], m


def test_encode_equals_binarised_continuous_outputs(digits):
    h = hu.fit("orthohash", digits.x_train, digits.y_train, bits=16, epochs=1)
    assert torch.equal(h.encode(digits.x_db, batch_size=100), hu.binarize(h.continuous(digits.x_db)))


@pytest.mark.parametrize("amp", [True, "float16"])
def test_mixed_precision_trains_on_the_cpu(digits, amp):
    if amp == "float16":
        try:
            with torch.autocast("cpu", dtype=torch.float16):
                torch.nn.Linear(2, 2)(torch.ones(1, 2))
        except RuntimeError:
            pytest.skip("this torch has no float16 autocast on the CPU")
    h = hu.fit("csq", digits.x_train, digits.y_train, bits=16, epochs=2, amp=amp)
    assert h.history["amp"] == ("bfloat16" if amp is True else "float16")
    assert all(torch.isfinite(torch.tensor(h.history["loss"])))
    assert h.history["loss"][-1] < h.history["loss"][0]
    b = h.encode(digits.x_query)
    assert b.dtype == torch.int8 and set(b.unique().tolist()) <= {-1, 1}
    assert all(p.dtype == torch.float32 for p in h.model.parameters())    # weights stay float32
    with pytest.raises(ValueError, match="amp must be"):
        hu.fit("csq", digits.x_train, digits.y_train, bits=16, epochs=1, amp="int8")


def test_cublas_workspace_config_is_set_before_cuda(monkeypatch):
    import os
    assert os.environ.get("CUBLAS_WORKSPACE_CONFIG") == ":4096:8"
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.warns(RuntimeWarning, match="CUBLAS_WORKSPACE_CONFIG"):
        hu.seed_everything(0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_mps_placement_turns_float64_into_float32():
    m = torch.nn.Module()
    m.register_buffer("s", torch.ones(3, dtype=torch.float64))
    hu.devices.place(m, "cpu")
    assert m.s.dtype == torch.float64            # the CPU keeps float64
    assert hu.devices.no_float64(m.s, "mps").dtype == torch.float32


def _all_on(module, kind):
    return [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.device.type != kind]


# meta tensors have no values: every code reads back alike, and the loop rightly warns of a collapse
@pytest.mark.filterwarnings("ignore:.*training collapsed:RuntimeWarning")
@pytest.mark.parametrize("name", sorted(set(hu.list_methods()) - {"dchml"}) + ["dchml"])
def test_every_method_trains_and_encodes_on_the_fake_accelerator(digits, name):
    from fake_device import DEV, FakeDevice
    batch, n = 50, 400        # no other tensor in the run has 50 rows: a per-minibatch copy would show as (50, ...)
    epochs = 3 if name == "dcwh" else 1              # dcwh updates its centres at the start of epoch 3
    with FakeDevice() as fd:
        if name == "dchml":
            tv = hu.data.load_digits_two_view()
            h = hu.fit(name, (tv.image_train[:n], tv.text_train[:n]), tv.y_train[:n], bits=16, epochs=1,
                       batch_size=batch, device=DEV, proxy_steps=5)
            b = h.encode(tv.query("image"), modality="image")
        else:
            h = hu.fit(name, digits.x_train[:n], digits.y_train[:n], bits=16, epochs=epochs, batch_size=batch,
                       device=DEV, **({"cat_iters": 5} if name == "psldh" else {}))
            b = h.encode(digits.x_query)
    if name in ("csq", "shc"):   # no read-back per step (other losses check values with bool(): not counted)
        assert sum(fd.events["SYNC"].values()) <= 12, dict(fd.events["SYNC"])
    assert not fd.events["MIXED"], dict(fd.events["MIXED"])
    assert not fd.events["NUMPY"], dict(fd.events["NUMPY"])
    assert not fd.events["F64"], dict(fd.events["F64"])
    assert not [s for s in fd.events["H2D"] if s and s[0] == batch], dict(fd.events["H2D"])   # data copied once
    assert not _all_on(h.model, "meta")
    if h.method is not None:
        assert not _all_on(h.method, "meta")
    assert b.device.type == "cpu" and b.dtype == torch.int8 and b.shape[1] == 16


# ----------------------------------------------------------------------------- bad input: clear errors
def test_nan_or_inf_in_features_is_refused_before_training(digits):
    x = digits.x_train.clone()
    x[7, 3] = float("nan")
    with pytest.raises(ValueError, match=r"X contains NaN values \(1 of \d+ rows, first row 7\)"):
        hu.fit("csq", x, digits.y_train)
    x[7, 3] = float("inf")
    with pytest.raises(ValueError, match="X contains inf values"):
        hu.fit("orthohash", x, digits.y_train)
    with pytest.raises(ValueError, match="X contains inf"):
        hu.fit("lsh", x)


@pytest.mark.parametrize("setting, value, error, message", [
    ("epochs", 0, ValueError, "epochs must be >= 1, got 0"),
    ("epochs", -3, ValueError, "epochs must be >= 1"),
    ("epochs", 2.5, TypeError, "epochs must be an integer"),
    ("batch_size", 1, ValueError, "batch_size must be >= 2"),
    ("lr", 0.0, ValueError, "lr must be a positive finite number"),
    ("weight_decay", -1e-3, ValueError, "weight_decay must be a finite number >= 0"),
])
def test_unusable_training_settings_are_refused(digits, setting, value, error, message):
    with pytest.raises(error, match=message):
        hu.fit("csq", digits.x_train, digits.y_train, **{setting: value})
    with pytest.raises(error, match=message):
        tv = hu.data.load_digits_two_view()
        hu.fit("dchml", tv.train, tv.y_train, **{setting: value})


def test_encode_checks_shape_width_and_values(digits):
    h = hu.fit("csq", digits.x_train, digits.y_train, bits=16, epochs=1)
    with pytest.raises(ValueError, match=r"x has shape \(5, 65\), but this hasher was trained on samples of "
                                         r"shape \(64\): expected \(n, 64\)"):
        h.encode(torch.rand(5, 65))
    with pytest.raises(ValueError, match=r"x must be \(n, d\) or \(n, c, h, w\); got shape \(64,\)"):
        h.encode(digits.x_query[0])
    with pytest.raises(TypeError, match="x must be a torch tensor or numpy array, got list"):
        h.encode([[0.0] * 64])
    with pytest.raises(ValueError, match="x contains NaN"):
        h.encode(torch.full((3, 64), float("nan")))
    assert torch.equal(h.encode(digits.x_query.view(-1, 1, 8, 8)), h.encode(digits.x_query))   # same values
    img = hu.fit("csq", torch.rand(40, 1, 12, 12), torch.arange(40) % 4, bits=8, epochs=1, val_fraction=0)
    with pytest.raises(ValueError, match=r"trained on samples of shape \(1, 12, 12\)"):
        img.encode(torch.rand(3, 144))
    tv = hu.data.load_digits_two_view()
    cm = hu.fit("dchml", tv.train, tv.y_train, bits=16, epochs=1, proxy_steps=5)
    with pytest.raises(ValueError, match=r"x \(text\) has shape \(2, 3\)"):
        cm.encode(torch.rand(2, 3), modality="text")


def test_labels_that_cannot_train_are_refused(digits):
    x, y = digits.x_train, digits.y_train
    with pytest.raises(ValueError, match=r"y has 10 rows but X has \d+: one label"):
        hu.fit("csq", x, y[:10])
    y0 = y.clone()
    y0[[4, 9]] = 0
    with pytest.raises(ValueError, match=r"y: 2 training rows have no label at all \(first row 4\)"):
        hu.fit("csq", x, y0)
    with pytest.raises(ValueError, match="no label at all"):
        hu.fit("shrewd", x, y0)


def test_a_single_class_training_set_warns(digits):
    with pytest.warns(UserWarning, match="the training set has a single class"):
        hu.fit("csq", digits.x_train[:100], torch.zeros(100, dtype=torch.long), bits=8, epochs=1)


@pytest.mark.parametrize("bits, error, message", [
    (0, ValueError, r"bits must be an integer >= 2 \(the code length\), got 0"),
    (1, ValueError, "bits must be an integer >= 2"),
    (-4, ValueError, "bits must be an integer >= 2"),
    (16.0, TypeError, "bits must be an integer"),
    (True, TypeError, "bits must be an integer"),
])
def test_bad_code_lengths_are_refused(digits, bits, error, message):
    with pytest.raises(error, match=message):
        hu.fit("csq", digits.x_train, digits.y_train, bits=bits)
    with pytest.raises(error, match=message):
        hu.fit("lsh", digits.x_train, bits=bits)


def test_a_code_length_a_method_cannot_honour(digits):
    x, y = digits.x_train, digits.y_train
    with pytest.raises(ValueError, match="bits=3 gives only 8 different codes, fewer than the 10 classes"):
        hu.fit("orthohash", x, y, bits=3)
    with pytest.raises(ValueError, match="bits=5 has only 10 balanced codes, fewer than the 12 classes"):
        hu.codes.csq_centres(12, 5)
    # not a power of two: CSQ falls back to balanced random centres, all different (documented in csq_centres)
    h = hu.fit("csq", x, y, bits=12, epochs=1)
    c = h.method.class_centres
    assert c.shape == (10, 12) and (c.sum(1) == 0).all() and hu.codes.min_pairwise_distance(c) > 0
    with pytest.raises(ValueError, match="bits=12: a Hadamard codebook needs a power of two"):
        hu.codes.hadamard_codebook(10, 12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: hu.load_dataset(3), TypeError, "name must be a data set name"),
    (lambda: hu.load_dataset("digits", fast="yes"), TypeError, "fast must be True or False"),
    (lambda: hu.load_dataset("digits", seed=-1), ValueError, "seed must be >= 0"),
    (lambda: hu.load_dataset("digits", seed=1.5), TypeError, "seed must be an integer"),
    (lambda: hu.data.load_digits(query_fraction=1.0), ValueError, r"query_fraction must be a number in \(0, 1\)"),
    (lambda: hu.load_dataset("digits-mosaic", n_train=0), ValueError, "n_train must be >= 1, got 0"),
    (lambda: hu.load_dataset("digits-mosaic", n_query=2.0), TypeError, "n_query must be an integer"),
    (lambda: hu.data.load_digits_two_view(noise=-1), ValueError, "noise must be a finite number >= 0"),
    (lambda: hu.load_dataset("fashion-mnist", fast=True, n_train_per_class=0), ValueError, "n_train_per_class=0"),
])
def test_loader_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- loud failure
@pytest.mark.parametrize("name", ["csq", "orthohash"])
def test_a_diverging_loss_stops_training_naming_the_epoch_and_the_setting(digits, name):
    with pytest.raises(FloatingPointError, match=r"loss became nan at epoch 1: training diverged; lower lr "
                                                 r"\(now 1e\+30\)"):
        hu.fit(name, digits.x_train, digits.y_train, bits=16, epochs=2, lr=1e30)


def test_a_diverging_cross_modal_network_is_named():
    tv = hu.data.load_digits_two_view()
    with pytest.raises(FloatingPointError, match=r"at epoch 1 \(image network\)"):
        hu.fit("dchml", tv.train, tv.y_train, bits=16, epochs=2, lr=1e30, proxy_steps=5)


def test_a_collapse_to_one_code_warns(digits):
    """The issue's example: lr=1e6 puts every item on one code with mAP at chance; it used to finish silently."""
    with pytest.warns(RuntimeWarning, match="training collapsed: every training item got the same code") as rec:
        h = hu.fit("orthohash", digits.x_train, digits.y_train, bits=16, epochs=2, lr=1e6)
    codes = h.encode(digits.x_query)
    assert bool((codes == codes[:1]).all())              # what the warning says is so
    assert "lower lr (now 1e+06)" in str(rec[0].message)


def test_chance_level_and_a_healthy_run_without_warning(digits):
    y = hu.labels.to_multi_hot(torch.arange(40) % 4)
    assert hu.training.chance_map(y, y) == pytest.approx(0.25)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        h = hu.fit("csq", digits.x_train, digits.y_train, bits=16, epochs=2)
    assert h.history["val_map"][-1] > 2 * hu.training.chance_map(digits.y_train, digits.y_train)


# ----------------------------------------------------------------------------- the command line's mistakes
def _cli(args, monkeypatch, capsys):
    """main(args) in this process with training forbidden: (exit code, stdout, stderr)."""
    from hashing_utils import __main__ as cli

    def no_training(*a, **k):
        raise AssertionError("the CLI started training")
    monkeypatch.setattr(hu, "fit", no_training)
    try:
        code = cli.main(args)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("param, message", [
    ("quant_weight=abc", "quant_weight takes a number"),
    ("quant_weight", "--param takes KEY=VALUE, got 'quant_weight'"),
    ("margin=0.3", "csq has no hyperparameter 'margin'"),
])
def test_cli_refuses_a_bad_param_before_training(param, message, monkeypatch, capsys):
    code, out, err = _cli(["train", "--method", "csq", "--param", param], monkeypatch, capsys)
    assert code == 2 and message in err and "error:" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cli_refuses_a_missing_device_without_a_traceback(monkeypatch, capsys):
    code, out, err = _cli(["train", "--method", "csq", "--device", "cuda"], monkeypatch, capsys)
    assert code == 2 and "error: --device cuda" in err and "no CUDA GPU" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_help_lists_methods_and_their_defaults(monkeypatch, capsys):
    code, out, err = _cli(["train", "--help"], monkeypatch, capsys)
    assert code == 0
    for name in hu.list_methods():
        assert f"  {name} (" in out
    assert "quant_weight = 0.0001: λ: weight of the quantisation term" in out
    assert "lsh (training-free)" in out and "dchml (trained, cross-modal)" in out
