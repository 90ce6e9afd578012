"""The two ways to train one target architecture (survey §2, Eq. 1).

- `DNN`: the weights Θ are themselves the learnable parameters: min_Θ L(F(X; Θ)).
- `HyperDNN`: Θ = H(C; Φ) is generated and only Φ learns: min_Φ L(F(X; H(C; Φ))).

Both answer `weights(context)` and `forward(x, context)`, so one training loop serves both.
"""

from __future__ import annotations

import torch
from torch import nn

from hyperviz.hypernetwork import HyperNetwork
from hyperviz.targets import TargetNetwork


class DNN(nn.Module):
    """A target network whose weights Θ are a leaf parameter, Kaiming-initialised."""

    def __init__(self, target: TargetNetwork, seed: int = 0) -> None:
        super().__init__()
        self.target = target
        generator = torch.Generator().manual_seed(seed)
        self.theta = nn.Parameter(target.kaiming_weights(generator))

    def weights(self, context=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Θ itself (shape (P,)); the context is ignored."""
        return self.theta

    def forward(self, x: torch.Tensor, context=None) -> torch.Tensor:
        return self.target(x, self.weights(context))


class HyperDNN(nn.Module):
    """A target network whose weights come from a hypernetwork: Θ = H(C; Φ)."""

    def __init__(self, hypernet: HyperNetwork) -> None:
        super().__init__()
        if not isinstance(hypernet, HyperNetwork):
            raise TypeError(f"hypernet must be a HyperNetwork, got {type(hypernet).__name__}")
        self.hypernet = hypernet
        self.target = hypernet.target

    def weights(self, context=0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Θ = H(C; Φ), shape (S, P): one row per context (task id, example set or noise draw)."""
        return self.hypernet(context, generator=generator)

    def forward(self, x: torch.Tensor, context=0) -> torch.Tensor:
        return self.target(x, self.weights(context))


def count_learnable(model: nn.Module) -> int:
    """How many numbers the optimiser updates."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
