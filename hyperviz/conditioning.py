"""Conditioners (survey §3.1): turn a context C into an embedding the hypernet reads.

- `TaskConditioner`: a learned embedding per task id (task-conditioned).
- `DataConditioner`: an encoder of a set of (x, y) examples (data-conditioned).
- `NoiseConditioner`: z ~ N(0, I), S samples at once (noise-conditioned).

Each returns embeddings of shape (S, embedding_dim): one row per generated network. Each
also says which context to use when none is given (`default_context`) and which to probe
the hypernet with at initialisation (`probe_context`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hyperviz.checks import as_float_tensor, check_device, check_positive_int

Context = int | Sequence[int] | torch.Tensor
"""What a conditioner reads: task id(s), a tensor of example sets, or a number of samples."""


class TaskConditioner(nn.Module):
    """A learned embedding per task; the context is a task id or a tensor of ids."""

    kind = "task"

    def __init__(self, num_tasks: int, embedding_dim: int) -> None:
        super().__init__()
        self.num_tasks = check_positive_int("num_tasks", num_tasks)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.task_embedding = nn.Embedding(num_tasks, embedding_dim)
        nn.init.normal_(self.task_embedding.weight, std=1.0)

    def forward(
        self, task_id: int | torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Embeddings (S, embedding_dim) of S task ids; `generator` is not used."""
        try:
            ids = torch.as_tensor(task_id).reshape(-1)
        except (TypeError, RuntimeError, ValueError) as error:
            message = f"task_id must be an int or a tensor of ints, got {task_id!r}"
            raise TypeError(message) from error
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"task_id must be an int or a tensor of ints, got {task_id!r}")
        if isinstance(task_id, torch.Tensor):
            check_device("task_id", ids, self.task_embedding.weight.device)
        if (ids < 0).any() or (ids >= self.num_tasks).any():
            raise ValueError(
                f"task_id={task_id!r} is out of range; allowed: 0 to {self.num_tasks - 1}"
            )
        return self.task_embedding(ids.long())

    def default_context(self) -> int:
        """Task 0."""
        return 0

    def probe_context(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Every task id."""
        return torch.arange(self.num_tasks)


class DataConditioner(nn.Module):
    """Encodes a set of examples (a DeepSets mean over per-example features) into one embedding.

    The context is a tensor of shape (n, in_features) for one set, or (S, n, in_features)
    for S sets; each row usually holds an input and its label side by side.
    """

    kind = "data"

    def __init__(self, in_features: int, embedding_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.example_encoder = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.to_embedding = nn.Linear(hidden, embedding_dim)

    def forward(
        self, examples: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One embedding per set of examples, (S, embedding_dim); `generator` is not used."""
        weight = self.to_embedding.weight
        examples = as_float_tensor("examples", examples, weight.dtype, weight.device)
        if examples.dim() not in (2, 3) or examples.shape[-1] != self.in_features:
            raise ValueError(
                f"examples has shape {tuple(examples.shape)}; DataConditioner needs "
                f"(n, {self.in_features}) or (S, n, {self.in_features})"
            )
        if examples.numel() == 0:
            raise ValueError(
                f"examples has shape {tuple(examples.shape)}: no examples; a data conditioner "
                "needs at least one set of at least one example"
            )
        if examples.dim() == 2:
            examples = examples.unsqueeze(0)
        return self.to_embedding(self.example_encoder(examples).mean(dim=1))

    def default_context(self) -> torch.Tensor:
        """There is none: a data-conditioned hypernet needs a set of examples."""
        raise ValueError(
            "conditioning='data' has no default context: give a set of examples, a tensor "
            f"(n, {self.in_features}) or (S, n, {self.in_features})"
        )

    def probe_context(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """8 random sets of 16 standard normal examples."""
        return torch.randn(8, 16, self.in_features, generator=generator)


class NoiseConditioner(nn.Module):
    """Draws S embeddings z ~ N(0, I); the context is the number of samples S."""

    kind = "noise"

    def __init__(self, embedding_dim: int) -> None:
        super().__init__()
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)

    def forward(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`num_samples` draws z ~ N(0, I), (S, embedding_dim), from `generator` if given."""
        check_positive_int("num_samples", num_samples)
        return torch.randn(num_samples, self.embedding_dim, generator=generator)

    def default_context(self) -> int:
        """One sample."""
        return 1

    def probe_context(self, generator: torch.Generator | None = None) -> int:
        """256 samples."""
        return 256


CONDITIONINGS = ("task", "data", "noise")
