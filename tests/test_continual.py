"""Continual learning core: the output regulariser, the task sequences, training through them."""

from __future__ import annotations

import math

import pytest
import torch

import hyperviz as hv
from hyperviz.continual import (
    SequenceRun,
    TaskSequence,
    output_regulariser,
    permuted_digits,
    polynomial_sequence,
    task_scores,
    train_sequence,
)

TARGET = hv.MLPTarget([1, 6, 1], activation="tanh")
TRUE = (lambda x: x + 3, lambda x: 2 * x**2 - 1, lambda x: (x - 3) ** 3)  # the paper's toy


def hypernet(seed: int, num_tasks: int = 3) -> hv.HyperDNN:
    return hv.HyperDNN(
        hv.HyperNetwork(TARGET, "task", "one-shot", num_tasks=num_tasks, hidden=8, seed=seed)
    )


@pytest.fixture(scope="module")
def polynomials() -> TaskSequence:
    return polynomial_sequence(num_points=20, test_points=30)


def test_the_regulariser_is_beta_times_the_mean_squared_distance_over_earlier_tasks():
    theta, anchors = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    theta[0, 0] = 1.0  # model 0, task 0: every weight moved by 1 -> 4 / 3 tasks
    theta[1, 2, 0] = 3.0  # model 1, task 2: one weight moved by 3 -> 9 / 3 tasks
    torch.testing.assert_close(output_regulariser(theta, anchors), torch.tensor([4 / 3, 3.0]))
    beta = torch.tensor([0.5, 0.0])
    torch.testing.assert_close(output_regulariser(theta, anchors, beta), torch.tensor([2 / 3, 0.0]))
    assert output_regulariser(theta[:, :0], anchors[:, :0]).tolist() == [0.0, 0.0]  # first task


def test_the_regulariser_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"theta has shape \(3, 4\) and anchors \(3, 5\)"):
        output_regulariser(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(TypeError, match="tensors"):
        output_regulariser([[0.0]], torch.zeros(1, 1))


def test_permuted_digits_shuffle_the_same_pixels_differently_per_task():
    tasks = permuted_digits(num_tasks=3, seed=0)
    assert tasks.x.shape[:2] == (3, 1348) and tasks.x.shape[2] == 64
    assert tasks.test_x.shape[:2] == (3, 449) and tasks.metric == "accuracy"
    assert torch.equal(tasks.y[0], tasks.y[2])  # same digits, same labels
    sorted_pixels = tasks.x.sort(dim=-1).values
    assert torch.equal(sorted_pixels[0], sorted_pixels[1])  # a permutation of the same pixels
    assert not torch.equal(tasks.x[0], tasks.x[1]) and not torch.equal(tasks.x[1], tasks.x[2])
    with pytest.raises(ValueError, match="num_tasks=0"):
        permuted_digits(num_tasks=0)


def test_polynomial_sequence_is_the_papers_toy_tested_against_the_true_curves(polynomials):
    assert polynomials.names == ("x + 3", "2x² - 1", "(x - 3)³") and polynomials.metric == "mse"
    lows = polynomials.test_x[:, 0, 0].tolist()
    highs = polynomials.test_x[:, -1, 0].tolist()
    assert lows == [-4.0, -1.0, 2.0] and highs == [-2.0, 1.0, 4.0]
    truth = torch.stack([f(x) for x, f in zip(polynomials.test_x, TRUE, strict=True)])
    torch.testing.assert_close(polynomials.test_y, truth)
    clean = torch.stack([f(x) for x, f in zip(polynomials.x, TRUE, strict=True)])
    assert 0.03 < (polynomials.y - clean).std() < 0.07  # the paper's noise of 0.05


def test_training_fills_the_lower_triangle_and_keeps_earlier_embeddings_fixed(polynomials):
    models = [hypernet(0), hypernet(1), hv.DNN(TARGET, seed=0)]
    before = models[0].hypernet.conditioner.task_embedding.weight.detach().clone()
    run = train_sequence(models, polynomials, betas=[1.0, 0.0, 0.0], steps=30, lr=1e-2)
    assert run.scores.shape == (3, 3, 3) and run.losses.shape == (3, 30, 3)
    upper = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    assert run.scores[:, upper].isnan().all() and not run.scores[:, ~upper].isnan().any()
    assert [tuple(theta.shape) for theta in run.thetas] == [
        (3, i, TARGET.num_params) for i in (1, 2, 3)
    ]
    after = models[0].hypernet.conditioner.task_embedding.weight.detach()
    assert not torch.equal(after, before)  # the embeddings learned, and were copied back
    for t in range(3):  # the trained models give back the Θ recorded after the last task
        torch.testing.assert_close(models[0].weights(t)[0], run.thetas[-1][0, t])
    torch.testing.assert_close(run.mean_seen()[:, 0], run.scores[:, 0, 0])
    torch.testing.assert_close(run.just_learned(), run.scores.diagonal(dim1=1, dim2=2))


def first(tasks: TaskSequence, count: int) -> TaskSequence:
    """The first `count` tasks of a sequence."""
    arrays = (tasks.x, tasks.y, tasks.test_x, tasks.test_y)
    return TaskSequence(*(a[:count] for a in arrays), tasks.names[:count], tasks.loss)


def test_an_embedding_moves_only_while_its_task_trains(polynomials):
    start = hypernet(0).hypernet.conditioner.task_embedding.weight.detach()
    snapshots = []
    for count in (1, 2, 3):  # the same start, trained on the first `count` tasks
        model = hypernet(0)
        train_sequence([model], first(polynomials, count), betas=1.0, steps=10, lr=1e-2)
        snapshots.append(model.hypernet.conditioner.task_embedding.weight.detach().clone())
    assert not torch.equal(snapshots[0][0], start[0])  # task 0 learned its embedding
    assert torch.equal(snapshots[0][1:], start[1:])  # tasks not yet seen: untouched
    assert torch.equal(snapshots[1][0], snapshots[0][0])  # task 0 fixed while task 1 trains
    assert torch.equal(snapshots[2][:2], snapshots[1][:2])  # tasks 0, 1 fixed while task 2 trains


def test_a_large_beta_keeps_the_first_tasks_weights_and_beta_zero_lets_them_drift(polynomials):
    models = [hypernet(0), hypernet(0)]
    run = train_sequence(models, polynomials, betas=[100.0, 0.0], steps=25, lr=1e-2)
    drift = (run.thetas[-1][:, 0] - run.thetas[0][:, 0]).norm(dim=-1)
    assert drift[0] < drift[1] / 10


def test_task_scores_are_accuracies_for_classes_and_errors_for_regression(polynomials):
    theta = torch.zeros(2, 3, TARGET.num_params)  # the zero network predicts 0 everywhere
    errors = task_scores(TARGET, theta, polynomials)
    torch.testing.assert_close(errors[0], polynomials.test_y.pow(2).mean(dim=(1, 2)))
    digits = permuted_digits(num_tasks=2)
    target = hv.MLPTarget([64, 10])
    scores = task_scores(target, torch.zeros(1, 2, target.num_params), digits)
    share_of_zeros = (digits.test_y[:2] == 0).float().mean(-1)  # argmax of equal logits: class 0
    torch.testing.assert_close(scores[0], share_of_zeros)
    with pytest.raises(ValueError, match=r"theta has shape \(1, 3, 650\)"):
        task_scores(target, torch.zeros(1, 3, target.num_params), digits)  # 3 tasks of 2
    with pytest.raises(ValueError, match="theta must be a tensor"):
        task_scores(target, torch.zeros(target.num_params), digits)


def test_minibatches_and_full_batches_both_train(polynomials):
    run = train_sequence([hypernet(0)], polynomials, steps=10, lr=1e-2, batch_size=8)
    full = train_sequence([hypernet(0)], polynomials, steps=10, lr=1e-2, batch_size=20)
    assert run.losses.isfinite().all() and full.losses.isfinite().all()
    assert not torch.equal(run.scores.nan_to_num(), full.scores.nan_to_num())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: train_sequence([], t), TypeError, "non-empty list"),
        (lambda t: train_sequence(hypernet(0), t), TypeError, "non-empty list"),
        (lambda t: train_sequence([hypernet(0, num_tasks=2)], t), ValueError, "num_tasks=3"),
        (lambda t: train_sequence([torch.nn.Linear(1, 1)], t), TypeError, r"models\[0\]"),
        (lambda t: train_sequence([hypernet(0)], t, betas=[1.0, 2.0]), ValueError, "2 values"),
        (lambda t: train_sequence([hypernet(0)], t, betas=-1.0), ValueError, "betas"),
        (lambda t: train_sequence([hypernet(0)], t, steps=0), ValueError, "steps=0"),
        (lambda t: train_sequence([hypernet(0)], t, batch_size=21), ValueError, "batch_size=21"),
        (lambda t: train_sequence([hypernet(0)], "tasks"), TypeError, "TaskSequence"),
        (
            lambda t: train_sequence([hypernet(0), hv.DNN(hv.MLPTarget([1, 5, 1]))], t),
            ValueError,
            "another target",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(polynomials, call, error, message):
    with pytest.raises(error, match=message):
        call(polynomials)


def test_a_data_conditioned_hypernet_is_refused(polynomials):
    data = hv.HyperDNN(hv.HyperNetwork(TARGET, "data", data_features=2))
    with pytest.raises(TypeError, match="conditioned on data"):
        train_sequence([data], polynomials)


def test_sequence_run_summaries():
    scores = torch.tensor([[[1.0, math.nan], [0.5, 0.75]]])
    run = SequenceRun(scores, "accuracy", torch.zeros(1), torch.zeros(2, 1, 1), [], [])
    assert run.final().tolist() == [[0.5, 0.75]] and run.just_learned().tolist() == [[1.0, 0.75]]
    assert run.mean_seen().tolist() == [[1.0, 0.625]]
