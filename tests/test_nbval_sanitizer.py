"""The nbval sanitizer normalises measured digits and keeps exact quantities compared."""

import re
from pathlib import Path

import pytest

from hyperviz.claims import measured

CONFIG = Path(__file__).parent / "nbval_sanitize.cfg"


def sanitize(text: str) -> str:
    """What nbval does with the config: each regex/replace pair, in order (nbval's own parser)."""
    pairs = re.findall("^regex: (.*)$\n^replace: (.*)$", CONFIG.read_text(), flags=re.MULTILINE)
    assert pairs, "no regex/replace pairs found"
    for pattern, replacement in pairs:
        text = re.sub(pattern, replacement, text)
    return text


@pytest.mark.parametrize(
    ("here", "elsewhere"),
    [
        ("loss 1.47e-05, error 0.0025", "loss 1.78e-04, error 0.0106"),
        ("mean 0.375 ± 0.12 over 3 seeds", "mean 0.41 ± 0.087 over 3 seeds"),
        ("inside mean ± 2 std: 79% / 15%", "inside mean ± 2 std: 100% / 9%"),
        (f"closer on {measured(13)} of 16 tasks", f"closer on {measured(9)} of 16 tasks"),
        ("mlp     0.1    |  rnn  0.0123", "mlp     0.123  |  rnn  0.3"),
        ("lr=3e-3 took 12.5 ms", "lr=3e-3 took 9.1 ms"),
    ],
)
def test_machine_dependent_digits_compare_equal(here, elsewhere):
    assert sanitize(here) == sanitize(elsewhere)


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("learnable numbers 1,761", "learnable numbers 1,762"),
        ("x (16, 6, 1)", "x (16, 5, 1)"),
        ("closer on 13 of 16 tasks", "closer on 12 of 16 tasks"),
        ("✓ the hypernet wins on every seed", "✓ the DNN wins on every seed"),
        ("MLPTarget(sizes=[1, 40, 40, 1])", "MLPTarget(sizes=[1, 40, 1])"),
        ("torch 2.13.0", "torch 2.14.0"),
    ],
)
def test_exact_quantities_stay_compared(stored, fresh):
    assert sanitize(stored) != sanitize(fresh)


def test_measured_rejects_a_float():
    with pytest.raises(TypeError, match="count"):
        measured(0.5)
