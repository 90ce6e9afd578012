"""A mistake gets a ValueError or TypeError naming the argument, the value and what is allowed.

The rest of these checks (unknown names, sizes, shapes of Θ, NaN inputs) is in test_errors.py.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from hyperviz import (
    DNN,
    DataConditioner,
    HyperDNN,
    HyperNetwork,
    MLPTarget,
    fit,
    load_digits_tensors,
    polynomial_tasks,
    prediction_loss,
    seed_everything,
    sinusoid_tasks,
    train,
    two_moons,
)

TARGET = MLPTarget([1, 8, 1])  # 25 weights
BIG = MLPTarget([1, 32, 32, 1])  # 1153 weights
X = torch.linspace(-1, 1, 16).unsqueeze(1)
Y = X.square()
META = torch.device("meta")


def raises(error: type[Exception], message: str):
    """pytest.raises matching `message` literally (it holds brackets and parentheses)."""
    return pytest.raises(error, match=re.escape(message))


# --- options that do not apply to the chosen strategy or conditioning ------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"strategy": "one-shot", "chunk_size": 64},
            "chunk_size=64 applies only to strategy 'chunk-wise', not to strategy='one-shot'",
        ),
        (
            {"strategy": "chunk-wise", "component": "layer"},
            "component='layer' applies only to strategy 'component-wise', "
            "not to strategy='chunk-wise'",
        ),
        (
            {"strategy": "multi-head", "max_target": BIG},
            "applies only to strategy 'chunk-wise' and 'component-wise', "
            "not to strategy='multi-head'",
        ),
        (
            {"strategy": "component-wise", "chunk_embedding_dim": 4},
            "chunk_embedding_dim=4 applies only to strategy 'chunk-wise'",
        ),
        (
            {"strategy": "chunk-wise", "component_embedding_dim": 4},
            "component_embedding_dim=4 applies only to strategy 'component-wise'",
        ),
        (
            {"conditioning": "noise", "num_tasks": 3},
            "num_tasks=3 applies only to conditioning 'task', not to conditioning='noise'",
        ),
        (
            {"conditioning": "task", "data_features": 2},
            "data_features=2 applies only to conditioning 'data', not to conditioning='task'",
        ),
    ],
)
def test_an_option_of_another_strategy_or_conditioning_is_refused(options, message):
    with raises(ValueError, message):
        HyperNetwork(BIG, **options)


def test_options_left_out_take_the_strategy_defaults():
    chunk = HyperNetwork(BIG, "task", "chunk-wise")
    assert (chunk.strategy.chunk_size, chunk.strategy.chunk_embedding_dim) == (64, 8)
    assert chunk.conditioner.num_tasks == 1
    component = HyperNetwork(BIG, "noise", "component-wise")
    assert component.strategy.component == "layer"
    assert component.strategy.component_embedding_dim == 8


# --- options of the wrong type ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "chunk-wise", "chunk_size": "64"}, "chunk_size must be a positive int"),
        ({"hidden": 3.5}, "hidden must be a positive int, got 3.5 (float)"),
        ({"embedding_dim": True}, "embedding_dim must be a positive int, got True (bool)"),
        ({"strategy": 3}, "strategy must be a string"),
        ({"spectral_norm": "yes"}, "spectral_norm must be True or False, got 'yes' (str)"),
        ({"strategy": "chunk-wise", "max_target": "big"}, "max_target must be a TargetNetwork"),
        ({"strategy": "component-wise", "component": 1}, "component must be a string"),
    ],
)
def test_hypernet_options_of_the_wrong_type(options, message):
    with raises(TypeError, message):
        HyperNetwork(BIG, **options)


@pytest.mark.parametrize("sizes", [5, "1, 8, 1", None])
def test_target_sizes_must_be_a_list(sizes):
    with raises(TypeError, f"sizes must be a list of ints like [1, 40, 40, 1], got {sizes!r}"):
        MLPTarget(sizes)


def test_target_activation_must_be_a_name():
    with raises(TypeError, "activation must be a string, one of ['identity', 'relu'"):
        MLPTarget([1, 4, 1], activation=None)


# --- options larger than the target they apply to -------------------------------------------


def test_a_chunk_larger_than_the_target_warns():
    with pytest.warns(UserWarning, match="chunk_size=100 is larger than the 25 parameters"):
        hypernet = HyperNetwork(TARGET, strategy="chunk-wise", chunk_size=100)
    assert hypernet.report().unused_outputs == 75


def test_a_chunk_that_fits_max_target_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HyperNetwork(TARGET, strategy="chunk-wise", chunk_size=100, max_target=BIG)
        HyperNetwork(TARGET, num_tasks=10**5, hidden=4)  # many tasks are fine


# --- seeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1.0, "0", True])
@pytest.mark.parametrize(
    "call",
    [
        lambda seed: HyperNetwork(TARGET, seed=seed),
        lambda seed: DNN(TARGET, seed=seed),
        lambda seed: fit(DNN(TARGET), X, Y, steps=1, seed=seed),
        lambda seed: train(DNN(TARGET), lambda m: (m.theta.sum(), m.theta), steps=1, seed=seed),
        lambda seed: sinusoid_tasks(seed=seed),
        lambda seed: polynomial_tasks(seed=seed),
        lambda seed: two_moons(seed=seed),
        lambda seed: load_digits_tensors(seed=seed),
        seed_everything,
    ],
    ids=["hypernet", "dnn", "fit", "train", "sinusoids", "polynomials", "moons", "digits", "all"],
)
def test_seeds_of_the_wrong_type(call, seed):
    with raises(TypeError, "seed must be an int"):
        call(seed)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seeds_out_of_range(seed):
    with raises(ValueError, f"seed={seed} is not allowed; use an int from 0 to 2**32 - 1"):
        sinusoid_tasks(seed=seed)
    with raises(ValueError, f"seed={seed} is not allowed"):
        HyperNetwork(TARGET, seed=seed)


# --- dtypes: NumPy arrays and integer or float64 inputs are converted --------------------------


def test_a_float64_numpy_x_works_in_the_target_and_in_fit():
    theta = DNN(TARGET).theta.detach()
    x64 = X.double().numpy()
    assert torch.equal(TARGET(x64, theta), TARGET(X, theta))
    assert TARGET(x64, theta).dtype == torch.float32
    a = fit(DNN(TARGET), x64, Y.double().numpy(), steps=5)
    b = fit(DNN(TARGET), X, Y, steps=5)
    assert a.loss == b.loss


def test_integer_inputs_and_numpy_example_sets_are_converted():
    theta = DNN(TARGET).theta.detach()
    ints = torch.arange(4).unsqueeze(1)
    assert torch.equal(TARGET(ints, theta), TARGET(ints.float(), theta))
    conditioner = DataConditioner(in_features=2, embedding_dim=4)
    examples = torch.randn(3, 5, 2)
    assert torch.equal(conditioner(examples.double().numpy()), conditioner(examples))


def test_numpy_class_labels_train_with_cross_entropy():
    x, labels = two_moons(40, seed=0)
    model = DNN(MLPTarget([2, 8, 2]))
    history = fit(model, x.numpy(), labels.numpy(), loss="cross-entropy", steps=3)
    assert len(history.loss) == 3


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.array([["a"], ["b"]]), "x must hold numbers, got a NumPy array of dtype <U1"),
        ([[object()]], "x must be a torch.Tensor or a NumPy array of numbers, got list"),
        ("0.5", "x must be a torch.Tensor or a NumPy array of numbers, got str"),
        (torch.ones(4, 1, dtype=torch.bool), "x must hold real numbers, got dtype torch.bool"),
    ],
)
def test_inputs_that_are_not_numbers(x, message):
    with raises(TypeError, message):
        TARGET(x, torch.zeros(25))
    with raises(TypeError, message):
        fit(DNN(TARGET), x, Y[:2], steps=1)


# --- devices --------------------------------------------------------------------------------------


def test_a_tensor_on_another_device_names_both_devices():
    message = "is on device meta, but the model is on cpu"
    with raises(ValueError, "x " + message):
        TARGET(torch.zeros(4, 1, device=META), torch.zeros(25))
    with raises(ValueError, "x " + message):
        fit(DNN(TARGET), X.to(META), Y, steps=1)
    with raises(ValueError, "y " + message):
        fit(DNN(TARGET), X, Y.to(META), steps=1)
    with raises(ValueError, "examples " + message):
        DataConditioner(in_features=2, embedding_dim=4)(torch.zeros(5, 2, device=META))
    with raises(ValueError, "task_id " + message):
        HyperNetwork(TARGET, num_tasks=2)(torch.tensor([0, 1], device=META))


# --- shapes of x, y and the context in fit ----------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (X, Y[:15], "x has 16 examples but y has 15 (y shape (15, 1))"),
        (X, Y.reshape(-1), "y has shape (16,), without the output axis: use y.reshape(-1, 1)"),
        (X, torch.zeros(16, 2), "y needs shape (16, 1), or (S, 16, 1) for S networks"),
        (X.reshape(-1), Y, "x has shape (16,); MLPTarget takes inputs of 2 dimensions"),
        (torch.zeros(3, 16, 1), torch.zeros(2, 16, 1), "x has 3 sets of examples but y has 2"),
    ],
)
def test_x_and_y_must_hold_the_same_examples(x, y, message):
    model = HyperDNN(HyperNetwork(TARGET, num_tasks=3))
    with raises(ValueError, message):
        fit(model, x, y, context=torch.arange(3), steps=1)


def test_one_dimensional_x_gets_a_reshape_hint():
    with raises(ValueError, "(one feature: x.reshape(-1, 1))"):
        fit(DNN(TARGET), X.reshape(-1), Y, steps=1)


def test_the_context_must_make_one_network_per_task():
    x, y = torch.zeros(3, 16, 1), torch.zeros(3, 16, 1)
    model = HyperDNN(HyperNetwork(TARGET, num_tasks=3))
    message = "x has a leading task dimension of 3, but the context makes"
    with raises(ValueError, f"{message} 2 networks; give one context per task"):
        fit(model, x, y, context=torch.arange(2), steps=1)
    with raises(ValueError, f"{message} one network (Θ (P,))"):
        fit(DNN(TARGET), x, y, steps=1)
    with raises(ValueError, "y has a leading task dimension of 3, but the context makes 1 network"):
        fit(model, X, y, steps=1)


def test_class_labels_and_the_loss_must_agree():
    x, labels = two_moons(20, seed=0)
    model = DNN(MLPTarget([2, 8, 2]))
    with raises(TypeError, "y holds integers (dtype torch.int64), class labels that loss='mse'"):
        fit(model, x, labels, steps=1)
    with raises(TypeError, "for classification use loss='cross-entropy'"):
        prediction_loss(torch.zeros(20, 2), labels)
    with raises(TypeError, "loss='cross-entropy' needs integer class labels in y, got dtype"):
        fit(model, x, labels.float(), loss="cross-entropy", steps=1)
    with raises(ValueError, "labels must lie in 0 to 1"):
        fit(model, x, labels + 1, loss="cross-entropy", steps=1)
    with raises(ValueError, "class labels take no output axis: use y.reshape(-1)"):
        fit(model, x, labels.reshape(-1, 1), loss="cross-entropy", steps=1)


# --- empty inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 1), (2, 0, 1)])
def test_fit_needs_at_least_one_example(shape):
    with raises(ValueError, f"x has shape {shape}: no examples; fit needs at least one"):
        fit(HyperDNN(HyperNetwork(TARGET, num_tasks=2)), torch.zeros(shape), torch.zeros(shape))


@pytest.mark.parametrize("shape", [(0, 2), (3, 0, 2), (0, 5, 2)])
def test_a_data_conditioner_needs_examples(shape):
    with raises(ValueError, f"examples has shape {shape}: no examples"):
        HyperNetwork(TARGET, "data", data_features=2)(torch.zeros(shape))


# --- training options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"lr": float("inf")}, ValueError, "lr=inf is not allowed; use a finite number > 0"),
        ({"lr": "1e-3"}, TypeError, "lr must be a finite number > 0, got '1e-3' (str)"),
        ({"lr": None}, TypeError, "lr must be a finite number > 0, got None"),
        ({"lr": True}, TypeError, "lr must be a finite number > 0, got True (bool)"),
        ({"clip_grad": float("nan")}, ValueError, "clip_grad=nan is not allowed"),
        ({"clip_grad": "1"}, TypeError, "clip_grad must be a finite number > 0 or None"),
        ({"clip_grad": 0}, ValueError, "clip_grad=0 is not allowed"),
        ({"steps": "10"}, TypeError, "steps must be a positive int, got '10' (str)"),
        ({"steps": True}, TypeError, "steps must be a positive int, got True (bool)"),
        ({"snapshot_every": 0}, ValueError, "snapshot_every=0 is not allowed"),
        ({"snapshot_every": 2.5}, TypeError, "snapshot_every must be a positive int"),
        ({"batch_size": "8"}, TypeError, "batch_size must be a positive int, got '8' (str)"),
        ({"batch_size": 17}, ValueError, "batch_size=17 is larger than the 16 examples of x"),
        ({"progress": "yes"}, TypeError, "progress must be True or False, got 'yes'"),
    ],
)
def test_bad_training_options(options, error, message):
    with raises(error, message):
        fit(DNN(TARGET), X, Y, **options)


def test_fit_needs_a_model_that_generates_weights():
    with raises(TypeError, "Linear has no target and no weights"):
        fit(torch.nn.Linear(1, 1), X, Y, steps=1)


def test_weights_of_a_data_conditioned_hypernet_need_examples():
    model = HyperDNN(HyperNetwork(TARGET, "data", data_features=2))
    with raises(ValueError, "conditioning='data' has no default context: give a set of examples"):
        model.weights()
    with raises(ValueError, "has no default context"):
        fit(model, X, Y, steps=1)


def test_predict_takes_numpy_and_names_a_theta_of_the_wrong_size():
    from hyperviz.evaluation import dense_grid, predict

    grid = dense_grid(5)
    assert predict(TARGET, np.zeros((2, 25)), grid.numpy()).shape == (2, 5, 1)
    with raises(ValueError, "weights has shape (24,); MLPTarget needs (25,) or (S, 25)"):
        predict(TARGET, torch.zeros(24), grid)
