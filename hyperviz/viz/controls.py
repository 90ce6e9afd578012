"""What a dashboard control accepts: its options, its type, its range.

`check_value` answers with a sentence (naming the control, the value and what is allowed)
instead of letting traitlets raise a TraitError, so `Dashboard.set` can refuse a value
before it touches any control.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import ipywidgets as widgets
import traitlets


def option_values(control: widgets.ValueWidget) -> list[Any]:
    """The values a control with options offers (the value of each (label, value) pair)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in control.options]


def _kind(trait: traitlets.TraitType) -> tuple[str, tuple[type, ...]] | None:
    """The kind of value a trait needs, as (name, types), or None for any value."""
    if isinstance(trait, traitlets.Bool):
        return "a bool", (bool,)
    if isinstance(trait, traitlets.Int):
        return "an int", (Integral,)
    if isinstance(trait, traitlets.Float):
        return "a number", (Real,)
    if isinstance(trait, traitlets.Unicode):
        return "a str", (str,)
    return None


def check_value(name: str, control: widgets.ValueWidget, value: Any) -> str | None:
    """Why `value` cannot go into `control` (one sentence), or None if it can."""
    if hasattr(control, "options"):
        allowed = option_values(control)
        if any(type(value) is type(option) and value == option for option in allowed):
            return None
        choices = ", ".join(map(repr, allowed))
        return f"{name}={value!r} is not allowed; choose one of: {choices}"
    trait = control.traits()["value"]
    kind = _kind(trait)
    if kind is not None:
        what, types = kind
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            return f"{name}={value!r} is not allowed; it must be {what}"
    if hasattr(control, "min") and hasattr(control, "max"):
        if not control.min <= value <= control.max:
            return f"{name}={value!r} is out of range; allowed: {control.min} to {control.max}"
    try:
        trait._validate(control, value)
    except traitlets.TraitError as error:
        return f"{name}={value!r} is not allowed ({error})"
    return None
