"""Synthetic domain shifts of small images, as plain functions: one domain per shift setting.

`rotate(images, angles)` turns every image by every angle at once: (A, N, 1, H, W) for A
angles. A family of domains is then the same labelled images under different angles: the
labels stay, the inputs move (a covariate shift).
`digit_domains(angles)` is the bundled digits under each angle, and `pretrain_upright` trains
one MLP per seed on the upright ones, the pretrained network that notebooks 09 and 12 adapt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hyperviz.checks import as_float_tensor, check_finite
from hyperviz.data import load_digits_tensors
from hyperviz.models import DNN
from hyperviz.seeds import fit_seeds
from hyperviz.targets import MLPTarget


def _settings(name: str, values: object) -> torch.Tensor:
    """Shift settings (e.g. angles) as a 1-D float tensor, from a number, a list or a tensor."""
    try:
        settings = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be a number or a list of numbers, got {values!r}") from error
    if settings.numel() == 0:
        raise ValueError(f"{name} is empty; give at least one setting")
    return check_finite(name, settings)


def _images(images: object) -> torch.Tensor:
    images = as_float_tensor("images", images)
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(
            f"images has shape {tuple(images.shape)}; give one-channel images (N, 1, H, W), "
            "e.g. the digits of hyperviz.load_digits_tensors (N, 1, 8, 8)"
        )
    return images


def rotate(images: torch.Tensor, angles: object) -> torch.Tensor:
    """Every image (N, 1, H, W) turned counter-clockwise by every angle (degrees): (A, N, 1, H, W).

    Bilinear resampling about the image centre; what comes in from outside the frame is 0
    (the digits' background), so corners are cut at angles that are not multiples of 90°.
    """
    images, radians = _images(images), _settings("angles", angles) * (math.pi / 180)
    cos, sin, zero = radians.cos(), radians.sin(), torch.zeros_like(radians)
    # affine_grid maps output to input coordinates: the inverse rotation (y points down).
    matrices = torch.stack(
        [torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], dim=-2
    )
    a, n = len(radians), images.shape[0]
    grid = F.affine_grid(
        matrices.repeat_interleave(n, dim=0), [a * n, *images.shape[1:]], align_corners=False
    )
    turned = F.grid_sample(images.repeat(a, 1, 1, 1), grid, align_corners=False)
    return turned.unflatten(0, (a, n))


@dataclass(frozen=True)
class Domains:
    """Digits under every angle: x (A, N, 64) flattened images, y (N,) labels (shared)."""

    angles: tuple[int, ...]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digit_domains(angles: Sequence[int]) -> Domains:
    """The bundled digits (train/test split of seed 0), turned by each angle (degrees)."""
    x_train, y_train, x_test, y_test = load_digits_tensors(seed=0)
    flat = [rotate(x, angles).flatten(2) for x in (x_train, x_test)]
    return Domains(tuple(angles), flat[0], y_train, flat[1], y_test)


def pretrain_upright(
    seeds: Sequence[int],
    domains: Domains,
    sizes: Sequence[int],
    steps: int = 300,
    lr: float = 3e-3,
    batch_size: int | None = None,
) -> tuple[MLPTarget, torch.Tensor]:
    """One MLP of `sizes` per seed on the upright digits (one batch): its target and Θ (K, P).

    `batch_size` images per step (None: all of them)."""
    if 0 not in domains.angles:
        raise ValueError(f"domains has angles {list(domains.angles)}; pretraining needs angle 0")
    target = MLPTarget(list(sizes))
    runs = fit_seeds(
        lambda seed: DNN(target, seed=seed),
        list(seeds),
        domains.x_train[domains.angles.index(0)],
        domains.y_train,
        loss="cross-entropy",
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        description="pretraining on upright digits",
    )
    return target, torch.stack([model.theta.detach() for model in runs.models])
