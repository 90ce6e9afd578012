"""Notebook 10's claims at reduced size (three seeds, two dataset sizes) and its dashboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz.causal import confounded_study, naive_effect, treatment_effect
from hyperviz.lessons.causal_inference import LEARNERS, pehe_table, run_experiment
from hyperviz.lessons.causal_inference_dashboard import CausalDashboard

SEEDS, SIZES = (0, 1, 2), (50, 200)


@pytest.fixture(scope="module")
def experiment():
    return run_experiment(seeds=SEEDS, sizes=SIZES, test_units=500, slice_points=21)


def test_the_study_is_confounded_as_the_notebook_says():
    study = confounded_study([0], 20_000)
    x1, t = study.x[0, :, 0], study.t[0]
    assert t[x1 >= 0].mean() > 5 * t[x1 < 0].mean()
    assert naive_effect(study).item() > 2 * treatment_effect(study.x).mean().item()


def test_the_notebook_claims_hold_at_reduced_size(experiment):
    """At 50 units: sharing through the hypernet beats the T-learner and the same hypernets
    without sharing; every learner improves with four times the units."""
    mean = {name: experiment.mean_pehe(name) for name in LEARNERS}
    assert all(bool(m[-1] < m[0]) for m in mean.values()), mean
    assert mean["HyperITE"][0] < 0.9 * mean["T-learner"][0]
    assert mean["HyperITE"][0] < 0.9 * mean["hypernet per arm"][0]
    low, high = experiment.region_pehe["T-learner"].mean(0).unbind(-1)
    assert (low > high).all()  # the T-learner errs where treated units are scarce


def test_the_experiment_holds_what_the_notebook_and_dashboard_read(experiment):
    assert set(experiment.pehe) == set(LEARNERS)
    for name in LEARNERS:
        assert experiment.pehe[name].shape == (3, 2)
        assert experiment.region_pehe[name].shape == (3, 2, 2)
        assert experiment.slice_effect[name].shape == (3, 2, 21)
        assert (experiment.best_step[name] <= experiment.steps).all()
    assert experiment.learnable["T-learner"] == 2 * 337  # two networks 2-16-16-1
    assert experiment.learnable["S-learner"] == 353  # one network 3-16-16-1
    assert experiment.learnable["hypernet per arm"] == 2 * experiment.learnable["HyperITE"] - 16
    control, treated = experiment.units(seed=1, size=50)
    assert len(control) + len(treated) == 50
    table = pehe_table(experiment).splitlines()
    assert len(table) == 2 + len(LEARNERS) and "n = 200" in table[0]


def test_the_dashboard_looks_results_up_and_refuses_bad_values(experiment):
    dash = CausalDashboard(experiment)
    assert dash.values() == {"size": 50, "seed": 0}
    assert_traces_are_keyed(dash)
    assert dash.set(size=200, seed=2) and dash.status_text().startswith("seed 2, n = 200")
    np.testing.assert_allclose(
        array(dash, "HyperITE", "y"), experiment.slice_effect["HyperITE"][2, 1]
    )
    np.testing.assert_allclose(
        array(dash, "T-learner mean", "y"), experiment.mean_pehe("T-learner")
    )
    treated = experiment.units(seed=2, size=200)[1]
    assert len(array(dash, "treated", "x")) == len(treated)
    assert_redraw_sets_every_array(dash)
    assert not dash.set(size=75)
    assert "size=75" in dash.status_text() and dash.values() == {"size": 200, "seed": 2}
    assert not dash.set(seed=9) and dash.values()["seed"] == 2
    assert dash.last_update_seconds < 0.5
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) == 3
    plt.close(figure)
