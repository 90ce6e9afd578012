"""DNN vs HyperDNN gradients, the training history, and determinism by seed."""

from __future__ import annotations

import math

import pytest
import torch

from hyperviz import (
    DNN,
    DigitsCNNTarget,
    History,
    HyperDNN,
    HyperNetwork,
    MLPTarget,
    count_learnable,
    fit,
    prediction_loss,
    train,
    two_moons,
)


def test_hyperdnn_theta_is_generated_and_the_gradient_reaches_phi(tiny_target):
    model = HyperDNN(HyperNetwork(tiny_target, strategy="chunk-wise", body="rnn"))
    theta = model.weights(0)
    assert not theta.is_leaf and theta.grad_fn is not None
    assert all(p.grad is None for p in model.parameters())
    theta.retain_grad()
    tiny_target(torch.linspace(-1, 1, 8).unsqueeze(1), theta).square().mean().backward()
    assert theta.grad is not None and theta.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    phi = {id(p) for p in model.parameters()}
    assert id(theta) not in phi


def test_dnn_theta_is_the_leaf_parameter(tiny_target):
    model = DNN(tiny_target)
    theta = model.weights()
    assert theta.is_leaf and isinstance(theta, torch.nn.Parameter)
    assert [p for p in model.parameters()] == [theta]
    assert count_learnable(model) == tiny_target.num_params
    model(torch.linspace(-1, 1, 8).unsqueeze(1)).square().mean().backward()
    assert theta.grad is not None and theta.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["dnn", "hyperdnn"])
def test_history_records_positive_finite_gradient_norms(kind, tiny_target):
    model = DNN(tiny_target) if kind == "dnn" else HyperDNN(HyperNetwork(tiny_target))
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    history = fit(model, x, x.square(), steps=30, lr=1e-2, snapshot_every=10)
    for series in (history.loss, history.grad_norm_learned, history.grad_norm_theta):
        assert len(series) == 30
        assert all(math.isfinite(v) and v > 0 for v in series)
    assert len(history.step_time) == 30 and all(t > 0 for t in history.step_time)
    assert sorted(history.snapshots) == [0, 10, 20, 29]
    snapshot = history.snapshots[29]
    assert snapshot.shape[-1] == tiny_target.num_params and not snapshot.requires_grad
    assert not torch.equal(history.snapshots[0], snapshot)


def test_dnn_gradient_norms_of_theta_and_of_the_learned_parameters_agree(tiny_target):
    """For a DNN, Θ is what is learned: both norms are the same number."""
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    history = fit(DNN(tiny_target), x, x.square(), steps=5)
    assert history.grad_norm_learned == pytest.approx(history.grad_norm_theta)


def test_clip_grad_bounds_the_update_but_history_keeps_the_raw_norm(tiny_target):
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    history = fit(DNN(tiny_target), x, 100 * x, steps=3, clip_grad=1e-3)
    assert history.grad_norm_learned[0] > 1e-3


def test_dnn_learns_a_parabola(tiny_target):
    # MSE of predicting the mean is Var(x²) = 0.104 here; trained (seeds 0-3): 2e-5 to 8e-5
    x = torch.linspace(-1, 1, 32).unsqueeze(1)
    history = fit(DNN(tiny_target), x, x.square(), steps=300, lr=1e-2)
    assert history.final_loss() < 0.1 * x.square().var().item()


def test_cross_entropy_fit_on_two_moons():
    # chance level is ln 2 = 0.69; measured 0.001-0.004 (seeds 0-3), accuracy 1.0
    x, labels = two_moons(200, seed=0)
    model = DNN(MLPTarget([2, 16, 16, 2]))
    history = fit(model, x, labels, loss="cross-entropy", steps=200, lr=1e-2)
    assert history.final_loss() < 0.2 * math.log(2)
    accuracy = (model(x).argmax(-1) == labels).float().mean()
    assert accuracy > 0.9


def test_prediction_loss_broadcasts_y_over_weight_sets():
    y = torch.tensor([[1.0], [2.0]])
    prediction = torch.stack([y, y + 1])  # (2, 2, 1): exact, then off by one
    assert prediction_loss(prediction, y).item() == pytest.approx(0.5)
    logits = torch.tensor([[[9.0, 0.0]], [[0.0, 9.0]]])  # (S=2, N=1, C=2)
    labels = torch.tensor([0])
    expected = 4.5 + math.log1p(math.exp(-9))  # mean of log(1 + e^-9) and 9 + log(1 + e^-9)
    assert prediction_loss(logits, labels, "cross-entropy").item() == pytest.approx(expected)


def test_minibatches_are_drawn_along_the_example_axis():
    x = torch.linspace(-1, 1, 40).reshape(2, 20, 1)  # two tasks of 20 examples
    y = torch.stack([x[0], -x[1]])
    model = HyperDNN(HyperNetwork(MLPTarget([1, 8, 1]), num_tasks=2))
    history = fit(model, x, y, context=torch.arange(2), batch_size=5, steps=20)
    assert len(history.loss) == 20 and all(math.isfinite(v) for v in history.loss)


def test_train_refuses_a_theta_without_gradient(tiny_target):
    model = DNN(tiny_target)

    def loss_fn(m):
        return m.weights().square().sum(), m.weights().detach()

    with pytest.raises(ValueError, match="no gradient reaches"):
        train(model, loss_fn, steps=1)


# --- determinism ------------------------------------------------------------------------


def run(seed: int, make_hyperdnn, make_problem, conditioning: str = "noise"):
    """Build and train a small hypernet with `seed`; minibatches and noise draws use it too."""
    model = make_hyperdnn(conditioning, "chunk-wise", "attention", seed=seed)
    problem = make_problem(conditioning)
    history = fit(
        model,
        problem.x,
        problem.y,
        context=problem.context,
        steps=25,
        lr=1e-2,
        seed=seed,
        batch_size=8,
        snapshot_every=5,
    )
    return model, history


@pytest.mark.parametrize("conditioning", ["task", "data", "noise"])
def test_same_seed_gives_identical_histories_and_weights(conditioning, make_hyperdnn, make_problem):
    model_a, history_a = run(3, make_hyperdnn, make_problem, conditioning)
    model_b, history_b = run(3, make_hyperdnn, make_problem, conditioning)
    assert history_a.loss == history_b.loss
    assert history_a.grad_norm_learned == history_b.grad_norm_learned
    assert history_a.grad_norm_theta == history_b.grad_norm_theta
    assert history_a.snapshots.keys() == history_b.snapshots.keys()
    for step, theta in history_a.snapshots.items():
        assert torch.equal(theta, history_b.snapshots[step])
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


@pytest.mark.parametrize("conditioning", ["task", "noise"])
def test_a_different_seed_gives_a_different_run(conditioning, make_hyperdnn, make_problem):
    model_a, history_a = run(3, make_hyperdnn, make_problem, conditioning)
    model_b, history_b = run(4, make_hyperdnn, make_problem, conditioning)
    assert history_a.loss != history_b.loss
    assert not torch.equal(history_a.snapshots[24], history_b.snapshots[24])
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert not all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_dnn_seed_sets_its_initial_weights():
    target = DigitsCNNTarget(channels=2)
    assert torch.equal(DNN(target, seed=1).theta, DNN(target, seed=1).theta)
    assert not torch.equal(DNN(target, seed=1).theta, DNN(target, seed=2).theta)


def test_noise_draws_repeat_with_a_generator(tiny_target):
    hypernet = HyperNetwork(tiny_target, conditioning="noise")
    a = hypernet(3, generator=torch.Generator().manual_seed(0))
    b = hypernet(3, generator=torch.Generator().manual_seed(0))
    c = hypernet(3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])  # each draw is a different network


# --- what a run records: final loss, step time, divergence ---------------------------------------


def test_final_loss_is_the_median_of_the_last_steps_so_one_spike_does_not_move_it():
    history = History(loss=[9.0] * 5 + [1.0] * 19 + [1e6])
    assert history.final_loss() == 1.0  # the mean of the last 20 would be 50,001
    assert history.final_loss(window=2) == pytest.approx((1.0 + 1e6) / 2)
    assert math.isnan(History().final_loss())


def test_step_ms_is_the_median_after_warm_up():
    history = History(step_time=[1.0] * 10 + [0.002, 0.003, 0.004])
    assert history.step_ms() == pytest.approx(3.0)
    assert history.step_ms(skip=0) == pytest.approx(1000.0)
    assert History(step_time=[0.001, 0.003]).step_ms() == pytest.approx(2.0)  # all, if few
    assert math.isnan(History().step_ms())


def test_a_normal_run_is_not_flagged(tiny_target):
    history = fit(DNN(tiny_target), torch.zeros(4, 1), torch.zeros(4, 1), steps=3)
    assert (history.diverged, history.diverged_at) == (False, None)


def test_a_run_whose_loss_becomes_infinite_stops_with_a_warning():
    """A hypernet at lr 1e3: Θ grows like Φ³, and the loss overflows at step 1."""
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    model = HyperDNN(HyperNetwork(MLPTarget([1, 8, 1]), seed=0))
    with pytest.warns(RuntimeWarning, match=r"diverged at step 1: .* with lr=1000.0") as caught:
        history = fit(model, x, x.square(), lr=1e3, steps=200)
    assert "smaller lr" in str(caught[0].message) and "clip_grad" in str(caught[0].message)
    assert history.diverged and history.diverged_at == 1
    assert len(history.loss) == len(history.step_time) == len(history.grad_norm_theta) == 1
    assert all(math.isfinite(v) for v in history.loss)
    assert math.isnan(history.final_loss())


def test_training_stops_at_the_first_nan_loss_and_keeps_the_finite_steps(tiny_target):
    calls = []

    def loss_fn(model):
        calls.append(len(calls))
        theta = model.weights()
        loss = theta.square().sum()
        return (loss * float("nan") if len(calls) == 6 else loss), theta

    with pytest.warns(RuntimeWarning, match="diverged at step 5: the loss became nan"):
        history = train(DNN(tiny_target), loss_fn, steps=20, snapshot_every=2)
    assert len(calls) == 6 and history.diverged_at == 5
    assert len(history.loss) == 5 and sorted(history.snapshots) == [0, 2, 4]


# --- any model that generates weights trains --------------------------------------------------


class ScaledTheta(torch.nn.Module):
    """A WeightGenerator that is neither a DNN nor a HyperDNN: Θ = a · Θ0 with learned a."""

    def __init__(self, target: MLPTarget) -> None:
        super().__init__()
        self.target = target
        self.theta0 = target.kaiming_weights(torch.Generator().manual_seed(0))
        self.scale = torch.nn.Parameter(torch.ones(1))

    def weights(self, context=None, generator=None) -> torch.Tensor:
        return self.scale * self.theta0


def test_fit_trains_any_weight_generator(tiny_target):
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    model = ScaledTheta(tiny_target)
    y = 3 * tiny_target(x, model.weights()).detach()
    history = fit(model, x, y, steps=2)
    assert len(history.loss) == 2 and model.scale.item() != 1.0
    hypernet = HyperNetwork(tiny_target, num_tasks=2)  # a HyperNetwork generates weights too
    assert len(fit(hypernet, x, x, context=torch.arange(2), steps=2).loss) == 2


def test_dnn_seed_none_draws_from_the_global_rng(tiny_target):
    torch.manual_seed(5)
    a = DNN(tiny_target, seed=None).theta
    torch.manual_seed(5)
    assert torch.equal(a, DNN(tiny_target, seed=None).theta)


def test_minibatches_of_shared_x_pick_the_same_examples_of_every_task_y():
    """x (N, 1) shared, y (S, N, 1) per task: a minibatch takes examples along y's axis 1."""
    from hyperviz import HyperDNN, HyperNetwork, MLPTarget, fit

    x = torch.linspace(-1, 1, 4).unsqueeze(1)
    y = torch.stack([k * x for k in range(6)])  # S = 6 tasks > N = 4 examples
    model = HyperDNN(HyperNetwork(MLPTarget([1, 8, 1]), conditioning="task", num_tasks=6))
    history = fit(model, x, y, context=torch.arange(6), batch_size=2, steps=5)
    assert len(history.loss) == 5 and not history.diverged
