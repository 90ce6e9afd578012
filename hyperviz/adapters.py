"""Adapters for every task and layer, written by one shared hypernet (HyperFormer++).

An adapter is a small bottleneck MLP d -> b -> d added to a frozen network's features,
h + A(h) (Houlsby et al. 2019). Trained one set per task, each task adds all its adapters'
numbers and learns them from its own data alone. Mahabadi et al. (2021) instead write every
adapter with one hypernet: its input is a task embedding and a layer embedding, mixed by a
small projector, so tasks share Φ and each new task adds only its embedding.
`AdapterHypernet` is that hypernet; `bottleneck_start` starts separately trained adapters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hyperviz.checks import check_positive_int, check_seed
from hyperviz.hypernetwork import _seeded
from hyperviz.strategies import OneShot
from hyperviz.targets import MLPTarget

START_STD = 1e-2  # the hypernet's last layer starts this small: adapters start near zero


def check_adapter(adapter: object) -> MLPTarget:
    """An adapter target: an `MLPTarget` d -> ... -> d (its output adds to its input)."""
    if not isinstance(adapter, MLPTarget):
        example = "MLPTarget([64, 8, 64])"
        raise TypeError(f"adapter must be an MLPTarget, e.g. {example}; got {adapter!r}")
    if adapter.sizes[0] != adapter.sizes[-1]:
        raise ValueError(
            f"adapter {adapter.sizes} must map d features back to d (its output adds to its "
            f"input), e.g. MLPTarget([{adapter.sizes[0]}, 8, {adapter.sizes[0]}])"
        )
    return adapter


class AdapterHypernet(nn.Module):
    """Θ of one adapter for every (task, layer): (T, L, P), from [task emb, layer emb].

    The embeddings go through a projector (Linear, ReLU, Linear) and a one-shot generator.
    The generator's last layer starts at `START_STD`, so every adapter starts close to zero.
    """

    def __init__(
        self,
        adapter: MLPTarget,
        num_tasks: int,
        num_layers: int,
        task_dim: int = 8,
        layer_dim: int = 4,
        projected_dim: int = 8,
        hidden: int = 32,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.adapter = check_adapter(adapter)
        for name, value in (("num_tasks", num_tasks), ("num_layers", num_layers),
                            ("task_dim", task_dim), ("layer_dim", layer_dim),
                            ("projected_dim", projected_dim), ("hidden", hidden)):  # fmt: skip
            check_positive_int(name, value)
        check_seed("seed", seed, allow_none=True)
        self.num_tasks, self.num_layers = num_tasks, num_layers
        with _seeded(seed):
            self.task_embedding = nn.Embedding(num_tasks, task_dim)
            self.layer_embedding = nn.Embedding(num_layers, layer_dim)
            nn.init.normal_(self.task_embedding.weight, std=1.0)
            nn.init.normal_(self.layer_embedding.weight, std=1.0)
            self.projector = nn.Sequential(
                nn.Linear(task_dim + layer_dim, hidden), nn.ReLU(), nn.Linear(hidden, projected_dim)
            )
            self.generator = OneShot(adapter, projected_dim, "mlp", hidden)
            nn.init.normal_(self.generator.head.weight, std=START_STD)
            nn.init.zeros_(self.generator.head.bias)

    def forward(self, task_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """Θ of every task's adapter at every layer: (T, num_layers, P).

        `task_embeddings` (T, task_dim) writes adapters for tasks it was not trained on (a new
        task learns only its embedding); None: the trained tasks' own embeddings.
        """
        if task_embeddings is None:
            task_embeddings = self.task_embedding.weight
        elif task_embeddings.dim() != 2 or task_embeddings.shape[1] != self.added_per_task():
            raise ValueError(
                f"task_embeddings has shape {tuple(task_embeddings.shape)}; give "
                f"(tasks, {self.added_per_task()}), one embedding per task"
            )
        t, layers = task_embeddings.shape[0], self.num_layers
        tasks = task_embeddings.unsqueeze(1).expand(t, layers, -1)
        where = self.layer_embedding.weight.unsqueeze(0).expand(t, layers, -1)
        projected = self.projector(torch.cat([tasks, where], dim=-1))
        return self.generator(projected.flatten(0, 1)).unflatten(0, (t, layers))

    def added_per_task(self) -> int:
        """Numbers one more task adds: its embedding."""
        return self.task_embedding.embedding_dim

    def shared(self) -> int:
        """Numbers every task shares: layer embeddings, projector and generator."""
        return sum(p.numel() for p in self.parameters()) - self.task_embedding.weight.numel()


def bottleneck_start(
    adapter: MLPTarget, copies: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(copies, P) adapters that start at zero output: Kaiming-normal down-projection, zero
    up-projection and biases (Houlsby et al.'s near-identity start, made exact)."""
    check_adapter(adapter)
    check_positive_int("copies", copies)
    parts = []
    for i, layer in enumerate(adapter.layers):
        last = i == len(adapter.layers) - 1
        std = 0.0 if last else math.sqrt(2.0 / layer.fan_in)
        weight = torch.randn(copies, math.prod(layer.weight_shape), generator=generator) * std
        parts += [weight, torch.zeros(copies, math.prod(layer.bias_shape))]
    return torch.cat(parts, dim=1)
