"""Static and dynamic hypernets: the curve error and the 2×2 map."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

import hyperviz as hv
from hyperviz.variability import curve_errors, static_dynamic_map


def test_curve_errors_is_zero_for_the_true_curve_and_positive_otherwise():
    target = hv.MLPTarget([1, 1], activation="identity")  # y = w x + b: Θ = (w, b)
    params = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # A = 0 (y = 0) and y = sin(x)
    grid = torch.linspace(-1, 1, 101).unsqueeze(1)
    errors = curve_errors(target, torch.zeros(2, 2), params, grid)
    assert errors.shape == (2,)
    assert errors[0] == 0
    expected = torch.sin(grid).pow(2).mean()  # predicting 0 for sin(x)
    assert errors[1].item() == pytest.approx(expected.item(), rel=1e-5)
    assert math.isclose(curve_errors(target, torch.tensor([[0.0, 0.5]]), params[:1], grid), 0.25)


def test_curve_errors_needs_one_weight_set_per_curve():
    target = hv.MLPTarget([1, 1])
    params = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    grid = torch.linspace(-1, 1, 5).unsqueeze(1)
    with pytest.raises(ValueError, match=r"theta has shape \(2,\) for 2 sinusoids"):
        curve_errors(target, torch.zeros(2), params, grid)
    with pytest.raises(ValueError, match=r"theta has shape \(3, 2\) for 2 sinusoids"):
        curve_errors(target, torch.zeros(3, 2), params, grid)


def test_the_map_has_one_static_and_three_dynamic_cells():
    figure = static_dynamic_map({("dynamic", "dynamic"): "my example"})
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts.count("STATIC hypernet") == 1
    assert texts.count("DYNAMIC hypernet") == 3
    assert "my example" in texts
    assert any(t.startswith("task ids → one fixed target") for t in texts)
    assert len(figure.axes[0].patches) == 4
    plt.close(figure)
