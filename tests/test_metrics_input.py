"""Bad input to every metric gets a clear error naming the argument; device tensors are moved to the CPU once,
explicitly, and never reach .numpy() or any other op on the device."""
import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from hashing_utils import metrics as M

Q = torch.tensor([[1, -1, 1, 1], [-1, -1, 1, 1], [1, 1, 1, -1]], dtype=torch.int8)
DB = torch.tensor([[1, -1, 1, -1], [1, 1, 1, 1], [-1, -1, -1, 1], [1, -1, -1, 1], [-1, 1, 1, 1]], dtype=torch.int8)
YQ, YDB = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2, 0, 1])

METRICS = {
    "mean_average_precision": M.mean_average_precision,
    "mean_average_precision_stable": lambda *a: M.mean_average_precision(*a, ties="stable"),
    "average_precision": M.average_precision,
    "precision_within_radius": M.precision_within_radius,
    "pr_curve_by_radius": M.pr_curve_by_radius,
    "precision_recall_at_k": lambda *a: M.precision_recall_at_k(*a, ks=[1]),
    "evaluate": lambda *a: M.evaluate(*a, topk=2),
    "distance_histograms": M.distance_histograms,
}


def check(args, error, pattern):
    for name, metric in METRICS.items():
        with pytest.raises(error, match=pattern):
            metric(*args)


def test_empty_query_or_database_set():
    check((Q[:0], DB, YQ[:0], YDB), ValueError, r"q_codes is empty \(shape \(0, 4\)\)")
    check((Q, DB[:0], YQ, YDB[:0]), ValueError, r"db_codes is empty")
    check((Q[:, :0], DB[:, :0], YQ, YDB), ValueError, r"q_codes has 0 bits")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_in_codes_and_labels(bad):
    q = Q.float().clone(); q[1, 2] = bad
    check((q, DB, YQ, YDB), ValueError, r"q_codes contains 1 NaN or infinite")
    db = DB.double().clone(); db[0, 0] = bad; db[4, 3] = bad
    check((Q, db, YQ, YDB), ValueError, r"db_codes contains 2 NaN or infinite")
    yq = YQ.float().clone(); yq[0] = bad
    check((Q, DB, yq, YDB), ValueError, r"q_labels contains 1 NaN or infinite")
    ydb = torch.eye(3)[YDB].clone(); ydb[2, 1] = bad
    check((Q, DB, torch.eye(3)[YQ], ydb), ValueError, r"db_labels contains 1 NaN or infinite")


def test_continuous_scores_instead_of_codes():
    check((torch.randn(3, 4), DB, YQ, YDB), ValueError, r"q_codes must contain only -1 and \+1")
    check((Q, np.zeros((5, 4)), YQ, YDB), ValueError, r"db_codes must contain only -1 and \+1; found 0 .*binarize")
    check((Q.bool(), DB, YQ, YDB), TypeError, r"q_codes must hold ±1 numbers")
    check(([[1, -1]], DB, YQ, YDB), TypeError, r"q_codes must be a torch tensor or numpy array")


def test_mismatched_lengths_and_widths():
    check((Q, DB, YQ[:2], YDB), ValueError, r"q_labels has 2 rows but q_codes has 3 codes")
    check((Q, DB, YQ, torch.arange(6)), ValueError, r"db_labels has 6 rows but db_codes has 5 codes")
    check((Q, torch.cat([DB, DB], 1), YQ, YDB), ValueError, r"q_codes has 4 bits but db_codes has 8")
    check((Q, DB, torch.eye(3), torch.eye(4)[YDB]), ValueError, r"q_labels has 3 classes but db_labels has 4")
    check((Q, DB, YQ, torch.eye(5)), ValueError, r"both class ids")


def test_multi_hot_query_rows_without_a_label_are_an_error():
    yq = torch.eye(3)[YQ].clone(); yq[0] = 0; yq[2] = 0
    check((Q, DB, yq, torch.eye(3)[YDB]), ValueError, r"q_labels: 2 of 3 query rows have no label at all")


def test_database_rows_without_a_label_are_never_relevant():
    ydb = torch.eye(3)[YDB].clone(); ydb[0] = 0                 # item 0 (class 0) loses its label
    got = M.average_precision(Q, DB, torch.eye(3)[YQ], ydb)
    want = M.average_precision(Q, DB, YQ, torch.tensor([7, 1, 2, 0, 1]))   # the same as a class no query has
    assert torch.allclose(got, want)


def test_query_with_no_relevant_item_gets_ap_zero_and_a_warning():
    yq = torch.tensor([0, 1, 9])                                 # class 9 is not in the database
    for name, metric in METRICS.items():
        if name in ("precision_within_radius", "distance_histograms"):
            continue                                             # no per-query AP or recall there
        with pytest.warns(RuntimeWarning, match="1 of 3 queries have no relevant item"):
            metric(Q, DB, yq, YDB)
    with pytest.warns(RuntimeWarning):
        ap = M.average_precision(Q, DB, yq, YDB)
    assert ap[2] == 0 and ap[0] > 0


# ----------------------------------------------------------------------------- device placement without a GPU
class FakeDevice(TorchFunctionMode):
    """torch's 'meta' device plays a GPU: meta tensors carry no values, so the mode keeps each one's CPU values
    and hands them out on an explicit .to('cpu') / .cpu(). It records what CUDA would reject (.numpy() on a
    device tensor) and any other op that touches a device tensor (work that would run on the device)."""

    def __init__(self):
        super().__init__()
        self.values, self.moves, self.numpy_calls, self.device_ops = {}, [], [], []

    def put(self, x: torch.Tensor) -> torch.Tensor:
        d = x.to("meta")
        self.values[id(d)] = (d, x.clone())
        return d

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        me = args[0] if args else None
        on_dev = isinstance(me, torch.Tensor) and me.device.type == "meta"
        if on_dev and func in (torch.Tensor.numpy, torch.Tensor.__array__):
            self.numpy_calls.append(func.__name__)
            raise TypeError("can't convert meta device type tensor to numpy")   # what CUDA says, with cuda
        if on_dev and func in (torch.Tensor.to, torch.Tensor.cpu):
            dev = torch.device("cpu") if func is torch.Tensor.cpu else torch._C._nn._parse_to(*args[1:], **kwargs)[0]
            if dev is not None and dev.type == "cpu":
                self.moves.append(tuple(me.shape))
                return self.values[id(me)][1].clone()
        if getattr(func, "__name__", "") != "__get__":            # shape, dtype, device ... are fine
            flat = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
            if any(a.device.type == "meta" for a in flat):
                self.device_ops.append(getattr(func, "__qualname__", str(func)))
        return func(*args, **kwargs)


@pytest.mark.parametrize("multi", [False, True])
def test_device_tensors_are_moved_to_the_cpu_once_and_never_numpy(multi):
    yq, ydb = (torch.eye(3)[YQ], torch.eye(3)[YDB]) if multi else (YQ, YDB)
    for name, metric in METRICS.items():
        want = metric(Q, DB, yq, ydb)
        mode = FakeDevice()
        args = [mode.put(x) for x in (Q, DB, yq, ydb)]
        with mode:
            got = metric(*args)
        assert mode.numpy_calls == [] and mode.device_ops == [], (name, mode.numpy_calls, mode.device_ops)
        assert sorted(mode.moves) == sorted(tuple(x.shape) for x in (Q, DB, yq, ydb)), name   # each input once
        if isinstance(want, tuple):
            assert all(torch.equal(a, b) for a, b in zip(want, got)), name
        elif isinstance(want, dict):
            assert all(np.allclose(want[k], got[k]) for k in want), name
        elif isinstance(want, torch.Tensor):
            assert torch.equal(want, got), name
        else:
            assert want == got, name
