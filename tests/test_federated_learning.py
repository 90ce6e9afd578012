"""Notebook 07's lesson: digits split among clients, its claims at reduced size, its dashboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from hyperviz.federated import Schedule
from hyperviz.lessons.federated_learning import (
    accuracy_table,
    run_experiment,
    split_digits,
    traffic_table,
)
from hyperviz.lessons.federated_learning_dashboard import FederatedDashboard


@pytest.fixture(scope="module")
def experiment():
    schedule = Schedule(rounds=60, eval_every=20)
    return run_experiment(seeds=(0, 1), schedule=schedule)


def test_label_skew_gives_each_client_a_few_digits_named_as_everywhere_else():
    split = split_digits("label skew", seeds=(0, 1), per_class=4, test_per_class=6)
    clients = split.clients
    assert clients.x_train.shape == (2, 10, 12, 64) and clients.x_test.shape == (2, 10, 18, 64)
    assert split.holds[0, 9].nonzero().flatten().tolist() == [0, 1, 9]  # 9, 10, 11 mod 10
    for c in range(10):
        assert set(clients.y_train[0, c].tolist()) == set(
            split.holds[0, c].nonzero().flatten().tolist()
        )
    assert torch.equal(split.names[0, 4], torch.arange(10)) and split.chance == pytest.approx(1 / 3)


def test_permuted_labels_give_each_client_all_digits_under_its_own_names():
    split = split_digits("permuted labels", seeds=(3,), per_class=2, test_per_class=3)
    names = split.names[0]
    assert bool(split.holds.all()) and split.chance == pytest.approx(0.1)
    assert all(sorted(row.tolist()) == list(range(10)) for row in names)
    assert len({tuple(row.tolist()) for row in names}) == 10  # every client names digits its way
    assert sorted(split.clients.y_train[0, 5].tolist()) == sorted(list(range(10)) * 2)


def test_training_examples_are_private_to_one_client():
    for setting in ("label skew", "permuted labels"):
        x = split_digits(setting, seeds=(0,), per_class=5).clients.x_train[0].flatten(0, 1)
        assert torch.unique(x, dim=0).shape[0] == x.shape[0]


def test_split_refuses_bad_settings():
    with pytest.raises(ValueError, match="setting='iid'"):
        split_digits("iid")
    with pytest.raises(ValueError, match="too few training examples"):
        split_digits("permuted labels", per_class=20)
    with pytest.raises(ValueError, match="digits_per_client=11"):
        split_digits("label skew", digits_per_client=11)


def test_the_notebook_claims_hold_at_reduced_size(experiment):
    skew, permuted = experiment.settings["label skew"], experiment.settings["permuted labels"]
    assert max(permuted.mean_accuracy("FedAvg")) < 0.4  # one global model fails
    assert min(permuted.mean_accuracy("pFedHN") + permuted.mean_accuracy("local")) > 0.6
    assert min(skew.mean_accuracy("FedAvg")) > 0.75  # it works when the labels agree
    for result in (skew, permuted):  # pFedHN does not beat local-only training here
        gaps = [
            p - lo
            for p, lo in zip(
                result.mean_accuracy("pFedHN"), result.mean_accuracy("local"), strict=True
            )
        ]
        assert max(gaps) < 0.06
    runs = skew.runs
    assert runs["pFedHN"].traffic == runs["FedAvg"].traffic
    assert runs["local"].traffic.total == 0
    assert experiment.hypernet_size > 50 * experiment.target.num_params


def test_tables_print_exact_counts_and_fixed_width_accuracies(experiment):
    traffic = traffic_table(experiment).splitlines()
    p = experiment.target.num_params
    assert traffic[4].split() == ["pFedHN", f"{5 * p:,}", f"{5 * p:,}", f"{600 * p:,}"]
    accuracy = accuracy_table(experiment).splitlines()
    assert len(accuracy) == 8 and all(len(line) == len(accuracy[0]) for line in accuracy)


def test_the_dashboard_looks_results_up_and_refuses_bad_values(experiment):
    dash = FederatedDashboard(experiment)
    assert dash.status_text().startswith("label skew, seed 0, round 60")
    assert dash.set(setting="permuted labels", seed=1, round=20)
    assert dash.status_text().startswith("permuted labels, seed 1, round 20")
    assert list(dash.trace("pFedHN").x) == [str(c) for c in range(10)]
    assert list(dash.trace("traffic").text)[0] == "0"
    assert not dash.set(round=30)
    assert "round=30" in dash.status_text() and dash.values()["round"] == 20
    assert not dash.set(seed=5) and dash.values()["seed"] == 1
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) == 3
    plt.close(figure)
