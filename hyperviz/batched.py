"""Train many small models as one batch: one Adam over all of them, each on its own loss.

`train_jointly(losses_fn, parameters, steps, lr)` minimises the sum of K runs' losses. Each
run's loss depends only on its own parameters and Adam works entry by entry, so every run
trains as it would alone (up to float rounding), at the cost of one larger step instead of K.
`Stacked` holds K copies of one module with their parameters stacked along a leading K axis.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from hyperviz.checks import check_positive_int
from hyperviz.optim import Adam
from hyperviz.progress import REFRESH_EVERY, ProgressBar


def adam(parameters: Sequence[torch.Tensor], lr: float) -> Adam:
    """Adam over all stacked parameters at once, through torch's fused kernel where it has one
    (`hyperviz.optim.Adam`). Adam is elementwise, so K stacked copies get K independent Adams."""
    return Adam(parameters, lr=lr, fused=True)


def train_jointly(
    losses_fn: Callable[[int], torch.Tensor],
    parameters: Sequence[torch.Tensor],
    steps: int,
    lr: float,
    description: str = "training",
) -> torch.Tensor:
    """Minimise the sum of K runs' losses `losses_fn(step)` (K,) with one Adam; (steps, K) losses.

    Each run's loss depends only on its own parameters and Adam works entry by entry, so every
    run trains as it would alone (the same update, up to float rounding).
    """
    check_positive_int("steps", steps)
    optimiser, record, bar = adam(list(parameters), lr), [], None
    for step in range(steps):
        optimiser.zero_grad()
        losses = losses_fn(step)
        if bar is None:  # K runs side by side count K times towards showing a bar
            bar = ProgressBar(steps, description, copies=losses.numel())
        if not torch.isfinite(losses).all():
            raise FloatingPointError(f"a loss became {losses.tolist()} at step {step}; lower lr")
        losses.sum().backward()
        optimiser.step()
        record.append(losses.detach())
        if (step + 1) % REFRESH_EVERY == 0 or step == steps - 1:
            bar.update(step + 1, losses.median().item())
    if bar is not None:
        bar.close()
    return torch.stack(record)


class Stacked:
    """K copies of one module, their parameters stacked along a leading K axis (torch.func)."""

    def __init__(self, copies: Sequence[nn.Module]) -> None:
        self.copies = list(copies)
        self.params, _ = stack_module_state(self.copies)
        self.base = copy.deepcopy(self.copies[0]).to("meta")

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        """Every copy on the same `args`: (K, ...)."""
        in_dims = (0, *[None] * len(args))
        return vmap(lambda p, *a: functional_call(self.base, p, a), in_dims=in_dims)(
            self.params, *args
        )

    def unstack(self) -> list[nn.Module]:
        """The K copies, with the trained parameters copied back into them."""
        with torch.no_grad():
            for k, module in enumerate(self.copies):
                for name, p in module.named_parameters():
                    p.copy_(self.params[name][k])
        return self.copies
