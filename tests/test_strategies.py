"""Output strategies: unused outputs, and layouts that match what the heads really produce."""

from __future__ import annotations

import pytest
import torch

from hyperviz import DigitsCNNTarget, HyperNetwork, MLPTarget

BIG = MLPTarget([1, 32, 32, 1])  # 64 + 1056 + 33 = 1153 weights
# Chunks of 100 for a target of 32 weights are meant here (test_bad_input checks the warning).
pytestmark = pytest.mark.filterwarnings("ignore:chunk_size=100 is larger:UserWarning")

VARIANTS = [
    ("one-shot", {}),
    ("multi-head", {}),
    ("chunk-wise", {"chunk_size": 100}),
    ("chunk-wise", {"chunk_size": 7}),
    ("component-wise", {"component": "layer"}),
    ("component-wise", {"component": "neuron"}),
]
TARGETS = [BIG, MLPTarget([3, 5, 2]), DigitsCNNTarget(channels=2, num_classes=3)]


def variant_id(variant) -> str:
    strategy, options = variant
    return "-".join([strategy, *map(str, options.values())])


@pytest.mark.parametrize(
    ("strategy", "options", "unused"),
    [
        ("one-shot", {}, 0),
        ("multi-head", {}, 0),
        ("chunk-wise", {"chunk_size": 100}, 12 * 100 - 1153),  # 47
        ("chunk-wise", {"chunk_size": 1153}, 0),
        ("chunk-wise", {"chunk_size": 1000}, 2 * 1000 - 1153),
        ("component-wise", {"component": "layer"}, 3 * 1056 - 1153),  # 2015
        # 65 neurons (32 + 32 + 1), each padded to the largest fan-in 32 plus its bias
        ("component-wise", {"component": "neuron"}, 65 * 33 - 1153),  # 992
    ],
)
def test_unused_outputs_match_a_hand_computation(strategy, options, unused):
    hypernet = HyperNetwork(BIG, strategy=strategy, **options)
    assert hypernet.strategy.unused_outputs() == unused
    assert hypernet.report().unused_outputs == unused


def test_chunk_wise_with_chunk_100_leaves_47_unused():
    assert HyperNetwork(BIG, strategy="chunk-wise", chunk_size=100).report().unused_outputs == 47


@pytest.mark.parametrize("target", TARGETS, ids=repr)
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_layout_covers_every_entry_of_theta_exactly_once(variant, target):
    strategy, options = variant
    hypernet = HyperNetwork(target, strategy=strategy, hidden=16, **options)
    rows = torch.cat([r.flatten() for _, r in hypernet.strategy.layout(target)])
    used = rows[rows >= 0]
    assert torch.equal(used.sort().values, torch.arange(target.num_params))
    assert int((rows < 0).sum()) == hypernet.strategy.unused_outputs()


def distinct_biases(hypernet: HyperNetwork, target) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Zero every head's weights and give each output row its own bias (head h: 10000h + r)."""
    layout = hypernet.strategy.layout(target)
    with torch.no_grad():
        for h, (head, _) in enumerate(layout):
            head.weight.zero_()
            head.bias.copy_(10000 * h + torch.arange(head.out_features, dtype=torch.float32))
    return layout


@pytest.mark.parametrize("target", TARGETS, ids=repr)
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_layout_says_which_output_row_makes_each_entry(variant, target):
    """With zero head weights, Θ[j] is the bias of the row that makes it: as layout says."""
    strategy, options = variant
    hypernet = HyperNetwork(target, strategy=strategy, hidden=16, **options)
    layout = distinct_biases(hypernet, target)
    theta = hypernet(0)[0]
    expected = torch.full((target.num_params,), -1.0)
    for head, rows in layout:
        row_of = torch.arange(rows.shape[0]).unsqueeze(1).expand_as(rows)
        expected[rows[rows >= 0]] = head.bias[row_of[rows >= 0]].detach()
    assert torch.equal(theta.detach(), expected)


@pytest.mark.parametrize("variant", VARIANTS[2:], ids=variant_id)
def test_layout_of_a_smaller_target_matches_the_generated_weights(variant):
    strategy, options = variant
    hypernet = HyperNetwork(MLPTarget([1, 8, 1]), strategy=strategy, max_target=BIG, **options)
    small = MLPTarget([2, 6, 3])
    layout = distinct_biases(hypernet, small)
    theta = hypernet(0, target=small)[0]
    ((head, rows),) = layout
    valid = rows >= 0
    row_of = torch.arange(rows.shape[0]).unsqueeze(1).expand_as(rows)
    assert torch.equal(theta.detach()[rows[valid]], head.bias[row_of[valid]].detach())
    assert theta.shape == (small.num_params,)


def test_component_wise_by_layer_writes_a_layer_where_the_target_reads_it():
    """Layer i of Θ comes from component token i: its bias rows 0..size-1, in order."""
    hypernet = HyperNetwork(BIG, strategy="component-wise", component="layer")
    distinct_biases(hypernet, BIG)
    params = BIG.unflatten(hypernet(0)[0].detach())
    assert torch.equal(params["fc0.weight"].flatten(), torch.arange(32.0))
    assert torch.equal(params["fc0.bias"], torch.arange(32.0, 64.0))
    assert torch.equal(params["fc1.weight"].flatten(), torch.arange(1024.0))
    assert torch.equal(params["fc2.bias"], torch.tensor([32.0]))


def test_component_wise_by_neuron_writes_each_neuron_its_row_and_bias():
    hypernet = HyperNetwork(BIG, strategy="component-wise", component="neuron")
    distinct_biases(hypernet, BIG)
    params = BIG.unflatten(hypernet(0)[0].detach())
    # every neuron of fc1 gets rows 0..31 as weights and row 32 as its bias
    assert torch.equal(params["fc1.weight"], torch.arange(32.0).expand(32, 32))
    assert torch.equal(params["fc1.bias"], torch.full((32,), 32.0))
    # fc0 neurons have fan-in 1: row 0 is the weight, row 1 the bias
    assert torch.equal(params["fc0.weight"], torch.zeros(32, 1))
    assert torch.equal(params["fc0.bias"], torch.ones(32))


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_strategies_generate_one_weight_set_per_context_row(variant):
    strategy, options = variant
    hypernet = HyperNetwork(BIG, strategy=strategy, num_tasks=5, **options)
    assert hypernet(torch.tensor([4, 0, 2])).shape == (3, BIG.num_params)
    assert hypernet(3).shape == (1, BIG.num_params)


def test_chunk_and_component_tokens_let_bodies_relate_tokens():
    """Chunk-wise feeds T tokens to the body: an attention body sees a T x T map."""
    hypernet = HyperNetwork(BIG, strategy="chunk-wise", body="attention", chunk_size=100)
    hypernet(torch.tensor([0, 0]))
    assert hypernet.strategy.body.last_attention.shape == (2, 12, 12)
    one_shot = HyperNetwork(BIG, strategy="one-shot", body="attention")
    one_shot(0)
    assert one_shot.strategy.body.last_attention.shape == (1, 1, 1)


def test_chunk_wise_smaller_target_reuses_the_first_chunks():
    """With an MLP body each chunk depends on its own token only: small Θ is a prefix of big Θ."""
    hypernet = HyperNetwork(BIG, strategy="chunk-wise", chunk_size=30, num_tasks=2)
    small = MLPTarget([1, 10, 1])  # 31 weights: 2 chunks
    big_theta = hypernet(torch.arange(2))
    torch.testing.assert_close(hypernet(torch.arange(2), target=small), big_theta[:, :31])


def test_component_wise_smaller_target_reuses_the_layer_tokens():
    hypernet = HyperNetwork(BIG, strategy="component-wise", component="layer")
    small = MLPTarget([1, 3, 2, 1])  # layers of 6, 8 and 3 weights
    big, little = BIG.unflatten(hypernet(0)[0]), small.unflatten(hypernet(0, target=small)[0])
    torch.testing.assert_close(little["fc0.weight"].flatten(), big["fc0.weight"].flatten()[:3])
    torch.testing.assert_close(little["fc1.weight"].flatten(), big["fc1.weight"].flatten()[:6])
    torch.testing.assert_close(little["fc2.weight"].flatten(), big["fc2.weight"].flatten()[:2])
