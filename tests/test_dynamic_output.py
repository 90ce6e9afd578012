"""Dynamic output: targets chosen at call time, training on several, the width explorer."""

import numpy as np
import pytest
import torch
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

import hyperviz as hv
from hyperviz.lessons.variability import (
    TargetResult,
    arch_name,
    as_float_text,
    format_results,
    mlp,
    target_errors,
    train_on_targets,
    train_target_sets,
    weight_role,
)
from hyperviz.lessons.variability_dashboard import WidthExplorer

LARGEST = mlp(16)  # 1 → 16 → 16 → 1, P = 321


def chunk_hypernet(conditioning: str = "task", seed: int = 0) -> hv.HyperNetwork:
    hv.seed_everything(seed)
    extra = {"num_tasks": 2} if conditioning == "task" else {"data_features": 2}
    return hv.HyperNetwork(
        LARGEST, conditioning, "chunk-wise", chunk_size=32, max_target=LARGEST, hidden=32, **extra
    )


@pytest.fixture(scope="module")
def tasks():
    return hv.sinusoid_tasks(num_tasks=2, num_points=12, seed=0)


def test_mlp_builds_width_and_depth():
    assert mlp(8).sizes == [1, 8, 8, 1]
    assert mlp(4, depth=3, in_features=2, out_features=3).sizes == [2, 4, 4, 4, 3]
    assert arch_name(mlp(5, depth=1)) == "1→5→1"
    with pytest.raises(ValueError, match="width=0"):
        mlp(0)
    with pytest.raises(TypeError, match="depth must be a positive int"):
        mlp(4, depth=1.5)


def test_weight_role_names_the_entry_of_theta():
    # width 16: fc0.weight 0-15, fc0.bias 16-31, fc1.weight 32-287, fc1.bias 288-303, ...
    assert weight_role(mlp(16), 5) == "fc0.weight[5, 0]"
    assert weight_role(mlp(16), 20) == "fc0.bias[4]"
    assert weight_role(mlp(16), 40) == "fc1.weight[0, 8]"
    assert weight_role(mlp(16), 320) == "fc2.bias[0]"
    assert weight_role(mlp(64), 20) == "fc0.weight[20, 0]"
    with pytest.raises(ValueError, match="position=321 is outside Θ; allowed: 0 to 320"):
        weight_role(mlp(16), 321)
    with pytest.raises(TypeError, match="position must be an int"):
        weight_role(mlp(16), 1.0)


def test_a_smaller_target_gets_the_first_chunks_of_the_same_stream():
    hypernet = chunk_hypernet()
    with torch.no_grad():
        small, large = hypernet(0, target=mlp(8)), hypernet(0, target=LARGEST)
    assert small.shape == (1, mlp(8).num_params)
    assert torch.allclose(small, large[:, : small.shape[1]], atol=1e-6)


def test_training_on_several_targets_lowers_every_targets_loss(tasks):
    hypernet = chunk_hypernet()
    targets = [mlp(8), mlp(12, depth=1), LARGEST]
    context = torch.arange(2)

    def losses():
        with torch.no_grad():
            return [
                hv.prediction_loss(t(tasks.x, hypernet(context, target=t)), tasks.y).item()
                for t in targets
            ]

    before = losses()
    history = train_on_targets(hypernet, context, tasks.x, tasks.y, targets, steps=60, lr=1e-2)
    after = losses()
    assert len(history.loss) == 60
    assert all(a < 0.25 * b for a, b in zip(after, before, strict=True)), (before, after)


def test_training_works_with_a_data_conditioned_hypernet(tasks):
    hypernet = chunk_hypernet("data")
    history = train_on_targets(
        hypernet, tasks.examples(), tasks.x, tasks.y, [mlp(4), mlp(8)], steps=20, lr=1e-2
    )
    assert history.loss[-1] < history.loss[0]


def test_train_on_targets_refuses_bad_arguments_before_training(tasks):
    hypernet = chunk_hypernet()
    with pytest.raises(ValueError, match="targets is empty"):
        train_on_targets(hypernet, 0, tasks.x[0], tasks.y[0], [], steps=5)
    with pytest.raises(ValueError, match="build it with a larger max_target"):
        train_on_targets(hypernet, 0, tasks.x[0], tasks.y[0], [mlp(4), mlp(32)], steps=5)
    with pytest.raises(TypeError, match="hypernet must be a HyperNetwork"):
        train_on_targets(hv.HyperDNN(hypernet), 0, tasks.x[0], tasks.y[0], [mlp(4)], steps=5)
    one_shot = hv.HyperNetwork(LARGEST, strategy="one-shot")
    with pytest.raises(ValueError, match="only chunk-wise and component-wise"):
        train_on_targets(one_shot, 0, tasks.x[0], tasks.y[0], [mlp(8)], steps=5)


def test_target_errors_flags_trained_targets_and_formats_a_table(tasks):
    hypernet = chunk_hypernet()
    grid = torch.linspace(-5, 5, 50).unsqueeze(1)
    results = target_errors(
        hypernet, torch.arange(2), [mlp(4), mlp(8)], tasks.params, grid, trained=[mlp(8)]
    )
    assert [(r.name, r.num_params, r.trained) for r in results] == [
        ("1→4→4→1", 33, False),
        ("1→8→8→1", 97, True),
    ]
    assert all(r.error > 0 for r in results)
    table = format_results({0: results, 1: results}).splitlines()
    assert table[0].split()[:6] == ["target", "P", "seed", "0", "seed", "1"]
    assert table[1].split()[0] == "1→4→4→1" and table[1].endswith("no")
    assert table[2].endswith("yes")


def test_measured_errors_always_print_as_floats():
    """A strict nbval run saw "607" vs "624": an error printed as an integer is not sanitised."""
    assert [as_float_text(v) for v in (607.2, 100.0, 23.14, 0.00392, 4370.0)] == [
        "607.2", "100.0", "23.1", "0.00392", "4.37e+03"
    ]  # fmt: skip
    result = TargetResult("1→64→1", 193, 607.0, False)
    row = format_results({0: [result]}).splitlines()[1]
    assert row.split()[:3] == ["1→64→1", "193", "607.0"]


def test_target_sets_train_as_one_batch_like_separate_runs(tasks):
    """Every (set, seed) copy of train_target_sets equals its own train_on_targets run."""
    sets = {"two": [mlp(8), LARGEST], "one": [mlp(8)]}
    runs = train_target_sets(
        lambda seed: chunk_hypernet(seed=seed), [0, 1], torch.arange(2), tasks.x, tasks.y, sets,
        steps=15, lr=1e-2,
    )  # fmt: skip
    assert list(runs) == ["two", "one"] and runs["two"].losses.shape == (15, 2)
    for name, targets in sets.items():
        for k, seed in enumerate([0, 1]):
            alone = chunk_hypernet(seed=seed)
            history = train_on_targets(alone, torch.arange(2), tasks.x, tasks.y, targets,
                                       steps=15, lr=1e-2)  # fmt: skip
            assert np.allclose(runs[name].losses[:, k].numpy(), history.loss, rtol=1e-4, atol=1e-6)
            trained = runs[name].hypernets[k]
            with torch.no_grad():
                assert torch.allclose(trained(0, target=mlp(8)), alone(0, target=mlp(8)), atol=1e-4)
    assert len(runs["one"].final_losses()) == 2
    with pytest.raises(ValueError, match="at least one seed"):
        train_target_sets(chunk_hypernet, [], 0, tasks.x, tasks.y, sets, steps=2)


# --- the dashboard ---------------------------------------------------------------------------
@pytest.fixture
def explorer(tasks):
    return WidthExplorer(
        chunk_hypernet(), tasks, trained=[mlp(8)], widths=(4, 8, 16), depths=(1, 2, 3), width=8
    )


def test_explorer_starts_on_the_given_width_and_width_is_the_first_control(explorer):
    assert list(explorer.controls) == ["width", "depth", "task"]
    status = explorer.status_text()
    assert status.startswith("width 8, depth 2 (1→8→8→1, trained): P = 97, error ")
    assert status.endswith("against task 0's true curve")
    assert array(explorer, "Θ fc1", "z").shape == (8, 8)


def test_traces_are_keyed(explorer):
    assert_traces_are_keyed(explorer)
    assert explorer.live.keys() == [
        "Θ fc0", "Θ fc1", "Θ fc2", "Θ fc3", "truth", "points", "generated network"
    ]  # fmt: skip


def test_curves_are_drawn_against_the_grid_after_every_change(explorer, tasks):
    """The browser drew truth and prediction against 0…199: x was set only at build time."""
    grid = np.linspace(-5, 5, 200)
    for values in [{"width": 16}, {"task": 1}, {"depth": 1, "width": 4}]:
        assert explorer.set(**values)
        task = explorer.state.task
        for key in ("truth", "generated network"):
            assert np.allclose(array(explorer, key, "x"), grid, atol=1e-6)
        assert np.allclose(array(explorer, "truth", "y"), explorer.truth[task])
        assert np.allclose(
            array(explorer, "generated network", "y"),
            explorer.state.fit.predictions["generated network"].y,
        )
        assert np.allclose(array(explorer, "points", "x"), tasks.x[task].flatten().numpy())
        assert np.allclose(array(explorer, "points", "y"), tasks.y[task].flatten().numpy())
        assert_redraw_sets_every_array(explorer)


def test_moving_the_width_changes_status_heatmaps_and_prediction(explorer):
    prediction = array(explorer, "generated network", "y")
    assert explorer.set(width=16)
    assert explorer.status_text().startswith("width 16, depth 2 (1→16→16→1, not seen in training)")
    assert "P = 321" in explorer.status_text()
    assert array(explorer, "Θ fc1", "z").shape == (16, 16)
    assert not np.allclose(array(explorer, "generated network", "y"), prediction)
    assert explorer.live.title_text("Θ fc1") == "Θ of fc1 (16×16)"


def test_the_weights_shown_are_the_generated_ones(explorer):
    assert explorer.set(width=16, task=1)
    with torch.no_grad():
        theta = explorer.hypernet(torch.tensor([1]), target=mlp(16))[0]
    fc1 = mlp(16).unflatten(theta)["fc1.weight"].numpy()
    assert np.allclose(array(explorer, "Θ fc1", "z"), fc1, atol=1e-6)


def test_depth_changes_the_number_of_heatmaps_shown(explorer):
    assert explorer.set(width=4, depth=1)
    keys = ["Θ fc0", "Θ fc1", "Θ fc2", "Θ fc3"]
    assert [explorer.trace(k).visible for k in keys] == [True, True, False, False]
    assert explorer.trace("Θ fc2").z is None
    assert explorer.live.title_text("Θ fc2") == ""
    assert explorer.set(depth=3)
    assert all(explorer.trace(k).visible for k in keys)


def test_task_choice_changes_the_data_shown(explorer, tasks):
    assert explorer.set(task=1)
    assert "task 1's true curve" in explorer.status_text()
    assert np.allclose(array(explorer, "points", "y"), tasks.y[1].flatten().numpy())


def test_a_target_too_large_shows_an_error_and_keeps_the_last_state(explorer):
    assert explorer.set(width=4)
    good_state, good_z = explorer.state, explorer.trace("Θ fc1").z
    assert not explorer.set(width=16, depth=3)  # P = 593 > 11 chunks of 32
    assert "ValueError" in explorer.status_text() and "larger max_target" in explorer.status_text()
    assert "hv-error" in explorer.status.value
    assert explorer.state is good_state and explorer.trace("Θ fc1").z is good_z
    assert explorer.values() == {"width": 4, "depth": 2, "task": 0}  # controls set back


def test_a_width_or_task_not_offered_is_refused(explorer):
    assert not explorer.set(width=12)
    assert explorer.status_text() == "ValueError: width=12 is not allowed; choose one of: 4, 8, 16"
    assert not explorer.set(task=2)
    assert "task=2 is not allowed; choose one of: 0, 1" in explorer.status_text()


def test_explorer_serves_a_data_conditioned_hypernet(tasks):
    dash = WidthExplorer(chunk_hypernet("data"), tasks, trained=[], widths=(4, 8), width=4)
    assert dash.status_text().startswith("width 4, depth 2 (1→4→4→1, not seen in training)")
    assert dash.set(task=1, width=8)


def test_explorer_updates_and_draws_a_static_picture(explorer):
    # How fast: scripts/benchmark.py (dashboard latency), not a timed test.
    for width in (4, 8, 16, 8, 4, 16):
        assert explorer.set(width=width)
    figure = explorer.draw_static(explorer.state)
    assert len(figure.axes) == 5  # three layers, the colour bar and the prediction
    assert figure.axes[1].get_title() == "Θ of fc1 (16×16)"
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == (
        "Dynamic output: one hypernet, many widths (interactive: run the notebook to use it)"
    )
