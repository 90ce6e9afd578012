"""Notebook 01's lesson (DNN vs HyperDNN): its claims at reduced size; the stepper's colour bar."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

import hyperviz as hv
from hyperviz.evaluation import predict
from hyperviz.lessons import dnn_vs_hyperdnn as lesson
from hyperviz.lessons.dnn_vs_hyperdnn_dashboard import COLOUR_LABEL, TrainingStepper

SEEDS = (0, 1)


@pytest.fixture(scope="module")
def experiment():
    """30 samples, both models, two seeds, half the notebook's steps."""
    return lesson.run_experiment(seeds=SEEDS, regimes={30: lesson.MODELS}, steps=400)


def test_experiment_shapes_and_scores(experiment):
    few = experiment.regimes[30]
    assert experiment.seeds == SEEDS and experiment.grid.shape == (200, 1)
    assert few.x.shape == (30, 1) and few.truth.shape == (200, 1)
    for name in lesson.MODELS:
        assert few.runs[name].seeds == list(SEEDS)
        assert len(few.errors[name]) == len(few.halfway[name]) == len(SEEDS)
        assert all(0 < e < 1 for e in few.errors[name])
        assert sorted(few.runs[name].histories[0].snapshots)[:2] == [0, 25]


def test_gradient_of_phi_is_larger_than_gradient_of_theta(experiment):
    """Notebook §4: ratio 1 for the DNN; above 1 at every step for the HyperDNN."""
    runs = experiment.regimes[30].runs
    for history in runs["DNN"].histories:
        assert np.allclose(lesson.gradient_ratios(history), 1, atol=1e-4)
    for history in runs["HyperDNN"].histories:
        assert lesson.gradient_ratios(history).min() > 1


def test_hyperdnn_theta_moves_farther_in_its_first_steps(experiment):
    runs = experiment.regimes[30].runs
    moves = {
        name: [(h.snapshots[25] - h.snapshots[0]).norm().item() for h in runs[name].histories]
        for name in lesson.MODELS
    }
    assert min(moves["HyperDNN"]) > max(moves["DNN"])


def test_with_few_samples_the_hyperdnn_ends_closer_and_the_dnn_still_improves(experiment):
    few = experiment.regimes[30]
    assert few.closer() == len(SEEDS)
    assert all(end < half for end, half in zip(few.errors["DNN"], few.halfway["DNN"], strict=True))


def test_with_many_samples_the_dnn_is_within_one_percent():
    """Notebook §6: the regime where a plain DNN is enough (the notebook's 800 steps)."""
    result = lesson.run_experiment(seeds=SEEDS, regimes={200: ("DNN",)}, steps=800)
    assert max(result.regimes[200].errors["DNN"]) < 0.01
    with pytest.raises(ValueError, match="closer"):
        result.regimes[200].closer()


def test_one_shot_head_copies_the_gradient_of_theta():
    """Notebook §4's algebra: for Θ = W h + b, ∂L/∂b = ∂L/∂Θ and ‖∂L/∂W‖ = ‖∂L/∂Θ‖‖h‖."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 1))
    shapes = {name: p.shape for name, p in net.named_parameters()}
    sizes = [s.numel() for s in shapes.values()]
    body, head = nn.Sequential(nn.Linear(4, 5), nn.ReLU()), nn.Linear(5, sum(sizes))
    context = torch.randn(4)
    h = body(context)
    theta = head(h)
    h = h.detach()
    theta.retain_grad()
    weights = {n: t.reshape(shapes[n]) for n, t in zip(shapes, theta.split(sizes), strict=True)}
    x = torch.linspace(-1, 1, 7).unsqueeze(1)
    functional_call(net, weights, (x,)).pow(2).mean().backward()
    g = theta.grad
    assert torch.allclose(head.bias.grad, g)
    assert math.isclose(head.weight.grad.norm().item(), (g.norm() * h.norm()).item(), rel_tol=1e-5)
    phi = torch.cat([p.grad.flatten() for m in (body, head) for p in m.parameters()])
    assert phi.norm() >= (1 + h.norm() ** 2).sqrt() * g.norm() * (1 - 1e-6)
    assert all(p.grad is None for p in net.parameters())


def test_late_error_takes_the_median_of_the_last_snapshots():
    target = hv.MLPTarget([1, 4, 1])
    grid = hv.sinusoid_tasks(num_tasks=1, num_points=5).x[0]
    theta = torch.randn(target.num_params)
    truth = predict(target, theta, grid)[0]
    history = hv.History()
    history.snapshots = {0: theta + 5, 25: theta, 50: theta + 10, 75: theta, 99: theta}
    assert lesson.relative_error(target, theta, grid, truth) == 0
    assert (
        lesson.late_snapshot(target, history, grid, truth)[1] == 0
    )  # two spikes of five: median 0
    assert lesson.late_snapshot(target, history, grid, truth) in [(25, 0), (75, 0), (99, 0)]
    assert lesson.late_snapshot(target, history, grid, truth, end=51, window=51)[1] > 0  # 0, 25, 50
    with pytest.raises(ValueError, match="no snapshot"):
        lesson.late_snapshot(target, history, grid, truth, end=40, window=10)


def test_step_times_times_both_models():
    task = hv.sinusoid_tasks(num_tasks=1, num_points=10, seed=1)
    times = lesson.step_times(hv.MLPTarget([1, 16, 16, 1]), task.x[0], task.y[0], repeats=3)
    assert set(times) == set(lesson.MODELS) and all(t > 0 for t in times.values())


def test_figures_label_their_axes(experiment):
    figure = lesson.gradient_norm_figure(experiment.regimes[30].runs)
    left, right = figure.axes
    assert left.get_xlabel() == right.get_xlabel() == "training step"
    assert "gradient norm" in left.get_ylabel()
    assert [t.get_text() for t in right.get_legend().get_texts()] == [
        "‖∂L/∂Φ‖: Φ is learned",
        "‖∂L/∂Θ‖: Θ is generated",
    ]
    plt.close(figure)
    figure = lesson.fit_figure(experiment, seed=1)
    assert figure.axes[0].get_title() == "30 samples (seed 1)"
    plt.close(figure)


def test_stepper_has_one_labelled_colour_bar_for_both_models(experiment):
    runs = experiment.regimes[30].runs
    stepper = TrainingStepper(experiment.target, {name: r.histories[0] for name, r in runs.items()})
    bars = [t for t in stepper.live.figure.data if getattr(t, "showscale", False)]
    assert len(bars) == 1 and bars[0].colorbar.title.text == COLOUR_LABEL
    figure = stepper.draw_static(stepper.state)
    colour_bars = [ax for ax in figure.axes if ax.get_ylabel() == COLOUR_LABEL]
    assert len(colour_bars) == 1
    assert colour_bars[0].get_ylim() == pytest.approx((-stepper.limit, stepper.limit))
    plt.close(figure)


def test_per_seed_formats_each_value():
    assert lesson.per_seed([0.012, 0.03], ".1%") == "1.2%  3.0%"
    assert lesson.per_seed([1.5e-3]) == "1.50e-03"
