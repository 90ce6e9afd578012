"""The dashboard frame, the training stepper and the chunk layout viewer, driven from code."""

import numpy as np
import pytest
import torch

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
    good_state, good_x = viewer.state, viewer.figure.data[1].x
    assert not viewer.set(chunk_size=0)
    assert "chunk_size=0" in viewer.status_text()
    assert "hv-error" in viewer.status.value
    assert viewer.state is good_state and viewer.figure.data[1].x == good_x


def test_dashboard_text_repr_is_fixed_and_classes_are_set():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]))
    bundle = viewer._repr_mimebundle_()
    assert bundle["text/plain"] == "Chunk layout (interactive: run the notebook to use it)"
    assert "hv-dashboard" in viewer.view._dom_classes
    assert "hv-status" in viewer.status._dom_classes
    assert "hv-control-chunk_size" in viewer.controls["chunk_size"]._dom_classes


def test_dashboard_refuses_unknown_control():
    viewer = ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]))
    with pytest.raises(ValueError, match="'width' is not a control"):
        viewer.set(width=3)


def test_bad_start_value_raises_a_clear_error():
    with pytest.raises(ValueError, match="chunk_size=-1"):
        ChunkLayoutViewer(hv.MLPTarget([1, 4, 1]), chunk_size=-1)


def test_stepper_moves_through_snapshots(histories):
    target, runs, _ = histories
    stepper = TrainingStepper(target, runs)
    assert stepper.steps == [0, 10, 20, 29]
    first = np.array(stepper.figure.data[0].z)
    assert stepper.set(step=29)
    assert stepper.status_text().startswith("step 29: DNN loss")
    assert not np.array_equal(np.array(stepper.figure.data[0].z), first)
    assert list(stepper.figure.data[-1].x) == [29, 29]


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
