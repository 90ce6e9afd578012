"""Few-shot episodes and context rows: shapes, splits, one-hot labels, and clear errors."""

from __future__ import annotations

import pytest
import torch

import hyperviz as hv
from hyperviz.set_encoding import Episodes, context_rows, sample_episodes, split_episodes


def test_regression_rows_put_each_input_beside_its_target():
    x, y = torch.randn(3, 5, 2), torch.randn(3, 5, 1)
    rows = context_rows(x, y)
    assert rows.shape == (3, 5, 3)
    torch.testing.assert_close(rows[..., :2], x)
    torch.testing.assert_close(rows[..., 2:], y)


def test_class_labels_become_one_hot_columns():
    x = torch.zeros(2, 3, 4)
    labels = torch.tensor([[0, 2, 1], [1, 1, 0]])
    rows = context_rows(x, labels, num_classes=3)
    assert rows.shape == (2, 3, 7)
    assert torch.equal(rows[..., 4:].argmax(-1), labels)
    assert torch.equal(rows[..., 4:].sum(-1), torch.ones(2, 3))


def test_rows_feed_a_data_conditioned_hypernet_that_ignores_the_order():
    episodes = sample_episodes(num_episodes=4, support=6, query=3, seed=2)
    hypernet = hv.HyperNetwork(hv.MLPTarget([1, 8, 1]), "data", data_features=2, seed=0)
    context = episodes.context()
    shuffled = context[:, torch.randperm(6)]
    torch.testing.assert_close(hypernet(context), hypernet(shuffled), rtol=1e-5, atol=1e-6)


def test_split_keeps_the_first_points_as_support_and_the_rest_as_query():
    family = hv.sinusoid_tasks(num_tasks=3, num_points=10, seed=4)
    episodes = split_episodes(family, support=4)
    assert (episodes.num_episodes, episodes.support_size, episodes.query_size) == (3, 4, 6)
    assert torch.equal(episodes.support_x, family.x[:, :4])
    assert torch.equal(episodes.query_y, family.y[:, 4:])
    assert torch.equal(episodes.params, family.params)
    assert torch.equal(episodes.context(), family.examples()[:, :4])


def test_first_shows_fewer_support_points_and_the_same_query():
    episodes = sample_episodes(num_episodes=2, support=5, query=4, seed=0)
    fewer = episodes.first(2)
    assert fewer.support_size == 2 and torch.equal(fewer.support_x, episodes.support_x[:, :2])
    assert torch.equal(fewer.query_x, episodes.query_x)


def test_sampled_episodes_repeat_with_their_seed_and_differ_across_seeds():
    a, b = sample_episodes(8, 3, 5, seed=1), sample_episodes(8, 3, 5, seed=1)
    assert isinstance(a, Episodes) and torch.equal(a.support_y, b.support_y)
    assert not torch.equal(a.support_y, sample_episodes(8, 3, 5, seed=2).support_y)
    assert a.query_x.shape == (8, 5, 1) and a.params.shape == (8, 2)


@pytest.mark.parametrize(
    ("x", "y", "options", "error", "match"),
    [
        (torch.zeros(5, 2), torch.zeros(5, 1), {}, ValueError, r"x has shape \(5, 2\)"),
        (torch.zeros(2, 0, 1), torch.zeros(2, 0, 1), {}, ValueError, "n >= 1"),
        (torch.zeros(2, 5, 1), torch.zeros(2, 4, 1), {}, ValueError, r"need \(2, 5, d_y\)"),
        (torch.zeros(2, 5, 1), torch.zeros(2, 5).long(), {}, TypeError, "give num_classes"),
        (torch.zeros(2, 5, 1), torch.zeros(2, 5), {"num_classes": 3}, TypeError, "integer"),
        (torch.zeros(2, 5, 1), torch.zeros(2, 4).long(), {"num_classes": 3}, ValueError, "need"),
        (
            torch.zeros(2, 3, 1),
            torch.tensor([[0, 1, 3]] * 2),
            {"num_classes": 3},
            ValueError,
            "0 to 2",
        ),
        (
            torch.zeros(2, 3, 1),
            torch.zeros(2, 3).long(),
            {"num_classes": 0},
            ValueError,
            "num_classes",
        ),
        ("rows", torch.zeros(2, 3, 1), {}, TypeError, "x must be"),
    ],
)
def test_bad_context_rows_raise_naming_the_problem(x, y, options, error, match):
    with pytest.raises(error, match=match):
        context_rows(x, y, **options)


def test_bad_splits_and_samples_raise_naming_the_argument():
    family = hv.sinusoid_tasks(num_tasks=2, num_points=5, seed=0)
    with pytest.raises(ValueError, match="support=5 leaves no query points"):
        split_episodes(family, support=5)
    with pytest.raises(TypeError, match="family must be a TaskFamily"):
        split_episodes(torch.zeros(2, 5, 1), support=2)
    with pytest.raises(ValueError, match="support=0"):
        sample_episodes(num_episodes=2, support=0, query=3)
    with pytest.raises(TypeError, match="query must be"):
        sample_episodes(num_episodes=2, support=2, query=2.5)
    with pytest.raises(ValueError, match="support=9 is not allowed"):
        split_episodes(family, support=2).first(9)
