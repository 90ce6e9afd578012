"""Notebook 07, federated learning (survey §4, Shamsian et al. 2021): pFedHN against FedAvg and
local training on digits split among clients.

Two ways to split scikit-learn's 8x8 digits among clients (`split_digits`):

- "label skew": client i holds a few digits (i, i + 1, ... mod 10); labels mean the same
  everywhere, so one global model can serve every client.
- "permuted labels": every client holds all ten digits but names them with its own
  permutation of the labels, so no single model can serve two clients at once.

`run_experiment` trains pFedHN, FedAvg and local-only training (`hyperviz.federated`) on both
splits, every seed as one batch, and returns the per-client accuracies the notebook checks
and the dashboard draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch

from hyperviz.checks import check_choice, check_positive_int
from hyperviz.data import load_digits_tensors
from hyperviz.federated import (
    METHODS,
    Clients,
    FederatedRun,
    Schedule,
    train_fedavg,
    train_local,
    train_pfedhn,
)
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import count_learnable
from hyperviz.progress import progress_stage
from hyperviz.tables import aligned
from hyperviz.targets import MLPTarget
from hyperviz.training import single_threaded

SETTINGS = ("label skew", "permuted labels")
DIGITS = 10


@dataclass(frozen=True)
class ClientSplit:
    """Digits split among clients: the examples, and which digits each client holds and how
    it names them."""

    setting: str
    clients: Clients
    holds: torch.Tensor  # (R, C, 10) bool: the digits client c holds in run r
    names: torch.Tensor  # (R, C, 10): the label client c gives each digit

    @property
    def chance(self) -> float:
        """The accuracy of guessing among the digits a client holds."""
        return 1 / int(self.holds[0, 0].sum())


def split_digits(
    setting: str,
    seeds: Sequence[int] = (0, 1, 2),
    num_clients: int = 10,
    per_class: int = 5,
    digits_per_client: int = 3,
    test_per_class: int = 20,
) -> ClientSplit:
    """Each seed's digits among `num_clients` clients, `per_class` training examples per digit.

    Training examples are private: no two clients share one. Test examples (`test_per_class`
    per digit a client holds) come from the held-out split, labelled the client's way.
    """
    check_choice("setting", setting, SETTINGS)
    for name, value in [("num_clients", num_clients), ("per_class", per_class),
                        ("digits_per_client", digits_per_client),
                        ("test_per_class", test_per_class)]:  # fmt: skip
        check_positive_int(name, value)
    if digits_per_client > DIGITS:
        raise ValueError(f"digits_per_client={digits_per_client}; there are only {DIGITS} digits")
    parts = [
        _split_one(setting, seed, num_clients, per_class, digits_per_client, test_per_class)
        for seed in seeds
    ]
    x_train, y_train, x_test, y_test, holds, names = (
        torch.stack(p) for p in zip(*parts, strict=True)
    )
    return ClientSplit(setting, Clients(x_train, y_train, x_test, y_test), holds, names)


def _split_one(setting, seed, num_clients, per_class, digits_per_client, test_per_class):
    """One seed's split: train/test examples per client, the digits held and their names."""
    x_train, y_train, x_test, y_test = _digits(seed)
    x_train, x_test = x_train.flatten(1), x_test.flatten(1)
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(len(y_train), generator=generator)
    pools = {d: shuffled[y_train[shuffled] == d].tolist() for d in range(DIGITS)}
    holds = torch.zeros(num_clients, DIGITS, dtype=torch.bool)
    names = torch.arange(DIGITS).repeat(num_clients, 1)
    for client in range(num_clients):
        if setting == "label skew":
            holds[client, [(client + j) % DIGITS for j in range(digits_per_client)]] = True
        else:
            holds[client] = True
            names[client] = torch.randperm(DIGITS, generator=generator)
    needed = holds.sum(0) * per_class
    short = [d for d in range(DIGITS) if needed[d] > len(pools[d])]
    if short:
        raise ValueError(
            f"digits {short} have too few training examples for {num_clients} clients with "
            f"per_class={per_class}; use fewer clients or a smaller per_class"
        )
    train, test = [], []
    for client in range(num_clients):
        held = holds[client].nonzero().flatten().tolist()
        train.append(torch.tensor([pools[d].pop() for d in held for _ in range(per_class)]))
        test.append(torch.cat([_draw(y_test == d, test_per_class, generator) for d in held]))
    train, test = torch.stack(train), torch.stack(test)
    label = names.gather(1, y_train[train]), names.gather(1, y_test[test])
    return x_train[train], label[0], x_test[test], label[1], holds, names


@lru_cache(maxsize=8)
def _digits(seed: int) -> tuple[torch.Tensor, ...]:
    """`load_digits_tensors(seed)`, read once per seed (both splits deal the same images)."""
    return load_digits_tensors(seed=seed)


def _draw(mask: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` indices where `mask` holds, drawn without replacement."""
    where = mask.nonzero().flatten()
    if count > len(where):
        raise ValueError(f"test_per_class={count}; a digit has only {len(where)} test examples")
    return where[torch.randperm(len(where), generator=generator)[:count]]


@dataclass(frozen=True)
class SettingResult:
    """One split, and each method's run on it (by name, in the order of METHODS)."""

    split: ClientSplit
    runs: dict[str, FederatedRun]

    def mean_accuracy(self, method: str) -> list[float]:
        """Per seed: the mean final test accuracy over clients."""
        return self.runs[method].final().mean(1).tolist()


@dataclass(frozen=True)
class Experiment:
    """Both settings, the target every client runs, the schedule and the hypernet's size."""

    seeds: tuple[int, ...]
    target: MLPTarget
    schedule: Schedule
    settings: dict[str, SettingResult]
    hypernet_size: int  # Φ including the client embeddings: what stays on the server


def run_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    num_clients: int = 10,
    per_class: int = 5,
    schedule: Schedule | None = None,
    width: int = 32,
) -> Experiment:
    """pFedHN, FedAvg and local-only training on both splits; all seeds of a method as one batch.

    Every client runs a 64-`width`-10 MLP. Within a seed, the three methods start from the same
    seed and pFedHN and FedAvg sample the same clients each round.
    """
    schedule = schedule or Schedule()
    seeds = tuple(seeds)
    target = MLPTarget([64, check_positive_int("width", width), DIGITS])
    settings = {}
    rounds = len(SETTINGS) * len(METHODS) * schedule.rounds
    # Tiny networks: one thread is as fast, and repeats on 1 CPU. One bar for all the runs.
    with single_threaded(), progress_stage(rounds, "rounds", copies=len(seeds)):
        for setting in SETTINGS:
            split = split_digits(setting, seeds, num_clients, per_class)
            settings[setting] = SettingResult(split, _train_all(target, split, schedule, seeds))
    size = count_learnable(_hypernet(target, num_clients, seeds[0]))
    return Experiment(seeds, target, schedule, settings, size)


def _hypernet(target: MLPTarget, num_clients: int, seed: int) -> HyperNetwork:
    return HyperNetwork(target, "task", "one-shot", num_tasks=num_clients, seed=seed)


def _train_all(target, split: ClientSplit, schedule: Schedule, seeds) -> dict[str, FederatedRun]:
    clients = split.clients
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    starts = torch.stack(
        [torch.stack([target.kaiming_weights(g) for _ in range(clients.num_clients)])
         for g in generators]
    )  # fmt: skip
    hypernets = [_hypernet(target, clients.num_clients, s) for s in seeds]
    return {
        "local": train_local(target, starts, clients, schedule, seeds),
        "FedAvg": train_fedavg(target, starts[:, 0], clients, schedule, seeds),
        "pFedHN": train_pfedhn(hypernets, clients, schedule, seeds),
    }


def accuracy_table(experiment: Experiment) -> str:
    """Mean test accuracy over clients, per setting, method and seed (fixed-width columns)."""
    headers = ["setting", "method", *[f"seed {s}" for s in experiment.seeds]]
    rows = [
        [setting, method, *[f"{a:.2f}" for a in result.mean_accuracy(method)]]
        for setting, result in experiment.settings.items()
        for method in METHODS
    ]
    return aligned(headers, rows)


def traffic_table(experiment: Experiment) -> str:
    """Numbers that cross the network per round and over the whole run, per method (exact)."""
    rounds = experiment.schedule.rounds
    runs = next(iter(experiment.settings.values())).runs
    headers = ["method", "down / round", "up / round", f"total, {rounds} rounds"]
    rows = [
        [m, f"{r.traffic.down:,}", f"{r.traffic.up:,}", f"{r.traffic.total * rounds:,}"]
        for m, r in runs.items()
    ]
    return aligned(headers, rows)
