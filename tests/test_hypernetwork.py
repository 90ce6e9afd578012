"""HyperNetwork: every strategy × conditioning × body trains; report(); dynamic output."""

from __future__ import annotations

import itertools

import pytest
import torch

from hyperviz import (
    BODIES,
    CONDITIONINGS,
    STRATEGIES,
    HyperDNN,
    HyperNetwork,
    MLPTarget,
    count_learnable,
    fit,
)
from hyperviz.strategies import ChunkWise, ComponentWise, MultiHead, OneShot

# Toy problem (tests/conftest.py): y = x and y = -x on 16 points of [-1, 1]; E[y²] = 0.378.
# A model that cannot tell the tasks apart does best predicting 0, i.e. loss E[y²].
# Measured with lr 5e-3 and 150 steps, seeds 0-3, all 48 combinations: the mean loss of the
# last 10 steps is at most 0.038 E[y²] (one-shot / noise / attention), most are below 0.01;
# a task-blind model stays at 0.95-1.1 E[y²] (the negative control below).
# So "learned" means: below 0.1 E[y²].
STEPS, LR = 150, 5e-3
LEARNED = 0.1
NOT_LEARNED = 0.5

COMBINATIONS = list(itertools.product(STRATEGIES, CONDITIONINGS, BODIES))


def test_the_grid_has_48_combinations():
    assert len(COMBINATIONS) == 48


@pytest.mark.parametrize(("strategy", "conditioning", "body"), COMBINATIONS)
def test_every_combination_learns_the_toy_task(
    strategy, conditioning, body, make_hyperdnn, make_problem
):
    model = make_hyperdnn(conditioning, strategy, body)
    problem = make_problem(conditioning)
    history = fit(model, problem.x, problem.y, context=problem.context, steps=STEPS, lr=LR)
    blind = problem.y.pow(2).mean().item()
    assert history.final_loss(10) < LEARNED * blind, (history.loss[0], history.final_loss(10))


def test_component_wise_by_neuron_learns_the_toy_task(make_hyperdnn, make_problem):
    """A path check of neuron-wise generation, not a claim that it trains as easily.

    Neurons made by one shared head from similar tokens start as near-copies (|corr| of the
    incoming weights of fc1's neurons 0.8-0.96, against 0.2 by layer), so they often die
    together: at lr 5e-3 or 1e-3, many seeds of data or task conditioning end at 0.5-1.0
    E[y²]. Task conditioning with a CNN body at lr 1e-3 learned for seeds 0-7 (at most
    0.0023 E[y²]).
    """
    model = make_hyperdnn("task", "component-wise", "cnn", component="neuron")
    problem = make_problem("task")
    history = fit(model, problem.x, problem.y, context=problem.context, steps=STEPS, lr=1e-3)
    assert history.final_loss(10) < LEARNED * problem.y.pow(2).mean().item()


@pytest.mark.parametrize("body", list(BODIES))
def test_noise_conditioning_cannot_tell_two_tasks_apart(body, make_hyperdnn, make_problem):
    """Negative control: the threshold above separates learning from not learning."""
    problem = make_problem("task")  # both tasks, but the context is noise, not the task id
    model = make_hyperdnn("noise", "one-shot", body)
    history = fit(model, problem.x, problem.y, context=2, steps=STEPS, lr=LR)
    assert history.final_loss(10) > NOT_LEARNED * problem.y.pow(2).mean().item()


def test_task_conditioned_hypernet_gives_each_task_its_own_weights(make_hyperdnn, make_problem):
    model = make_hyperdnn("task", "one-shot", "mlp")
    problem = make_problem("task")
    fit(model, problem.x, problem.y, context=problem.context, steps=STEPS, lr=LR)
    with torch.no_grad():
        prediction = model(problem.x, torch.arange(2))
    slopes = prediction[:, -1, 0] - prediction[:, 0, 0]  # f(1) - f(-1): about +2 and -2
    assert slopes[0] > 1.5 and slopes[1] < -1.5


# --- report(): hand-counted parameters ---------------------------------------------------
# Target [1, 32, 32, 1]: 2*32 + 32*32+32 + 32+1 = 64 + 1056 + 33 = 1153 weights.
# Task conditioning (1 task, embedding 8): 8. MLP body 8 -> 64 -> 64: 576 + 4160 = 4736.
BIG = [1, 32, 32, 1]
P_BIG = 1153
EMBED_AND_BODY = 8 + 576 + 4160


def test_target_of_the_report_tests_has_1153_weights():
    assert MLPTarget(BIG).num_params == P_BIG


@pytest.mark.parametrize(
    ("strategy", "options", "learnable", "last_layer", "unused", "extra"),
    [
        # one output layer 64 -> 1153
        ("one-shot", {}, EMBED_AND_BODY + 64 * 1153 + 1153, 64 * 1153 + 1153, 0, 0),
        # heads 64 -> 64, 64 -> 1056, 64 -> 33
        ("multi-head", {}, EMBED_AND_BODY + 65 * 1153, 65 * 1153, 0, 0),
        # tokens are 8 + 8 wide: body 16 -> 64 is 1088; 12 chunk embeddings of 8; head 64 -> 100
        (
            "chunk-wise",
            {"chunk_size": 100},
            8 + 1088 + 4160 + 12 * 8 + 65 * 100,
            65 * 100,
            12 * 100 - 1153,
            96,
        ),
        # 3 layer embeddings of 8; every layer padded to the largest (1056)
        (
            "component-wise",
            {"component": "layer"},
            8 + 1088 + 4160 + 3 * 8 + 65 * 1056,
            65 * 1056,
            3 * 1056 - 1153,
            24,
        ),
        # 3 layer + 32 neuron embeddings; 65 neurons, each padded to fan-in 32 + 1 bias
        (
            "component-wise",
            {"component": "neuron"},
            8 + 1088 + 4160 + (3 + 32) * 8 + 65 * 33,
            65 * 33,
            65 * 33 - 1153,
            (3 + 32) * 8,
        ),
    ],
)
def test_report_counts_match_a_hand_computation(
    strategy, options, learnable, last_layer, unused, extra
):
    hypernet = HyperNetwork(MLPTarget(BIG), "task", strategy, "mlp", hidden=64, **options)
    report = hypernet.report()
    assert report.learnable == learnable
    assert report.learnable == count_learnable(HyperDNN(hypernet))
    assert report.generated == P_BIG
    assert report.last_layer == last_layer
    assert report.unused_outputs == unused
    assert report.extra_embeddings == extra
    assert report.compression_ratio == pytest.approx(P_BIG / learnable)
    assert (report.strategy, report.body, report.conditioning) == (strategy, "mlp", "task")


def test_report_prints_every_count():
    report = HyperNetwork(MLPTarget(BIG), strategy="chunk-wise", chunk_size=100).report()
    text = str(report)
    assert "1,153" in text and f"{report.learnable:,}" in text
    assert f"{report.compression_ratio:.3f}" in text
    assert "47" in text.splitlines()[5]  # outputs generated but unused


def test_compression_ratio_above_one_only_when_phi_is_smaller_than_theta():
    small = HyperNetwork(MLPTarget([1, 200, 200, 1]), strategy="chunk-wise", hidden=16)
    large = HyperNetwork(MLPTarget([1, 200, 200, 1]), strategy="one-shot", hidden=16)
    assert small.report().compression_ratio > 1 > large.report().compression_ratio


# --- dynamic output ----------------------------------------------------------------------
MAX = MLPTarget([2, 32, 32, 1])
SMALLER = [MLPTarget([2, 8, 1]), MLPTarget([1, 16, 16, 1]), MLPTarget([2, 32, 32, 1])]
DYNAMIC = [
    ("chunk-wise", {"chunk_size": 50}),
    ("component-wise", {"component": "layer"}),
    ("component-wise", {"component": "neuron"}),
]


@pytest.mark.parametrize(("strategy", "options"), DYNAMIC)
@pytest.mark.parametrize("smaller", SMALLER, ids=repr)
def test_dynamic_output_generates_a_smaller_target(strategy, options, smaller):
    built = MLPTarget([2, 16, 16, 1])
    hypernet = HyperNetwork(
        built, "task", strategy, "attention", num_tasks=3, max_target=MAX, **options
    )
    theta = hypernet(torch.arange(3), target=smaller)
    assert theta.shape == (3, smaller.num_params)
    x = torch.randn(5, smaller.sizes[0])
    assert smaller(x, theta).shape == (3, 5, 1)
    assert hypernet.report(smaller).generated == smaller.num_params


@pytest.mark.parametrize(
    ("strategy", "options", "too_big", "limit"),
    [
        ("chunk-wise", {"chunk_size": 50}, MLPTarget([2, 32, 33, 1]), "at most 24"),
        ("component-wise", {"component": "layer"}, MLPTarget([2, 32, 33, 1]), "at most 1056"),
        ("component-wise", {"component": "layer"}, MLPTarget([2, 4, 4, 4, 1]), "3 layers"),
        ("component-wise", {"component": "neuron"}, MLPTarget([40, 8, 1]), "at most 33"),
        ("component-wise", {"component": "neuron"}, MLPTarget([2, 16, 16, 16, 1]), "3 layers"),
        ("component-wise", {"component": "neuron"}, MLPTarget([2, 33, 1]), "at most 32"),
    ],
)
def test_a_target_larger_than_max_target_is_refused(strategy, options, too_big, limit):
    hypernet = HyperNetwork(MAX, "task", strategy, "mlp", max_target=MAX, **options)
    assert MAX.num_params == 1185  # 24 chunks of 50 hold it; its largest layer has 1056
    with pytest.raises(ValueError, match=rf"target=MLPTarget\(.*{limit}"):
        hypernet(0, target=too_big)
    with pytest.raises(ValueError, match=limit):
        hypernet.report(too_big)


@pytest.mark.parametrize("strategy", ["one-shot", "multi-head"])
def test_one_shot_and_multi_head_refuse_another_target(strategy):
    hypernet = HyperNetwork(MLPTarget([1, 16, 1]), strategy=strategy)
    assert hypernet(0, target=MLPTarget([1, 16, 1])).shape == (1, 49)
    for other in (MLPTarget([1, 8, 1]), MLPTarget([1, 16, 16, 1])):
        with pytest.raises(ValueError, match=rf"target=MLPTarget.*{strategy} hypernet"):
            hypernet(0, target=other)


def test_strategy_classes_are_registered_under_their_names():
    assert STRATEGIES == {
        "one-shot": OneShot,
        "multi-head": MultiHead,
        "chunk-wise": ChunkWise,
        "component-wise": ComponentWise,
    }


def test_spectral_norm_bounds_every_linear_layer_of_the_strategy():
    torch.manual_seed(0)
    hypernet = HyperNetwork(
        MLPTarget([1, 16, 1]), strategy="chunk-wise", chunk_size=16, spectral_norm=True
    )
    linears = [m for m in hypernet.strategy.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3  # two body layers and the head
    with torch.no_grad():
        for linear in linears:
            linear.parametrizations.weight.original.mul_(10)  # raw norms now well above 1
    for _ in range(20):
        hypernet(0)  # one power iteration per call in training mode
    for linear in linears:
        raw = linear.parametrizations.weight.original
        assert torch.linalg.matrix_norm(raw, ord=2) > 5
        # measured 1.0022 after 20 power iterations
        assert torch.linalg.matrix_norm(linear.weight, ord=2).item() == pytest.approx(1.0, abs=0.02)


# --- chunk and component embedding sizes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "options", "extra"),
    [
        ("chunk-wise", {"chunk_size": 100, "chunk_embedding_dim": 3}, 12 * 3),
        ("component-wise", {"component": "layer", "component_embedding_dim": 5}, 3 * 5),
        ("component-wise", {"component": "neuron", "component_embedding_dim": 2}, (3 + 32) * 2),
    ],
)
def test_chunk_and_component_embedding_sizes_are_options(strategy, options, extra):
    hypernet = HyperNetwork(MLPTarget(BIG), "task", strategy, **options)
    report = hypernet.report()
    assert report.extra_embeddings == extra
    assert hypernet.strategy.token_extra_dim() == next(v for k, v in options.items() if "dim" in k)
    assert hypernet(0).shape == (1, P_BIG)


# --- seed ----------------------------------------------------------------------------------------


def test_seed_initialises_phi_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a = HyperNetwork(MLPTarget([1, 16, 1]), "noise", "multi-head", init="hyperfan-in", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    b = HyperNetwork(MLPTarget([1, 16, 1]), "noise", "multi-head", init="hyperfan-in", seed=3)
    c = HyperNetwork(MLPTarget([1, 16, 1]), "noise", "multi-head", init="hyperfan-in", seed=4)
    same = [torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True)]
    assert all(same)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))


def test_seed_draws_what_seeding_the_global_rng_draws():
    """So seed=s builds the same Φ as torch.manual_seed(s) before HyperNetwork(...)."""
    seeded = HyperNetwork(MLPTarget([1, 16, 1]), "task", "chunk-wise", chunk_size=16, seed=7)
    torch.manual_seed(7)
    plain = HyperNetwork(MLPTarget([1, 16, 1]), "task", "chunk-wise", chunk_size=16)
    for p, q in zip(seeded.parameters(), plain.parameters(), strict=True):
        assert torch.equal(p, q)


# --- contexts: each conditioner says its default and its probe -----------------------------------


def test_weights_without_a_context_use_the_conditioner_default():
    target = MLPTarget([1, 16, 1])
    task = HyperDNN(HyperNetwork(target, "task", num_tasks=3))
    assert torch.equal(task.weights(), task.weights(0))
    noise = HyperDNN(HyperNetwork(target, "noise"))
    assert noise.weights().shape == (1, target.num_params)
    generator = torch.Generator().manual_seed(0)
    assert noise.weights(4, generator=generator).shape == (4, target.num_params)
    data = HyperDNN(HyperNetwork(target, "data", data_features=2))
    assert data.weights(torch.zeros(3, 5, 2)).shape == (3, target.num_params)


@pytest.mark.parametrize(
    ("conditioning", "probe"),
    [("task", torch.arange(3)), ("noise", 256), ("data", (8, 16, 2))],
)
def test_each_conditioner_gives_its_probe_context(conditioning, probe):
    extra = {"task": {"num_tasks": 3}, "data": {"data_features": 2}, "noise": {}}[conditioning]
    conditioner = HyperNetwork(MLPTarget([1, 16, 1]), conditioning, **extra).conditioner
    context = conditioner.probe_context(torch.Generator().manual_seed(0))
    if conditioning == "data":
        assert context.shape == probe
    elif conditioning == "task":
        assert torch.equal(context, probe)
    else:
        assert context == probe
