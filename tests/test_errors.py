"""Bad inputs raise ValueError or TypeError with a message naming the argument and its value."""

from __future__ import annotations

import re

import pytest
import torch

from hyperviz import (
    DNN,
    DataConditioner,
    DigitsCNNTarget,
    HyperDNN,
    HyperNetwork,
    MLPTarget,
    NoiseConditioner,
    TaskConditioner,
    fit,
    polynomial_tasks,
    prediction_loss,
    sinusoid_tasks,
    train,
    two_moons,
)
from hyperviz.bodies import make_body
from hyperviz.init import hyperfan_init, target_variances

TARGET = MLPTarget([1, 8, 1])  # 25 weights
NAN = float("nan")


def raises(error: type[Exception], message: str):
    """pytest.raises matching `message` literally (it holds brackets and parentheses)."""
    return pytest.raises(error, match=re.escape(message))


# --- unknown names -------------------------------------------------------------------------


@pytest.mark.parametrize("argument", ["strategy", "body", "conditioning", "init"])
def test_unknown_hypernet_choice_names_the_argument_and_value(argument):
    with raises(ValueError, f"{argument}='bogus' is not known; allowed: ["):
        HyperNetwork(TARGET, **{argument: "bogus"})


@pytest.mark.parametrize("argument", ["strategy", "body", "conditioning", "init"])
def test_non_string_hypernet_choice_is_a_type_error(argument):
    with raises(TypeError, f"{argument} must be a string"):
        HyperNetwork(TARGET, **{argument: 3})


def test_unknown_component_names_the_argument_and_value():
    with raises(ValueError, "component='edge' is not known; allowed: ['layer', 'neuron']"):
        HyperNetwork(TARGET, strategy="component-wise", component="edge")


def test_allowed_names_are_listed():
    with raises(ValueError, "['one-shot', 'multi-head', 'chunk-wise', 'component-wise']"):
        HyperNetwork(TARGET, strategy="two-shot")
    with raises(ValueError, "['default', 'hyperfan-in', 'hyperfan-out']"):
        HyperNetwork(TARGET, init="xavier")


def test_unknown_body_activation_loss_and_hyperfan_mode():
    with raises(ValueError, "body='transformer' is not known"):
        make_body("transformer", 4, 8)
    with raises(ValueError, "activation='swish' is not known; allowed: ["):
        MLPTarget([1, 4, 1], activation="swish")
    with raises(ValueError, "loss='l1' is not known"):
        prediction_loss(torch.zeros(3, 1), torch.zeros(3, 1), loss="l1")
    with raises(ValueError, "loss='hinge' is not known"):
        fit(DNN(TARGET), torch.zeros(3, 1), torch.zeros(3, 1), loss="hinge", steps=1)
    with raises(ValueError, "mode='sideways' is not known"):
        target_variances(TARGET, "sideways")
    with raises(ValueError, "mode='both' is not known"):
        hyperfan_init(HyperNetwork(TARGET), mode="both")


# --- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [0, -5])
def test_chunk_size_must_be_positive(chunk_size):
    with raises(ValueError, f"chunk_size={chunk_size} is not allowed"):
        HyperNetwork(TARGET, strategy="chunk-wise", chunk_size=chunk_size)


def test_chunk_size_must_be_an_int():
    with raises(TypeError, "chunk_size must be a positive int, got 2.5 (float)"):
        HyperNetwork(TARGET, strategy="chunk-wise", chunk_size=2.5)
    with raises(TypeError, "chunk_size must be a positive int, got True (bool)"):
        HyperNetwork(TARGET, strategy="chunk-wise", chunk_size=True)


@pytest.mark.parametrize("conditioning", ["task", "data", "noise"])
@pytest.mark.parametrize("strategy", ["one-shot", "chunk-wise"])
def test_embedding_dim_zero_is_refused(conditioning, strategy):
    extra = {"data_features": 2} if conditioning == "data" else {}
    with raises(ValueError, "embedding_dim=0 is not allowed"):
        HyperNetwork(TARGET, conditioning, strategy, embedding_dim=0, **extra)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden": 0}, "hidden=0 is not allowed"),
        ({"hidden": 7, "body": "attention"}, "hidden=7 must be even for body='attention'"),
        ({"num_tasks": 0}, "num_tasks=0 is not allowed"),
        ({"conditioning": "data", "data_features": -1}, "in_features=-1 is not allowed"),
        ({"conditioning": "data"}, "conditioning='data' needs data_features"),
    ],
)
def test_bad_hypernet_sizes(options, message):
    with raises(ValueError, message):
        HyperNetwork(TARGET, **options)


def test_bad_target_sizes():
    with raises(ValueError, "sizes=[3] needs at least an input and an output size"):
        MLPTarget([3])
    with raises(ValueError, "sizes[1]=0 is not allowed"):
        MLPTarget([1, 0, 1])
    with raises(TypeError, "sizes[0] must be a positive int, got 1.0"):
        MLPTarget([1.0, 4, 1])
    with raises(ValueError, "channels=0 is not allowed"):
        DigitsCNNTarget(channels=0)


def test_wrong_types_of_model_parts():
    with raises(TypeError, "target must be a TargetNetwork, got Linear"):
        HyperNetwork(torch.nn.Linear(1, 1))
    with raises(TypeError, "hypernet must be a HyperNetwork, got DNN"):
        HyperDNN(DNN(TARGET))


# --- weights and inputs of the target ----------------------------------------------------------


@pytest.mark.parametrize("shape", [(24,), (26,), (2, 3, 25), (25, 2), ()])
def test_weights_of_the_wrong_shape(shape):
    with raises(ValueError, f"weights has shape {shape}; MLPTarget needs (25,) or (S, 25)"):
        TARGET(torch.zeros(4, 1), torch.zeros(shape))


def test_weights_of_the_wrong_type():
    with raises(TypeError, "weights must be a torch.Tensor, got list"):
        TARGET(torch.zeros(4, 1), [0.0] * 25)
    with raises(TypeError, "weights must be a float tensor, got dtype torch.int64"):
        TARGET(torch.zeros(4, 1), torch.zeros(25, dtype=torch.long))


def test_inputs_of_the_wrong_shape():
    with raises(ValueError, "x has shape (4, 3); MLPTarget needs (N, 1)"):
        TARGET(torch.zeros(4, 3), torch.zeros(25))
    with raises(ValueError, "x has shape (4, 3); MLPTarget needs (N, 1)"):
        TARGET(torch.zeros(4, 3), torch.zeros(2, 25))
    with raises(ValueError, "x has shape (4, 8, 8); DigitsCNNTarget needs (N, 1, 8, 8)"):
        cnn = DigitsCNNTarget(channels=2)
        cnn(torch.zeros(4, 8, 8), torch.zeros(cnn.num_params))


def test_per_sample_inputs_must_match_the_number_of_weight_sets():
    with raises(ValueError, "x has shape (3, 4, 1): a leading size 3 for 2 weight sets"):
        TARGET(torch.zeros(3, 4, 1), torch.zeros(2, 25))


@pytest.mark.parametrize("bad", [NAN, float("inf")])
def test_non_finite_inputs_to_the_target(bad):
    x = torch.zeros(4, 1)
    x[2, 0] = bad
    with raises(ValueError, "x holds 1 NaN or infinite values"):
        TARGET(x, torch.zeros(25))
    with raises(ValueError, "x holds 1 NaN or infinite values"):
        TARGET(x, torch.zeros(3, 25))


def test_non_tensor_inputs_to_the_target():
    with raises(TypeError, "x must be a torch.Tensor or a NumPy array of numbers, got list"):
        TARGET([[0.0]], torch.zeros(25))


# --- conditioners --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_id", "shown"),
    [(3, "3"), (-1, "-1"), (torch.tensor([0, 7]), "tensor([0, 7])")],
)
def test_task_id_out_of_range(task_id, shown):
    conditioner = TaskConditioner(num_tasks=3, embedding_dim=4)
    with raises(ValueError, f"task_id={shown} is out of range; allowed: 0 to 2"):
        conditioner(task_id)
    hypernet = HyperNetwork(TARGET, num_tasks=3)
    with raises(ValueError, f"task_id={shown} is out of range"):
        hypernet(task_id)


@pytest.mark.parametrize("task_id", [1.0, True, "a", None, torch.tensor([0.5])])
def test_task_id_of_the_wrong_type(task_id):
    with raises(TypeError, f"task_id must be an int or a tensor of ints, got {task_id!r}"):
        TaskConditioner(num_tasks=3, embedding_dim=4)(task_id)


def test_task_ids_given_as_a_list_still_work():
    assert TaskConditioner(num_tasks=3, embedding_dim=4)([2, 0]).shape == (2, 4)


def test_nan_in_the_examples_of_a_data_conditioner():
    examples = torch.zeros(2, 5, 3)
    examples[1, 4, 2] = NAN
    with raises(ValueError, "examples holds 1 NaN or infinite values"):
        DataConditioner(in_features=3, embedding_dim=4)(examples)
    with raises(ValueError, "examples holds 1 NaN or infinite values"):
        HyperNetwork(TARGET, "data", data_features=3)(examples)


def test_examples_of_the_wrong_shape():
    with raises(ValueError, "examples has shape (5, 2); DataConditioner needs (n, 3)"):
        DataConditioner(in_features=3, embedding_dim=4)(torch.zeros(5, 2))


@pytest.mark.parametrize("samples", [0, -2])
def test_number_of_noise_samples_must_be_positive(samples):
    with raises(ValueError, f"num_samples={samples} is not allowed"):
        NoiseConditioner(embedding_dim=4)(samples)
    with raises(ValueError, f"num_samples={samples} is not allowed"):
        HyperNetwork(TARGET, "noise")(samples)


# --- training ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["x", "y"])
def test_nan_in_fit_data(where):
    data = {"x": torch.zeros(6, 1), "y": torch.zeros(6, 1)}
    data[where][3, 0] = NAN
    with raises(ValueError, f"{where} holds 1 NaN or infinite values"):
        fit(DNN(TARGET), data["x"], data["y"], steps=1)


def test_fit_refuses_a_task_id_out_of_range():
    model = HyperDNN(HyperNetwork(TARGET, num_tasks=2))
    with raises(ValueError, "task_id=2 is out of range"):
        fit(model, torch.zeros(6, 1), torch.zeros(6, 1), context=2, steps=1)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"steps": 0}, ValueError, "steps=0 is not allowed"),
        ({"steps": 1.5}, TypeError, "steps must be a positive int, got 1.5"),
        ({"lr": 0}, ValueError, "lr=0 is not allowed"),
        ({"lr": NAN}, ValueError, "lr=nan is not allowed"),
        ({"clip_grad": -1.0}, ValueError, "clip_grad=-1.0 is not allowed"),
        ({"batch_size": 0}, ValueError, "batch_size=0 is not allowed"),
    ],
)
def test_bad_training_options(options, error, message):
    with raises(error, message):
        fit(DNN(TARGET), torch.zeros(6, 1), torch.zeros(6, 1), **options)


def test_train_checks_steps_before_calling_the_loss():
    def loss_fn(model):
        raise AssertionError("should not be called")

    with raises(ValueError, "steps=-1 is not allowed"):
        train(DNN(TARGET), loss_fn, steps=-1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sinusoid_tasks(num_tasks=0), "num_tasks=0 is not allowed"),
        (lambda: sinusoid_tasks(num_points=-3), "num_points=-3 is not allowed"),
        (lambda: polynomial_tasks(num_points=0), "num_points=0 is not allowed"),
        (lambda: two_moons(num_points=0), "num_points=0 is not allowed"),
    ],
)
def test_bad_data_sizes(make, message):
    with raises(ValueError, message):
        make()
