"""Few-shot episodes and the context rows a data-conditioned hypernet reads (survey §3.1, §4).

A few-shot *episode* is one task seen through a small support set (the labelled examples a
learner gets) and scored on a query set of the same task. `Episodes` holds S episodes as one
batch with a leading episode axis; `split_episodes` cuts a `TaskFamily` into support and
query, `sample_episodes` draws fresh sinusoid episodes. `context_rows` puts each support
example's input and label side by side (labels one-hot for classification): the rows that
`hyperviz.conditioning.DataConditioner` encodes and averages into one embedding per episode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from hyperviz.checks import as_float_tensor, as_tensor, check_positive_int, check_seed
from hyperviz.data import TaskFamily, sinusoid_tasks


def context_rows(x: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Support sets as rows (x, y) side by side: (S, n, d_x + d_y), a `DataConditioner`'s input.

    x is (S, n, d_x). Regression: y holds floats (S, n, d_y). Classification: y holds integer
    labels (S, n) in 0 .. num_classes - 1, which become one-hot columns (d_y = num_classes).
    """
    x = as_float_tensor("x", x)
    y = as_tensor("y", y)
    if x.dim() != 3 or x.shape[1] == 0:
        raise ValueError(
            f"x has shape {tuple(x.shape)}; support inputs need (S, n, d_x) with n >= 1"
        )
    if num_classes is None:
        if not y.is_floating_point():
            raise TypeError(
                f"y holds integers (dtype {y.dtype}): for class labels give num_classes; "
                "for regression give float targets (S, n, d_y)"
            )
        if y.dim() != 3 or y.shape[:2] != x.shape[:2]:
            raise ValueError(
                f"y has shape {tuple(y.shape)}; regression targets for x of shape "
                f"{tuple(x.shape)} need ({x.shape[0]}, {x.shape[1]}, d_y)"
            )
        return torch.cat([x, as_float_tensor("y", y)], dim=-1)
    check_positive_int("num_classes", num_classes)
    if y.is_floating_point():
        raise TypeError(
            f"y must hold integer class labels when num_classes is given, got {y.dtype}"
        )
    if y.shape != x.shape[:2]:
        raise ValueError(
            f"y has shape {tuple(y.shape)}; class labels for x of shape {tuple(x.shape)} "
            f"need ({x.shape[0]}, {x.shape[1]})"
        )
    if (y < 0).any() or (y >= num_classes).any():
        raise ValueError(
            f"y holds labels from {int(y.min())} to {int(y.max())}; allowed: 0 to {num_classes - 1}"
        )
    return torch.cat([x, F.one_hot(y.long(), num_classes).to(x.dtype)], dim=-1)


@dataclass(frozen=True)
class Episodes:
    """S few-shot episodes as one batch: support (S, K, ...) and query (S, Q, ...) of each task."""

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    params: torch.Tensor | None = None  # (S, k): what defines each task, when known

    @property
    def num_episodes(self) -> int:
        return self.support_x.shape[0]

    @property
    def support_size(self) -> int:
        """K, the number of support examples per episode (K-shot)."""
        return self.support_x.shape[1]

    @property
    def query_size(self) -> int:
        return self.query_x.shape[1]

    def context(self, num_classes: int | None = None) -> torch.Tensor:
        """The support sets as context rows (S, K, d_x + d_y) (see `context_rows`)."""
        return context_rows(self.support_x, self.support_y, num_classes)

    def first(self, support: int) -> Episodes:
        """The same episodes seen through only their first `support` support examples."""
        if check_positive_int("support", support) > self.support_size:
            raise ValueError(
                f"support={support} is not allowed; these episodes have 1 to "
                f"{self.support_size} support examples"
            )
        kept = {"support_x": self.support_x[:, :support], "support_y": self.support_y[:, :support]}
        return replace(self, **kept)


def split_episodes(family: TaskFamily, support: int) -> Episodes:
    """Each task of `family` as an episode: its first `support` points support, the rest query."""
    if not isinstance(family, TaskFamily):
        raise TypeError(f"family must be a TaskFamily, got {type(family).__name__}")
    points = family.x.shape[1]
    check_positive_int("support", support)
    if support >= points:
        raise ValueError(
            f"support={support} leaves no query points: the tasks have {points} points each; "
            f"use support from 1 to {points - 1}"
        )
    return Episodes(
        family.x[:, :support],
        family.y[:, :support],
        family.x[:, support:],
        family.y[:, support:],
        family.params,
    )


def sample_episodes(
    num_episodes: int, support: int, query: int, seed: int = 0, **family_options
) -> Episodes:
    """`num_episodes` fresh sinusoid tasks (`sinusoid_tasks` options), each split support/query."""
    check_positive_int("num_episodes", num_episodes)
    check_positive_int("support", support)
    check_positive_int("query", query)
    check_seed("seed", seed)
    family = sinusoid_tasks(num_episodes, support + query, seed=seed, **family_options)
    return split_episodes(family, support)
