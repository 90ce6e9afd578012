"""Networks whose weights come partly from hypernetworks: each part learned, frozen or generated.

`PartlyGenerated(parts, generated=..., frozen=...)` runs its parts (target networks that take
their weights from outside, `hyperviz.targets`) one after another, an activation between two
parts. Each part's Θ is one of

- learned: an ordinary parameter, updated by the optimiser (a DNN's Θ);
- frozen: a parameter with `requires_grad=False`, e.g. a pretrained feature extractor;
- generated: Θ = H(C; Φ) by the part's own `HyperNetwork`; only Φ learns.

A generated part makes one network per context (S of them), so from it on every part runs S
times. Typical uses: a generated classifier head on a shared trunk (HyperPADA's `HyperLinear`,
Volk et al. 2022), or generated adapters between frozen layers (`residual`, after the
bottleneck adapters of Mahabadi et al. 2021).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from hyperviz.batched import Stacked
from hyperviz.checks import as_float_tensor, check_choice, check_positive_int, check_seed
from hyperviz.conditioning import Context
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.tables import aligned
from hyperviz.targets import ACTIVATIONS, MLPTarget, TargetNetwork, activation_by_name


class PartlyGenerated(nn.Module):
    """Parts run in order; each part's Θ is learned, frozen or generated (see the module).

    `weights` gives the starting Θ (P,) of learned and frozen parts (a copy is kept); the
    others start Kaiming-normal from `seed`. `residual` parts add their input to their output
    (adapters). `activation` runs between two parts, never after the last.
    """

    def __init__(
        self,
        parts: Mapping[str, TargetNetwork],
        generated: Mapping[str, HyperNetwork] | None = None,
        frozen: Collection[str] = (),
        weights: Mapping[str, torch.Tensor] | None = None,
        residual: Collection[str] = (),
        activation: str = "relu",
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        self.parts = _checked_parts(parts)
        generated = _checked_hypernets(self.parts, generated or {})
        self.frozen = _checked_names("frozen", frozen, self.parts)
        self.residual = _checked_names("residual", residual, self.parts)
        both = sorted(self.frozen & set(generated))
        if both:
            raise ValueError(
                f"parts {both} are both frozen and generated; to freeze a generated part, "
                "freeze its hypernet's parameters (hypernet.requires_grad_(False))"
            )
        weights = dict(weights or {})
        check_choice("activation", activation, sorted(ACTIVATIONS))
        self.activation, self.act = activation, activation_by_name(activation)
        check_seed("seed", seed, allow_none=True)
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        self.hypernets = nn.ModuleDict(generated)
        self.theta = nn.ParameterDict()
        for name, target in self.parts.items():
            if name in generated:
                if name in weights:
                    raise ValueError(f"weights[{name!r}] given, but part {name!r} is generated")
                continue
            start = weights.pop(name, None)
            start = target.kaiming_weights(generator) if start is None else _checked(name, start)
            target.check_weights(start)
            if start.dim() != 1:
                raise ValueError(f"weights[{name!r}] must be one Θ of shape ({target.num_params},)")
            learns = name not in self.frozen
            self.theta[name] = nn.Parameter(start.detach().clone(), requires_grad=learns)
        if weights:
            raise ValueError(f"weights for unknown parts {sorted(weights)}; parts: {list(parts)}")

    @property
    def modes(self) -> dict[str, str]:
        """Each part's mode: "learned", "frozen" or "generated"."""
        return {name: self.mode(name) for name in self.parts}

    def mode(self, name: str) -> str:
        """Part `name`'s mode: "learned", "frozen" or "generated"."""
        check_choice("part", name, list(self.parts))
        if name in self.hypernets:
            return "generated"
        return "frozen" if name in self.frozen else "learned"

    def weights(self, context: Context | None = None) -> dict[str, torch.Tensor]:
        """Θ of every part: (P,) for learned and frozen parts, (S, P) for generated ones."""
        return {
            name: self.hypernets[name](context) if name in self.hypernets else self.theta[name]
            for name in self.parts
        }

    def forward(self, x: torch.Tensor, context: Context | None = None) -> torch.Tensor:
        """All parts on x (N, ...); (S, N, ...) out once a generated part made S networks.

        x may also be (S, N, ...): one set of inputs per context (per generated network).
        """
        return self.run(x, self.weights(context))

    def run(self, x: torch.Tensor, thetas: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The parts on x with Θ passed in (name -> Θ); Θ may carry leading axes (`run_part`)."""
        names = list(self.parts)
        missing = sorted(set(names) - set(thetas))
        if missing:
            raise ValueError(f"thetas has no Θ for parts {missing}; give one for each of {names}")
        first = thetas[names[0]]
        x = as_float_tensor("x", x, dtype=first.dtype, device=first.device)  # checked once
        for i, name in enumerate(names):
            out = run_part(self.parts[name], x, thetas[name], trusted=True)
            x = x + out if name in self.residual else out
            if i < len(names) - 1:
                x = self.act(x)
        return x

    def learnable_by_part(self) -> dict[str, int]:
        """How many numbers the optimiser updates for each part (Φ for a generated part)."""
        return {
            name: sum(p.numel() for p in self.hypernets[name].parameters() if p.requires_grad)
            if name in self.hypernets
            else (self.theta[name].numel() if self.theta[name].requires_grad else 0)
            for name in self.parts
        }

    def table(self) -> str:
        """One line per part: its mode, the size of its Θ and how many numbers it learns."""
        learnable = self.learnable_by_part()
        rows = [
            [name, self.mode(name), f"{target.num_params:,}", f"{learnable[name]:,}"]
            for name, target in self.parts.items()
        ]
        return aligned(["part", "mode", "Θ per network", "learnable"], rows)


def run_part(
    target: TargetNetwork, x: torch.Tensor, theta: torch.Tensor, trusted: bool = False
) -> torch.Tensor:
    """`target` on x with Θ of shape (..., P): its leading axes are networks, run as one batch.

    Θ (P,): one network; every leading axis of x holds examples. Θ (*L, P): prod(L) networks;
    x's leading axes either start with L (each network its own inputs; any further leading
    axes hold examples) or are the first of L's (inputs shared along the others; none: shared
    by all). The output keeps x's leading axes, after L.
    """
    lead = x.dim() - target.input_dims
    if lead < 0:
        raise ValueError(
            f"x has shape {tuple(x.shape)}; {type(target).__name__} takes inputs of "
            f"{target.input_dims} axes (N, ...), with any leading axes before them"
        )
    nets, size = theta.shape[:-1], theta.shape[-1]
    if not nets:
        out = target(x.flatten(0, lead), theta, trusted)
        return out.reshape(*x.shape[: lead + 1], *out.shape[1:])
    if lead == 0:
        return target(x, theta.reshape(-1, size), trusted).unflatten(0, nets)
    if lead < len(nets) and x.shape[:lead] == nets[:lead]:  # shared along the other axes
        one = x.shape[lead:]
        x = x.reshape(*x.shape[:lead], *[1] * (len(nets) - lead), *one).expand(*nets, *one)
        lead = len(nets)
    if x.shape[: len(nets)] != nets:
        raise ValueError(
            f"x has shape {tuple(x.shape)} for Θ of shape {tuple(theta.shape)}: give x leading "
            f"axes {tuple(nets)}, or the first of them (inputs shared along the rest), or none"
        )
    per_net = x.reshape(nets.numel(), -1, *x.shape[lead + 1 :])
    out = target(per_net, theta.reshape(-1, size), trusted)
    return out.reshape(*x.shape[: lead + 1], *out.shape[2:])


class StackedParts:
    """K copies of one `PartlyGenerated` network with their parameters stacked (K, ...).

    `weights(context)` generates every copy's Θ in one vmapped call per hypernet (the context
    is shared by the copies); `run` and `__call__` then run all K copies as one batch.
    """

    def __init__(self, copies: Sequence[PartlyGenerated]) -> None:
        if not copies or not all(isinstance(c, PartlyGenerated) for c in copies):
            raise TypeError("copies must be a non-empty list of PartlyGenerated networks")
        self.stack = Stacked(copies)
        self.model = copies[0]

    def parameters(self) -> list[torch.Tensor]:
        """The stacked tensors the optimiser updates (frozen parts left out)."""
        return [p for p in self.stack.params.values() if p.requires_grad]

    def weights(self, context: Context | None = None) -> dict[str, torch.Tensor]:
        """Θ of every part for all K copies: (K, P) learned or frozen, (K, S, P) generated."""
        thetas = {}
        for name in self.model.parts:
            if name not in self.model.hypernets:
                thetas[name] = self.stack.params[f"theta.{name}"]
                continue
            prefix = f"hypernets.{name}."
            params = {
                key.removeprefix(prefix): value
                for key, value in self.stack.params.items()
                if key.startswith(prefix)
            }
            hypernet = self.stack.base.hypernets[name]

            def generate(p: dict[str, torch.Tensor], h: nn.Module = hypernet) -> torch.Tensor:
                return functional_call(h, p, (context,))

            thetas[name] = vmap(generate)(params)
        return thetas

    def run(self, x: torch.Tensor, thetas: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """All copies on x: shared (N, ...), or (K, ...) with each copy's own inputs."""
        return self.model.run(x, thetas)

    def __call__(self, x: torch.Tensor, context: Context | None = None) -> torch.Tensor:
        return self.run(x, self.weights(context))

    def unstack(self) -> list[PartlyGenerated]:
        """The K copies, with the trained parameters copied back into them."""
        return self.stack.unstack()


def split_mlp(
    target: MLPTarget, theta: torch.Tensor, layers: int
) -> tuple[tuple[MLPTarget, torch.Tensor], tuple[MLPTarget, torch.Tensor]]:
    """An MLP and its Θ cut after `layers` layers: (trunk, its Θ), (head, its Θ).

    Θ lies layer after layer, so the trunk's Θ is the start of it. Running the trunk, the
    MLP's activation, then the head gives the whole MLP back (e.g. a pretrained trunk to freeze).
    """
    if not isinstance(target, MLPTarget):
        raise TypeError(f"target must be an MLPTarget, got {type(target).__name__}")
    target.check_weights(theta)
    check_positive_int("layers", layers)
    if layers >= len(target.layers):
        raise ValueError(
            f"layers={layers} leaves no head: the MLP has {len(target.layers)} layers, so cut "
            f"after 1 to {len(target.layers) - 1}"
        )
    trunk = MLPTarget(target.sizes[: layers + 1], target.activation)
    head = MLPTarget(target.sizes[layers:], target.activation)
    return (trunk, theta[..., : trunk.num_params]), (head, theta[..., trunk.num_params :])


def _checked_parts(parts: object) -> dict[str, TargetNetwork]:
    if not isinstance(parts, Mapping) or not parts:
        raise TypeError(
            "parts must be a non-empty dict of name -> TargetNetwork, e.g. "
            f"{{'trunk': MLPTarget([64, 32]), 'head': MLPTarget([32, 10])}}; got {parts!r}"
        )
    for name, target in parts.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"part name {name!r} must be a Python identifier, like 'head'")
        if not isinstance(target, TargetNetwork):
            raise TypeError(f"parts[{name!r}] must be a TargetNetwork, got {target!r}")
    items = list(parts.items())
    for (before, first), (after, second) in zip(items, items[1:], strict=False):
        if isinstance(second, MLPTarget) and first.out_features != second.sizes[0]:
            raise ValueError(
                f"part {before!r} makes {first.out_features} outputs but part {after!r} takes "
                f"{second.sizes[0]} inputs"
            )
    return dict(parts)


def _checked_hypernets(
    parts: dict[str, TargetNetwork], generated: object
) -> dict[str, HyperNetwork]:
    if not isinstance(generated, Mapping):
        raise TypeError(f"generated must be a dict of part name -> HyperNetwork, got {generated!r}")
    _checked_names("generated", generated, parts)
    for name, hypernet in generated.items():
        if not isinstance(hypernet, HyperNetwork):
            raise TypeError(f"generated[{name!r}] must be a HyperNetwork, got {hypernet!r}")
        if hypernet.target.param_shapes != parts[name].param_shapes:
            raise ValueError(
                f"generated[{name!r}] makes weights for {hypernet.target!r}, but part {name!r} "
                f"is {parts[name]!r}"
            )
    return dict(generated)


def _checked_names(what: str, names: object, parts: dict[str, TargetNetwork]) -> set[str]:
    if isinstance(names, str) or not isinstance(names, Collection):
        raise TypeError(f"{what} must be a collection of part names, got {names!r}")
    unknown = sorted(str(n) for n in names if n not in parts)
    if unknown:
        raise ValueError(f"{what} names unknown parts {unknown}; parts: {list(parts)}")
    return set(names)


def _checked(name: str, theta: object) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"weights[{name!r}] must be a torch.Tensor, got {type(theta).__name__}")
    return theta
