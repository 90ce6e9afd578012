"""The dashboard frame, the training stepper and the chunk layout viewer, driven from code."""

import numpy as np
import pytest
import torch
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

import hyperviz as hv
from hyperviz.chunk_layout import chunk_layout
from hyperviz.gradients import autograd_path, leaf_parameters
from hyperviz.lessons.dnn_vs_hyperdnn_dashboard import TrainingStepper
from hyperviz.lessons.how_to_use_dashboard import ChunkLayoutViewer


@pytest.fixture(scope="module")
def histories():
    task = hv.sinusoid_tasks(num_tasks=1, num_points=10)
    target = hv.MLPTarget([1, 8, 8, 1])
    hv.seed_everything(0)
    dnn = hv.DNN(target)
    hyper = hv.HyperDNN(hv.HyperNetwork(target, strategy="chunk-wise", chunk_size=32))
    runs = {
        name: hv.fit(m, task.x[0], task.y[0], steps=30, lr=1e-2, snapshot_every=10)
        for name, m in [("DNN", dnn), ("HyperDNN", hyper)]
    }
    return target, runs, hyper


def test_chunk_layout_counts():
    target = hv.MLPTarget([1, 40, 40, 1])  # P = 1761
    layout = chunk_layout(target, 256)
    assert len(layout.chunks) == 7 and layout.unused == 7 * 256 - 1761
    assert [size for _, _, size in layout.layers] == [80, 1640, 41]


def test_chunk_layout_viewer_shows_errors_and_keeps_last_good_state():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 40, 40, 1]), chunk_size=256)
    assert viewer.set(chunk_size=100)
    assert viewer.status_text().startswith("chunk size 100: 18 chunks")
    good_state, good_x = viewer.state, viewer.trace("chunks").x
    assert not viewer.set(chunk_size=0)
    assert "chunk_size=0" in viewer.status_text()
    assert "hv-error" in viewer.status.value
    assert viewer.state is good_state and viewer.trace("chunks").x == good_x
    assert viewer.values() == {"chunk_size": 100}  # the box shows what the figure shows


def test_chunk_layout_viewer_redraws_every_array():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 40, 40, 1]), chunk_size=256)
    assert_traces_are_keyed(viewer)
    assert viewer.live.keys() == ["layers", "chunks", "unused"]
    assert list(viewer.trace("chunks").base) == [0, 256, 512, 768, 1024, 1280, 1536]
    assert_redraw_sets_every_array(viewer)


def test_dashboard_text_repr_is_fixed_and_classes_are_set():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]))
    bundle = viewer._repr_mimebundle_()
    assert bundle["text/plain"] == "Chunk layout (interactive: run the notebook to use it)"
    assert "hv-dashboard" in viewer.view._dom_classes
    assert "hv-status" in viewer.status._dom_classes
    assert "hv-control-chunk_size" in viewer.controls["chunk_size"]._dom_classes


def test_dashboard_refuses_unknown_control_without_raising():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]))
    state = viewer.state
    assert not viewer.set(width=3)
    assert viewer.status_text() == (
        "ValueError: 'width' is not a control; controls: ['chunk_size']"
    )
    assert "hv-error" in viewer.status.value and viewer.state is state


def test_bad_start_value_raises_a_clear_error():
    with pytest.raises(ValueError, match="chunk_size=-1"):
        ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]), chunk_size=-1)


def test_stepper_moves_through_snapshots(histories):
    target, runs, _ = histories
    stepper = TrainingStepper(target, runs)
    assert stepper.steps == [0, 10, 20, 29]
    first = array(stepper, "DNN Θ fc0", "z")
    assert stepper.set(step=29)
    assert stepper.status_text().startswith("step 29: DNN loss")
    assert not np.array_equal(array(stepper, "DNN Θ fc0", "z"), first)
    assert list(stepper.trace("step").x) == [29, 29]
    loss = [runs["DNN"].loss[29], runs["HyperDNN"].loss[29]]
    assert np.allclose(array(stepper, "step", "y"), loss)


def test_stepper_draws_every_array_from_its_state(histories):
    target, runs, _ = histories
    stepper = TrainingStepper(target, runs)
    assert_traces_are_keyed(stepper)
    assert stepper.set(step=20)
    for name, history in runs.items():
        assert np.allclose(array(stepper, name, "y"), history.loss)
        assert np.array_equal(array(stepper, name, "x"), np.arange(len(history.loss)))
        theta = target.unflatten(history.snapshots[20])
        for layer in ("fc0", "fc1", "fc2"):
            z = array(stepper, f"{name} Θ {layer}", "z")
            assert np.allclose(z, theta[f"{layer}.weight"].reshape(z.shape).numpy())
    limits = {stepper.trace(key).zmax for key in stepper.live.keys() if "Θ" in key}
    assert len(limits) == 1  # one colour scale for both models and every step
    assert_redraw_sets_every_array(stepper)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (15, "step=15 is not allowed; choose one of: 0, 10, 20, 29"),
        ("10", "step='10' is not allowed; choose one of: 0, 10, 20, 29"),
        (10.0, "step=10.0 is not allowed; choose one of: 0, 10, 20, 29"),
    ],
)
def test_stepper_refuses_a_step_without_snapshot(histories, step, message):
    target, runs, _ = histories
    stepper = TrainingStepper(target, runs)
    assert stepper.set(step=10)
    z = array(stepper, "HyperDNN Θ fc1", "z")
    assert not stepper.set(step=step)
    assert stepper.status_text() == f"ValueError: {message}"
    assert stepper.values() == {"step": 10} and stepper.state.step == 10
    assert np.array_equal(array(stepper, "HyperDNN Θ fc1", "z"), z)
    assert stepper.set(step=0) and stepper.error is None


def test_stepper_static_picture_is_drawn_from_the_state(histories):
    target, runs, _ = histories
    stepper = TrainingStepper(target, runs)
    stepper.set(step=20)
    figure = stepper.draw_static(stepper.state)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles[0] == stepper.live.title_text("DNN Θ fc0") == "DNN: Θ of fc0 (8×1)"
    assert titles[-1] == "training loss (marker: step 20)"


def test_stepper_needs_matching_snapshots(histories):
    target, runs, _ = histories
    with pytest.raises(ValueError, match="same snapshot steps"):
        TrainingStepper(target, {"a": runs["DNN"], "b": hv.History()})


def test_autograd_path_ends_at_phi_for_hyperdnn_and_at_theta_for_dnn(histories):
    target, _, hyper = histories
    theta = hyper.weights(0)
    assert "Φ: hypernet.strategy.head.weight" in autograd_path(theta, hyper)
    assert "hypernet.conditioner.task_embedding.weight" in leaf_parameters(theta, hyper)
    dnn = hv.DNN(target)
    assert autograd_path(dnn.weights(), dnn).startswith("Θ is a leaf: theta")
    assert leaf_parameters(dnn.weights(), dnn) == ["theta"]
    assert leaf_parameters(torch.zeros(3), dnn) == []
