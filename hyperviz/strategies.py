"""Output strategies (survey §3.2): how a hypernet lays out the weights Θ it generates.

- `OneShot`: one output layer produces all of Θ at once.
- `MultiHead`: one output head per target layer.
- `ChunkWise`: a shared head produces Θ chunk by chunk, told apart by learned chunk embeddings.
- `ComponentWise`: a shared head produces one layer or one neuron at a time, told apart by
  learned component embeddings; every component is padded to the largest one.

Each strategy builds tokens from the context embedding, runs them through a body (§3.6)
and assembles the body's features into a flat Θ of shape (S, P) for a target.
`layout(target)` says which entry of Θ each output row of each head produces: the
hyperfan initialisation and the "unused outputs" count both read it.
"""

from __future__ import annotations

import math
import warnings
from itertools import accumulate

import torch
from torch import nn

from hyperviz.bodies import make_body
from hyperviz.checks import check_choice, check_positive_int
from hyperviz.targets import TargetNetwork


class OutputStrategy(nn.Module):
    """Base class: context (S, c) -> tokens (S, T, d) -> body -> features -> Θ (S, P)."""

    name = ""

    def __init__(self, target: TargetNetwork, context_dim: int, body: str, hidden: int) -> None:
        super().__init__()
        self.target = target
        self.body_name = body
        self.body = make_body(body, context_dim + self.token_extra_dim(), hidden)

    def token_extra_dim(self) -> int:
        return 0

    def forward(self, context: torch.Tensor, target: TargetNetwork | None = None) -> torch.Tensor:
        target = target or self.target
        self.check_target(target)
        features = self.body(self.tokens(context, target))
        return self.assemble(features, target)

    def tokens(self, context: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return context.unsqueeze(1)

    def check_target(self, target: TargetNetwork) -> None:
        if target.param_shapes != self.target.param_shapes:
            raise ValueError(
                f"target={target!r} differs from the one this {self.name} hypernet was built "
                f"for ({self.target!r}); only chunk-wise and component-wise hypernets "
                "generate targets of another size (dynamic output)"
            )

    def assemble(self, features: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        raise NotImplementedError

    def layout(self, target: TargetNetwork) -> list[tuple[nn.Linear, torch.Tensor]]:
        """Per head: the head and a (rows, k) index into Θ of what each row makes (-1: unused)."""
        raise NotImplementedError

    def extra_embeddings(self) -> int:
        """How many learnable numbers are chunk or component embeddings."""
        return 0

    def unused_outputs(self, target: TargetNetwork | None = None) -> int:
        """How many generated numbers per network are thrown away for this target."""
        return sum(int((rows < 0).sum()) for _, rows in self.layout(target or self.target))


class OneShot(OutputStrategy):
    name = "one-shot"

    def __init__(self, target: TargetNetwork, context_dim: int, body: str, hidden: int) -> None:
        super().__init__(target, context_dim, body, hidden)
        self.head = nn.Linear(hidden, target.num_params)

    def assemble(self, features: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return self.head(features[:, 0])

    def layout(self, target: TargetNetwork) -> list[tuple[nn.Linear, torch.Tensor]]:
        return [(self.head, torch.arange(target.num_params).unsqueeze(1))]


class MultiHead(OutputStrategy):
    name = "multi-head"

    def __init__(self, target: TargetNetwork, context_dim: int, body: str, hidden: int) -> None:
        super().__init__(target, context_dim, body, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, layer.size) for layer in target.layers)

    def assemble(self, features: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return torch.cat([head(features[:, 0]) for head in self.heads], dim=-1)

    def layout(self, target: TargetNetwork) -> list[tuple[nn.Linear, torch.Tensor]]:
        starts = accumulate((layer.size for layer in target.layers), initial=0)
        return [
            (head, torch.arange(start, start + layer.size).unsqueeze(1))
            for head, layer, start in zip(self.heads, target.layers, starts, strict=False)
        ]


class ChunkWise(OutputStrategy):
    name = "chunk-wise"

    def __init__(
        self,
        target: TargetNetwork,
        context_dim: int,
        body: str,
        hidden: int,
        chunk_size: int = 64,
        chunk_embedding_dim: int = 8,
        max_target: TargetNetwork | None = None,
    ) -> None:
        self.chunk_size = check_positive_int("chunk_size", chunk_size)
        self.chunk_embedding_dim = check_positive_int("chunk_embedding_dim", chunk_embedding_dim)
        super().__init__(target, context_dim, body, hidden)
        largest = (max_target or target).num_params
        if chunk_size > largest:
            warnings.warn(
                f"chunk_size={chunk_size} is larger than the {largest:,} parameters of the "
                f"target: one chunk makes all of Θ and {chunk_size - largest:,} of its "
                f"{chunk_size:,} outputs are unused; a chunk_size of at most {largest:,} "
                "wastes less",
                UserWarning,
                stacklevel=3,
            )
        self.max_chunks = math.ceil(largest / chunk_size)
        self.chunk_embedding = nn.Parameter(torch.randn(self.max_chunks, chunk_embedding_dim))
        self.head = nn.Linear(hidden, chunk_size)

    def token_extra_dim(self) -> int:
        return self.chunk_embedding_dim

    def num_chunks(self, target: TargetNetwork) -> int:
        return math.ceil(target.num_params / self.chunk_size)

    def check_target(self, target: TargetNetwork) -> None:
        if self.num_chunks(target) > self.max_chunks:
            raise ValueError(
                f"target={target!r} needs {self.num_chunks(target)} chunks of {self.chunk_size}; "
                f"this hypernet has chunk embeddings for at most {self.max_chunks} "
                "(build it with a larger max_target)"
            )

    def tokens(self, context: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return _context_with_embeddings(context, self.chunk_embedding[: self.num_chunks(target)])

    def assemble(self, features: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return self.head(features).flatten(1)[:, : target.num_params]

    def layout(self, target: TargetNetwork) -> list[tuple[nn.Linear, torch.Tensor]]:
        positions = torch.arange(self.num_chunks(target) * self.chunk_size)
        positions[target.num_params :] = -1
        return [(self.head, positions.reshape(-1, self.chunk_size).T)]

    def extra_embeddings(self) -> int:
        return self.chunk_embedding.numel()


class ComponentWise(OutputStrategy):
    """One token per component: a whole layer, or one neuron (its incoming weights and bias)."""

    name = "component-wise"

    def __init__(
        self,
        target: TargetNetwork,
        context_dim: int,
        body: str,
        hidden: int,
        component: str = "layer",
        component_embedding_dim: int = 8,
        max_target: TargetNetwork | None = None,
    ) -> None:
        self.component = check_choice("component", component, ("layer", "neuron"))
        self.component_embedding_dim = check_positive_int(
            "component_embedding_dim", component_embedding_dim
        )
        super().__init__(target, context_dim, body, hidden)
        biggest = max_target or target
        self.max_layers = len(biggest.layers)
        self.max_units = max(layer.units for layer in biggest.layers)
        if component == "layer":
            self.component_size = max(layer.size for layer in biggest.layers)
        else:
            self.component_size = max(layer.fan_in for layer in biggest.layers) + 1
        d = component_embedding_dim
        self.layer_embedding = nn.Parameter(torch.randn(self.max_layers, d))
        if component == "neuron":
            self.neuron_embedding = nn.Parameter(torch.randn(self.max_units, d))
        self.head = nn.Linear(hidden, self.component_size)

    def token_extra_dim(self) -> int:
        return self.component_embedding_dim

    def check_target(self, target: TargetNetwork) -> None:
        for layer in target.layers:
            size = layer.size if self.component == "layer" else layer.fan_in + 1
            if size > self.component_size or len(target.layers) > self.max_layers:
                raise ValueError(
                    f"target={target!r} has a {self.component} of {size} weights in "
                    f"{len(target.layers)} layers; this hypernet generates at most "
                    f"{self.component_size} per {self.component} and {self.max_layers} layers "
                    "(build it with a larger max_target)"
                )
            if self.component == "neuron" and layer.units > self.max_units:
                raise ValueError(
                    f"target={target!r} has {layer.units} units in {layer.name}; this hypernet "
                    f"has neuron embeddings for at most {self.max_units}"
                )

    def component_embeddings(self, target: TargetNetwork) -> torch.Tensor:
        """One embedding per component of `target`, shape (num_components, d)."""
        if self.component == "layer":
            return self.layer_embedding[: len(target.layers)]
        return torch.cat(
            [
                self.layer_embedding[i] + self.neuron_embedding[: layer.units]
                for i, layer in enumerate(target.layers)
            ]
        )

    def tokens(self, context: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        return _context_with_embeddings(context, self.component_embeddings(target))

    def assemble(self, features: torch.Tensor, target: TargetNetwork) -> torch.Tensor:
        out = self.head(features)  # (S, components, component_size)
        parts, start = [], 0
        for i, layer in enumerate(target.layers):
            if self.component == "layer":
                parts.append(out[:, i, : layer.size])
                continue
            rows = out[:, start : start + layer.units, : layer.fan_in + 1]
            start += layer.units
            parts += [rows[..., : layer.fan_in].flatten(1), rows[..., layer.fan_in]]
        return torch.cat(parts, dim=-1)

    def layout(self, target: TargetNetwork) -> list[tuple[nn.Linear, torch.Tensor]]:
        columns, offset = [], 0
        for layer in target.layers:
            if self.component == "layer":
                columns.append(torch.arange(offset, offset + layer.size))
            else:
                weights = offset + torch.arange(layer.units * layer.fan_in)
                biases = offset + layer.units * layer.fan_in + torch.arange(layer.units)
                columns += torch.cat([weights.reshape(layer.units, -1), biases[:, None]], 1)
            offset += layer.size
        rows = torch.full((self.component_size, len(columns)), -1)
        for j, column in enumerate(columns):
            rows[: len(column), j] = column
        return [(self.head, rows)]

    def extra_embeddings(self) -> int:
        extra = self.layer_embedding.numel()
        if self.component == "neuron":
            extra += self.neuron_embedding.numel()
        return extra


def _context_with_embeddings(context: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """Tokens (S, T, c + d): the context embedding beside each of the T learned embeddings."""
    s, t = context.shape[0], embeddings.shape[0]
    return torch.cat(
        [context.unsqueeze(1).expand(s, t, -1), embeddings.unsqueeze(0).expand(s, t, -1)], dim=-1
    )


STRATEGIES: dict[str, type[OutputStrategy]] = {
    s.name: s for s in (OneShot, MultiHead, ChunkWise, ComponentWise)
}
