"""Notebook 11's experiment at reduced size, its data and baselines, and its dashboard."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from dashboard_checks import assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz.lessons.hyperlstm import (
    BASELINES,
    FREQUENCIES,
    MODELS,
    baseline_predictions,
    fit_linear_predictor,
    run_experiment,
    steps_since_switch,
    switching_sines,
)
from hyperviz.lessons.hyperlstm_dashboard import SequenceExplorer, plot_training_and_switches


@pytest.fixture(scope="module")
def result():
    return run_experiment(seeds=(0, 1), steps=150, batch=32, length=24, test_count=32)


def test_switching_sines_follow_one_frequency_per_regime():
    signals = switching_sines(16, 60, seed=3)
    assert signals.values.shape == signals.regimes.shape == (16, 60)
    assert signals.inputs.shape == (16, 59, 1) and signals.targets.shape == (16, 59)
    v, r = signals.values, signals.regimes
    omega = torch.tensor(FREQUENCIES)[r]
    # Within a regime a sine obeys x_{t+1} = 2 cos(ω) x_t - x_{t-1}; across a switch it does not.
    same = r[:, 2:] == r[:, 1:-1]
    rule = 2 * torch.cos(omega[:, 2:]) * v[:, 1:-1] - v[:, :-2]
    assert torch.allclose(rule[same], v[:, 2:][same], atol=1e-4)
    assert not torch.allclose(rule[~same], v[:, 2:][~same], atol=1e-2)
    switches = (r[:, 1:] != r[:, :-1]).nonzero()
    assert len(switches) > 16  # every sequence switches, more than once on average
    for row in r:  # every regime run between two switches lasts 8 to 20 steps
        starts = [0, *((row[1:] != row[:-1]).nonzero()[:, 0] + 1).tolist(), len(row)]
        inner = [b - a for a, b in zip(starts[1:-1], starts[2:-1], strict=False)]
        assert all(8 <= length <= 20 for length in inner)


def test_switching_sines_repeat_with_a_seed_and_refuse_bad_options():
    assert torch.equal(switching_sines(4, 30, 1).values, switching_sines(4, 30, 1).values)
    assert not torch.equal(switching_sines(4, 30, 1).values, switching_sines(4, 30, 2).values)
    with pytest.raises(ValueError, match=r"segment=\(0, 5\) must be"):
        switching_sines(4, 30, 1, segment=(0, 5))
    with pytest.raises(ValueError, match="needs at least two regimes"):
        switching_sines(4, 30, 1, frequencies=(0.5,))
    with pytest.raises(ValueError, match="count=0 is not allowed"):
        switching_sines(0, 30, 1)


def test_steps_since_switch_counts_how_long_each_target_regime_has_lasted():
    regimes = torch.tensor([[0, 0, 1, 1, 1, 2, 0]])
    assert steps_since_switch(regimes).tolist() == [[1, 0, 1, 2, 0, 0]]


def test_the_fixed_linear_predictor_is_exact_for_a_single_frequency():
    omega = 0.6
    values = torch.sin(0.3 + omega * torch.arange(40.0)).unsqueeze(0)
    a, b, c = fit_linear_predictor(values).tolist()
    assert a == pytest.approx(2 * math.cos(omega), abs=1e-3) and b == pytest.approx(-1, abs=1e-3)
    assert c == pytest.approx(0, abs=1e-3)
    signals = switching_sines(4, 30, seed=0)
    predictions = baseline_predictions(signals, torch.tensor([a, b, c]))
    assert set(predictions) == set(BASELINES)
    assert torch.equal(predictions[BASELINES[0]], signals.values[:, :-1])


def test_the_notebook_claims_hold_at_reduced_size(result):
    """Notebook 11's claims, on two seeds with fewer, shorter training sequences."""
    assert abs(result.parameters["plain RNN"] / result.parameters["HyperRNN"] - 1) < 0.01
    hyper, plain = (result.errors(m) for m in MODELS)
    baselines = torch.stack([result.errors(b) for b in BASELINES])
    assert bool((2 * torch.maximum(hyper, plain) < baselines.min()).all())
    assert bool((hyper < 0.9 * plain).all())
    since = range(2, 4)
    after = result.errors_since_switch(MODELS[0], since) / result.errors_since_switch(
        MODELS[1], since
    )
    assert bool((after < 2 / 3).all())
    assert bool((result.advantage_share((1, 2, 3)) > 0.5).all())  # notebook, full size: 0.7
    changes = result.settled_changes()
    assert bool((changes[:, 2] > 2 * changes[:, 0]).all())


def test_the_result_holds_every_run_for_the_dashboard(result):
    seeds, count, steps = 2, 32, 64
    assert result.predictions["HyperRNN"].shape == (seeds, count, steps)
    assert result.predictions["repeat last value"].shape == (count, steps)
    assert result.scales["x"].shape == (seeds, count, steps, 16)
    assert result.losses["plain RNN"].shape == (150, seeds)
    assert result.scale_changes().shape == (seeds, count, steps - 1)


def test_the_dashboard_looks_results_up_and_refuses_bad_values(result):
    dash = SequenceExplorer(result)
    assert dash.status_text().startswith("sequence 0 (seed 0):")
    assert_traces_are_keyed(dash)
    assert dash.set(sequence=5, vector="h") and dash.status_text().startswith("sequence 5 ")
    assert_redraw_sets_every_array(dash)
    assert dash.trace("scales").z is not None and len(dash.trace("scales").z) == 16
    assert not dash.set(sequence=12)
    assert "sequence=12" in dash.status_text()
    assert dash.values() == {"sequence": 5, "vector": "h"}
    assert not dash.set(vector="W") and "vector='W'" in dash.status_text()
    with pytest.raises(ValueError, match="sequence=40 is out of range"):
        dash.compute(sequence=40, vector="x")
    assert dash.last_update_seconds < 1.0
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) == 5  # four panels and the colour bar
    plt.close(figure)


def test_the_static_summary_draws(result, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "hyperviz.lessons.hyperlstm_dashboard.show_figure", lambda f, alt: shown.append(alt)
    )
    plot_training_and_switches(result)
    assert shown and "steps since the regime switched" in shown[0]
    plt.close("all")
