"""Data sets that need no download: toy regression families, a 2-D classification set, digits.

Every function takes a `seed` and returns float32 tensors, so a notebook repeats exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hyperviz.checks import check_positive_int, check_seed


@dataclass(frozen=True)
class TaskFamily:
    """Several regression tasks: x (T, N, 1), y (T, N, 1), and what defines each task."""

    x: torch.Tensor
    y: torch.Tensor
    params: torch.Tensor  # (T, k): e.g. amplitude and phase of each sinusoid
    names: tuple[str, ...]

    @property
    def num_tasks(self) -> int:
        return self.x.shape[0]

    def examples(self) -> torch.Tensor:
        """Each task's (x, y) pairs side by side, (T, N, 2): the input of a data conditioner."""
        return torch.cat([self.x, self.y], dim=-1)


def sinusoid_tasks(
    num_tasks: int = 8,
    num_points: int = 20,
    seed: int = 0,
    amplitude: tuple[float, float] = (0.5, 2.0),
    phase: tuple[float, float] = (0.0, math.pi),
    noise: float = 0.0,
    x_range: tuple[float, float] = (-5.0, 5.0),
) -> TaskFamily:
    """Sinusoids y = A sin(x + φ) with task-specific A and φ, sampled at random x."""
    check_positive_int("num_tasks", num_tasks)
    check_positive_int("num_points", num_points)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    amp = torch.empty(num_tasks, 1, 1).uniform_(*amplitude, generator=g)
    ph = torch.empty(num_tasks, 1, 1).uniform_(*phase, generator=g)
    x = torch.empty(num_tasks, num_points, 1).uniform_(*x_range, generator=g)
    y = amp * torch.sin(x + ph) + noise * torch.randn(x.shape, generator=g)
    params = torch.cat([amp.reshape(-1, 1), ph.reshape(-1, 1)], dim=1)
    names = tuple(f"A={a:.2f}, φ={p:.2f}" for a, p in params.tolist())
    return TaskFamily(x, y, params, names)


def sinusoid_curve(params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The noise-free sinusoid of each task (params (T, 2)) at points x (N, 1): (T, N, 1)."""
    return params[:, 0, None, None] * torch.sin(x.unsqueeze(0) + params[:, 1, None, None])


POLYNOMIALS = (
    ("x + 3", (-4.0, -2.0), lambda x: x + 3),
    ("2x² - 1", (-1.0, 1.0), lambda x: 2 * x**2 - 1),
    ("(x - 3)³", (2.0, 4.0), lambda x: (x - 3) ** 3),
)


def polynomial_tasks(num_points: int = 50, noise: float = 0.05, seed: int = 0) -> TaskFamily:
    """The three-polynomial toy of von Oswald et al. (2020), each on its own x interval."""
    check_positive_int("num_points", num_points)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    xs, ys = [], []
    for _, (low, high), f in POLYNOMIALS:
        x = torch.linspace(low, high, num_points).unsqueeze(1)
        xs.append(x)
        ys.append(f(x) + noise * torch.randn(x.shape, generator=g))
    bounds = torch.tensor([b for _, b, _ in POLYNOMIALS])
    return TaskFamily(torch.stack(xs), torch.stack(ys), bounds, tuple(n for n, _, _ in POLYNOMIALS))


def two_moons(num_points: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles: x (N, 2) float, labels (N,) long in {0, 1}."""
    check_positive_int("num_points", num_points)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    half = num_points // 2
    t_outer = torch.rand(num_points - half, generator=g) * math.pi
    t_inner = torch.rand(half, generator=g) * math.pi
    outer = torch.stack([torch.cos(t_outer), torch.sin(t_outer)], dim=1)
    inner = torch.stack([1 - torch.cos(t_inner), 0.5 - torch.sin(t_inner)], dim=1)
    x = torch.cat([outer, inner]) + noise * torch.randn(num_points, 2, generator=g)
    labels = torch.cat([torch.zeros(num_points - half), torch.ones(half)]).long()
    order = torch.randperm(num_points, generator=g)
    return x[order], labels[order]


def load_digits_tensors(seed: int = 0, test_fraction: float = 0.25):
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], as a seeded train/test split.

    Returns (x_train, y_train, x_test, y_test) with x of shape (N, 1, 8, 8).
    """
    check_seed("seed", seed)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction} must lie strictly between 0 and 1")
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
