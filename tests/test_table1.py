"""Table 1 measured: hypernets per strategy variant, layouts, trained rows, claims, scaling."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from hyperviz import MLPTarget, sinusoid_tasks
from hyperviz.lessons.output_based import (
    VARIANTS,
    format_claims,
    format_counts,
    format_scaling,
    format_timing,
    layout_summary,
    make_hypernet,
    plot_scaling,
    scaling_reports,
    strategy_table,
    survey_claims,
)
from hyperviz.training import single_threaded

matplotlib.use("Agg")
WIDE = MLPTarget([1, 32, 32, 1])  # P = 1,153: layers of 64, 1,056 and 33 numbers


@pytest.fixture(scope="module")
def tasks():
    return sinusoid_tasks(num_tasks=2, num_points=8, seed=0)


@pytest.fixture(scope="module")
def rows(tasks):
    """Counts do not depend on training: 2 steps are enough to check them."""
    return strategy_table(WIDE, tasks, steps=2, chunk_size=64, embedding_dim=8)


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


def test_table_rows_match_the_reports(rows):
    assert [r.variant for r in rows] == list(VARIANTS)
    one_shot, multi_head, chunked, by_layer, by_neuron = rows
    assert one_shot.report.last_layer == 33 * 1153 == multi_head.report.last_layer
    assert multi_head.largest_head == 33 * 1056
    assert chunked.report.unused_outputs == math.ceil(1153 / 64) * 64 - 1153
    assert by_layer.report.unused_outputs == 3 * 1056 - 1153
    assert by_neuron.report.unused_outputs == 65 * 33 - 1153
    for r in rows:
        assert r.theta.shape == (2, 1153)
        assert len(r.loss) == len(r.history.step_time) == 2
        assert math.isfinite(r.final_loss) and r.step_ms > 0


def test_training_is_deterministic(tasks):
    target = MLPTarget([1, 4, 1])
    a = strategy_table(target, tasks, variants=["chunk-wise"], steps=5, chunk_size=8)
    b = strategy_table(target, tasks, variants=["chunk-wise"], steps=5, chunk_size=8)
    assert a[0].loss == b[0].loss
    assert a[0].label == "chunk-wise (chunk 8)"


def test_training_lowers_the_loss(tasks):
    (row,) = strategy_table(MLPTarget([1, 8, 8, 1]), tasks, variants=["one-shot"], steps=60)
    assert row.final_loss < 0.5 * row.loss[0]


def test_formatted_tables_name_every_row(rows):
    counts, timing = format_counts(rows), format_timing(rows)
    for r in rows:
        assert r.label in counts and r.label in timing
    assert "Φ learnable" in counts.splitlines()[0]
    assert "38,049" in counts


def test_every_survey_claim_holds_for_the_wide_target(rows):
    claims = survey_claims(rows)
    assert len(claims) == 15 and all(c.holds for c in claims)
    text = format_claims(claims)
    assert "✗" not in text and "splits the last layer into smaller heads" in text


def test_a_claim_can_fail():
    """Chunks that divide P leave nothing unused: the check says so instead of passing."""
    target = MLPTarget([1, 8, 1])  # P = 25
    tasks = sinusoid_tasks(num_tasks=1, num_points=4)
    rows = strategy_table(
        target, tasks, variants=["one-shot", "multi-head", "chunk-wise"], steps=1, chunk_size=5
    )
    failed = [c for c in survey_claims(rows) if not c.holds]
    assert [(c.strategy, c.claim) for c in failed] == [
        ("chunk-wise (chunk 5)", "can leave outputs unused")
    ]


def test_survey_claims_need_the_variants_they_compare(rows):
    with pytest.raises(ValueError, match="one-shot"):
        survey_claims(rows[2:])


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
