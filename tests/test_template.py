"""The template lesson and its dashboard: the shape a new notebook copies, tested likewise."""

import matplotlib.pyplot as plt
import pytest

from hyperviz.lessons.template import run_experiment
from hyperviz.lessons.template_dashboard import TemplateDashboard


@pytest.fixture(scope="module")
def result():
    return run_experiment(seeds=(0, 1), num_tasks=2, steps=300)


def test_the_notebook_claims_hold_at_reduced_size(result):
    """The template notebook's two claims, on two seeds and two tasks."""
    P, tasks = result.target.num_params, result.tasks.num_tasks
    assert all(run.learnable > 4 * P for run in result.runs.values())  # Φ > four DNNs' Θ
    for run in result.runs.values():
        assert run.history.final_loss() < run.history.loss[0] / 10
    assert next(iter(result.runs.values())).theta.shape == (tasks, P)


def test_the_dashboard_looks_results_up_and_refuses_bad_values(result):
    dash = TemplateDashboard(result)
    assert dash.set(seed=1, task=1) and dash.status_text().startswith("seed 1, task 1")
    assert not dash.set(seed=7, task=0)
    assert "seed=7" in dash.status_text() and dash.values() == {"seed": 1, "task": 1}
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) >= 5
    plt.close(figure)
