"""The two ways to train one target architecture (survey §2, Eq. 1).

- `DNN`: the weights Θ are themselves the learnable parameters: min_Θ L(F(X; Θ)).
- `HyperDNN`: Θ = H(C; Φ) is generated and only Φ learns: min_Φ L(F(X; H(C; Φ))).

Both answer `weights(context)` and `forward(x, context)` (the `WeightGenerator` protocol of
`hyperviz.training`), so one training loop serves both.
"""

from __future__ import annotations

import torch
from torch import nn

from hyperviz.checks import check_seed
from hyperviz.conditioning import Context
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.targets import TargetNetwork


class DNN(nn.Module):
    """A target network whose weights Θ are a leaf parameter, Kaiming-initialised.

    `seed` draws the initial Θ from its own generator; None draws from the global RNG.
    """

    def __init__(self, target: TargetNetwork, seed: int | None = 0) -> None:
        super().__init__()
        if not isinstance(target, TargetNetwork):
            raise TypeError(f"target must be a TargetNetwork, got {type(target).__name__}")
        check_seed("seed", seed, allow_none=True)
        self.target = target
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        self.theta = nn.Parameter(target.kaiming_weights(generator))

    def weights(
        self, context: Context | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Θ itself (shape (P,)); the context is ignored."""
        return self.theta

    def forward(self, x: torch.Tensor, context: Context | None = None) -> torch.Tensor:
        return self.target(x, self.weights(context))


class HyperDNN(nn.Module):
    """A target network whose weights come from a hypernetwork: Θ = H(C; Φ)."""

    def __init__(self, hypernet: HyperNetwork) -> None:
        super().__init__()
        if not isinstance(hypernet, HyperNetwork):
            raise TypeError(f"hypernet must be a HyperNetwork, got {type(hypernet).__name__}")
        self.hypernet = hypernet
        self.target = hypernet.target

    def weights(
        self, context: Context | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Θ = H(C; Φ), shape (S, P): one row per task id, example set or noise draw.

        None is the conditioner's default: task 0, one noise draw; data conditioning needs sets.
        """
        return self.hypernet.weights(context, generator=generator)

    def forward(self, x: torch.Tensor, context: Context | None = None) -> torch.Tensor:
        return self.target(x, self.weights(context))


def count_learnable(model: nn.Module) -> int:
    """How many numbers the optimiser updates."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
