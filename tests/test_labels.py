"""hashing_utils.labels: the one owner of class ids <-> multi-hot and of the label checks."""
import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import labels


def test_ids_to_multi_hot_and_back_by_loop():
    ids = torch.tensor([2, 0, 1, 2])
    y = labels.to_multi_hot(ids)
    expected = torch.zeros(4, 3)
    for i, c in enumerate(ids.tolist()):
        expected[i, c] = 1
    assert torch.equal(y, expected) and y.dtype == torch.float32
    assert torch.equal(labels.class_ids(y), ids) and torch.equal(labels.class_ids(ids), ids)
    assert torch.equal(labels.to_multi_hot(np.array([0, 1]), n_classes=4), torch.eye(4)[:2])
    multi = torch.tensor([[1, 0, 1], [0, 1, 0]])
    assert torch.equal(labels.to_multi_hot(multi), multi.float())         # multi-hot passes through
    assert torch.equal(labels.class_ids(multi), torch.tensor([0, 1]))     # the first positive class


@pytest.mark.parametrize("y, message", [
    (torch.tensor([[0.5, 1.0]]), "multi-hot"),
    (torch.tensor([0.5, 1.0]), "integers"),
    (torch.tensor([-1, 0]), "non-negative"),
    (torch.zeros(2, 2, 2), "class ids or"),
])
def test_to_multi_hot_refuses_what_is_not_a_label(y, message):
    with pytest.raises(ValueError, match=message):
        labels.to_multi_hot(y)


def test_single_label_ids():
    assert torch.equal(labels.single_label_ids(torch.eye(3)[[2, 0]]), torch.tensor([2, 0]))
    with pytest.raises(ValueError, match="DCWH needs single-label data"):
        labels.single_label_ids(torch.tensor([[1, 1, 0]]), "DCWH")
    with pytest.raises(ValueError, match="needs single-label data"):
        labels.single_label_ids(torch.tensor([[0, 0, 0]]))
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        labels.single_label_ids(torch.tensor([3]), n_classes=3)


def test_the_metrics_and_the_losses_use_the_same_checks():
    with pytest.raises(ValueError, match="must be multi-hot"):
        hu.metrics.mean_average_precision(torch.ones(2, 4), torch.ones(2, 4), torch.tensor([[0.5, 1]] * 2),
                                          torch.eye(2))
    with pytest.raises(ValueError, match="single-label"):
        hu.losses.class_wise_loss(torch.zeros(1, 4), torch.tensor([[1, 1, 0]]), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="no label at all"):
        labels.training_labels("csq", torch.tensor([[1, 0], [0, 0]]), 2)
    with pytest.warns(UserWarning, match="single class"):
        labels.training_labels("csq", torch.zeros(3, dtype=torch.long), 3)
