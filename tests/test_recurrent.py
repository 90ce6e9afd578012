"""hyperviz.recurrent: a tanh RNN and the HyperRNN's per-step weight scaling, K copies at once."""

import math
import re

import pytest
import torch
from torch import nn

from hyperviz.recurrent import (
    SCALES,
    HyperRNN,
    ScalingHypernet,
    TanhRNN,
    matching_hidden_size,
    parameters_per_copy,
    tanh_rnn_size,
)

K, B, T = 3, 4, 7


def sequences(copies: int = K, inputs: int = 2) -> torch.Tensor:
    return torch.randn(copies, B, T, inputs, generator=torch.Generator().manual_seed(5))


def scramble(module: nn.Module) -> None:
    """Random values everywhere, so the hypernet's d_t are far from 1."""
    generator = torch.Generator().manual_seed(9)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)


def test_shapes_of_a_run():
    x = sequences()
    plain = TanhRNN(2, 5, 3, seeds=(0, 1, 2))(x)
    assert plain.outputs.shape == (K, B, T, 3) and plain.hidden.shape == (K, B, T, 5)
    assert plain.scales == {}
    hyper = HyperRNN(2, 5, 3, hyper_size=4, embedding_size=2, seeds=(0, 1, 2))(x)
    assert hyper.outputs.shape == (K, B, T, 3) and hyper.hidden.shape == (K, B, T, 5)
    assert set(hyper.scales) == set(SCALES)
    assert all(d.shape == (K, B, T, 5) for d in hyper.scales.values())


def test_with_d_equal_to_one_the_hyper_rnn_is_its_main_rnn():
    """At the start the hypernet emits d_x = d_h = 1 and a zero bias shift: nothing changes."""
    model = HyperRNN(2, 6, 1, seeds=(0, 1, 2))
    x = sequences()
    run = model(x)
    assert torch.equal(run.scales["x"], torch.ones_like(run.scales["x"]))
    assert torch.equal(run.scales["h"], torch.ones_like(run.scales["h"]))
    assert torch.equal(run.scales["bias"], torch.zeros_like(run.scales["bias"]))
    alone = model.main(x)
    assert torch.allclose(run.outputs, alone.outputs, atol=1e-6)
    assert torch.allclose(run.hidden, alone.hidden, atol=1e-6)


def test_scaling_rows_equals_the_explicit_weight_matrix_of_each_step():
    """d ⊙ (W h) is diag(d) · W applied to h: a loop that builds W(z_t) gives the same states."""
    model = HyperRNN(2, 5, 1, hyper_size=3, embedding_size=2, seeds=(0, 1))
    scramble(model)
    x = sequences(copies=2)
    run = model(x)
    main = model.main
    for k in range(2):
        h = torch.zeros(B, 5)
        for t in range(T):
            d_x, d_h, shift = (run.scales[name][k, :, t] for name in SCALES)
            w_x = torch.diag_embed(d_x) @ main.w_x[k].T  # (B, H, inputs): one matrix per sequence
            w_h = torch.diag_embed(d_h) @ main.w_h[k].T
            pre = (w_x @ x[k, :, t, :, None])[..., 0] + (w_h @ h[..., None])[..., 0]
            h = torch.tanh(pre + main.bias[k, 0] + shift)
            assert torch.allclose(h, run.hidden[k, :, t], atol=1e-5)


def test_the_hypernet_reads_the_input_and_the_main_state():
    """d_t changes when x_t changes, and when h_{t-1} does (through the main RNN's weights)."""
    model = HyperRNN(2, 5, 1, seeds=(0,))
    scramble(model)
    x = sequences(copies=1)
    changed = x.clone()
    changed[:, :, 3] += 1.0
    before, after = model(x).scales["x"], model(changed).scales["x"]
    assert torch.equal(before[:, :, :3], after[:, :, :3])  # the past does not see the future
    assert not torch.allclose(before[:, :, 3], after[:, :, 3])


def test_each_copy_depends_only_on_its_own_seed():
    x = sequences(copies=1)
    alone = HyperRNN(2, 5, 1, seeds=(1,))
    scramble_seedwise = HyperRNN(2, 5, 1, seeds=(0, 1))
    assert torch.equal(alone.main.w_h[0], scramble_seedwise.main.w_h[1])
    assert torch.equal(alone.hypernet.w_rec[0], scramble_seedwise.hypernet.w_rec[1])
    both = scramble_seedwise(torch.cat([x, x]))
    assert torch.allclose(both.outputs[1], alone(x).outputs[0], atol=1e-6)


def test_the_main_rnn_and_the_hypernet_draw_different_numbers():
    model = HyperRNN(1, 8, 1, hyper_size=8, seeds=(0,))
    assert not torch.equal(model.main.w_h[0], model.hypernet.w_rec[0])


def test_every_parameter_learns_from_the_second_step_on():
    """At the start d does not depend on ĥ (W_z = 0), so the hypernet's own RNN gets no gradient
    until one step has moved W_z; from then on every parameter does."""
    model = HyperRNN(2, 5, 1, seeds=(0, 1))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(2):
        optimiser.zero_grad()
        model(sequences(copies=2)).outputs.pow(2).mean().backward()
        silent = {n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()}
        assert silent == (
            {"hypernet.w_in", "hypernet.w_rec", "hypernet.bias"} if step == 0 else set()
        )
        optimiser.step()


def test_parameter_counts_and_the_matching_hidden_size():
    assert parameters_per_copy(TanhRNN(1, 27, 1, seeds=(0, 1, 2))) == tanh_rnn_size(1, 27) == 811
    hyper = HyperRNN(1, 16, 1, hyper_size=8, embedding_size=4, seeds=(0, 1, 2))
    main = tanh_rnn_size(1, 16)
    # Ŵ [x; h] -> ĥ, Û, b̂; W_z, b_z (3 embeddings of 4); the projections P (3 of 4 x 16)
    hypernet = (1 + 16) * 8 + 8 * 8 + 8 + 8 * 12 + 12 + 3 * 4 * 16
    assert parameters_per_copy(hyper) == main + hypernet == 813
    assert matching_hidden_size(813, 1) == 27
    assert matching_hidden_size(tanh_rnn_size(3, 10, 2), 3, 2) == 10
    assert matching_hidden_size(1, 1) == 1


# --- bad input: errors that name the argument, the value and what is allowed ------------------


def raises(error: type[Exception], message: str):
    return pytest.raises(error, match=re.escape(message))


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ([[1.0]], TypeError, "x must be a torch.Tensor, got list"),
        (torch.zeros(B, T, 2), ValueError, "x has shape (4, 7, 2); sequences must have shape"),
        (torch.zeros(2, B, T, 2), ValueError, "(copies=3, batch, steps, input_size=2)"),
        (torch.zeros(K, B, T, 5), ValueError, "x has shape (3, 4, 7, 5)"),
        (torch.zeros(K, B, 0, 2), ValueError, "x has shape (3, 4, 0, 2)"),
        (torch.full((K, B, T, 2), math.nan), ValueError, "x must hold finite floats"),
        (torch.zeros(K, B, T, 2, dtype=torch.long), ValueError, "dtype torch.int64"),
    ],
)
def test_bad_sequences_are_refused(x, error, message):
    with raises(error, message):
        HyperRNN(2, 5, 1, seeds=(0, 1, 2))(x)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"hidden_size": 0}, ValueError, "hidden_size=0 is not allowed"),
        ({"hidden_size": 2.5}, TypeError, "hidden_size must be a positive int, got 2.5"),
        ({"input_size": True}, TypeError, "input_size must be a positive int, got True"),
        ({"hyper_size": -1}, ValueError, "hyper_size=-1 is not allowed"),
        ({"embedding_size": 0}, ValueError, "embedding_size=0 is not allowed"),
        ({"seeds": ()}, TypeError, "seeds must be a non-empty sequence of ints"),
        (
            {"seeds": 3},
            TypeError,
            "seeds must be a non-empty sequence of ints (one per copy), got 3",
        ),
        ({"seeds": (0, -1)}, ValueError, "seeds=-1 is not allowed"),
    ],
)
def test_bad_sizes_and_seeds_are_refused(options, error, message):
    arguments = {"input_size": 2, "hidden_size": 5, "seeds": (0,)} | options
    with raises(error, message):
        HyperRNN(**arguments)


def test_a_hypernet_for_another_rnn_is_refused():
    main = TanhRNN(2, 5, 1, seeds=(0, 1))
    with raises(ValueError, "the hypernet has 1 copies for hidden size 5; this RNN has 2 for 5"):
        main(sequences(copies=2), ScalingHypernet(2, 5, seeds=(0,)))


def test_counting_needs_a_stacked_model():
    with raises(TypeError, "model must be a TanhRNN or HyperRNN, got Linear"):
        parameters_per_copy(nn.Linear(2, 3))
    with raises(ValueError, "parameters=0 is not allowed"):
        matching_hidden_size(0, 1)
    with raises(ValueError, "hidden_size=0 is not allowed"):
        tanh_rnn_size(1, 0)
