"""The federated simulation: local SGD as a batch, pFedHN's update, FedAvg, traffic, bad input."""

from __future__ import annotations

import pytest
import torch

import hyperviz as hv
from hyperviz.federated import (
    Clients,
    Schedule,
    Traffic,
    average,
    client_accuracy,
    client_losses,
    local_sgd,
    pick,
    sample_clients,
    send_back,
    traffic_per_round,
    train_fedavg,
    train_local,
    train_pfedhn,
)

TARGET = hv.MLPTarget([4, 6, 3])


def toy_clients(runs: int = 2, clients: int = 3, n: int = 8, seed: int = 0) -> Clients:
    """Each client labels points by a linear rule of its own: clients disagree."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(runs, clients, 2 * n, 4, generator=g)
    rules = torch.randn(runs, clients, 4, 3, generator=g)
    y = (x @ rules).argmax(-1)
    return Clients(x[:, :, :n], y[:, :, :n], x[:, :, n:], y[:, :, n:])


def test_local_sgd_trains_every_client_on_its_own_data_as_one_batch():
    data = toy_clients(runs=1, clients=3)
    x, y = data.x_train[0], data.y_train[0]
    theta = torch.stack(
        [TARGET.kaiming_weights(torch.Generator().manual_seed(s)) for s in range(3)]
    )
    together = local_sgd(TARGET, theta, x, y, steps=5, lr=0.1)
    for c in range(3):
        alone = local_sgd(TARGET, theta[c : c + 1], x[c : c + 1], y[c : c + 1], steps=5, lr=0.1)
        torch.testing.assert_close(together[c], alone[0])
    assert not together.requires_grad
    before, after = (client_losses(TARGET, t, x, y) for t in (theta, together))
    assert bool((after < before).all())


def test_send_back_is_the_gradient_of_half_the_squared_distance_to_the_trained_weights():
    hypernet = hv.HyperNetwork(TARGET, "task", num_tasks=3, hidden=8, seed=0)
    trained = torch.randn(3, TARGET.num_params)
    delta = send_back(hypernet(torch.arange(3)), trained)
    vjp = [p.grad.clone() for p in hypernet.parameters()]
    hypernet.zero_grad()
    theta = hypernet(torch.arange(3))
    (0.5 * (theta - trained.detach()).pow(2).sum()).backward()
    for got, wanted in zip(vjp, [p.grad for p in hypernet.parameters()], strict=True):
        torch.testing.assert_close(got, wanted)
    torch.testing.assert_close(delta, (theta - trained).detach())


def test_send_back_refuses_weights_without_a_graph_or_of_another_shape():
    theta = hv.HyperNetwork(TARGET, "task", num_tasks=2, hidden=8)(torch.arange(2))
    with pytest.raises(ValueError, match="hypernet's output"):
        send_back(theta.detach(), theta.detach())
    with pytest.raises(ValueError, match="must match theta"):
        send_back(theta, torch.zeros(3, TARGET.num_params))


def test_fedavg_of_identical_clients_is_one_clients_local_training():
    theta = torch.randn(2, 1, 7)
    torch.testing.assert_close(average(theta.expand(2, 4, 7)), theta[:, 0])
    one = toy_clients(runs=1, clients=1)
    same = Clients(*(t.expand(1, 3, *t.shape[2:]) for t in vars(one).values()))
    start = TARGET.kaiming_weights(torch.Generator().manual_seed(0)).unsqueeze(0)
    schedule = Schedule(rounds=1, clients_per_round=3, local_steps=4, local_lr=0.1, eval_every=1)
    run = train_fedavg(TARGET, start, same, schedule, seeds=[0])
    alone = local_sgd(TARGET, start, one.x_train[0], one.y_train[0], steps=4, lr=0.1)
    torch.testing.assert_close(run.theta[0, 0], alone[0])
    torch.testing.assert_close(run.theta[0, 1], run.theta[0, 2])


def test_traffic_counts_what_crosses_the_network():
    assert traffic_per_round("pFedHN", 100, 5) == Traffic(500, 500)
    assert traffic_per_round("FedAvg", 100, 5) == traffic_per_round("pFedHN", 100, 5)
    assert traffic_per_round("local", 100, 5).total == 0
    with pytest.raises(ValueError, match="method='SCAFFOLD'"):
        traffic_per_round("SCAFFOLD", 100, 5)
    with pytest.raises(ValueError, match="num_params=0"):
        traffic_per_round("FedAvg", 0, 5)


def test_client_accuracy_and_pick_read_each_clients_own_rows():
    data = toy_clients(runs=2, clients=3)
    theta = torch.randn(2, 3, TARGET.num_params)
    accuracy = client_accuracy(TARGET, theta, data.x_test, data.y_test)
    wanted = (TARGET(data.x_test[1, 2], theta[1, 2]).argmax(-1) == data.y_test[1, 2]).float()
    assert accuracy.shape == (2, 3) and accuracy[1, 2] == wanted.mean()
    chosen = torch.tensor([[2, 0], [1, 1]])
    torch.testing.assert_close(pick(data.x_train, chosen)[1, 0], data.x_train[1, 1])


def test_each_run_samples_its_own_clients_as_it_would_alone():
    together = sample_clients([3, 4], num_clients=6, per_round=2, rounds=5)
    alone = sample_clients([4], num_clients=6, per_round=2, rounds=5)
    assert together.shape == (5, 2, 2)
    torch.testing.assert_close(together[:, 1], alone[:, 0])
    assert all(len(set(row.tolist())) == 2 for row in together.flatten(0, 1))
    with pytest.raises(ValueError, match="per_round=7"):
        sample_clients([0], num_clients=6, per_round=7, rounds=1)


def _hypernets(seeds, clients=3):
    return [hv.HyperNetwork(TARGET, "task", num_tasks=clients, hidden=8, seed=s) for s in seeds]


def test_pfedhn_trains_each_seed_as_it_would_alone_and_learns():
    data = toy_clients(runs=2, clients=3)
    schedule = Schedule(rounds=30, clients_per_round=2, local_steps=3, local_lr=0.2, eval_every=10)
    run = train_pfedhn(_hypernets([0, 1]), data, schedule, seeds=[0, 1])
    second = Clients(*(t[1:] for t in vars(data).values()))
    alone = train_pfedhn(_hypernets([1]), second, schedule, seeds=[1])
    torch.testing.assert_close(run.theta[1], alone.theta[0], atol=1e-4, rtol=1e-3)
    assert run.rounds == (0, 10, 20, 30) and run.accuracy.shape == (4, 2, 3)
    assert run.embeddings.shape == (4, 2, 3, 8)
    train = client_accuracy(TARGET, run.theta, data.x_train, data.y_train)
    assert bool((train.mean(1) > 0.7).all())
    assert run.traffic == Traffic(2 * TARGET.num_params, 2 * TARGET.num_params)


def test_local_training_never_communicates_and_fits_each_client():
    data = toy_clients(runs=1, clients=3)
    start = torch.stack([TARGET.kaiming_weights() for _ in range(3)]).unsqueeze(0)
    schedule = Schedule(rounds=20, clients_per_round=3, local_steps=5, local_lr=0.2, eval_every=20)
    run = train_local(TARGET, start, data, schedule, seeds=[0])
    assert run.traffic.total == 0 and run.embeddings is None
    assert bool((client_accuracy(TARGET, run.theta, data.x_train, data.y_train) > 0.7).all())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: Clients(d.x_train, d.y_train.float(), d.x_test, d.y_test), "integer tensor"),
        (lambda d: Clients(d.x_train[0], d.y_train, d.x_test, d.y_test), "float tensor"),
        (lambda d: Clients(d.x_train, d.y_train[:, :, :3], d.x_test, d.y_test), "one label"),
        (lambda d: Clients(d.x_train, d.y_train, d.x_test[:1], d.y_test[:1]), "same runs"),
    ],
)
def test_clients_refuse_bad_examples(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make(toy_clients())


def test_training_refuses_bad_settings():
    data = toy_clients(runs=2, clients=3)
    start = torch.zeros(2, TARGET.num_params)
    with pytest.raises(ValueError, match="1 seeds for 2 runs"):
        train_fedavg(TARGET, start, data, Schedule(rounds=1), seeds=[0])
    with pytest.raises(ValueError, match="clients_per_round=5"):
        train_fedavg(TARGET, start, data, Schedule(rounds=1, clients_per_round=5), seeds=[0, 1])
    with pytest.raises(ValueError, match="start must be a float tensor"):
        train_fedavg(TARGET, start[0], data, Schedule(rounds=1, clients_per_round=2), [0, 1])
    with pytest.raises(ValueError, match="num_tasks=3"):
        train_pfedhn(_hypernets([0, 1], clients=4), data, Schedule(clients_per_round=2), [0, 1])
    with pytest.raises(ValueError, match="rounds=0"):
        Schedule(rounds=0)
    with pytest.raises(ValueError, match="lr=-1"):
        local_sgd(TARGET, start, data.x_train[0], data.y_train[0], steps=1, lr=-1.0)
    x, y = data.x_train[0, :2], data.y_train[0, :2]  # two clients' examples
    with pytest.raises(TypeError, match="x and y must be tensors"):
        local_sgd(TARGET, start, x.numpy(), y, steps=1, lr=0.1)
    with pytest.raises(ValueError, match="integer labels y"):
        local_sgd(TARGET, start, x, y.float(), steps=1, lr=0.1)
    with pytest.raises(ValueError, match="one weight set per client"):
        client_accuracy(TARGET, start, data.x_test, data.y_test)
