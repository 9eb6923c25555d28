"""LSH: unsupervised random-hyperplane hashing, the floor every learned method must clear."""
import torch

from ..models import CentredProjection
from .base import TrainingFreeMethod, register


@register
class LSH(TrainingFreeMethod):
    name = "lsh"
    summary = "Locality-sensitive hashing: signs of random projections of the centred input (no training)"

    def build(self, x):
        """Sign-random-projection LSH (Charikar 2002) on centred inputs: W ~ N(0, 1)^(d x K), seeded."""
        x = x.flatten(1)
        g = torch.Generator().manual_seed(self.seed)
        return CentredProjection(x.mean(0), torch.randn(x.shape[1], self.bits, generator=g)), {}
