"""Notebook 12, multitasking (survey §4): one hypernet writes every task's adapters.

A network pretrained on upright digits (64-64-64-10) is frozen. Each task is the digits turned
by one angle, with only a few labelled images. Small residual adapters after the two hidden
layers adapt the frozen network to each task (`hyperviz.partial`, `hyperviz.adapters`). Three
ways to get them, trained on the same images, every seed and data size as one batch:

- hypernet adapters: one `AdapterHypernet` writes every task's adapters from a task and a
  layer embedding (HyperFormer++, Mahabadi et al. 2021); a task adds only its embedding;
- separate adapters: each task trains its own adapters on its own images (Houlsby et al.);
- one shared adapter: one set of adapters for all tasks, told nothing about the task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.func import functional_call, vmap

from hyperviz.adapters import AdapterHypernet, bottleneck_start
from hyperviz.batched import Stacked, train_jointly
from hyperviz.checks import check_positive_int, check_positive_number
from hyperviz.domains import Domains, digit_domains, pretrain_upright
from hyperviz.partial import PartlyGenerated, split_mlp
from hyperviz.progress import progress_stage
from hyperviz.stacking import copy_losses
from hyperviz.tables import aligned
from hyperviz.targets import MLPTarget
from hyperviz.training import single_threaded

METHODS = ("hypernet adapters", "separate adapters", "one shared adapter")
CLASSES = 10
LOSS = "cross-entropy"  # each (seed, size) run's loss: stacking.copy_losses
LAYERS = ("adapter1", "adapter2")  # after the first and the second hidden layer


@dataclass(frozen=True)
class Setup:
    """The experiment's knobs: tasks, labelled images per task, sizes and training."""

    angles: tuple[int, ...] = tuple(range(15, 360, 30))  # one task per angle
    sizes: tuple[int, ...] = (4, 64)  # labelled images per task
    new_angles: tuple[int, ...] = tuple(range(30, 360, 60))  # tasks that come later
    new_sizes: tuple[int, ...] = (1, 4, 16, 64)  # labelled images per new task
    new_steps: int = 200
    new_lr: float = 3e-2  # new tasks: an embedding must travel ~3 in new_steps (notebook 12)
    width: int = 64  # of the pretrained network's hidden layers
    bottleneck: int = 8  # of every adapter: width -> bottleneck -> width
    task_dim: int = 8  # the embedding a task adds to the hypernet
    hidden: int = 32  # width of the hypernet's projector and generator
    steps: int = 300
    lr: float = 3e-3
    batch: int = 16  # images per task and step (drawn from its labelled ones)
    pretrain_steps: int = 300
    pretrain_batch: int = 128

    def __post_init__(self) -> None:
        for name in ("width", "bottleneck", "task_dim", "hidden", "steps", "new_steps", "batch"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("pretrain_steps", self.pretrain_steps)
        check_positive_int("pretrain_batch", self.pretrain_batch)
        check_positive_number("lr", self.lr)
        check_positive_number("new_lr", self.new_lr)
        for name in ("angles", "new_angles"):
            angles = getattr(self, name)
            if not angles or 0 in angles:
                raise ValueError(
                    f"{name}={list(angles)}: give at least one task angle, and not 0 "
                    "(the upright digits the network was pretrained on)"
                )
        for name in ("angles", "new_angles"):
            angles = getattr(self, name)
            if len(set(angles)) != len(angles):
                raise ValueError(f"{name}={list(angles)} repeats an angle")
        if set(self.angles) & set(self.new_angles):
            raise ValueError(f"new_angles={list(self.new_angles)} repeat some of angles")
        for name in ("sizes", "new_sizes"):
            sizes = getattr(self, name)
            if not sizes or sorted(set(sizes)) != list(sizes):
                raise ValueError(f"{name}={list(sizes)} must be increasing, e.g. (4, 16, 64)")
            for size in sizes:
                check_positive_int(f"{name}[i]", size)

    @property
    def adapter(self) -> MLPTarget:
        return MLPTarget([self.width, self.bottleneck, self.width])


@dataclass
class AdapterResult:
    """Test accuracies per seed, size and task of every method, and the adapters trained.

    `accuracy` is on the tasks trained together; `new_accuracy` on the tasks that come later,
    adapted from few labels with the first stage's largest size (`NEW_METHODS`).
    """

    seeds: tuple[int, ...]
    setup: Setup
    accuracy: dict[str, torch.Tensor]  # method -> (K, S, T) on each task's test images
    new_accuracy: dict[str, torch.Tensor]  # new method -> (K, S_new, T_new)
    pretrained: torch.Tensor  # (K, T + T_new) the frozen network with no adapter
    adapters: dict[str, torch.Tensor]  # method -> (K, S, T, L, P) each task's adapters
    embeddings: torch.Tensor  # (K, S, T, task_dim) the hypernet's task embeddings
    new_embeddings: torch.Tensor  # (K, S_new, T_new, task_dim) fitted for the new tasks
    added_per_task: dict[str, int]  # method -> numbers one more task adds
    shared: dict[str, int]  # method -> numbers all tasks share
    losses: torch.Tensor  # (steps, copies)
    model: PartlyGenerated  # the adapted network of seed 0 (structure and frozen parts)

    @property
    def angles(self) -> tuple[int, ...]:
        return self.setup.angles

    def mean(self, method: str) -> torch.Tensor:
        """(K, S): accuracy averaged over the tasks trained together."""
        return self.accuracy[method].mean(dim=-1)

    def new_mean(self, method: str) -> torch.Tensor:
        """(K, S_new): accuracy averaged over the new tasks."""
        return self.new_accuracy[method].mean(dim=-1)

    def final_losses(self, method: str, window: int = 20) -> torch.Tensor:
        """(K, S): a method's training loss on the tasks, mean of the last `window` steps."""
        k, s = len(self.seeds), len(self.setup.sizes)
        i = METHODS.index(method)
        return self.losses[-window:, i * k * s : (i + 1) * k * s].mean(dim=0).view(k, s)

    def distances_from_centre(self) -> tuple[torch.Tensor, torch.Tensor]:
        """How far task embeddings lie from the trained tasks' mean embedding (the hypernet
        trained with the most labels): trained tasks (K, T), new tasks (K, S_new, T_new)."""
        trained = self.embeddings[:, -1]
        centre = trained.mean(dim=1, keepdim=True)
        new = (self.new_embeddings - centre.unsqueeze(1)).norm(dim=-1)
        return (trained - centre).norm(dim=-1), new


NEW_METHODS = ("new embedding", "new separate adapters", "the shared adapter as is")


def adapted_network(setup: Setup, full: MLPTarget, theta: torch.Tensor) -> PartlyGenerated:
    """The pretrained MLP cut into frozen layers with a residual adapter after each hidden one."""
    frozen = part_thetas(full, theta)
    (layer1, _), (layer2, _), (head, _) = frozen.values()
    parts = {"layer1": layer1, LAYERS[0]: setup.adapter, "layer2": layer2,
             LAYERS[1]: setup.adapter, "head": head}  # fmt: skip
    weights = {name: theta for name, (_, theta) in frozen.items()}
    for name in LAYERS:
        weights[name] = bottleneck_start(setup.adapter, 1)[0]
    return PartlyGenerated(
        parts, frozen=("layer1", "layer2", "head"), weights=weights, residual=LAYERS
    )


def part_thetas(full: MLPTarget, theta: torch.Tensor) -> dict[str, tuple[MLPTarget, torch.Tensor]]:
    """The MLP's three layers as parts: name -> (target, its Θ, with theta's leading axes)."""
    (layer1, theta1), (rest, rest_theta) = split_mlp(full, theta, layers=1)
    (layer2, theta2), (head, theta_head) = split_mlp(rest, rest_theta, layers=1)
    return {"layer1": (layer1, theta1), "layer2": (layer2, theta2), "head": (head, theta_head)}


def run_experiment(seeds: Sequence[int] = (0, 1, 2), **options) -> AdapterResult:
    """Pretrain per seed; train the three kinds of adapters on the tasks for every size; then
    adapt to the new tasks from few labels; score everything. `options`: fields of `Setup`."""
    setup = Setup(**options)
    steps = setup.pretrain_steps + setup.steps + setup.new_steps
    with single_threaded(), progress_stage(steps, "multitask adapters", copies=len(seeds)):
        return _run(list(seeds), setup)


class _Tasks:
    """The digits of some tasks: labelled training images per seed, test images, labels."""

    def __init__(self, seeds: list[int], domains: Domains, first: int, count: int, most: int):
        n = domains.x_train.shape[1]
        if most > n:
            raise ValueError(f"sizes ask for {most} labelled images per task; there are {n}")
        self.x_train = domains.x_train[first : first + count]  # (T, N, 64)
        self.y_train, self.y_test = domains.y_train, domains.y_test
        self.x_test = domains.x_test[first : first + count]
        # each seed's labelled images of each task; its first n are the task's data at size n
        self.labelled = torch.stack([
            torch.stack([torch.randperm(n, generator=g)[:most] for _ in range(count)])
            for g in (torch.Generator().manual_seed(seed + 7919 * first) for seed in seeds)
        ])  # fmt: skip

    def batch(self, sizes: Sequence[int], size: int, draws: Sequence[torch.Generator]):
        """x (K, S, T, B, 64), y (K, S, T, B): each (seed, size, task) draws from its labels,
        seed k with its own generator `draws[k]`."""
        k, t = self.labelled.shape[:2]
        size_of = torch.tensor(list(sizes)).view(1, -1, 1, 1)
        at = torch.stack([torch.rand(len(sizes), t, size, generator=g) for g in draws])
        at = (at * size_of).long()
        picks = self.labelled.unsqueeze(1).expand(k, len(sizes), t, -1).gather(3, at)
        task = torch.arange(t).view(1, 1, t, 1)
        return self.x_train[task, picks], self.y_train[picks]


def _run(seeds: list[int], setup: Setup) -> AdapterResult:
    domains = digit_domains((0, *setup.angles, *setup.new_angles))
    k, s, t, n_layers = len(seeds), len(setup.sizes), len(setup.angles), len(LAYERS)
    sizes = [setup.width] * 3 + [CLASSES]
    full, thetas = pretrain_upright(
        seeds, domains, sizes, setup.pretrain_steps, batch_size=setup.pretrain_batch
    )
    network = adapted_network(setup, full, thetas[0])
    frozen = {name: theta for name, (_, theta) in part_thetas(full, thetas).items()}
    tasks = _Tasks(seeds, domains, 1, t, max(setup.sizes))
    separate = _starts(setup, seeds, (s, t, n_layers), offset=1).requires_grad_()
    one = _starts(setup, seeds, (s, 1, n_layers), offset=2).requires_grad_()
    hypernets = Stacked([
        AdapterHypernet(setup.adapter, t, n_layers, setup.task_dim, hidden=setup.hidden,
                        seed=1000 * seed + i)
        for seed in seeds for i in range(s)
    ])  # fmt: skip

    def adapters() -> dict[str, torch.Tensor]:
        written = hypernets().unflatten(0, (k, s))  # (K, S, T, L, P)
        return {METHODS[0]: written, METHODS[1]: separate, METHODS[2]: one.expand_as(separate)}

    def run(x: torch.Tensor, adapter: torch.Tensor) -> torch.Tensor:
        return network.run(x, {**frozen, **_per_layer(adapter)})

    draws = _generators(seeds, offset=3)

    def losses_fn(step: int) -> torch.Tensor:
        x, y = tasks.batch(setup.sizes, setup.batch, draws)
        return torch.cat(
            [
                copy_losses(run(x, theta).flatten(0, 1), y.flatten(0, 1), LOSS)
                for theta in adapters().values()
            ]
        )

    parameters = [separate, one, *hypernets.params.values()]
    losses = train_jointly(losses_fn, parameters, setup.steps, setup.lr, "adapters, all tasks")
    with torch.no_grad():
        trained = {m: theta.detach() for m, theta in adapters().items()}
        x_test = tasks.x_test.expand(k, s, -1, -1, -1)  # (K, S, T, N, 64)
        accuracy = {m: _accuracy(run(x_test, theta), tasks.y_test) for m, theta in trained.items()}
        every = domains.x_test[1:].expand(k, -1, -1, -1)  # (K, T + T_new, N, 64)
        bare = torch.zeros(k, every.shape[1], n_layers, separate.shape[-1])  # no adapter
        pretrained = _accuracy(run(every, bare), domains.y_test)
    phi = {name: p.detach().unflatten(0, (k, s))[:, -1] for name, p in hypernets.params.items()}
    new = _new_tasks(seeds, setup, domains, run, (hypernets.base, phi), one.detach()[:, -1])
    per_task = n_layers * setup.adapter.num_params
    hypernet = hypernets.copies[0]
    return AdapterResult(
        seeds=tuple(seeds),
        setup=setup,
        accuracy=accuracy,
        new_accuracy=new[0],
        pretrained=pretrained,
        adapters=trained,
        embeddings=hypernets.params["task_embedding.weight"].detach().unflatten(0, (k, s)),
        new_embeddings=new[1],
        added_per_task={
            METHODS[0]: hypernet.added_per_task(),
            METHODS[1]: per_task,
            METHODS[2]: 0,
        },  # fmt: skip
        shared={METHODS[0]: hypernet.shared(), METHODS[1]: 0, METHODS[2]: per_task},
        losses=losses,
        model=network,
    )


def _new_tasks(seeds, setup, domains, run, hypernet, one):
    """Adapt to the new tasks from few labels: a new embedding for the trained hypernet (its Φ
    frozen), new separate adapters, or the shared adapter as is. Accuracies and embeddings."""
    k, s, t = len(seeds), len(setup.new_sizes), len(setup.new_angles)
    tasks = _Tasks(seeds, domains, 1 + len(setup.angles), t, max(setup.new_sizes))
    base, phi = hypernet
    start = phi["task_embedding.weight"].mean(dim=1)  # (K, task_dim): the trained tasks' mean
    embeddings = start[:, None, None].expand(k, s, t, -1).clone().requires_grad_()
    separate = _starts(setup, seeds, (s, t, len(LAYERS)), offset=4).requires_grad_()

    def written() -> torch.Tensor:
        def write(p: dict, z: torch.Tensor) -> torch.Tensor:
            return functional_call(base, p, (z.flatten(0, 1),)).unflatten(0, z.shape[:2])

        return vmap(write)(phi, embeddings)  # (K, S, T, L, P)

    draws = _generators(seeds, offset=5)

    def losses_fn(step: int) -> torch.Tensor:
        x, y = tasks.batch(setup.new_sizes, setup.batch, draws)
        return torch.cat(
            [
                copy_losses(run(x, a).flatten(0, 1), y.flatten(0, 1), LOSS)
                for a in (written(), separate)
            ]
        )

    train_jointly(losses_fn, [embeddings, separate], setup.new_steps, setup.new_lr, "new tasks")
    with torch.no_grad():
        x_test = tasks.x_test.expand(k, s, -1, -1, -1)
        adapters = (written(), separate, one[:, None].expand(k, s, t, -1, -1))
        accuracy = {
            m: _accuracy(run(x_test, theta), tasks.y_test)
            for m, theta in zip(NEW_METHODS, adapters, strict=True)
        }
    return accuracy, embeddings.detach()


def _generators(seeds: list[int], offset: int) -> list[torch.Generator]:
    """One generator per seed, so that seed k's run does not depend on the other seeds."""
    return [torch.Generator().manual_seed(10_000 * offset + seed) for seed in seeds]


def _starts(setup: Setup, seeds: list[int], shape: tuple[int, ...], offset: int) -> torch.Tensor:
    """(K, *shape, P) adapters at zero output, each seed's from its own generator."""
    count = math.prod(shape)
    starts = [bottleneck_start(setup.adapter, count, g) for g in _generators(seeds, offset)]
    return torch.stack(starts).view(len(seeds), *shape, -1)


def _per_layer(theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Adapters (..., L, P) as one Θ (..., P) per adapter part."""
    return {name: theta[..., i, :] for i, name in enumerate(LAYERS)}


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Accuracy over the example axis (second to last of logits)."""
    return (logits.argmax(-1) == labels).float().mean(-1)


def accuracy_table(result: AdapterResult, new: bool = False) -> str:
    """Mean test accuracy (lowest–highest seed) per method and size, with the numbers a task
    adds; `new`: on the new tasks."""

    def cell(values: torch.Tensor) -> str:
        return f"{values.mean():.2f} ({values.min():.2f}-{values.max():.2f})"

    setup = result.setup
    if new:
        per_task = result.added_per_task
        added = {NEW_METHODS[0]: per_task[METHODS[0]], NEW_METHODS[1]: per_task[METHODS[1]],
                 NEW_METHODS[2]: 0}  # fmt: skip
        sizes, methods, mean = setup.new_sizes, NEW_METHODS, result.new_mean
    else:
        added, sizes, methods, mean = result.added_per_task, setup.sizes, METHODS, result.mean
    rows = [
        [m, f"{added[m]:,}", *[cell(mean(m)[:, i]) for i in range(len(sizes))]] for m in methods
    ]
    headers = ["adapters", "added per task", *[f"{n} per task" for n in sizes]]
    return aligned(headers, rows)
