"""The hypernetwork H(C; Φ): a conditioner, a body and an output strategy, chosen independently.

`HyperNetwork(target, conditioning=..., strategy=..., body=...)` generates a flat Θ of shape
(S, P) for the target from a context C (task ids, example sets, or a number of noise
samples). `report()` counts what was learned (Φ) against what is generated (Θ).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from hyperviz.bodies import BODIES
from hyperviz.checks import check_bool, check_choice, check_positive_int, check_seed
from hyperviz.conditioning import (
    CONDITIONINGS,
    Context,
    DataConditioner,
    NoiseConditioner,
    TaskConditioner,
)
from hyperviz.init import hyperfan_init
from hyperviz.strategies import STRATEGIES
from hyperviz.targets import TargetNetwork

INITS = ("default", "hyperfan-in", "hyperfan-out")

# Options that only some strategies or conditionings have: option -> where it applies.
STRATEGY_OPTIONS = {
    "chunk_size": ("chunk-wise",),
    "chunk_embedding_dim": ("chunk-wise",),
    "component": ("component-wise",),
    "component_embedding_dim": ("component-wise",),
    "max_target": ("chunk-wise", "component-wise"),
}
CONDITIONING_OPTIONS = {"num_tasks": ("task",), "data_features": ("data",)}


class HyperNetwork(nn.Module):
    """Generates the weights Θ of `target` from a context; only its own parameters Φ learn.

    Options that only some strategies or conditionings have (STRATEGY_OPTIONS,
    CONDITIONING_OPTIONS) default to None, meaning the strategy's own default (chunk_size 64,
    component "layer", embeddings of 8 numbers, num_tasks 1); given elsewhere, they raise.
    `seed` initialises Φ from that seed without touching the global RNG (None: global RNG).
    """

    def __init__(
        self,
        target: TargetNetwork,
        conditioning: str = "task",
        strategy: str = "one-shot",
        body: str = "mlp",
        *,
        num_tasks: int | None = None,
        data_features: int | None = None,
        embedding_dim: int = 8,
        hidden: int = 64,
        chunk_size: int | None = None,
        chunk_embedding_dim: int | None = None,
        component: str | None = None,
        component_embedding_dim: int | None = None,
        max_target: TargetNetwork | None = None,
        init: str = "default",
        spectral_norm: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(target, TargetNetwork):
            raise TypeError(f"target must be a TargetNetwork, got {type(target).__name__}")
        check_choice("conditioning", conditioning, CONDITIONINGS)
        check_choice("strategy", strategy, STRATEGIES)
        check_choice("body", body, BODIES)
        check_choice("init", init, INITS)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden", hidden)
        check_bool("spectral_norm", spectral_norm)
        check_seed("seed", seed, allow_none=True)
        if max_target is not None and not isinstance(max_target, TargetNetwork):
            raise TypeError(f"max_target must be a TargetNetwork, got {type(max_target).__name__}")
        strategy_options = _applicable(
            "strategy",
            strategy,
            STRATEGY_OPTIONS,
            chunk_size=chunk_size,
            chunk_embedding_dim=chunk_embedding_dim,
            component=component,
            component_embedding_dim=component_embedding_dim,
            max_target=max_target,
        )
        conditioning_options = _applicable(
            "conditioning",
            conditioning,
            CONDITIONING_OPTIONS,
            num_tasks=num_tasks,
            data_features=data_features,
        )
        self.target = target
        self.conditioning, self.strategy_name, self.body_name = conditioning, strategy, body
        self.init_scheme = init
        with _seeded(seed):
            self.conditioner = _make_conditioner(
                conditioning, embedding_dim, **conditioning_options
            )
            self.strategy = STRATEGIES[strategy](
                target, embedding_dim, body, hidden, **strategy_options
            )
            if init != "default":
                hyperfan_init(self, mode=init.removeprefix("hyperfan-"))
            if spectral_norm:
                _apply_spectral_norm(self.strategy)

    def embed(
        self, context: Context | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The conditioner's embeddings (S, embedding_dim); None: its default context."""
        if context is None:
            context = self.conditioner.default_context()
        return self.conditioner(context, generator=generator)

    def forward(
        self,
        context: Context | None = None,
        target: TargetNetwork | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Θ = H(C; Φ) of shape (S, P). `target` may differ from the built one (dynamic output)."""
        return self.strategy(self.embed(context, generator), target)

    def weights(
        self, context: Context | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Θ = H(C; Φ), shape (S, P); None: the conditioner's default context."""
        return self(context, generator=generator)

    def report(self, target: TargetNetwork | None = None) -> GenerationReport:
        """Counts of learnable Φ, generated Θ and unused outputs for `target`."""
        target = target or self.target
        self.strategy.check_target(target)
        heads = [head for head, _ in self.strategy.layout(target)]
        return GenerationReport(
            strategy=self.strategy_name,
            body=self.body_name,
            conditioning=self.conditioning,
            learnable=sum(p.numel() for p in self.parameters()),
            generated=target.num_params,
            last_layer=sum(h.weight.numel() + h.bias.numel() for h in heads),
            unused_outputs=self.strategy.unused_outputs(target),
            extra_embeddings=self.strategy.extra_embeddings(),
        )


@dataclass(frozen=True)
class GenerationReport:
    """What a hypernet learns (Φ) and what it generates (Θ) for one target."""

    strategy: str
    body: str
    conditioning: str
    learnable: int
    generated: int
    last_layer: int
    unused_outputs: int
    extra_embeddings: int

    @property
    def compression_ratio(self) -> float:
        """Generated Θ per learnable Φ: above 1 the hypernet compresses the target."""
        return self.generated / self.learnable

    def __str__(self) -> str:
        rows = [
            (
                "strategy / body / conditioning",
                f"{self.strategy} / {self.body} / {self.conditioning}",
            ),
            ("learnable parameters Φ", f"{self.learnable:,}"),
            ("generated parameters Θ", f"{self.generated:,}"),
            ("compression ratio Θ/Φ", f"{self.compression_ratio:.3f}"),
            ("last (output) layer size", f"{self.last_layer:,}"),
            ("outputs generated but unused", f"{self.unused_outputs:,}"),
            ("chunk / component embeddings", f"{self.extra_embeddings:,}"),
        ]
        return "\n".join(f"{name:<32}{value}" for name, value in rows)


def _applicable(kind: str, chosen: str, applies: dict[str, tuple[str, ...]], **given) -> dict:
    """The options given (not None), after checking that each applies to `kind`=`chosen`."""
    options = {name: value for name, value in given.items() if value is not None}
    for name, value in options.items():
        if chosen not in applies[name]:
            where = " and ".join(repr(a) for a in applies[name])
            raise ValueError(
                f"{name}={value!r} applies only to {kind} {where}, not to {kind}={chosen!r}; "
                "leave it out"
            )
    return options


@contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Draw from `seed` inside and restore the global RNG after; None: the global RNG."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _make_conditioner(
    conditioning: str, embedding_dim: int, num_tasks: int = 1, data_features: int | None = None
) -> nn.Module:
    if conditioning == "task":
        return TaskConditioner(num_tasks, embedding_dim)
    if conditioning == "data":
        if data_features is None:
            raise ValueError("conditioning='data' needs data_features (columns of one example)")
        return DataConditioner(data_features, embedding_dim)
    return NoiseConditioner(embedding_dim)


def _apply_spectral_norm(module: nn.Module) -> None:
    """Bound every linear layer's largest singular value by 1 (numerical stability, §6)."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, nn.utils.parametrizations.spectral_norm(child))
        else:
            _apply_spectral_norm(child)
