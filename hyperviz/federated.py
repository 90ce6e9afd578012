"""Federated learning as a batched simulation: clients, a server, and what crosses the network.

Every client's examples sit in one tensor with a client axis, after a leading axis of
independent runs (seeds): x (R, C, n, features), labels (R, C, n). A round sends weights to
some clients, each trains them locally on its own data, and the server combines what comes
back. Local training runs every sampled client of every run as one batch of target networks
(`MLPTarget.forward` with (S, P) weights), never as a Python loop over clients.

- `train_pfedhn`: a server hypernet makes client i's weights θ_i = H(v_i; Φ) from a learned
  client embedding v_i; clients send back Δθ_i = θ_i − θ̃_i and the server moves Φ and v_i
  along (∂θ_i/∂Φ)ᵀ Δθ_i (`send_back`). After Shamsian et al. 2021 (pFedHN) and their code.
- `train_fedavg`: one global model, averaged after local training (McMahan et al. 2017).
- `train_local`: each client alone; nothing crosses the network.
- `traffic_per_round`: how many numbers go down to clients and up to the server per round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hyperviz.batched import Stacked, adam
from hyperviz.checks import check_choice, check_positive_int, check_positive_number, check_seed
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.progress import ProgressBar
from hyperviz.targets import TargetNetwork
from hyperviz.training import single_threaded

METHODS = ("local", "FedAvg", "pFedHN")


@dataclass(frozen=True)
class Clients:
    """Every client's train and test examples: x (R, C, n, features), labels (R, C, n) ints.

    R independent runs (e.g. seeds) of C clients; all clients hold the same number of examples.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            _check_examples(f"x_{split}", x, f"y_{split}", y)
        train, test = self.x_train.shape, self.x_test.shape
        if train[:2] != test[:2] or train[-1] != test[-1]:
            raise ValueError(
                f"x_train has shape {tuple(train)} and x_test {tuple(test)}; they need the same "
                "runs, clients and features (the number of examples may differ)"
            )

    @property
    def runs(self) -> int:
        return self.x_train.shape[0]

    @property
    def num_clients(self) -> int:
        return self.x_train.shape[1]


def _check_examples(x_name: str, x: object, y_name: str, y: object) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4:
        got = f"shape {tuple(x.shape)}, {x.dtype}" if isinstance(x, torch.Tensor) else repr(x)
        raise TypeError(f"{x_name} must be a float tensor (runs, clients, n, features); {got}")
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"{y_name} must be an integer tensor of class labels, got {y!r}")
    if tuple(y.shape) != tuple(x.shape[:3]) or x.shape[2] == 0:
        raise ValueError(
            f"{y_name} has shape {tuple(y.shape)}; for {x_name} of shape {tuple(x.shape)} it "
            f"needs {tuple(x.shape[:3])}: one label per example, at least one example"
        )


@dataclass(frozen=True)
class Traffic:
    """Numbers sent per round: down (server to clients) and up (clients to server)."""

    down: int
    up: int

    @property
    def total(self) -> int:
        return self.down + self.up


def traffic_per_round(method: str, num_params: int, clients_per_round: int) -> Traffic:
    """What crosses the network in one round: pFedHN and FedAvg send θ down and Δθ (or θ̃)
    up, P numbers each way per sampled client; the hypernet's Φ never leaves the server."""
    check_choice("method", method, METHODS)
    check_positive_int("num_params", num_params)
    check_positive_int("clients_per_round", clients_per_round)
    if method == "local":
        return Traffic(0, 0)
    return Traffic(clients_per_round * num_params, clients_per_round * num_params)


def client_losses(
    target: TargetNetwork, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Each client's mean cross-entropy (S,) with its own weights θ (S, P) on x (S, n, d)."""
    logits = target(x, theta)
    losses = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
    return losses.view(y.shape).mean(1)


def local_sgd(
    target: TargetNetwork,
    theta: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
) -> torch.Tensor:
    """θ̃: `steps` steps of plain SGD on each client's own loss, from the θ (S, P) it was sent.

    All S clients train as one batch; client s's gradient comes from its own examples only.
    """
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    target.check_weights(theta)
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"x and y must be tensors, got {type(x).__name__}, {type(y).__name__}")
    if x.dim() != 3 or y.shape != x.shape[:2] or y.is_floating_point() or len(x) != len(theta):
        raise ValueError(
            f"local_sgd takes θ (S, P), x (S, n, d) and integer labels y (S, n); got θ "
            f"{tuple(theta.shape)}, x {tuple(x.shape)}, y {tuple(y.shape)} ({y.dtype})"
        )
    return _sgd(target, theta, x, y, steps, lr)[0]


def _sgd(target, theta, x, y, steps, lr) -> tuple[torch.Tensor, torch.Tensor]:
    """`local_sgd` on checked input; also each client's loss before the first step (S,)."""
    theta, first = theta.detach(), None
    with torch.enable_grad(), single_threaded():  # tiny nets: a second thread only waits
        for _ in range(steps):
            theta.requires_grad_(True)
            losses = client_losses(target, theta, x, y)
            (grad,) = torch.autograd.grad(losses.sum(), theta)
            theta, first = (theta - lr * grad).detach(), losses.detach() if first is None else first
    return theta, first


def send_back(theta: torch.Tensor, trained: torch.Tensor) -> torch.Tensor:
    """Δθ = θ − θ̃, pushed back through the hypernet: fills ∇Φ = (∂θ/∂Φ)ᵀ Δθ; returns Δθ.

    The same as the gradient of ½‖θ − stopgrad(θ̃)‖²: a step on Φ moves θ towards θ̃.
    After Shamsian et al. 2021 (their experiments/pfedhn/trainer.py: autograd.grad with Δθ).
    """
    if not isinstance(theta, torch.Tensor) or theta.grad_fn is None:
        raise ValueError("theta must be the hypernet's output (a tensor with a graph back to Φ)")
    if not isinstance(trained, torch.Tensor) or trained.shape != theta.shape:
        shape = tuple(trained.shape) if isinstance(trained, torch.Tensor) else trained
        raise ValueError(f"trained has shape {shape}; it must match theta {tuple(theta.shape)}")
    delta = (theta - trained).detach()
    theta.backward(delta)
    return delta


def average(theta: torch.Tensor) -> torch.Tensor:
    """FedAvg's server step: the mean of the clients' trained weights (R, m, P) -> (R, P).

    Clients hold equally many examples here, so the weighted mean is the plain mean.
    """
    if not isinstance(theta, torch.Tensor) or theta.dim() != 3:
        raise ValueError("theta must be the clients' weights of shape (runs, clients, P)")
    return theta.mean(1)


@torch.no_grad()
def client_accuracy(
    target: TargetNetwork, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Each client's accuracy (R, C) with its weights θ (R, C, P) on its examples x, y."""
    _check_examples("x", x, "y", y)
    runs, clients = y.shape[:2]
    if not isinstance(theta, torch.Tensor) or theta.shape[:2] != (runs, clients):
        raise ValueError(f"theta must hold one weight set per client: ({runs}, {clients}, P)")
    logits = target(x.flatten(0, 1), theta.reshape(runs * clients, -1))
    return (logits.argmax(-1) == y.flatten(0, 1)).float().mean(-1).view(runs, clients)


def sample_clients(
    seeds: Sequence[int], num_clients: int, per_round: int, rounds: int
) -> torch.Tensor:
    """Which clients take part in each round: (rounds, R, per_round), run r from seeds[r]."""
    check_positive_int("num_clients", num_clients)
    check_positive_int("rounds", rounds)
    if check_positive_int("per_round", per_round) > num_clients:
        raise ValueError(f"per_round={per_round} is more than the {num_clients} clients")
    generators = [torch.Generator().manual_seed(check_seed("seed", s)) for s in seeds]
    draw = lambda g: torch.randperm(num_clients, generator=g)[:per_round]  # noqa: E731
    return torch.stack([torch.stack([draw(g) for g in generators]) for _ in range(rounds)])


def pick(tensor: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
    """The rows of the chosen clients (R, m) from a tensor with axes (R, C, ...)."""
    index = clients.view(*clients.shape, *[1] * (tensor.dim() - 2))
    return tensor.gather(1, index.expand(*clients.shape, *tensor.shape[2:]))


@dataclass(frozen=True)
class Schedule:
    """How a federated run goes: rounds, clients per round, local SGD, when to measure."""

    rounds: int = 60
    clients_per_round: int = 5
    local_steps: int = 5
    local_lr: float = 0.2
    server_lr: float = 1e-2  # pFedHN's Adam on Φ and the client embeddings
    eval_every: int = 5

    def __post_init__(self) -> None:
        for name in ("rounds", "clients_per_round", "local_steps", "eval_every"):
            check_positive_int(name, getattr(self, name))
        check_positive_number("local_lr", self.local_lr)
        check_positive_number("server_lr", self.server_lr)

    def measured_rounds(self) -> list[int]:
        """0 (before training), every `eval_every` rounds, and the last round."""
        return sorted({0, *range(self.eval_every, self.rounds, self.eval_every), self.rounds})


@dataclass(frozen=True)
class FederatedRun:
    """One method over R runs: each client's test accuracy when measured, and its final θ."""

    method: str
    rounds: tuple[int, ...]  # the rounds at which accuracy was measured
    accuracy: torch.Tensor  # (measurements, R, C)
    theta: torch.Tensor  # (R, C, P): the weights each client ends with
    traffic: Traffic  # per round
    embeddings: torch.Tensor | None = None  # pFedHN: (measurements, R, C, embedding_dim)

    def final(self) -> torch.Tensor:
        """Each client's test accuracy after the last round, (R, C)."""
        return self.accuracy[-1]


def _train_chosen(target, sent, clients: Clients, chosen, schedule: Schedule):
    """θ̃ (R, m, P): the chosen clients (R, m) train the weights they were sent, (R, m, P);
    and their mean loss with the weights as sent."""
    x, y = pick(clients.x_train, chosen), pick(clients.y_train, chosen)
    steps, lr = schedule.local_steps, schedule.local_lr
    trained, losses = _sgd(target, sent.flatten(0, 1), x.flatten(0, 1), y.flatten(0, 1), steps, lr)
    return trained.view_as(sent), losses.mean().item()


def _checked(target, clients: Clients, schedule: Schedule, seeds, start=None, shape=()) -> list:
    """The seeds, checked with everything else; `start` (if given) must have `shape`."""
    if not isinstance(target, TargetNetwork):
        raise TypeError(f"target must be a TargetNetwork, got {type(target).__name__}")
    if not isinstance(clients, Clients):
        raise TypeError(f"clients must be a Clients batch, got {type(clients).__name__}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    seeds = [check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if len(seeds) != clients.runs:
        raise ValueError(f"{len(seeds)} seeds for {clients.runs} runs of clients; give one each")
    if schedule.clients_per_round > clients.num_clients:
        raise ValueError(
            f"clients_per_round={schedule.clients_per_round} is more than the "
            f"{clients.num_clients} clients"
        )
    if start is not None and (
        not isinstance(start, torch.Tensor) or start.shape != shape or not start.is_floating_point()
    ):
        got = tuple(start.shape) if isinstance(start, torch.Tensor) else repr(start)
        raise ValueError(f"start must be a float tensor of shape {shape}; got {got}")
    return seeds


def train_pfedhn(
    hypernets: Sequence[HyperNetwork], clients: Clients, schedule: Schedule, seeds: Sequence[int]
) -> FederatedRun:
    """pFedHN: one task-conditioned hypernet per run, trained as one batch; client i = task i.

    Each round the server sends θ_i = H(v_i; Φ) to the sampled clients, they run `local_sgd`
    and send Δθ_i back; one Adam step on Φ and v follows. The hypernets are trained in place.
    """
    target = hypernets[0].target if hypernets else None
    seeds = _checked(target, clients, schedule, seeds)
    if len(hypernets) != clients.runs or any(
        h.conditioning != "task" or h.conditioner.num_tasks != clients.num_clients
        for h in hypernets
    ):
        raise ValueError(
            f"give one task-conditioned hypernet per run ({clients.runs}), each with "
            f"num_tasks={clients.num_clients} (one embedding per client)"
        )
    stacked, ids = Stacked(hypernets), torch.arange(clients.num_clients)
    optimiser = adam(list(stacked.params.values()), schedule.server_lr)
    embeddings = []

    def step(chosen: torch.Tensor) -> float:
        theta = pick(stacked(ids), chosen)  # (R, m, P): sent down to the chosen clients
        trained, loss = _train_chosen(target, theta, clients, chosen, schedule)
        optimiser.zero_grad()
        send_back(theta, trained)  # Δθ goes up; ∇Φ and ∇v on the server
        optimiser.step()
        return loss

    def weights() -> torch.Tensor:
        embeddings.append(stacked.params["conditioner.task_embedding.weight"].detach().clone())
        return stacked(ids)

    accuracy = _run_rounds(target, clients, schedule, seeds, step, weights, "pFedHN")
    stacked.unstack()
    with torch.no_grad():
        theta = stacked(ids)
    return _result("pFedHN", schedule, accuracy, theta, target, torch.stack(embeddings))


def train_fedavg(
    target: TargetNetwork,
    start: torch.Tensor,
    clients: Clients,
    schedule: Schedule,
    seeds: Sequence[int],
) -> FederatedRun:
    """FedAvg from one global θ per run (R, P): the sampled clients train it, the server
    averages; every client is measured with the global model."""
    seeds = _checked(target, clients, schedule, seeds, start, (clients.runs, target.num_params))
    glob = start.detach()

    def step(chosen: torch.Tensor) -> float:
        nonlocal glob
        sent = glob.unsqueeze(1).expand(*chosen.shape, -1)
        trained, loss = _train_chosen(target, sent, clients, chosen, schedule)
        glob = average(trained)
        return loss

    def weights() -> torch.Tensor:
        return glob.unsqueeze(1).expand(clients.runs, clients.num_clients, -1)

    accuracy = _run_rounds(target, clients, schedule, seeds, step, weights, "FedAvg")
    return _result("FedAvg", schedule, accuracy, weights().clone(), target)


def train_local(
    target: TargetNetwork,
    start: torch.Tensor,
    clients: Clients,
    schedule: Schedule,
    seeds: Sequence[int],
) -> FederatedRun:
    """Each client alone from its own θ (R, C, P): `local_steps` of SGD every round, no server.

    Every client trains in every round, so it takes more local steps than a sampled one.
    """
    shape = (clients.runs, clients.num_clients, target.num_params)
    seeds = _checked(target, clients, schedule, seeds, start, shape)
    theta = start.detach()

    def step(chosen: torch.Tensor) -> float:
        nonlocal theta
        theta, loss = _train_chosen(target, theta, clients, chosen, schedule)
        return loss

    accuracy = _run_rounds(target, clients, schedule, seeds, step, lambda: theta, "local")
    return _result("local", schedule, accuracy, theta.clone(), target)


def _result(method, schedule, accuracy, theta, target, embeddings=None) -> FederatedRun:
    traffic = traffic_per_round(method, target.num_params, schedule.clients_per_round)
    rounds = tuple(schedule.measured_rounds())
    return FederatedRun(method, rounds, accuracy, theta, traffic, embeddings)


def _run_rounds(target, clients, schedule, seeds, step, weights, method) -> torch.Tensor:
    """Run `step(chosen)` (it returns the clients' loss) every round, on the sampled clients
    (every client for local training); measure each client's accuracy when scheduled."""
    measured = set(schedule.measured_rounds())
    if method == "local":
        everyone = torch.arange(clients.num_clients).expand(clients.runs, -1)
        sampled = everyone.expand(schedule.rounds, -1, -1)
    else:
        per_round = schedule.clients_per_round
        sampled = sample_clients(seeds, clients.num_clients, per_round, schedule.rounds)
    bar = ProgressBar(schedule.rounds, f"{method} rounds", copies=clients.runs)

    def measure() -> torch.Tensor:
        with torch.no_grad():
            return client_accuracy(target, weights(), clients.x_test, clients.y_test)

    with single_threaded():
        accuracy = [measure()]
        for round_, chosen in enumerate(sampled, start=1):
            bar.update(round_, step(chosen))
            if round_ in measured:
                accuracy.append(measure())
    bar.close()
    return torch.stack(accuracy)
