"""Static and dynamic hypernets: the 2×2 map."""

import matplotlib.pyplot as plt
import pytest
import torch

import hyperviz as hv
from hyperviz.lessons.variability import (
    error_of,
    errors_by_training,
    format_new_task_errors,
    fresh_examples,
    input_errors,
    mean_error,
    mlp,
    static_dynamic_map,
    target_errors,
    zero_error,
)


def test_the_map_has_one_static_and_three_dynamic_cells():
    figure = static_dynamic_map({("dynamic", "dynamic"): "my example"})
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts.count("STATIC hypernet") == 1
    assert texts.count("DYNAMIC hypernet") == 3
    assert "my example" in texts
    assert any(t.startswith("task ids → one fixed target") for t in texts)
    assert len(figure.axes[0].patches) == 4
    plt.close(figure)


@pytest.fixture(scope="module")
def part_1():
    tasks = hv.sinusoid_tasks(num_tasks=4, num_points=10, seed=1)
    new = hv.sinusoid_tasks(num_tasks=6, num_points=10, seed=2)
    target = mlp(8)
    task_h = hv.HyperNetwork(target, "task", "one-shot", num_tasks=4, hidden=16, seed=0)
    data_h = hv.HyperNetwork(target, "data", "one-shot", data_features=2, hidden=16, seed=0)
    return tasks, new, task_h, data_h, torch.linspace(-5, 5, 50).unsqueeze(1)


def test_fresh_examples_follow_the_same_sinusoids_at_new_points(part_1):
    tasks = part_1[0]
    fresh = fresh_examples(tasks)
    assert fresh.shape == tasks.examples().shape
    assert not torch.allclose(fresh[..., :1], tasks.x)
    amplitude, phase = tasks.params[:, :1, None], tasks.params[:, 1:, None]
    assert torch.allclose(fresh[..., 1:], amplitude * torch.sin(fresh[..., :1] + phase))


def test_input_errors_score_every_source_of_weights(part_1):
    tasks, new, task_h, data_h, grid = part_1
    errors = input_errors(task_h, data_h, tasks, new, grid, fresh_examples(tasks))
    assert errors.known_task.shape == errors.known_data.shape == errors.fresh_data.shape == (4,)
    assert errors.new_data.shape == errors.new_oracle.shape == (6,)
    assert 0 <= errors.data_wins <= 6
    assert mean_error(task_h, torch.arange(4), tasks.params, grid) == pytest.approx(
        errors.known_task.mean().item(), rel=1e-5
    )
    table = format_new_task_errors({0: errors, 1: errors}, zero_error(new.params, grid))
    lines = table.splitlines()
    assert len(lines) == 1 + 2 * 2 + 1 and lines[-1].startswith("predict 0")
    assert f"~{errors.data_wins} of 6" in lines[1]


def test_zero_error_is_the_mean_square_of_the_curve():
    params = torch.tensor([[2.0, 0.0]])
    grid = torch.linspace(-torch.pi, torch.pi, 2001).unsqueeze(1)
    assert zero_error(params, grid).item() == pytest.approx(2.0, rel=1e-2)  # A² / 2


def test_errors_split_by_training_and_look_up_by_architecture(part_1):
    tasks, _, _, _, grid = part_1
    largest = mlp(16)
    hypernet = hv.HyperNetwork(
        largest, "task", "chunk-wise", num_tasks=4, chunk_size=32, max_target=largest, seed=0
    )
    results = target_errors(hypernet, torch.arange(4), [mlp(4), mlp(8)], tasks.params, grid,
                            trained=[mlp(8)])  # fmt: skip
    trained, untrained = errors_by_training(results)
    assert trained == [results[1].error] and untrained == [results[0].error]
    assert error_of(results, mlp(4)) == results[0].error
