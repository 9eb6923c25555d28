"""ImageNet backbones (random weights: nothing downloads), their lower fine-tuning learning rate, the clear
error when weights are missing offline, and frozen-feature extraction with its cache."""
import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import backbones as bb
from hashing_utils import features as ft


@pytest.fixture
def offline_empty_hub(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    return tmp_path / "torch" / "hub" / "checkpoints"


def _tiny(n=4, c=1, size=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g), torch.arange(n) % 2


def test_imagenet_input_resizes_and_normalises():
    t = bb.ImageNetInput()
    x = torch.full((2, 1, 10, 10), 0.5)
    out = t(x)
    assert out.shape == (2, 3, 224, 224)
    want = (0.5 - torch.tensor(bb.IMAGENET_MEAN)) / torch.tensor(bb.IMAGENET_STD)
    assert torch.allclose(out[:, :, 100, 37], want.expand(2, 3), atol=1e-6)
    with pytest.raises(ValueError, match="1 or 3"):
        t(torch.rand(2, 2, 8, 8))


def _moved(after, before):
    return max(float((a.detach() - b).abs().max()) for a, b in zip(after, before))


@pytest.mark.parametrize("by_name", [True, False])
def test_fit_fine_tunes_with_a_tenth_of_the_learning_rate(by_name):
    # backbone="resnet50-random" by name, or a ready AlexNet module passed as backbone=
    x, y = _tiny(2)
    lr = 1e-3
    body = None if by_name else bb.imagenet_backbone("alexnet-random")
    before = [p.detach().clone() for p in (bb.imagenet_backbone("resnet50-random") if by_name else body).parameters()]
    h = hu.fit("csq", x, y, bits=8, seed=0, backbone="resnet50-random" if by_name else body, epochs=1,
               batch_size=2, lr=lr, weight_decay=0.0, val_fraction=0.0)
    trained = h.model.backbone
    assert isinstance(trained, bb.ImageNetBackbone) and trained.lr_multiplier == 0.1
    assert trained.out_features == (2048 if by_name else 4096) and (by_name or trained is body)
    codes = h.encode(x)
    assert codes.shape == (2, 8) and set(codes.unique().tolist()) <= {-1, 1}
    # Adam's first step moves every parameter with a non-zero gradient by its group's lr (m/sqrt(v) = ±1):
    # the backbone by 0.1 x lr, the hash head by lr
    assert _moved(trained.parameters(), before) == pytest.approx(0.1 * lr, rel=0.02)
    groups = hu.training._param_groups(h.model, h.method, lr)
    assert groups[0]["lr"] == pytest.approx(0.1 * lr) and "lr" not in groups[1]
    assert sum(p.numel() for p in groups[0]["params"]) == sum(p.numel() for p in trained.parameters())
    assert not any(p is q for p in groups[1]["params"] for q in groups[0]["params"])


def test_vgg16_one_step():
    # VGG-16 is heavy on a CPU: two images, one step, at a reduced input size (the 224 resize is tested above)
    body = bb.imagenet_backbone("vgg16-random", input_size=32)
    x, y = _tiny(2, 3)
    h = hu.fit("csq", x, y, bits=8, seed=0, backbone=body, epochs=1, batch_size=2, val_fraction=0.0)
    assert h.encode(x).shape == (2, 8) and body.out_features == 4096


def test_random_weights_depend_on_the_seed_only():
    a, b = bb.imagenet_backbone("resnet50-random"), bb.imagenet_backbone("resnet50-random")
    c = bb.imagenet_backbone("resnet50-random", seed=1)
    pa, pb, pc = (m.net.conv1.weight for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert a.weights_id == "random(seed=0)"


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet50"])
def test_missing_weights_offline_is_a_clear_error(offline_empty_hub, name):
    with pytest.raises(bb.WeightsMissingError) as e:
        bb.imagenet_backbone(name)
    msg = str(e.value)
    assert "TORCH_HOME" in msg and str(offline_empty_hub) in msg and "weights=" in msg and "-random" in msg
    with pytest.raises(FileNotFoundError, match="missing"):
        hu.fit("csq", *_tiny(), bits=8, backbone=name, epochs=1)


def test_cached_weights_are_loaded(offline_empty_hub):
    # a weights file where torch looks (here random ResNet-50 weights saved under the official file name)
    import torchvision
    torch.manual_seed(3)
    ref = torchvision.models.resnet50(weights=None)
    path = bb.weights_path("resnet50")
    assert path.parent == offline_empty_hub and path.name == "resnet50-0676ba61.pth"
    path.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), path)
    body = bb.imagenet_backbone("resnet50")
    assert body.pretrained and body.weights_id == "ResNet50_Weights.IMAGENET1K_V1"
    assert torch.equal(body.net.conv1.weight, ref.conv1.weight)


def test_bad_names():
    with pytest.raises(ValueError, match="choose one of"):
        bb.imagenet_backbone("resnet34")
    with pytest.raises(ValueError, match="random weights"):
        bb.imagenet_backbone("vgg16-random", pretrained=True)
    with pytest.raises(ValueError, match="needs images"):
        hu.fit("csq", torch.rand(4, 10), torch.arange(4) % 2, bits=8, backbone="alexnet-random")
    with pytest.raises(ValueError, match="unknown weights"):
        bb.weights_path("alexnet", "IMAGENET1K_V9")


# ----------------------------------------------------------------------------- frozen features
def test_extract_features_cache_and_head(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path))
    x, y = _tiny(4, 1, 16)
    body = bb.imagenet_backbone("resnet50-random")
    info = {}
    f = ft.extract_features("resnet50-random", x, batch_size=3, progress=False, info=info)
    assert f.shape == (4, 2048) and f.dtype == torch.float32 and not info["cached"]
    # the same numbers as running the backbone in eval mode by hand, in one batch (stored as float16)
    with torch.no_grad():
        ref = body.eval()(x)
    assert torch.allclose(f, ref.half().float(), rtol=2e-3, atol=1e-3)
    again = {}
    f2 = ft.extract_features("resnet50-random", x, progress=False, info=again)
    assert again["cached"] and again["key"] == info["key"] and torch.equal(f, f2)
    # the key changes with the images, the weights' name, the module's current weights
    key = ft.feature_cache_key
    assert key("resnet50-random", x + 1e-3) != info["key"] and key("resnet50", x) != info["key"]
    k_mod = key(body, x)
    with torch.no_grad():
        next(body.parameters()).add_(1.0)
    assert key(body, x) != k_mod
    # heads on the cached features: a trained method and ITQ
    h = ft.fit_on_features("csq", f, y, bits=8, epochs=2, val_fraction=0.0)
    assert isinstance(h.model.backbone, bb.FeatureInput) and h.encode(f).shape == (4, 8)
    assert ft.fit_on_features("itq", f, bits=3).encode(f).shape == (4, 3)
    with pytest.raises(ValueError, match="head"):
        ft.fit_on_features("csq", f, y, head="deep")
    with pytest.raises(ValueError, match="empty"):
        ft.extract_features("resnet50-random", x[:0])


def test_extract_features_from_a_list_file_set(tmp_path, monkeypatch):
    from datafakes import write_fake_list_set
    from hashing_utils import protocols as P
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "cache"))
    root = write_fake_list_set(tmp_path / "set", n_classes=3, n_train=3, n_query=2, n_database=3)
    p = P.PROTOCOLS["imagenet-100"].resized(n_classes=3, n_train=3, n_query=2, n_database=3)
    s = hu.load_dataset("imagenet-100", protocol=p, root=root, size=32)
    body = bb.imagenet_backbone("resnet50-random")
    f = ft.extract_features(body, s.x_db, batch_size=2, progress=False)
    direct = ft.extract_features(body, s.x_db.tensor(), progress=False, cache=False)
    assert f.shape == (3, 2048) and torch.allclose(f, direct)


def test_one_missing_weights_policy_for_every_pretrained_backbone(offline_empty_hub, recwarn):
    # models.py's ResNet-18 follows backbones' policy: an error naming the file and the fetch command, never a
    # silent fall-back to random weights; random weights only when asked for
    with pytest.raises(bb.WeightsMissingError) as e:
        hu.models.make_backbone((3, 32, 32), "resnet18-pretrained")
    msg = str(e.value)
    assert str(bb.weights_path("resnet18")) in msg and "torchvision.models.resnet18(weights='IMAGENET1K_V1')" in msg
    assert "'resnet18'" in msg and "pretrained=False" in msg
    assert hu.models.make_backbone((3, 32, 32), "resnet18").out_features == 512
    assert not [w for w in recwarn if "random weights" in str(w.message)]


def test_features_cache_checks_its_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path))
    x, _ = _tiny(3, 1, 16)
    info = {}
    f = ft.extract_features("alexnet-random", x, progress=False, info=info)
    entry = ft.feature_cache()
    hit = entry.get(info["key"])
    assert hit is not None and hit.record["sha256"] == __import__("hashlib").sha256(hit.payload).hexdigest()
    assert hit.record["backbone"] == "alexnet" and hit.record["n"] == 3
    assert sorted(p.name for p in (tmp_path / "features").iterdir()) == [".locks", f"{info['key']}.json",
                                                                          f"{info['key']}.npy"]
    # a damaged payload is a miss with a warning, computed again to the same numbers and stored whole again
    path = entry.payload_path(info["key"])
    raw = path.read_bytes()
    path.write_bytes(raw[:-8])
    again = {}
    with pytest.warns(RuntimeWarning, match="features cache: .* damaged .* treated as a miss"):
        f2 = ft.extract_features("alexnet-random", x, progress=False, info=again)
    assert not again["cached"] and torch.equal(f, f2) and path.read_bytes() == raw
    third = {}
    assert torch.equal(ft.extract_features("alexnet-random", x, progress=False, info=third), f) and third["cached"]
