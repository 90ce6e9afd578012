"""Table 1 counted and set beside the survey's; strategies fitted over seeds; scaling."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from hyperviz import MLPTarget, sinusoid_tasks
from hyperviz.lessons.output_based import (
    SURVEY_TABLE1,
    VARIANTS,
    compare_with_survey,
    fit_strategies,
    format_counts,
    layout_summary,
    make_hypernet,
    neuron_similarity,
    runs_per_layer,
    scaling_reports,
    train_strategy,
)
from hyperviz.lessons.output_based_dashboard import (
    format_comparison,
    format_fits,
    format_scaling,
    plot_fits,
    plot_scaling,
)
from hyperviz.training import single_threaded

matplotlib.use("Agg")
WIDE = MLPTarget([1, 32, 32, 1])  # P = 1,153: layers of 64, 1,056 and 33 numbers
WIDER = MLPTarget([1, 256, 256, 1])
SMALL = MLPTarget([1, 8, 8, 1])


@pytest.fixture(scope="module")
def tasks():
    return sinusoid_tasks(num_tasks=2, num_points=8, seed=0)


@pytest.fixture(scope="module")
def fits(tasks):
    return fit_strategies(SMALL, tasks, ["one-shot", "chunk-wise"], seeds=(0, 1), steps=30,
                          chunk_size=16, snapshot_every=10)  # fmt: skip


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_generates_the_same_target(variant):
    hypernet = make_hypernet(WIDE, variant, num_tasks=3)
    theta = hypernet(torch.arange(3))
    assert theta.shape == (3, WIDE.num_params)
    assert WIDE(torch.zeros(5, 1), theta).shape == (3, 5, 1)


def test_embedding_dim_sets_chunk_and_component_embeddings():
    chunked = make_hypernet(WIDE, "chunk-wise", chunk_size=64, embedding_dim=3)
    assert tuple(chunked.strategy.chunk_embedding.shape) == (19, 3)
    assert chunked.report().extra_embeddings == 19 * 3
    by_neuron = make_hypernet(WIDE, "component-wise (neuron)", embedding_dim=2)
    assert by_neuron.report().extra_embeddings == (3 + 32) * 2
    assert make_hypernet(WIDE, "one-shot", embedding_dim=2).report().extra_embeddings == 0


def test_make_hypernet_is_seeded():
    a = make_hypernet(WIDE, "chunk-wise", seed=3)(0)
    b = make_hypernet(WIDE, "chunk-wise", seed=3)(0)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"variant": "two-shot"}, ValueError, "allowed"),
        ({"variant": "chunk-wise", "chunk_size": 0}, ValueError, "chunk_size=0"),
        ({"variant": "chunk-wise", "embedding_dim": 1.5}, TypeError, "embedding_dim"),
    ],
)
def test_make_hypernet_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        make_hypernet(WIDE, **kwargs)


def test_layout_summary_counts_heads_tokens_and_waste():
    assert layout_summary(make_hypernet(WIDE, "one-shot")) == (
        "one-shot: 1 head of 1,153 outputs, each run on 1 token; "
        "makes 1,153 numbers per network for Θ of 1,153, 0 unused"
    )
    chunked = layout_summary(make_hypernet(WIDE, "chunk-wise", chunk_size=64))
    assert "19 tokens" in chunked and "makes 1,216 numbers" in chunked
    assert chunked.endswith("63 unused")
    by_layer = layout_summary(make_hypernet(WIDE, "component-wise (layer)"))
    assert by_layer.startswith("component-wise (layer): 1 head of 1,056 outputs")
    assert by_layer.endswith(f"{3 * 1056 - 1153:,} unused")


def test_format_counts_names_every_hypernet_and_its_counts():
    nets = {v: make_hypernet(WIDE, v, chunk_size=64) for v in VARIANTS}
    text = format_counts(nets)
    assert all(v in text for v in VARIANTS) and "Φ learnable" in text.splitlines()[0]
    assert "38,049" in text and "34,848" in text  # one-shot layer; multi-head's largest head


@pytest.mark.parametrize(
    ("variant", "runs"),
    [
        ("one-shot", [1, 1, 1]),
        ("multi-head", [1, 1, 1]),
        ("chunk-wise", [1, 17, 2]),  # fc1 spans chunks 1..17; fc2 the end of 17 and 18
        ("component-wise (layer)", [1, 1, 1]),
        ("component-wise (neuron)", [32, 32, 1]),
    ],
)
def test_runs_per_layer_counts_the_head_runs_that_make_each_layer(variant, runs):
    assert runs_per_layer(make_hypernet(WIDE, variant, chunk_size=64)) == runs


@pytest.fixture(scope="module")
def table():
    return compare_with_survey(WIDE, WIDER, chunk_size=64, embedding_dim=8)


def test_the_survey_table_covers_every_property_and_variant(table):
    assert len(table) == len(SURVEY_TABLE1) * len(VARIANTS)
    silent = {(c.variant, c.prop) for c in table if c.holds is None}
    assert silent == {(c.variant, c.prop) for c in table if not c.survey}
    assert ("multi-head", "a layer in one run") in silent


def test_exactly_two_survey_entries_fail_for_the_wide_target(table):
    failed = sorted((c.variant, c.prop) for c in table if c.holds is False)
    assert failed == [
        ("component-wise (layer)", "scales with the target"),
        ("multi-head", "last layer vs one-shot"),
    ]
    multi = next(c for c in table if c.variant == "multi-head" and c.prop.startswith("last"))
    assert multi.measured == "÷1.09 (3 heads)" and multi.survey == "÷ heads"


def test_the_formatted_survey_table_marks_agreement_and_disagreement(table):
    text = format_comparison(table)
    assert text.count("✗") == 2 and "—" in text
    lines = text.splitlines()
    assert lines[2].split()[:2] == ["uses", "every"] and lines[3].split()[0] == "measured"


def test_the_multi_head_entry_holds_when_layers_are_equal():
    """Two layers of 20 numbers: two heads, each half the one-shot layer."""
    table = compare_with_survey(MLPTarget([4, 4, 4]), MLPTarget([4, 16, 4]), chunk_size=8)
    multi = next(c for c in table if c.variant == "multi-head" and c.prop.startswith("last"))
    assert multi.holds is True and multi.measured == "÷2 (2 heads)"


def test_a_chunk_size_that_divides_p_uses_every_output():
    """P = 25 in chunks of 5: nothing is thrown away, so the survey's 'no' is marked ✗."""
    table = compare_with_survey(MLPTarget([1, 8, 1]), MLPTarget([1, 16, 1]),
                                variants=["one-shot", "chunk-wise"], chunk_size=5)  # fmt: skip
    cell = next(c for c in table if c.variant == "chunk-wise" and c.prop == "uses every output")
    assert (cell.measured, cell.holds) == ("yes", False)


def test_the_comparison_needs_one_shot():
    with pytest.raises(ValueError, match="one-shot"):
        compare_with_survey(WIDE, WIDER, variants=["chunk-wise"])


def test_fit_strategies_trains_every_variant_from_every_seed(fits):
    assert list(fits) == ["one-shot", "chunk-wise"]
    for results in fits.values():
        assert [r.seed for r in results] == [0, 1]
        assert all(len(r.loss) == 30 and r.theta.shape == (2, SMALL.num_params) for r in results)
    assert fits["one-shot"][0].loss != fits["one-shot"][1].loss


def test_a_batched_seed_equals_training_it_alone(tasks, fits):
    alone = train_strategy(SMALL, "chunk-wise", tasks, chunk_size=16, steps=30, seed=1)
    batched = fits["chunk-wise"][1]
    assert batched.loss == pytest.approx(alone.loss, rel=1e-4, abs=1e-6)
    assert torch.allclose(batched.theta, alone.theta, atol=1e-5)


def test_loss_at_is_a_median_of_the_steps_before(fits):
    run = fits["one-shot"][0]
    assert run.loss_at(30) == run.final_loss
    assert run.loss_at(1) == run.loss[0]
    with pytest.raises(ValueError, match="outside"):
        run.loss_at(31)


def test_first_steps_is_the_run_stopped_early(tasks, fits):
    early = fits["one-shot"][0].first_steps(10)
    alone = train_strategy(SMALL, "one-shot", tasks, chunk_size=16, steps=10, seed=0)
    assert len(early.loss) == 10 and early.loss == pytest.approx(alone.loss, rel=1e-4)
    assert torch.allclose(early.theta, alone.theta, atol=1e-5)
    with pytest.raises(ValueError, match="snapshot"):
        fits["one-shot"][0].first_steps(15)


def test_format_fits_keeps_its_layout_whatever_the_digits(fits):
    text = format_fits(fits, steps=(10, 30))
    assert "loss at step 10, seeds 0 1" in text.splitlines()[0]
    widths = {len(line) for line in text.splitlines()}
    assert len(widths) == 1  # every float printed with the same width


def test_neuron_wise_neurons_start_more_alike_than_one_shot_ones():
    """The notebook's explanation, at initialisation (no training): one head row per weight."""
    alike = {
        v: neuron_similarity(WIDE, make_hypernet(WIDE, v, num_tasks=2)(torch.arange(2)).detach())
        for v in ("one-shot", "component-wise (neuron)")
    }
    gap = alike["component-wise (neuron)"] - alike["one-shot"]
    assert gap > 0.3


def test_training_is_deterministic(tasks):
    target = MLPTarget([1, 4, 1])
    a = train_strategy(target, "chunk-wise", tasks, steps=5, chunk_size=8)
    b = train_strategy(target, "chunk-wise", tasks, steps=5, chunk_size=8)
    assert a.loss == b.loss and a.label == "chunk-wise (chunk 8)"


def test_training_lowers_the_loss(tasks):
    row = train_strategy(SMALL, "one-shot", tasks, steps=60)
    assert row.final_loss < 0.5 * row.loss[0] and math.isfinite(row.final_loss)


def test_plot_fits_draws_a_line_per_seed(fits):
    figure = plot_fits(fits, mark=10, baseline=0.5)
    assert len(figure.axes[0].get_lines()) == 2 * 2 + 2  # seeds, baseline, mark
    matplotlib.pyplot.close("all")


def test_scaling_last_layer_grows_for_one_shot_only():
    widths = [4, 8, 16]
    reports = scaling_reports(widths, hidden=8, chunk_size=16, embedding_dim=2)
    one_shot = [r.last_layer for r in reports["one-shot"]]
    assert one_shot == [9 * MLPTarget([1, w, w, 1]).num_params for w in widths]
    assert {r.last_layer for r in reports["chunk-wise"]} == {8 * 16 + 16}
    ratios = [r.compression_ratio for r in reports["chunk-wise"]]
    assert ratios == sorted(ratios)
    assert "chunk-wise: last layer" in format_scaling(widths, reports)


def test_scaling_plot_returns_a_figure():
    widths = [2, 4]
    figure = plot_scaling(widths, scaling_reports(widths, hidden=4, chunk_size=4))
    assert len(figure.axes) == 2
    matplotlib.pyplot.close("all")


def test_single_threaded_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_threaded():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
