"""Adapters written by one shared hypernet (HyperFormer++), and adapters that start at zero."""

import pytest
import torch

import hyperviz as hv
from hyperviz.adapters import AdapterHypernet, bottleneck_start
from hyperviz.partial import PartlyGenerated

ADAPTER = hv.MLPTarget([6, 2, 6])


def test_one_hypernet_writes_an_adapter_per_task_and_layer():
    hypernet = AdapterHypernet(ADAPTER, num_tasks=3, num_layers=2, task_dim=4, seed=0)
    theta = hypernet()
    assert theta.shape == (3, 2, ADAPTER.num_params)
    assert not torch.allclose(theta[0, 0], theta[1, 0])  # tasks differ
    assert not torch.allclose(theta[0, 0], theta[0, 1])  # layers differ
    assert theta.abs().max() < 0.5  # the last layer starts small: adapters start near zero


def test_a_task_adds_only_its_embedding():
    small = AdapterHypernet(ADAPTER, num_tasks=3, num_layers=2, task_dim=4, seed=0)
    large = AdapterHypernet(ADAPTER, num_tasks=10, num_layers=2, task_dim=4, seed=0)
    assert small.added_per_task() == 4
    assert hv.count_learnable(large) - hv.count_learnable(small) == 7 * 4
    assert small.shared() == large.shared() == hv.count_learnable(small) - 3 * 4


def test_given_embeddings_write_adapters_for_new_tasks():
    hypernet = AdapterHypernet(ADAPTER, num_tasks=3, num_layers=2, task_dim=4, seed=0)
    own = hypernet.task_embedding.weight.detach()
    torch.testing.assert_close(hypernet(own[1:]), hypernet()[1:])
    new = torch.zeros(5, 4, requires_grad=True)
    hypernet(new).sum().backward()
    assert new.grad is not None and new.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"give \(tasks, 4\)"):
        hypernet(torch.zeros(5, 3))


def test_seeds_make_the_same_hypernet():
    a, b = (AdapterHypernet(ADAPTER, 2, 2, seed=5) for _ in range(2))
    torch.testing.assert_close(a(), b())


def test_bottleneck_adapters_start_at_zero_output_and_still_learn():
    start = bottleneck_start(ADAPTER, 4, torch.Generator().manual_seed(0))
    assert start.shape == (4, ADAPTER.num_params)
    x = torch.rand(4, 5, 6)
    assert ADAPTER(x, start).abs().max() == 0
    theta = start.clone().requires_grad_()
    ADAPTER(x, theta).sum().backward()
    assert theta.grad.abs().sum() > 0  # the up-projection gets a gradient


def test_a_zero_adapter_leaves_the_frozen_network_as_it_was():
    layer, head = hv.MLPTarget([6, 6]), hv.MLPTarget([6, 3])
    model = PartlyGenerated(
        {"layer": layer, "adapter": ADAPTER, "head": head},
        frozen=("layer", "head"),
        weights={"adapter": bottleneck_start(ADAPTER, 1)[0]},
        residual=("adapter",),
    )
    plain = PartlyGenerated({"layer": layer, "head": head}, weights={
        "layer": model.theta["layer"], "head": model.theta["head"]})  # fmt: skip
    x = torch.rand(7, 6)
    torch.testing.assert_close(model(x), plain(x))


@pytest.mark.parametrize(
    "adapter, error, message",
    [
        (hv.MLPTarget([6, 2, 5]), ValueError, "must map d features back to d"),
        ("adapter", TypeError, "adapter must be an MLPTarget"),
    ],
)
def test_bad_adapters_get_a_clear_error(adapter, error, message):
    with pytest.raises(error, match=message):
        AdapterHypernet(adapter, 2, 2)
    with pytest.raises(error, match=message):
        bottleneck_start(adapter, 2)


def test_bad_sizes_get_a_clear_error():
    with pytest.raises(ValueError, match="num_tasks=0"):
        AdapterHypernet(ADAPTER, 0, 2)
    with pytest.raises(ValueError, match="copies=0"):
        bottleneck_start(ADAPTER, 0)
