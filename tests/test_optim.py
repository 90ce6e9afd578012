"""hyperviz's Adam: torch.optim.Adam's update, step for step, without importing torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from hyperviz.optim import Adam


def problem(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(5, 3, generator=generator, requires_grad=True)
    b = torch.randn(3, generator=generator, requires_grad=True)
    x = torch.randn(20, 5, generator=generator)
    return [w, b], lambda: ((x @ w + b).tanh() ** 2).mean()


def run(make_optimiser, steps: int = 30, skip_b_until: int = 0):
    params, loss = problem()
    optimiser = make_optimiser(params)
    for step in range(steps):
        optimiser.zero_grad()
        loss().backward()
        if step < skip_b_until:
            params[1].grad = None  # no gradient for b yet: it must stay put
        optimiser.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("skip", [0, 7])
def test_the_same_updates_as_torch_adam(skip):
    ours = run(lambda p: Adam(p, lr=0.01), skip_b_until=skip)
    torch_adam = run(lambda p: torch.optim.Adam(p, lr=0.01, foreach=False), skip_b_until=skip)
    for a, b in zip(ours, torch_adam, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("skip", [0, 7])
def test_fused_gives_torch_fused_adams_numbers_exactly(skip):
    ours = run(lambda p: Adam(p, lr=0.01, fused=True), skip_b_until=skip)
    torch_adam = run(lambda p: torch.optim.Adam(p, lr=0.01, fused=True), skip_b_until=skip)
    for a, b in zip(ours, torch_adam, strict=True):
        assert torch.equal(a, b)


def test_the_default_gives_torch_adams_numbers_exactly():
    ours = run(lambda p: Adam(p, lr=0.01), steps=100)
    torch_adam = run(lambda p: torch.optim.Adam(p, lr=0.01), steps=100)
    assert all(torch.equal(a, b) for a, b in zip(ours, torch_adam, strict=True))


def test_without_a_fused_kernel_it_falls_back_to_foreach():
    params = [torch.zeros(3, dtype=torch.float64, requires_grad=True)]
    optimiser = Adam(params, lr=0.1, fused=True)
    params[0].grad = torch.ones(3, dtype=torch.float64)
    optimiser.step()  # fused or not, one step of size lr against the gradient
    torch.testing.assert_close(params[0].detach(), torch.full((3,), -0.1, dtype=torch.float64))


def test_a_parameter_without_gradient_is_left_alone():
    params, loss = problem()
    start = params[1].detach().clone()
    optimiser = Adam(params, lr=0.1)
    loss().backward()
    params[1].grad = None
    optimiser.step()
    assert torch.equal(params[1].detach(), start) and optimiser.steps == [1, 0]
    optimiser.zero_grad()
    assert all(p.grad is None for p in params)


def test_it_does_not_import_torch_dynamo():
    code = (
        "import sys, torch; from hyperviz.optim import Adam; "
        "p = torch.zeros(3, requires_grad=True); o = Adam([p], lr=0.1, fused=True); "
        "p.sum().backward(); o.step(); print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"parameters": []}, ValueError, "parameters is empty"),
        ({"parameters": [torch.zeros(2, dtype=torch.long)]}, TypeError, r"parameters\[0\]"),
        ({"lr": 0.0}, ValueError, "lr=0.0"),
        ({"betas": (0.9, 1.0)}, ValueError, "betas"),
    ],
)
def test_bad_input_gets_a_clear_error(options, error, message):
    options = {"parameters": [torch.zeros(2, requires_grad=True)], **options}
    with pytest.raises(error, match=message):
        Adam(**options)
