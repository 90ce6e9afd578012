"""Notebook 09's experiment at reduced size (its claims) and its dashboard, driven from code."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from dashboard_checks import assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz.lessons.domain_adaptation import (
    METHODS,
    Setup,
    accuracy_by_set_size,
    apply_heads,
    run_experiment,
)
from hyperviz.lessons.domain_adaptation_dashboard import DomainDashboard, digit_grid, plot_domains

SMALL = dict(
    source_angles=tuple(range(0, 180, 30)),  # six source domains on half the circle
    angles=tuple(range(0, 180, 15)),  # and six held out between them
    steps=200,
    pretrain_steps=150,
)


@pytest.fixture(scope="module")
def result():
    return run_experiment(seeds=(0, 1), **SMALL)


def test_the_notebook_claims_hold_at_reduced_size(result):
    """The pretrained network fails on turned digits; generated heads beat the shared head on
    held-out domains; the head for the domain 90° away is worse than the domain's own."""
    assert bool((result.pretrained[:, 0] > 0.9).all())
    assert bool((result.pretrained[:, 1:].mean(dim=1) < 0.4).all())
    generated, shared = result.mean(METHODS[0]), result.mean(METHODS[1])
    assert bool((generated > shared + 0.1).all())
    own_source = result.mean(METHODS[2], held_out=False)
    assert bool((result.mean(METHODS[1], held_out=False) < 0.6).all() and (own_source > 0.7).all())
    cross = result.cross  # angles span half the circle here: 90° on is 6 steps of 15°
    away = torch.stack([cross[:, i, (i + 6) % 12] for i in range(12)], dim=1)
    assert bool((away[:, ~result.source].mean(dim=1) < generated - 0.2).all())


def test_results_have_one_row_per_seed_and_domain(result):
    k, a = 2, len(SMALL["angles"])
    assert result.source.tolist() == [angle % 30 == 0 for angle in SMALL["angles"]]
    for method in METHODS:
        assert result.accuracy[method].shape == (k, a)
        assert result.class_accuracy[method].shape == (k, a, 10)
    assert result.heads.shape == (k, a, result.head_target.num_params) == (k, a, 330)
    assert result.cross.shape == (k, a, a) and result.examples.shape == (a, 10, 8, 8)
    diagonal = result.cross.diagonal(dim1=1, dim2=2)  # a domain's own generated head
    torch.testing.assert_close(diagonal, result.accuracy[METHODS[0]])
    assert result.learnable[METHODS[1]] == result.learnable[METHODS[2]] == 330
    assert result.learnable[METHODS[0]] > 100 * 330  # Φ is far bigger than one head


def test_apply_heads_runs_each_head_as_a_linear_layer(result):
    features = result.features[:, :3, :5]  # (K, 3, 5, F)
    heads = result.heads[:, :3]
    own = apply_heads(result.head_target, heads, features, "own domain")
    every = apply_heads(result.head_target, heads, features, "every domain")
    assert own.shape == (2, 3, 5, 10) and every.shape == (2, 3, 3, 5, 10)
    expected = result.head_target(features[1, 2], heads[1, 2])
    torch.testing.assert_close(own[1, 2], expected)
    torch.testing.assert_close(every[1, 0, 2], result.head_target(features[1, 0], heads[1, 2]))


def test_heads_from_a_single_unlabelled_image_still_beat_the_shared_head(result):
    by_size = accuracy_by_set_size(result, (1, 449), draws=2)
    assert by_size.shape == (2, 2)
    assert bool((by_size[:, 0] > result.mean(METHODS[1])).all())
    torch.testing.assert_close(by_size[:, 1], result.mean(METHODS[0]))  # all images: as scored
    with pytest.raises(ValueError, match="set size 500"):
        accuracy_by_set_size(result, (500,))


def test_borrowed_heads_need_a_whole_circle(result):
    with pytest.raises(ValueError, match="evenly spaced around the circle"):
        result.borrowed(90)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"source_angles": (30, 60)}, "must include 0"),
        ({"source_angles": (0, 20)}, "lie among angles"),
        ({"steps": 0}, "steps=0"),
        ({"lr": -1.0}, "lr=-1.0"),
    ],
)
def test_bad_setup_gets_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        Setup(**options)


def test_digit_grid_puts_images_in_rows_with_grey_lines():
    images = np.ones((10, 8, 8))
    grid = digit_grid(images, rows=2)
    assert grid.shape == (17, 44)
    assert grid[8, 0] == grid[0, 8] != 1.0  # the lines between digits


def test_the_domains_picture_shows_the_chosen_digits_and_angles(result):
    figure = plot_domains(result.domains, SMALL["source_angles"], angles=(0, 45, 90), digits=(6, 9))
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0°\nsource", "45°\nheld out", "90°\nsource"]
    assert ax.images[0].get_array().shape == (17, 26)
    plt.close(figure)


def test_the_dashboard_looks_results_up_and_refuses_bad_values(result):
    dash = DomainDashboard(result, angle=45)
    assert dash.status_text().startswith("digits turned by 45° (held out), seed 0")
    assert dash.set(angle=60, seed=1)
    assert dash.status_text().startswith("digits turned by 60° (a source domain), seed 1")
    assert not dash.set(angle=50)  # within the slider, but not a domain
    assert "angle=50 is not a domain" in dash.status_text()
    assert dash.values() == {"angle": 60, "seed": 1}
    assert not dash.set(seed=7) and "seed=7" in dash.status_text()
    assert dash.last_update_seconds < 1.0


def test_the_dashboard_draws_every_array_and_its_static_picture(result):
    dash = DomainDashboard(result, angle=45)
    assert_traces_are_keyed(dash)
    assert_redraw_sets_every_array(dash)
    index = result.angles.index(45)
    np.testing.assert_allclose(dash.trace(METHODS[0]).y, result.accuracy[METHODS[0]][0].numpy())
    np.testing.assert_allclose(dash.trace("cross").y, result.cross[0, index].numpy())
    assert dash.trace("here").x == (45, 45)
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) >= 5
    plt.close(figure)
