"""Partly generated networks: learned, frozen and generated parts, stacked copies, bad input."""

import pytest
import torch

import hyperviz as hv
from hyperviz.batched import train_jointly
from hyperviz.partial import PartlyGenerated, StackedParts, run_part, split_mlp

TRUNK, HEAD = hv.MLPTarget([6, 8, 4]), hv.MLPTarget([4, 3])


def head_hypernet(seed: int = 0) -> hv.HyperNetwork:
    return hv.HyperNetwork(HEAD, "data", data_features=6, hidden=8, seed=seed)


def trunk_and_head(frozen=("trunk",), generated=True, seed=0, **options) -> PartlyGenerated:
    hypernets = {"head": head_hypernet(seed)} if generated else {}
    parts = {"trunk": TRUNK, "head": HEAD}
    return PartlyGenerated(parts, hypernets, frozen=frozen, seed=seed, **options)


def test_modes_and_counts_say_what_learns():
    model = trunk_and_head()
    assert model.modes == {"trunk": "frozen", "head": "generated"}
    phi = hv.count_learnable(head_hypernet())
    assert hv.count_learnable(model) == phi == model.learnable_by_part()["head"]
    assert model.learnable_by_part()["trunk"] == 0
    learned = trunk_and_head(frozen=(), generated=False)
    assert learned.modes == {"trunk": "learned", "head": "learned"}
    assert hv.count_learnable(learned) == TRUNK.num_params + HEAD.num_params
    assert "frozen" in model.table() and f"{TRUNK.num_params:,}" in model.table()


def test_a_frozen_trunk_gets_no_gradient_and_the_generated_head_does():
    model = trunk_and_head()
    sets = torch.rand(2, 5, 6)
    model(torch.rand(7, 6), sets).sum().backward()
    assert model.theta["trunk"].grad is None
    assert all(p.grad is not None for p in model.hypernets.parameters())
    learned = trunk_and_head(frozen=())
    learned(torch.rand(7, 6), sets).sum().backward()
    assert learned.theta["trunk"].grad.abs().sum() > 0


def test_forward_equals_running_the_parts_by_hand():
    start = TRUNK.kaiming_weights(torch.Generator().manual_seed(3))
    model = trunk_and_head(weights={"trunk": start})
    x, sets = torch.rand(7, 6), torch.rand(2, 5, 6)
    head_weights = model.hypernets["head"](sets)  # (2, P): one head per set
    expected = HEAD(torch.relu(TRUNK(x, start)), head_weights)
    torch.testing.assert_close(model(x, sets), expected)
    assert model(x, sets).shape == (2, 7, 3)
    per_set = torch.rand(2, 7, 6)  # each generated head its own inputs
    torch.testing.assert_close(model(per_set, sets)[1], HEAD(torch.relu(TRUNK(per_set[1], start)),
                                                             head_weights[1]))  # fmt: skip
    before = model.theta["trunk"].detach().clone()
    start.add_(1.0)  # the model keeps its own copy of the starting Θ
    assert torch.equal(model.theta["trunk"].detach(), before)


def test_a_residual_part_adds_its_input():
    adapter = hv.MLPTarget([4, 2, 4])
    parts = {"trunk": TRUNK, "adapter": adapter, "head": HEAD}
    model = PartlyGenerated(parts, frozen=("trunk", "head"), residual=("adapter",))
    x = torch.rand(5, 6)
    h = torch.relu(TRUNK(x, model.theta["trunk"]))
    h = torch.relu(h + adapter(h, model.theta["adapter"]))
    torch.testing.assert_close(model(x), HEAD(h, model.theta["head"]))
    assert hv.count_learnable(model) == adapter.num_params


def test_run_part_treats_leading_axes_of_theta_as_networks():
    x = torch.rand(3, 5, 6)
    one = TRUNK.kaiming_weights()
    torch.testing.assert_close(run_part(TRUNK, x, one), TRUNK(x.reshape(15, 6), one).view(3, 5, 4))
    many = torch.stack([TRUNK.kaiming_weights() for _ in range(6)]).view(2, 3, -1)
    own = run_part(TRUNK, x.expand(2, -1, -1, -1), many)  # (2, 3) networks, each its inputs
    assert own.shape == (2, 3, 5, 4)
    torch.testing.assert_close(own[1, 2], TRUNK(x[2], many[1, 2]))
    first = run_part(TRUNK, x[:2], many)  # one input set per first-axis entry, shared along 3
    torch.testing.assert_close(first[1, 2], TRUNK(x[1], many[1, 2]))
    shared = run_part(TRUNK, x[0], many)  # one input set for all six networks
    torch.testing.assert_close(shared[0, 1], TRUNK(x[0], many[0, 1]))
    with pytest.raises(ValueError, match="leading axes"):
        run_part(TRUNK, torch.rand(4, 5, 6), many)


def test_stacked_copies_match_each_copy_and_train_as_one_batch():
    copies = [trunk_and_head(frozen=(), seed=s) for s in (0, 1)]
    stack = StackedParts(copies)
    x, sets = torch.rand(2, 3, 4, 6), torch.rand(3, 5, 6)  # each copy its own inputs
    with torch.no_grad():
        together = stack(x, sets)
        alone = torch.stack([copy(x[k], sets) for k, copy in enumerate(copies)])
    torch.testing.assert_close(together, alone)
    y = torch.randint(3, (2, 3, 4))

    def losses(step: int) -> torch.Tensor:
        logits = stack(x, sets)
        return torch.nn.functional.cross_entropy(logits.movedim(-1, 1), y, reduction="none").mean(
            dim=(1, 2)
        )

    before = losses(0).detach()
    train_jointly(losses, stack.parameters(), steps=30, lr=1e-2)
    assert bool((losses(0) < before).all())
    trained = stack.unstack()
    with torch.no_grad():
        torch.testing.assert_close(stack(x, sets)[1], trained[1](x[1], sets))


def test_stacked_frozen_parts_are_left_out_of_the_optimiser():
    stack = StackedParts([trunk_and_head(seed=s) for s in (0, 1)])
    assert all(p.requires_grad for p in stack.parameters())
    assert sum(p.numel() for p in stack.parameters()) == 2 * hv.count_learnable(head_hypernet())


def test_split_mlp_gives_the_whole_mlp_back():
    full = hv.MLPTarget([6, 8, 4, 3])
    theta = full.kaiming_weights()
    (trunk, t), (head, h) = split_mlp(full, theta, layers=2)
    assert trunk.sizes == [6, 8, 4] and head.sizes == [4, 3]
    x = torch.rand(5, 6)
    torch.testing.assert_close(head(torch.relu(trunk(x, t)), h), full(x, theta))
    stacked = torch.stack([theta, theta])
    assert split_mlp(full, stacked, 1)[0][1].shape == (2, 6 * 8 + 8)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: PartlyGenerated({}), TypeError, "non-empty dict"),
        (lambda: PartlyGenerated({"a b": TRUNK}), ValueError, "identifier"),
        (lambda: PartlyGenerated({"trunk": "mlp"}), TypeError, r"parts\['trunk'\]"),
        (lambda: PartlyGenerated({"trunk": TRUNK, "head": hv.MLPTarget([5, 3])}), ValueError,
         "makes 4 outputs"),
        (lambda: trunk_and_head(frozen=("trunk", "head")), ValueError, "frozen and generated"),
        (lambda: trunk_and_head(frozen=("neck",)), ValueError, r"unknown parts \['neck'\]"),
        (lambda: trunk_and_head(frozen="trunk"), TypeError, "collection of part names"),
        (lambda: PartlyGenerated({"trunk": TRUNK}, {"trunk": head_hypernet()}), ValueError,
         "makes weights for"),
        (lambda: PartlyGenerated({"head": HEAD}, {"head": "hypernet"}), TypeError,
         "must be a HyperNetwork"),
        (lambda: trunk_and_head(weights={"head": torch.zeros(HEAD.num_params)}), ValueError,
         "is generated"),
        (lambda: trunk_and_head(weights={"trunk": torch.zeros(3)}), ValueError, "shape"),
        (lambda: trunk_and_head(weights={"trunk": [0.0]}), TypeError, "torch.Tensor"),
        (lambda: trunk_and_head(activation="swish"), ValueError, "activation='swish'"),
        (lambda: trunk_and_head().run(torch.rand(2, 6), {}), ValueError, "no Θ for parts"),
        (lambda: trunk_and_head().mode("neck"), ValueError, "part='neck'"),
        (lambda: split_mlp(hv.MLPTarget([6, 3]), torch.zeros(21), 1), ValueError, "leaves no head"),
        (lambda: split_mlp(hv.DigitsCNNTarget(), torch.zeros(1), 1), TypeError, "MLPTarget"),
        (lambda: StackedParts([]), TypeError, "non-empty list"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_inputs_are_checked_once_at_the_top_then_trusted():
    model = trunk_and_head(generated=False)
    bad = torch.rand(3, 6)
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match="x"):
        model(bad)
    out = model(torch.rand(3, 6).double())  # converted once, to Θ's dtype
    assert out.dtype == torch.float32 and out.shape == (3, 3)
