"""Adam written out with torch's `_foreach` ops: torch.optim.Adam's update, without its imports.

The first `torch.optim.Adam` a process builds imports `torch._dynamo` (and sympy): about 2.5 s
and tens of MB in every notebook kernel, for machinery these small models never use. `Adam`
here does the same update as torch.optim.Adam (Kingma & Ba 2015, with torch's bias
correction): with `fused=True` through torch's fused kernel, as `torch.optim.Adam(fused=True)`
does (one pass over each tensor; the same numbers to the last bit), else with `_foreach` ops,
as torch's default CPU path does (the same numbers too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from hyperviz.checks import check_bool, check_positive_number


class Adam:
    """Adam over `parameters` (betas 0.9, 0.999, eps 1e-8, no weight decay, as torch's default).

    A parameter without a gradient at a step is left alone and its step count does not advance,
    as in torch.optim.Adam. `fused` uses torch's fused kernel where this build has one for the
    parameters (else the `_foreach` update, which differs by float rounding only).
    """

    def __init__(
        self,
        parameters: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool = False,
    ) -> None:
        self.params = list(parameters)
        if not self.params:
            raise ValueError("parameters is empty; give the tensors to optimise")
        for i, p in enumerate(self.params):
            if not isinstance(p, torch.Tensor) or not p.is_floating_point():
                raise TypeError(f"parameters[{i}] must be a float tensor, got {p!r:.80}")
        self.lr = check_positive_number("lr", lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas={betas} must both lie in [0, 1)")
        self.betas, self.eps = betas, check_positive_number("eps", eps)
        self.fused = check_bool("fused", fused) and hasattr(torch, "_fused_adam_")
        self.steps = [0] * len(self.params)
        self.step_tensors = [torch.zeros((), dtype=torch.float32) for _ in self.params]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients (set them to None, as torch does by default)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        beta1, beta2 = self.betas
        grads = [self.params[i].grad for i in live]
        exp_avg = [self.exp_avg[i] for i in live]
        exp_avg_sq = [self.exp_avg_sq[i] for i in live]
        for i in live:
            self.steps[i] += 1
        if self.fused:
            try:
                self._fused_step(live, grads, exp_avg, exp_avg_sq)
                return
            except (RuntimeError, NotImplementedError):  # no fused kernel for these tensors
                self.fused = False
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - beta2)
        for t in sorted({self.steps[i] for i in live}):  # one bias correction per step count
            picked = [j for j, i in enumerate(live) if self.steps[i] == t]
            denom = torch._foreach_sqrt([exp_avg_sq[j] for j in picked])
            torch._foreach_div_(denom, math.sqrt(1 - beta2**t))
            torch._foreach_add_(denom, self.eps)
            params = [self.params[live[j]] for j in picked]
            averages = [exp_avg[j] for j in picked]
            torch._foreach_addcdiv_(params, averages, denom, value=-self.lr / (1 - beta1**t))

    def _fused_step(self, live, grads, exp_avg, exp_avg_sq) -> None:
        """torch.optim.Adam(fused=True)'s call: float32 step counts, then the fused kernel."""
        steps = [self.step_tensors[i] for i in live]
        torch._foreach_add_(steps, 1)
        try:
            torch._fused_adam_(
                [self.params[i] for i in live], grads, exp_avg, exp_avg_sq, [], steps,
                lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0,
                eps=self.eps, amsgrad=False, maximize=False, grad_scale=None, found_inf=None,
            )  # fmt: skip
        except (RuntimeError, NotImplementedError):
            torch._foreach_sub_(steps, 1)  # nothing was updated: the foreach path takes over
            raise
