"""Body comparison (survey §3.6): token shapes, token mixing patterns, attention maps, the race."""

from __future__ import annotations

import math

import pytest
import torch

from hyperviz import BODIES, HyperNetwork, MLPTarget, seed_everything, sinusoid_tasks
from hyperviz.lessons.architectures import (
    SetHypernet,
    attention_map,
    body_tokens,
    chunk_labels,
    compare_bodies,
    compare_set_bodies,
    format_comparison,
    format_step_times,
    format_token_shapes,
    initial_losses,
    plot_token_maps,
    receptive_field,
    token_mixing,
    token_shapes,
)

TARGET = MLPTarget([1, 8, 8, 1])  # 16 + 72 + 9 = 97 weights


def chunk_hypernet(body: str, chunk_size: int = 16, num_tasks: int = 3) -> HyperNetwork:
    seed_everything(0)
    return HyperNetwork(
        TARGET, "task", "chunk-wise", body, num_tasks=num_tasks, hidden=16, chunk_size=chunk_size
    )


def test_token_shapes_follow_the_strategy():
    rows = token_shapes(TARGET, 3, hidden=16)
    assert [row.tokens for row in rows] == [
        (3, 1, 8),  # one-shot: the context alone
        (3, 1, 8),  # multi-head
        (3, math.ceil(97 / 128), 16),  # chunk-wise, chunks of 128: context + chunk embedding
        (3, 3, 16),  # component-wise, one token per layer
        (3, 8 + 8 + 1, 16),  # component-wise, one token per neuron
    ]
    assert all(row.features == (*row.tokens[:2], 16) for row in rows)
    assert "tokens (S, T, d)" in format_token_shapes(rows)


def test_body_tokens_sees_what_the_body_receives_and_removes_its_hook():
    hypernet = chunk_hypernet("rnn")
    tokens, features = body_tokens(hypernet, torch.arange(3))
    assert tokens.shape == (3, math.ceil(97 / 16), 16)
    assert torch.equal(features, hypernet.strategy.body(tokens))
    assert not hypernet.strategy.body._forward_hooks


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("mlp", [1] * 7),
        ("cnn", [3, 4, 5, 5, 5, 4, 3]),  # two kernel-3 layers: two tokens on each side
        ("rnn", [1, 2, 3, 4, 5, 6, 7]),  # a token depends on itself and every earlier one
        ("attention", [7] * 7),
    ],
)
def test_token_mixing_shows_which_tokens_each_body_lets_meet(body, expected):
    hypernet = chunk_hypernet(body)
    tokens, _ = body_tokens(hypernet, torch.arange(3))
    mixing = token_mixing(hypernet.strategy.body, tokens)
    assert mixing.shape == (3, 7, 7)
    assert receptive_field(mixing) == expected


def test_token_mixing_equals_the_jacobian_norm_of_summed_features():
    hypernet = chunk_hypernet("cnn")
    body = hypernet.strategy.body
    tokens, _ = body_tokens(hypernet, torch.arange(2))
    jacobian = torch.autograd.functional.jacobian(lambda t: body(t[None])[0].sum(-1), tokens[1])
    assert torch.allclose(token_mixing(body, tokens)[1], jacobian.norm(dim=-1), atol=1e-6)


def test_token_mixing_leaves_parameter_gradients_alone_and_checks_its_input():
    hypernet = chunk_hypernet("attention")
    tokens, _ = body_tokens(hypernet, torch.arange(3))
    token_mixing(hypernet.strategy.body, tokens)
    assert all(p.grad is None for p in hypernet.parameters())
    with pytest.raises(ValueError, match=r"tokens has shape \(7, 16\)"):
        token_mixing(hypernet.strategy.body, tokens[0])


def test_attention_map_rows_are_distributions_per_network():
    attention = attention_map(chunk_hypernet("attention"), torch.arange(3))
    assert attention.shape == (3, 7, 7)
    assert torch.allclose(attention.sum(-1), torch.ones(3, 7))
    assert (attention >= 0).all()


def test_attention_map_of_a_single_token_is_one():
    seed_everything(0)
    hypernet = HyperNetwork(TARGET, "task", "one-shot", "attention", num_tasks=3, hidden=16)
    assert torch.equal(attention_map(hypernet, torch.arange(3)), torch.ones(3, 1, 1))


def test_attention_map_refuses_other_bodies():
    with pytest.raises(ValueError, match="body='cnn'; only body='attention'"):
        attention_map(chunk_hypernet("cnn"), 0)


def test_chunk_labels_name_the_layers_each_chunk_covers():
    # fc0 holds 0-15, fc1 16-87, fc2 88-96; chunks of 16
    assert chunk_labels(TARGET, 16) == [
        "0 fc0",
        "1 fc1",
        "2 fc1",
        "3 fc1",
        "4 fc1",
        "5 fc1+fc2",
        "6 fc2",
    ]


@pytest.fixture(scope="module")
def race():
    family = sinusoid_tasks(num_tasks=3, num_points=10, seed=0)
    grid = torch.linspace(-5, 5, 20).unsqueeze(1)
    truth = family.params[:, 0, None, None] * torch.sin(grid + family.params[:, 1, None, None])
    options = {"chunk_size": 16, "steps": 6, "hidden": 16}
    return family, grid, truth, compare_bodies(TARGET, family, grid, truth, **options), options


def test_compare_bodies_trains_one_hypernet_per_body(race):
    family, grid, truth, runs, _ = race
    assert list(runs) == list(BODIES)
    for name, run in runs.items():
        assert run.model.hypernet.body_name == name
        assert len(run.history.loss) == 6
        assert run.learnable == sum(p.numel() for p in run.model.parameters())
        assert 0 < run.body_params < run.learnable
        assert math.isfinite(run.test_loss) and run.step_ms() > 0
    # only the body differs: everything outside it has the same size
    outside = {r.learnable - r.body_params for r in runs.values()}
    assert len(outside) == 1


def test_compare_bodies_repeats_exactly(race):
    family, grid, truth, runs, options = race
    again = compare_bodies(TARGET, family, grid, truth, bodies=("rnn",), **options)
    assert again["rnn"].history.loss == runs["rnn"].history.loss
    assert again["rnn"].test_loss == runs["rnn"].test_loss


def test_compare_bodies_rejects_an_unknown_body(race):
    family, grid, truth, _, _ = race
    with pytest.raises(ValueError, match="body='lstm' is not known"):
        compare_bodies(TARGET, family, grid, truth, bodies=("mlp", "lstm"), steps=1)


def test_formatted_tables_have_a_row_per_body(race):
    runs = race[3]
    table = format_comparison(runs).splitlines()
    assert table[0].split()[0] == "body" and len(table) == 1 + len(runs)
    assert f"{runs['attention'].learnable:,}" in table[-1]
    times = format_step_times(runs).splitlines()
    assert len(times) == len(runs) and times[0].endswith("(1.0× mlp)")


def test_plot_token_maps_draws_one_panel_per_map():
    import matplotlib

    matplotlib.use("Agg")
    figure = plot_token_maps({"a": torch.eye(3), "b": torch.ones(3, 3)}, ["x", "y", "z"])
    images = [ax for ax in figure.axes if ax.images]
    assert len(images) == 2
    assert [t.get_text() for t in images[0].get_xticklabels()] == ["x", "y", "z"]


@pytest.mark.parametrize("body", ["mlp", "attention"])
def test_a_pooled_set_body_ignores_the_order_of_the_examples(body):
    hypernet = SetHypernet(TARGET, body, n=5, hidden=16, seed=0)
    sets = torch.randn(3, 5, 2)
    theta = hypernet.weights(sets)
    assert theta.shape == (3, TARGET.num_params)
    assert torch.allclose(hypernet.weights(sets[:, [4, 2, 0, 1, 3]]), theta, atol=1e-5)


def test_a_flat_mlp_reads_the_order_and_checks_the_set_size():
    hypernet = SetHypernet(TARGET, "flat MLP", n=5, hidden=16, seed=0)
    sets = torch.randn(3, 5, 2)
    assert not torch.allclose(hypernet.weights(sets[:, [4, 2, 0, 1, 3]]), hypernet.weights(sets))
    with pytest.raises(ValueError, match=r"need \(S, 5, 2\)"):
        hypernet.weights(torch.randn(3, 6, 2))
    with pytest.raises(ValueError, match="body='rnn' is not known"):
        SetHypernet(TARGET, "rnn", n=5)


def test_compare_set_bodies_scores_every_body_and_seed():
    train = sinusoid_tasks(num_tasks=6, num_points=5, seed=1)
    test = sinusoid_tasks(num_tasks=4, num_points=5, seed=2)
    grid = torch.linspace(-5, 5, 40).unsqueeze(1)
    race = compare_set_bodies(TARGET, train, test, grid, seeds=(0, 1), steps=5)
    assert list(race.errors) == ["flat MLP", "mlp", "attention"]
    assert all(len(e) == 2 and all(v > 0 for v in e) for e in race.errors.values())
    assert all(len(m) == 2 for m in race.models.values())


def test_initial_losses_show_the_attention_body_starting_high():
    family = sinusoid_tasks(num_tasks=3, num_points=10, seed=0)
    target = MLPTarget([1, 40, 40, 1])  # notebook 05's target; no training, so cheap
    losses = initial_losses(target, family, seeds=(0, 1, 2), chunk_size=128)
    assert list(losses) == list(BODIES) and all(len(v) == 3 for v in losses.values())
    assert all(
        a > 5 * other
        for body, values in losses.items() if body != "attention"
        for a, other in zip(losses["attention"], values, strict=True)
    )  # fmt: skip
