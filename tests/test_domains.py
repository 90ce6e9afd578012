"""Domain shifts of small images: rotation by many angles at once."""

import pytest
import torch

import hyperviz as hv
from hyperviz.domains import rotate


def test_quarter_turns_are_exact_and_counter_clockwise():
    images = torch.rand(3, 1, 8, 8)
    turned = rotate(images, [0, 90, 180, 270])
    assert turned.shape == (4, 3, 1, 8, 8)
    for quarter in range(4):  # torch.rot90 turns counter-clockwise, the first axis down
        expected = torch.rot90(images, quarter, dims=(2, 3))
        torch.testing.assert_close(turned[quarter], expected, atol=1e-5, rtol=0)


def test_a_turn_keeps_the_ink_near_the_centre_and_a_full_turn_is_the_identity():
    x, _, _, _ = hv.load_digits_tensors()
    digits = x[:50]
    turned = rotate(digits, torch.tensor([45.0, 360.0]))
    torch.testing.assert_close(turned[1], digits, atol=1e-4, rtol=0)
    ink_before, ink_after = digits.sum(dim=(1, 2, 3)), turned[0].sum(dim=(1, 2, 3))
    assert bool((ink_after > 0.8 * ink_before).all() and (ink_after < 1.05 * ink_before).all())
    assert rotate(digits[0:1], 30.0).shape == (1, 1, 1, 8, 8)  # a single angle


@pytest.mark.parametrize(
    "images, angles, error, message",
    [
        (torch.rand(3, 8, 8), [0], ValueError, r"\(N, 1, H, W\)"),
        (torch.rand(3, 2, 8, 8), [0], ValueError, "one-channel"),
        (torch.rand(3, 1, 8, 8), [], ValueError, "angles is empty"),
        (torch.rand(3, 1, 8, 8), ["a"], TypeError, "angles must be a number"),
        (torch.rand(3, 1, 8, 8), [float("nan")], ValueError, "NaN"),
        ("digits", [0], TypeError, "images must be"),
    ],
)
def test_bad_input_gets_a_clear_error(images, angles, error, message):
    with pytest.raises(error, match=message):
        rotate(images, angles)
