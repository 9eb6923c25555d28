"""The shape of hashing_utils: one training loop, one owner per concept, methods that say what they are."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hashing_utils as hu
from hashing_utils import experiments as hx
from hashing_utils.methods import REGISTRY, TrainedMethod, TrainingFreeMethod

PACKAGE = Path(hu.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _calls_and_loops(path: Path):
    """(.backward( calls, for-loops over anything named *epoch*, torch.optim uses) in one source file."""
    tree = ast.parse(path.read_text(), str(path))
    backward, epoch_loops, optim = [], [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "backward":
            backward.append(node.lineno)
        # an epoch loop: `for epoch in ...`, or a loop over range(...)/tqdm(...) of something named *epoch*
        if isinstance(node, (ast.For, ast.AsyncFor)) and (
                "epoch" in ast.unparse(node.target).lower()
                or isinstance(node.iter, ast.Call) and "epoch" in ast.unparse(node.iter).lower()):
            epoch_loops.append(node.lineno)
        if isinstance(node, ast.Attribute) and ast.unparse(node).startswith("torch.optim."):
            optim.append(node.lineno)
    return backward, epoch_loops, optim


def test_the_scan_finds_what_it_looks_for(tmp_path):
    src = ("import torch\nfor epoch in range(3):\n    loss.backward()\nopt = torch.optim.SGD(p, lr=1)\n"
           "for _ in range(h['classifier_epochs']):\n    pass\nfor name in ('epochs', 'lr'):\n    pass\n")
    probe = tmp_path / "probe.py"
    probe.write_text(src)
    assert _calls_and_loops(probe) == ([3], [2, 5], [4])


def test_one_training_loop():
    """No epoch loop, .backward() or optimiser anywhere in the package outside training.py (THE loop)."""
    found = {}
    for path in SOURCES:
        if path.name == "training.py" and path.parent == PACKAGE:
            continue
        backward, epochs, optim = _calls_and_loops(path)
        if backward or epochs or optim:
            found[str(path.relative_to(PACKAGE))] = {"backward": backward, "epoch loops": epochs, "optim": optim}
    assert not found, found
    backward, epochs, _ = _calls_and_loops(PACKAGE / "training.py")
    assert backward and len(epochs) == 1          # the loop is there, once


def test_one_binarisation_and_one_label_converter():
    """sgn with 0 -> +1 is codes.binarize; ids <-> multi-hot is labels.py: no inline copies elsewhere."""
    sign = re.compile(r"torch\.where\([^,]*>=\s*0\s*,\s*1|torch\.sign\(|\.sign\(\)")
    one_hot = re.compile(r"one_hot\(")
    for path in SOURCES:
        text = path.read_text()
        if path.name != "codes.py":
            assert not sign.search(text), f"{path.name}: an inline sign function; use codes.binarize"
        if path.name not in ("labels.py", "hierarchy.py"):
            # hierarchy's one_hot builds a count matrix
            assert not one_hot.search(text), f"{path.name}: an inline label converter; use hashing_utils.labels"


def test_child_seeds_come_from_one_table():
    assert hu.devices.child_seed(5, "validation split") == 5 + 10_007
    assert hu.devices.child_seed(0, "dchml proxies") == 7_919
    with pytest.raises(KeyError, match="unknown seed purpose"):
        hu.devices.child_seed(0, "nope")
    offset = re.compile(r"seed\s*\+\s*\d")
    for path in sorted((PACKAGE / "methods").glob("*.py")) + [PACKAGE / "training.py"]:
        assert not offset.search(path.read_text()), f"{path.name}: an ad-hoc seed offset; use devices.child_seed"


def test_importing_a_method_module_works():
    """hu.list_methods() is a function of its own: the methods subpackage is not shadowed."""
    out = subprocess.run([sys.executable, "-c", "import hashing_utils.methods.csq as m; import hashing_utils as hu; "
                          "print(m.CSQ.name, hu.methods.__name__)"], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.split() == ["csq", "hashing_utils.methods"]


def test_methods_state_their_kind_and_register_explicitly():
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert cls.trainable == issubclass(cls, TrainedMethod) != issubclass(cls, TrainingFreeMethod)
        assert set(cls.hparam_docs) == set(cls.defaults), name        # one line of meaning per hyperparameter
        assert all(isinstance(v, str) and v for v in cls.hparam_docs.values())
    assert hu.list_methods(trainable=False) == ["itq", "lsh", "pca"]
    assert hu.list_methods(cross_modal=True) == ["dchml"] == list(hx.CROSS_MODAL)
    assert not any(REGISTRY[m].supervised for m in hu.list_methods(trainable=False))
    # the classifier reference has its name in its class body and is not registered
    assert hx.ClassifierAsHash.name == "classifier" == hx.CLASSIFIER and "classifier" not in REGISTRY
    assert hx.benchmark_methods() == hu.list_methods(cross_modal=False) + ["classifier"]

    class Unregistered(TrainedMethod):
        name = "unregistered-probe"
    assert "unregistered-probe" not in hu.list_methods()
    with pytest.raises(ValueError, match="hparam_docs has no line"):
        hu.methods.register(type("Undocumented", (TrainedMethod,), {"name": "undocumented", "defaults": {"a": 1}}))
    with pytest.raises(ValueError, match="registered already"):
        hu.methods.register(type("Twin", (TrainedMethod,), {"name": "csq"}))


def test_method_docs_give_every_setting_a_meaning():
    docs = hu.method_docs("psldh")
    assert set(docs) == set(hu.method_defaults("psldh"))
    assert docs["mu"][0] == 0.2 and "margin" in docs["mu"][1]
    assert "weight" in hu.method_docs("dchml")["coupling_weight"][1]      # the same letter, another meaning
    assert hu.method_docs("lsh") == {}


def test_training_free_methods_do_not_train():
    """They take the loop's settings and ignore them; the experiment cache leaves them out of the key."""
    x = torch.rand(50, 8)
    a = hu.fit("pca", x, bits=4, epochs=3, lr=0.5)
    b = hu.fit("pca", x, bits=4)
    assert torch.equal(a.encode(x), b.encode(x)) and a.settings == b.settings
    assert not isinstance(a.method, TrainedMethod)
    with pytest.raises(TypeError, match="unknown argument"):
        hu.fit("lsh", x, bits=4, quant_weight=1.0)


def test_one_category_network_for_psldh_and_dchml():
    from hashing_utils.methods.dchml import train_proxy_codes
    from hashing_utils.methods.psldh import fit_category_codes
    assert hu.losses.proxy_code_loss is hu.losses.category_code_loss
    proxies, losses = train_proxy_codes(6, 8, seed=2, steps=30)
    codes, history = fit_category_codes(6, 8, iters=30, seed=hu.devices.child_seed(2, "dchml proxies"),
                                        return_history=True)
    assert torch.equal(proxies, codes.float()) and losses == history and len(losses) == 30
    assert losses[-1] < losses[0]
