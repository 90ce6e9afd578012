"""Notebook 06's claims at reduced size (two seeds, fewer tasks and steps) and its dashboard."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz.lessons.continual_learning import (
    digits_comparison,
    earlier_after_last,
    format_summary,
    learned_later,
    polynomial_comparison,
    rise,
)
from hyperviz.lessons.continual_learning_dashboard import (
    ContinualDashboard,
    matrix_so_far,
    percent_labels,
    plot_polynomial_fits,
    with_gaps,
)

SEEDS = (0, 1)


@pytest.fixture(scope="module")
def digits():
    return digits_comparison(seeds=SEEDS, betas=(0.0, 0.1, 1.0), num_tasks=3, steps=40)


@pytest.fixture(scope="module")
def polynomials():
    return polynomial_comparison(seeds=SEEDS, betas=(0.0, 1.0), steps=120)


def test_the_digit_claims_hold_at_reduced_size(digits):
    """Notebook 06's four digit claims, on two seeds and three tasks, with smaller margins."""
    dnn, h0, h01, h1 = (digits.dnn(), digits.hypernet(0.0), digits.hypernet(0.1),
                        digits.hypernet(1.0))  # fmt: skip
    assert (dnn[:, 0, 0] - dnn[:, -1, 0] >= 0.2).all()  # fine-tuning forgets
    assert (earlier_after_last(h0) < earlier_after_last(dnn)).all()  # β = 0 keeps less
    assert (earlier_after_last(h01) >= earlier_after_last(dnn) + 0.2).all()  # β = 0.1 keeps more
    assert (earlier_after_last(h01) >= earlier_after_last(h0) + 0.2).all()
    assert (h01[:, 0, 0] - h01[:, -1, 0] <= 0.05).all()  # task 1 kept
    assert (learned_later(h1) <= learned_later(h01) - 0.05).all()  # β = 1 learns new tasks worse


def test_the_polynomial_claims_hold_at_reduced_size(polynomials):
    dnn, h0, h1 = polynomials.dnn(), polynomials.hypernet(0.0), polynomials.hypernet(1.0)
    assert (rise(dnn) >= 100).all()  # fine-tuning forgets the line
    assert (earlier_after_last(h1) * 10 <= earlier_after_last(dnn)).all()
    assert (earlier_after_last(h1) * 10 <= earlier_after_last(h0)).all()
    assert (learned_later(h1) < 2 * learned_later(dnn)).all()  # β = 1 still learns new tasks


def test_the_comparison_looks_up_models_by_beta_and_seed(digits):
    assert digits.hypernet(0.1).shape == (2, 3, 3) and digits.dnn().shape == (2, 3, 3)
    assert digits.learnable == 21_992 and digits.target.num_params == 2_410  # 3 embeddings of 8
    theta = digits.theta(None, seed=1, after=2)  # the DNN: one Θ for every task
    assert theta.shape == (3, 2_410) and torch.equal(theta[0], theta[2])
    with pytest.raises(ValueError, match="beta=0.5 was not trained"):
        digits.hypernet(0.5)
    with pytest.raises(ValueError, match="seed=7 was not trained"):
        digits.theta(0.1, seed=7, after=0)


def test_the_summary_table_has_a_row_per_model_and_no_integer_floats(polynomials):
    text = format_summary(polynomials)
    lines = text.splitlines()
    assert lines[0].startswith("mse (mean ± std, 2 seeds)") and len(lines) == 2 + 3
    assert lines[2].startswith("fine-tuned DNN") and lines[-1].startswith("hypernet, β = 1")
    numbers = [
        n for line in lines[2:] for cell in re.split(r"\s{2,}", line)[1:] for n in cell.split(" ± ")
    ]
    assert len(numbers) == 3 * 4 * 2
    for number in numbers:  # a measured float must never print like an exact integer ("3")
        assert not number.isdigit(), f"{number!r} would print as an exact integer"


def test_matrix_helpers_blank_the_future_and_write_percentages():
    scores = torch.tensor([[[0.5, float("nan")], [0.25, 1.0]]])
    assert np.isnan(matrix_so_far(scores, 1)[1]).all()
    assert with_gaps(matrix_so_far(scores, 2)) == [[0.5, None], [0.25, 1.0]]
    assert percent_labels(np.array([[0.5, np.nan]])).tolist() == [["50", ""]]


def test_the_dashboard_looks_results_up_and_refuses_bad_values(digits):
    dash = ContinualDashboard(digits)
    assert dash.values() == {"beta": 0.1, "after": 3}
    assert dash.status_text().startswith("β = 0.1, 3 of 3 tasks learned")
    assert_traces_are_keyed(dash)
    assert dash.set(beta=0.0, after=1)
    assert dash.status_text().startswith("β = 0, 1 of 3 tasks learned: mean accuracy on task 1")
    z = array(dash, "hypernet", "z").astype(float)  # None (a gap) -> NaN
    assert z.shape == (3, 3) and np.isnan(z[1:]).all() and not np.isnan(z[0, 0])
    assert array(dash, "now", "x").tolist() == [1, 1]
    assert not dash.set(beta=0.5)
    assert "beta=0.5" in dash.status_text() and dash.values() == {"beta": 0.0, "after": 1}
    assert not dash.set(after=4)
    assert "after=4" in dash.status_text()
    assert_redraw_sets_every_array(dash)


def test_the_dashboard_draws_its_static_twin_and_updates_fast(digits):
    dash = ContinualDashboard(digits, beta=1.0)
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) >= 3
    plt.close(figure)
    assert dash.set(after=2) and dash.last_update_seconds < 1.0  # 100 ms on a quiet machine


def test_the_dashboard_refuses_a_regression_comparison(polynomials):
    with pytest.raises(ValueError, match="accuracies"):
        ContinualDashboard(polynomials)


def test_the_polynomial_fits_draw_one_panel_per_model_and_task(polynomials):
    figure = plot_polynomial_fits(polynomials, seed=1, betas=(None, 1.0))
    assert len(figure.axes) == 2 * 3
    assert figure.axes[0].get_title() == "fine-tuned DNN: after task 1"
    plt.close(figure)
