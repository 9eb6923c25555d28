"""The ImageNet backbones of the deep-hashing papers (AlexNet, VGG-16, ResNet-50) through torchvision's weights API.

    body = imagenet_backbone("resnet50")                  # ImageNet weights from torch's cache; (n, 3|1, h, w) -> (n, 2048)
    hu.fit("csq", X, y, backbone="resnet50")              # fine-tune: the backbone at 0.1x the head's learning rate
    hu.fit("csq", X, y, backbone="alexnet-random")        # random weights (tests; no file needed)

Input: images float32 in [0, 1], (n, c, h, w), c = 1 or 3. Inside the module (so training, encoding and the
frozen-feature cache see the same transform): grey -> 3 channels, bilinear resize to 224 x 224 (antialiased), then
ImageNet normalisation x' = (x - mean) / std with mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
Features: AlexNet and VGG-16 fc7 (4096, the classifier without its last layer, as in DPSH / HashNet / CSQ),
ResNet-50 the pooled 2048-d output.

Fine-tuning lower learning rate: `lr_multiplier = 0.1` on the module, read by training.train_model, gives the
backbone 0.1 x the head's learning rate (HashNet, CSQ, OrthoHash train the new hash layer 10x faster than the
pretrained layers). Weights: IMAGENET1K_V1 (the original ImageNet weights the papers' backbones correspond to).
Nothing here downloads when $HASHING_OFFLINE=1: missing weights are a clear WeightsMissingError instead.

The one missing-weights policy of the package (models.py's 'resnet18-pretrained' follows it too): pretrained
weights that are neither in torch's cache nor downloadable raise WeightsMissingError, naming the file, where torch
looked and the command that fetches it; random weights are only ever an explicit choice (pretrained=False,
'<name>-random', or models.py's 'resnet18'), never a silent fallback.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .store import offline

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 224
BACKBONE_LR_MULTIPLIER = 0.1
# name -> (torchvision builder, weights enum, feature width)
ARCHITECTURES = {"alexnet": ("alexnet", "AlexNet_Weights", 4096),
                 "vgg16": ("vgg16", "VGG16_Weights", 4096),
                 "resnet50": ("resnet50", "ResNet50_Weights", 2048)}
BACKBONE_NAMES = tuple(ARCHITECTURES) + tuple(f"{a}-random" for a in ARCHITECTURES)
# torchvision's weights enum of every architecture whose ImageNet weights the package loads (models.py's ResNet-18
# included)
WEIGHTS_ENUMS = {**{a: enum for a, (_, enum, _) in ARCHITECTURES.items()}, "resnet18": "ResNet18_Weights"}


class WeightsMissingError(FileNotFoundError):
    """Pretrained weights are neither in torch's cache nor downloadable."""


def weights_path(arch: str, weights: str = "IMAGENET1K_V1") -> Path:
    """Where torch looks for a weights file: <torch.hub.get_dir()>/checkpoints/<file name of the URL>
    (hub dir = $TORCH_HOME/hub, default ~/.cache/torch/hub)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights_enum(arch, weights).url.rsplit("/", 1)[-1]


def weights_enum(arch: str, weights: str = "IMAGENET1K_V1"):
    """torchvision's weights enum member `weights` of `arch` (e.g. ResNet50_Weights.IMAGENET1K_V1); a ValueError
    naming the choices for an unknown architecture or weights name."""
    import torchvision
    if arch not in WEIGHTS_ENUMS:
        raise ValueError(f"unknown backbone {arch!r}; choose one of {', '.join(WEIGHTS_ENUMS)}")
    enum = getattr(torchvision.models, WEIGHTS_ENUMS[arch])
    try:
        return enum[weights]
    except KeyError:
        raise ValueError(f"{arch}: unknown weights {weights!r}; choose one of {', '.join(enum.__members__)}") \
            from None


def missing_weights_error(arch: str, weights: str = "IMAGENET1K_V1", cause=None,
                          random_choice: str | None = None) -> WeightsMissingError:
    """The error for pretrained weights that are not on disk: names the file, where torch looks, the command that
    fetches it, and the explicit choice of random weights (random_choice; default '<arch>-random')."""
    w, path = weights_enum(arch, weights), weights_path(arch, weights)
    why = "HASHING_OFFLINE=1 forbids downloading" if cause is None else f"the download failed ({cause})"
    return WeightsMissingError(
        f"{arch}: the ImageNet weights {w} are missing: {path} does not exist and {why}. torch looks in "
        f"<hub dir>/checkpoints/, hub dir = $TORCH_HOME/hub (default ~/.cache/torch/hub; here {torch.hub.get_dir()}). "
        f"To get them, on a machine with network run\n"
        f"  python -c \"import torchvision; torchvision.models.{arch}(weights='{w.name}')\"\n"
        f"and copy {path.name} into {path.parent} (or point TORCH_HOME at a folder holding "
        f"hub/checkpoints/{path.name}); or download {w.url} there by hand. For random weights say so: "
        f"pretrained=False (backbone {random_choice or repr(arch + '-random')}).")


def load_weights(arch: str, weights: str = "IMAGENET1K_V1", random_choice: str | None = None) -> dict:
    """The state dict of torchvision's `weights` for `arch`, from torch's cache; downloaded only when
    $HASHING_OFFLINE is not "1". Raises WeightsMissingError with where torch looked and how to get the file
    (random_choice: how the caller asks for random weights instead, for the message)."""
    w = weights_enum(arch, weights)
    path = weights_path(arch, weights)
    if not path.is_file():
        if offline():
            raise missing_weights_error(arch, weights, random_choice=random_choice)
        try:
            return w.get_state_dict(progress=True)
        except Exception as e:  # no network, a proxy, a failed hash
            raise missing_weights_error(arch, weights, f"{e.__class__.__name__}: {e}", random_choice) from e
    return w.get_state_dict(progress=False)


class ImageNetInput(nn.Module):
    """(n, 1|3, h, w) in [0, 1] -> (n, 3, size, size) ImageNet-normalised (bilinear, antialiased resize)."""

    def __init__(self, size: int = INPUT_SIZE):
        super().__init__()
        self.size = int(size)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"an ImageNet backbone needs images (n, 1 or 3, h, w); got shape {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.size, self.size):
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                          antialias=True)
        return (x - self.mean) / self.std

    def describe(self) -> str:
        return f"grey->RGB, bilinear antialiased resize {self.size}x{self.size}, ImageNet mean/std {IMAGENET_STD}"


class ImageNetBackbone(nn.Module):
    """An ImageNet CNN without its classifier: images (n, c, h, w) in [0, 1] -> features (n, out_features).
    `weights_id` names what the weights are ("ResNet50_Weights.IMAGENET1K_V1" or "random(seed=0)")."""

    def __init__(self, arch: str, pretrained: bool = True, weights: str = "IMAGENET1K_V1", seed: int = 0,
                 input_size: int = INPUT_SIZE):
        super().__init__()
        import torchvision
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown backbone {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
        builder, _, width = ARCHITECTURES[arch]
        state = load_weights(arch, weights) if pretrained else None     # fail before building anything
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)                 # random weights depend on the seed only
            net = getattr(torchvision.models, builder)(weights=None)
        if state is not None:
            net.load_state_dict(state)
        if arch == "resnet50":
            net.fc = nn.Identity()
        else:                                       # AlexNet / VGG-16: keep fc6, fc7 (and their ReLU, dropout)
            net.classifier = nn.Sequential(*list(net.classifier.children())[:-1])
        self.arch, self.pretrained = arch, bool(pretrained)
        self.weights_id = f"{weights_enum(arch, weights)}" if pretrained else f"random(seed={seed})"
        self.input = ImageNetInput(input_size)
        self.net = net
        self.out_features = width
        self.lr_multiplier = BACKBONE_LR_MULTIPLIER

    def forward(self, x):
        return self.net(self.input(x))

    def describe(self) -> str:
        return f"{self.arch} [{self.weights_id}]; input: {self.input.describe()}"


def imagenet_backbone(name: str, pretrained: bool | None = None, **kwargs) -> ImageNetBackbone:
    """'alexnet' | 'vgg16' | 'resnet50' (pretrained unless pretrained=False), or the same with '-random'
    (random weights). kwargs: weights (torchvision enum member name), seed (random weights), input_size."""
    if not isinstance(name, str) or name not in BACKBONE_NAMES:
        raise ValueError(f"unknown ImageNet backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    arch, random_ = name.removesuffix("-random"), name.endswith("-random")
    if pretrained is None:
        pretrained = not random_
    elif random_ and pretrained:
        raise ValueError(f"{name!r} means random weights; use {arch!r} for pretrained ones")
    return ImageNetBackbone(arch, pretrained=pretrained, **kwargs)


def is_imagenet_backbone(name) -> bool:
    return isinstance(name, str) and name in BACKBONE_NAMES


def weights_id(name: str) -> str:
    """What imagenet_backbone(name).weights_id will be, without building it or loading weights:
    'ResNet50_Weights.IMAGENET1K_V1' for 'resnet50', 'random(seed=0)' for 'resnet50-random'."""
    if not is_imagenet_backbone(name):
        raise ValueError(f"unknown ImageNet backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    return "random(seed=0)" if name.endswith("-random") else str(weights_enum(name))


class FeatureInput(nn.Module):
    """The identity on precomputed features (n, F): the 'backbone' of a hash head trained on frozen features."""

    def __init__(self, in_features: int):
        super().__init__()
        self.out_features = int(in_features)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.out_features:
            raise ValueError(f"expected features (n, {self.out_features}), got shape {tuple(x.shape)}")
        return x
