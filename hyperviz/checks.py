"""Argument checks that raise errors naming the argument, its value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return `value` if it is one of `allowed`, else raise a ValueError listing them."""
    allowed = list(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {allowed}; got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not known; allowed: {allowed}")
    return value


def check_positive_int(name: str, value: object) -> int:
    """Return `value` if it is an int ≥ 1, else raise TypeError or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name}={value} is not allowed; it must be a positive int (≥ 1)")
    return value


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Return `tensor` if it is a tensor with no NaN or infinity, else raise."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).sum().item()
        raise ValueError(f"{name} holds {bad} NaN or infinite values; inputs must be finite")
    return tensor
