"""Argument checks that raise errors naming the argument, its value and what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np
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
    return _check_int(name, value, 1, "a positive int", " (≥ 1)")


def check_non_negative_int(name: str, value: object) -> int:
    """Return `value` if it is an int ≥ 0, else raise TypeError or ValueError."""
    return _check_int(name, value, 0, "an int ≥ 0")


def _check_int(name: str, value: object, minimum: int, what: str, bound: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}={value} is not allowed; it must be {what}{bound}")
    return value


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Return `tensor` if it is a tensor with no NaN or infinity, else raise."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).sum().item()
        raise ValueError(f"{name} holds {bad} NaN or infinite values; inputs must be finite")
    return tensor


MAX_SEED = 2**32 - 1  # NumPy's limit (seed_everything seeds NumPy too)


def check_seed(name: str, value: object, allow_none: bool = False) -> int | None:
    """Return `value` if it is an int from 0 to MAX_SEED (or None when allowed), else raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        allowed = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name}={value} is not allowed; use an int from 0 to 2**32 - 1")
    return int(value)


def check_positive_number(name: str, value: object, allow_none: bool = False) -> float | None:
    """Return `value` if it is a finite real number > 0 (or None when allowed), else raise."""
    if value is None and allow_none:
        return None
    allowed = "a finite number > 0" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not allowed; use {allowed}")
    return float(value)


def check_bool(name: str, value: object) -> bool:
    """Return `value` if it is True or False, else raise a TypeError."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def as_tensor(name: str, value: object) -> torch.Tensor:
    """`value` as a tensor of numbers: a torch.Tensor as it is, a NumPy array converted."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got a NumPy array of dtype {value.dtype}")
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor or a NumPy array of numbers, got {type(value).__name__}"
        )
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
    return value


def check_device(name: str, tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Return `tensor` if it is on `device`, else raise a ValueError naming both devices."""
    if tensor.device != torch.device(device):
        raise ValueError(
            f"{name} is on device {tensor.device}, but the model is on {device}; "
            f"move it with {name}.to({str(device)!r})"
        )
    return tensor


def as_float_tensor(
    name: str,
    value: object,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
) -> torch.Tensor:
    """`value` (a tensor or NumPy array of numbers) as a finite float tensor of `dtype`.

    Integer and float64 inputs are converted; a tensor on another device than `device` raises.
    """
    tensor = as_tensor(name, value)
    if device is not None:
        check_device(name, tensor, device)
    return check_finite(name, tensor.to(dtype))
