"""Data sets: shapes, dtypes, values and determinism by seed (none needs a download)."""

from __future__ import annotations

import math

import pytest
import torch

from hyperviz import (
    load_digits_tensors,
    polynomial_tasks,
    sinusoid_curve,
    sinusoid_tasks,
    two_moons,
)


def assert_same(a, b):
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)


def test_sinusoid_tasks_shapes_dtypes_and_ranges():
    family = sinusoid_tasks(num_tasks=6, num_points=11, seed=0)
    assert family.x.shape == family.y.shape == (6, 11, 1)
    assert family.params.shape == (6, 2)
    assert family.x.dtype == family.y.dtype == family.params.dtype == torch.float32
    assert family.num_tasks == 6 and len(family.names) == 6
    amplitude, phase = family.params[:, 0], family.params[:, 1]
    assert ((0.5 <= amplitude) & (amplitude <= 2.0)).all()
    assert ((0 <= phase) & (phase <= math.pi)).all()
    assert ((-5 <= family.x) & (family.x <= 5)).all()
    assert family.examples().shape == (6, 11, 2)
    assert family.names[0] == f"A={amplitude[0]:.2f}, φ={phase[0]:.2f}"


def test_sinusoid_values_follow_the_formula():
    family = sinusoid_tasks(num_tasks=3, num_points=7, seed=2)
    a, p = family.params[:, 0, None, None], family.params[:, 1, None, None]
    torch.testing.assert_close(family.y, a * torch.sin(family.x + p))
    grid = torch.linspace(-5, 5, 9).unsqueeze(1)
    curve = sinusoid_curve(family.params, grid)
    assert curve.shape == (3, 9, 1)
    torch.testing.assert_close(curve, a * torch.sin(grid + p))


def test_sinusoid_noise_is_added_and_seeded():
    clean = sinusoid_tasks(seed=1)
    noisy = sinusoid_tasks(seed=1, noise=0.3)
    assert torch.equal(clean.x, noisy.x)
    residual = noisy.y - clean.y
    assert 0.2 < residual.std().item() < 0.4


def test_sinusoid_tasks_repeat_by_seed():
    a, b, c = sinusoid_tasks(seed=5), sinusoid_tasks(seed=5), sinusoid_tasks(seed=6)
    assert_same((a.x, a.y, a.params), (b.x, b.y, b.params))
    assert not torch.equal(a.params, c.params) and not torch.equal(a.x, c.x)


def test_polynomial_tasks_shapes_and_intervals():
    family = polynomial_tasks(num_points=30, noise=0.0)
    assert family.x.shape == family.y.shape == (3, 30, 1)
    assert family.x.dtype == family.y.dtype == torch.float32
    assert family.names == ("x + 3", "2x² - 1", "(x - 3)³")
    for task, (low, high) in enumerate(family.params.tolist()):
        assert family.x[task].min() == low and family.x[task].max() == high
    x = family.x
    torch.testing.assert_close(family.y[0], x[0] + 3)
    torch.testing.assert_close(family.y[1], 2 * x[1] ** 2 - 1)
    torch.testing.assert_close(family.y[2], (x[2] - 3) ** 3)


def test_polynomial_tasks_repeat_by_seed():
    a, b, c = polynomial_tasks(seed=0), polynomial_tasks(seed=0), polynomial_tasks(seed=1)
    assert_same((a.x, a.y), (b.x, b.y))
    assert not torch.equal(a.y, c.y)


def test_two_moons_shapes_labels_and_seed():
    x, labels = two_moons(num_points=101, seed=0)
    assert x.shape == (101, 2) and x.dtype == torch.float32
    assert labels.shape == (101,) and labels.dtype == torch.long
    assert labels.sum().item() == 50  # 101 // 2 inner points, labelled 1
    assert labels[:50].float().mean() not in (0.0, 1.0)  # shuffled
    assert_same(two_moons(101, seed=0), (x, labels))
    assert not torch.equal(two_moons(101, seed=1)[0], x)


def test_two_moons_halves_lie_on_their_circles():
    x, labels = two_moons(num_points=200, noise=0.0, seed=0)
    outer, inner = x[labels == 0], x[labels == 1]
    torch.testing.assert_close(outer.norm(dim=1), torch.ones(100))
    centre = torch.tensor([1.0, 0.5])
    torch.testing.assert_close((inner - centre).norm(dim=1), torch.ones(100))


def test_load_digits_tensors_shapes_dtypes_and_split():
    x_train, y_train, x_test, y_test = load_digits_tensors(seed=0)
    assert x_train.shape == (1348, 1, 8, 8) and x_test.shape == (449, 1, 8, 8)
    assert y_train.shape == (1348,) and y_test.shape == (449,)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.long
    assert x_train.min() == 0 and x_train.max() == 1
    assert set(y_train.tolist()) == set(range(10))
    # train and test together are scikit-learn's 1797 digits, each used once
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts = torch.bincount(y_train, minlength=10) + torch.bincount(y_test, minlength=10)
    assert counts.tolist() == torch.bincount(torch.tensor(digits.target)).tolist()
    total = x_train.sum() + x_test.sum()
    assert total.item() == pytest.approx(digits.images.sum() / 16, rel=1e-6)


def test_load_digits_tensors_repeat_by_seed():
    a, b, c = load_digits_tensors(seed=3), load_digits_tensors(seed=3), load_digits_tensors(seed=4)
    assert_same(a, b)
    assert not torch.equal(a[1], c[1])
    assert load_digits_tensors(test_fraction=0.5)[2].shape[0] == 898


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_load_digits_tensors_refuses_a_bad_test_fraction(fraction):
    with pytest.raises(ValueError, match=f"test_fraction={fraction} must lie strictly"):
        load_digits_tensors(test_fraction=fraction)
