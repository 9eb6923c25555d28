"""Backbones and the hash head. A hashing model is backbone -> features (n, F) -> head -> u (n, K)."""
from __future__ import annotations

import torch
from torch import nn

from .backbones import imagenet_backbone, is_imagenet_backbone, load_weights


class MLP(nn.Module):
    """Flat input (n, d) -> features (n, hidden[-1]). For the 8x8 digits (d = 64) and mosaics."""

    def __init__(self, in_features: int, hidden=(256, 256), dropout: float = 0.1):
        super().__init__()
        layers, d = [], in_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        self.net = nn.Sequential(*layers)
        self.out_features = d

    def forward(self, x):
        return self.net(x.flatten(1))


class CentredProjection(nn.Module):
    """u = (x - mean) W: a fixed linear map of centred, flattened inputs (LSH's random W, CCA's canonical W).
    x (n, ...) -> u (n, K) with mean (d,), W (d, K)."""

    def __init__(self, mean: torch.Tensor, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("weight", weight)

    def forward(self, x):
        return (x.flatten(1) - self.mean) @ self.weight


class SmallCNN(nn.Module):
    """Images (n, c, h, w), e.g. 28x28 -> features (n, 256). Two conv-BN-ReLU-pool blocks (16 and 32
    channels) and a fully connected layer: about 1.4M multiply-adds per 28x28 image, so a laptop CPU
    trains it on Fashion-MNIST in seconds per epoch."""

    def __init__(self, in_channels: int = 1, width: int = 16, out_features: int = 256):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        self.conv = nn.Sequential(block(in_channels, width), block(width, 2 * width))
        self.pool = nn.AdaptiveAvgPool2d(7)
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width * 49, out_features), nn.ReLU())
        self.out_features = out_features

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)))


class ResNet18Features(nn.Module):
    """torchvision ResNet-18 without its classifier -> (n, 512). Grey images are repeated to 3 channels.
    pretrained=True loads the ImageNet weights (IMAGENET1K_V1) from torch's cache, or downloads them unless
    $HASHING_OFFLINE=1; when they cannot be had it raises backbones.WeightsMissingError (the package's one
    missing-weights policy: random weights only when asked for, with pretrained=False / backbone 'resnet18')."""

    def __init__(self, pretrained: bool = False):
        super().__init__()
        import torchvision
        state = None
        if pretrained:
            state = load_weights("resnet18", random_choice="'resnet18'")
        net = torchvision.models.resnet18(weights=None)
        if state is not None:
            net.load_state_dict(state)
        net.fc = nn.Identity()
        self.net = net
        self.out_features = 512

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.net(x)


class HashingModel(nn.Module):
    """backbone (n, ...) -> (n, F) -> head -> u (n, K), the continuous code before binarisation."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x):
        return self.head(self.backbone(x))


def make_backbone(input_shape: tuple, kind: str = "auto") -> nn.Module:
    """'auto': an MLP for flat inputs (d,), the small CNN for images (c, h, w); or 'mlp', 'cnn', 'resnet18',
    'resnet18-pretrained'; the papers' ImageNet backbones 'alexnet', 'vgg16', 'resnet50' (pretrained) and
    '<name>-random' (see backbones.py); or a ready nn.Module with `out_features`, used as it is."""
    if isinstance(kind, nn.Module):
        return kind
    if is_imagenet_backbone(kind):
        if len(input_shape) != 3:
            raise ValueError(f"backbone {kind!r} needs images (c, h, w); got input shape {tuple(input_shape)}")
        return imagenet_backbone(kind)
    if kind == "auto":
        kind = "mlp" if len(input_shape) == 1 else "cnn"
    if kind == "mlp":
        d = 1
        for s in input_shape:
            d *= s
        return MLP(d)
    if len(input_shape) != 3 and kind in ("cnn", "resnet18", "resnet18-pretrained"):
        raise ValueError(f"backbone {kind!r} needs images (c, h, w); got input shape {tuple(input_shape)}")
    if kind == "cnn":
        return SmallCNN(input_shape[0])
    if kind in ("resnet18", "resnet18-pretrained"):
        return ResNet18Features(pretrained=kind.endswith("pretrained"))
    raise ValueError(f"unknown backbone {kind!r}; choose auto, mlp, cnn, resnet18, resnet18-pretrained, "
                     "alexnet, vgg16, resnet50 (or <name>-random)")
