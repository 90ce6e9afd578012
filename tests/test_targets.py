"""Target networks: parameter layout, and vectorised evaluation equal to a Python loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hyperviz import DigitsCNNTarget, MLPTarget

S = 5


def mlp_case():
    return MLPTarget([3, 16, 16, 2], activation="tanh"), (7, 3)


def cnn_case():
    return DigitsCNNTarget(channels=4, num_classes=10), (6, 1, 8, 8)


CASES = {"mlp": mlp_case, "cnn": cnn_case}


def random_weights(target, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(S, target.num_params, generator=generator) * 0.3


@pytest.mark.parametrize("case", CASES)
def test_vectorised_evaluation_equals_a_loop_with_shared_x(case):
    target, x_shape = CASES[case]()
    g = torch.Generator().manual_seed(0)
    theta, x = random_weights(target, g), torch.randn(*x_shape, generator=g)
    batched = target(x, theta)
    looped = torch.stack([target(x, theta[s]) for s in range(S)])
    assert batched.shape == (S, x_shape[0], looped.shape[-1])
    torch.testing.assert_close(batched, looped, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])  # the S networks really differ


@pytest.mark.parametrize("case", CASES)
def test_vectorised_evaluation_equals_a_loop_with_per_sample_x(case):
    target, x_shape = CASES[case]()
    g = torch.Generator().manual_seed(1)
    theta, x = random_weights(target, g), torch.randn(S, *x_shape, generator=g)
    batched = target(x, theta)
    looped = torch.stack([target(x[s], theta[s]) for s in range(S)])
    torch.testing.assert_close(batched, looped, rtol=1e-5, atol=1e-6)
    shared = target(x[0], theta)
    assert not torch.allclose(batched[1], shared[1])  # x[s] went to network s, not x[0]


@pytest.mark.parametrize("case", CASES)
def test_vectorised_gradients_equal_looped_gradients(case):
    target, x_shape = CASES[case]()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(S, *x_shape, generator=g)
    theta_a = random_weights(target, g).requires_grad_()
    theta_b = theta_a.detach().clone().requires_grad_()
    target(x, theta_a).square().sum().backward()
    sum(target(x[s], theta_b[s]).square().sum() for s in range(S)).backward()
    torch.testing.assert_close(theta_a.grad, theta_b.grad, rtol=1e-4, atol=1e-5)


def test_mlp_matches_a_hand_written_forward():
    target = MLPTarget([2, 3, 1])
    theta = torch.arange(target.num_params, dtype=torch.float32) / 10 - 0.6
    x = torch.tensor([[1.0, -2.0], [0.5, 0.25]])
    w0, b0 = theta[:6].reshape(3, 2), theta[6:9]
    w1, b1 = theta[9:12].reshape(1, 3), theta[12:13]
    expected = F.linear(torch.relu(F.linear(x, w0, b0)), w1, b1)
    torch.testing.assert_close(target(x, theta), expected)


def test_param_shapes_and_counts():
    mlp = MLPTarget([1, 32, 32, 1])
    assert mlp.param_shapes == {
        "fc0.weight": (32, 1),
        "fc0.bias": (32,),
        "fc1.weight": (32, 32),
        "fc1.bias": (32,),
        "fc2.weight": (1, 32),
        "fc2.bias": (1,),
    }
    assert mlp.num_params == 1153
    cnn = DigitsCNNTarget(channels=8)
    # conv 1->8 (72 + 8), conv 8->16 (1152 + 16), linear 16*4*4 -> 10 (2560 + 10)
    assert cnn.num_params == 80 + 1168 + 2570
    assert [layer.fan_in for layer in cnn.layers] == [9, 72, 256]
    assert [layer.fan_out for layer in cnn.layers] == [72, 144, 10]


def test_unflatten_keeps_a_leading_dimension():
    target = MLPTarget([2, 4, 3])
    params = target.unflatten(torch.zeros(6, target.num_params))
    assert {name: tuple(t.shape) for name, t in params.items()} == {
        "fc0.weight": (6, 4, 2),
        "fc0.bias": (6, 4),
        "fc1.weight": (6, 3, 4),
        "fc1.bias": (6, 3),
    }


def test_kaiming_weights_have_fan_in_variance_and_zero_biases():
    target = MLPTarget([1, 256, 256, 1])
    theta = target.kaiming_weights(torch.Generator().manual_seed(0))
    params = target.unflatten(theta)
    assert params["fc1.weight"].var().item() == pytest.approx(2 / 256, rel=0.05)
    assert all(params[f"fc{i}.bias"].abs().sum() == 0 for i in range(3))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity"])
def test_activations_are_used_between_layers(activation):
    target = MLPTarget([1, 1, 1], activation=activation)
    theta = torch.tensor([1.0, 0.0, 1.0, 0.0])  # x -> act(x) -> act(x)
    x = torch.tensor([[-1.0]])
    expected = {"relu": 0.0, "tanh": -0.7616, "sigmoid": 0.2689, "identity": -1.0}[activation]
    assert target(x, theta).item() == pytest.approx(expected, abs=1e-4)


def test_repr_names_the_sizes_and_the_parameter_count():
    assert repr(MLPTarget([1, 32, 32, 1])) == (
        "MLPTarget(sizes=[1, 32, 32, 1], activation='relu', P=1,153)"
    )


# --- the fused MLP path against vmap of the per-network forward (the reference) -------------


def vmap_reference(target, x, theta):
    """The generic path: `torch.func.vmap` of `functional_forward` over the S weight sets."""
    from hyperviz.targets import TargetNetwork

    x_dim = 0 if x.dim() == target.input_dims + 1 else None
    return TargetNetwork.batched_forward(target, x, theta, x_dim)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("sizes", [[1, 8, 8, 1], [3, 16, 2], [1, 5], [4, 1, 6, 1]])
@pytest.mark.parametrize("per_set_x", [False, True])
def test_fused_mlp_outputs_and_gradients_equal_the_vmap_path(activation, sizes, per_set_x):
    target = MLPTarget(sizes, activation=activation)
    g = torch.Generator().manual_seed(3)
    theta = (torch.randn(S, target.num_params, generator=g) * 0.5).requires_grad_()
    x = torch.randn(*((S,) if per_set_x else ()), 7, sizes[0], generator=g).requires_grad_()
    theta_ref = theta.detach().clone().requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    fused, reference = target(x, theta), vmap_reference(target, x_ref, theta_ref)
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)
    upstream = torch.randn(fused.shape, generator=g)
    (fused * upstream).sum().backward()
    (reference * upstream).sum().backward()
    torch.testing.assert_close(theta.grad, theta_ref.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-6)


def test_fused_mlp_takes_float64_and_non_contiguous_weights():
    target = MLPTarget([2, 6, 1])
    theta = torch.randn(target.num_params, S, dtype=torch.float64).T  # a transposed view
    x = torch.randn(9, 2, dtype=torch.float64)
    out = target(x, theta)
    assert out.dtype == torch.float64 and not theta.is_contiguous()
    torch.testing.assert_close(out, vmap_reference(target, x, theta))


def test_fused_mlp_leaves_its_inputs_alone():
    target = MLPTarget([1, 8, 1])
    theta, x = torch.randn(S, target.num_params), torch.randn(4, 1)
    theta_copy, x_copy = theta.clone(), x.clone()
    target(x, theta)
    assert torch.equal(theta, theta_copy) and torch.equal(x, x_copy)


@pytest.mark.parametrize("per_set_x", [False, True])
def test_many_networks_in_cache_sized_blocks_equal_one_batch(monkeypatch, per_set_x):
    """Blocks of networks (outputs and gradients) give what one batch of all of them gives."""
    import hyperviz.targets as targets

    target = MLPTarget([1, 8, 8, 1])
    g = torch.Generator().manual_seed(5)
    theta = torch.randn(10, target.num_params, generator=g).requires_grad_()
    x = torch.randn(*((10,) if per_set_x else ()), 6, 1, generator=g)
    whole = target(x, theta)
    (grad_whole,) = torch.autograd.grad(whole.square().sum(), theta)
    monkeypatch.setattr(targets, "BLOCK_ACTIVATIONS", 3 * 6 * 8)  # blocks of 3: 3, 3, 3, 1
    blocked = target(x, theta)
    (grad_blocked,) = torch.autograd.grad(blocked.square().sum(), theta)
    torch.testing.assert_close(blocked, whole, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad_blocked, grad_whole, rtol=1e-6, atol=1e-6)
