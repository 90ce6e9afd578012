"""Evaluation helpers: the dense grid, predictions of many networks, errors against the truth."""

import math

import pytest
import torch

import hyperviz as hv
from hyperviz.evaluation import curve_errors, dense_grid, predict

SMALL = [1, 8, 8, 1]


def test_curve_errors_are_zero_for_the_truth_and_check_shapes():
    tasks = hv.sinusoid_tasks(num_tasks=3, num_points=4)
    grid = dense_grid(50)
    truth = hv.sinusoid_curve(tasks.params, grid)
    assert torch.equal(curve_errors(truth, tasks.params, grid), torch.zeros(3))
    torch.testing.assert_close(
        curve_errors(truth + 0.5, tasks.params, grid), torch.full((3,), 0.25)
    )
    with pytest.raises(ValueError, match=r"need \(3, 50, 1\)"):
        curve_errors(truth[:2], tasks.params, grid)


def test_predict_runs_every_net_on_one_grid_without_gradients():
    target = hv.MLPTarget(SMALL)
    theta = torch.randn(4, target.num_params, requires_grad=True)
    out = predict(target, theta, dense_grid(30))
    assert out.shape == (4, 30, 1) and not out.requires_grad
    assert predict(target, theta[0], dense_grid(30)).shape == (1, 30, 1)


def test_dense_grid_spans_the_range():
    grid = dense_grid(11, (-1.0, 1.0))
    assert grid.shape == (11, 1) and grid[0].item() == -1.0 and grid[-1].item() == 1.0
    with pytest.raises(ValueError, match="num_points=0"):
        dense_grid(0)


def test_curve_errors_is_zero_for_the_true_curve_and_positive_otherwise():
    target = hv.MLPTarget([1, 1], activation="identity")  # y = w x + b: Θ = (w, b)
    params = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # A = 0 (y = 0) and y = sin(x)
    grid = torch.linspace(-1, 1, 101).unsqueeze(1)
    errors = curve_errors(predict(target, torch.zeros(2, 2), grid), params, grid)
    assert errors.shape == (2,)
    assert errors[0] == 0
    expected = torch.sin(grid).pow(2).mean()  # predicting 0 for sin(x)
    assert errors[1].item() == pytest.approx(expected.item(), rel=1e-5)
    assert math.isclose(
        curve_errors(predict(target, torch.tensor([[0.0, 0.5]]), grid), params[:1], grid), 0.25
    )
