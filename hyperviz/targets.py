"""Target networks F(x; Θ) whose weights Θ are passed in from outside.

A target holds no parameters of its own. It knows the shapes of the tensors it
needs, and `forward(x, weights)` runs it with a flat weight vector Θ of shape
``(P,)`` or a stack of S weight sets of shape ``(S, P)``. The S networks are
evaluated together, never with a Python loop: an MLP with batched matrix products (bias
folded in, Θ split once), any other target with `torch.func.vmap` of its forward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import vmap

from hyperviz.checks import as_float_tensor, check_choice, check_positive_int

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda t: t,
}
# The same functions in place, for fresh intermediate tensors that nothing else reads.
# Activations per layer of one block of networks in `MLPTarget`'s batched forward: 2 MB of
# float32, which stays in the cache of a usual laptop or server CPU core.
BLOCK_ACTIVATIONS = 2**19

IN_PLACE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "sigmoid": torch.sigmoid_,
    "identity": lambda t: t,
}


def activation_by_name(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation function called `name`; an unknown name raises, listing the allowed ones."""
    return ACTIVATIONS[check_choice("activation", name, sorted(ACTIVATIONS))]


@dataclass(frozen=True)
class Layer:
    """One weight layer of a target: its weight and bias shapes."""

    name: str
    weight_shape: tuple[int, ...]
    bias_shape: tuple[int, ...]

    @property
    def fan_in(self) -> int:
        return math.prod(self.weight_shape[1:])

    @property
    def fan_out(self) -> int:
        return self.weight_shape[0] * math.prod(self.weight_shape[2:])

    @property
    def units(self) -> int:
        """Output neurons (or channels) of the layer."""
        return self.weight_shape[0]

    @property
    def size(self) -> int:
        return math.prod(self.weight_shape) + math.prod(self.bias_shape)


class TargetNetwork:
    """Base class: a list of layers, a flat layout of Θ, and a vectorised forward."""

    layers: list[Layer]

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name and shape of every tensor in Θ, in the order they sit in the flat vector."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.layers:
            shapes[f"{layer.name}.weight"] = layer.weight_shape
            shapes[f"{layer.name}.bias"] = layer.bias_shape
        return shapes

    @property
    def num_params(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def out_features(self) -> int:
        """Outputs per example: the units of the last layer."""
        return self.layers[-1].units

    def unflatten(self, weights: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a flat Θ of shape (..., P) into named tensors of shape (..., *shape)."""
        self.check_weights(weights)
        lead, shapes = weights.shape[:-1], self.param_shapes
        pieces = weights.split([math.prod(shape) for shape in shapes.values()], dim=-1)
        return {
            name: piece.reshape(*lead, *shape)
            for (name, shape), piece in zip(shapes.items(), pieces, strict=True)
        }

    def check_weights(self, weights: torch.Tensor) -> None:
        """Raise if `weights` is not a float tensor of shape (P,) or (S, P)."""
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"weights must be a torch.Tensor, got {type(weights).__name__}")
        if not weights.is_floating_point():
            raise TypeError(f"weights must be a float tensor, got dtype {weights.dtype}")
        if weights.dim() not in (1, 2) or weights.shape[-1] != self.num_params:
            raise ValueError(
                f"weights has shape {tuple(weights.shape)}; {type(self).__name__} needs "
                f"({self.num_params},) or (S, {self.num_params})"
            )

    def forward(
        self, x: torch.Tensor, weights: torch.Tensor, trusted: bool = False
    ) -> torch.Tensor:
        """Run the target on inputs `x` with weights Θ.

        `weights` (P,) gives one network; (S, P) gives S networks and an output with a
        leading S. `x` is shared by all S networks, or has its own leading S. A NumPy or
        integer `x` is converted to the dtype of `weights`. `trusted`: x is an activation
        computed here from checked inputs, so its check (a pass over x) is skipped.
        """
        self.check_weights(weights)
        if not trusted:
            x = as_float_tensor("x", x, dtype=weights.dtype, device=weights.device)
        if weights.dim() == 1:
            return self.functional_forward(self.unflatten(weights), x)
        x_dim = 0 if x.dim() == self.input_dims + 1 else None
        if x_dim == 0 and x.shape[0] != weights.shape[0]:
            raise ValueError(
                f"x has shape {tuple(x.shape)}: a leading size {x.shape[0]} for "
                f"{weights.shape[0]} weight sets; give x one set of inputs per weight set"
            )
        return self.batched_forward(x, weights, x_dim)

    def batched_forward(self, x: torch.Tensor, weights: torch.Tensor, x_dim: int | None):
        """S networks at once (checked Θ (S, P); x shared, or with a leading S if x_dim=0)."""
        return vmap(self.functional_forward, in_dims=(0, x_dim))(self.unflatten(weights), x)

    __call__ = forward

    input_dims: int = 2

    def functional_forward(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def kaiming_weights(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A flat Θ with Kaiming-normal weights and zero biases (the DNN's starting point)."""
        parts = []
        for layer in self.layers:
            std = math.sqrt(2.0 / layer.fan_in)
            w = torch.randn(math.prod(layer.weight_shape), generator=generator) * std
            parts += [w, torch.zeros(math.prod(layer.bias_shape))]
        return torch.cat(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()}, P={self.num_params:,})"

    def describe(self) -> str:
        return ", ".join(self.param_shapes)


class MLPTarget(TargetNetwork):
    """A fully connected network with layer sizes `sizes`, e.g. [1, 40, 40, 1]."""

    def __init__(self, sizes: Sequence[int], activation: str = "relu") -> None:
        if isinstance(sizes, str) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a list of ints like [1, 40, 40, 1], got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes={list(sizes)!r} needs at least an input and an output size")
        for i, n in enumerate(sizes):
            check_positive_int(f"sizes[{i}]", n)
        self.sizes = list(sizes)
        self.activation = activation
        self.act = activation_by_name(activation)
        self.layers = [
            Layer(f"fc{i}", (n_out, n_in), (n_out,))
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
        ]

    def functional_forward(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"x has shape {tuple(x.shape)}; MLPTarget needs (N, {self.sizes[0]})")
        for i, layer in enumerate(self.layers):
            x = F.linear(x, params[f"{layer.name}.weight"], params[f"{layer.name}.bias"])
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x

    def batched_forward(self, x: torch.Tensor, weights: torch.Tensor, x_dim: int | None):
        """S networks with one split of Θ and one fused product per layer (bias folded in).

        Many networks are evaluated in blocks whose activations fit in the CPU's cache
        (`BLOCK_ACTIVATIONS` numbers per layer): each block runs through all layers before
        the next starts, instead of every layer's whole output going out to memory and back.
        """
        one_set = x.shape[1:] if x_dim == 0 else x.shape
        if len(one_set) != 2 or one_set[-1] != self.sizes[0]:
            raise ValueError(f"x has shape {tuple(one_set)}; MLPTarget needs (N, {self.sizes[0]})")
        s = weights.shape[0]
        block = max(1, BLOCK_ACTIVATIONS // (one_set[0] * max(self.sizes)))
        if s <= block:
            return self._fused_forward(x, weights)
        starts = range(0, s, block)
        return torch.cat(
            [
                self._fused_forward(
                    x if x_dim is None else x[i : i + block], weights[i : i + block]
                )
                for i in starts
            ]
        )

    def _fused_forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """All S networks of `weights` (S, P) at once, on x (N, in) or (S, N, in)."""
        s, params = weights.shape[0], self.unflatten(weights)  # one split of Θ, views only
        act = IN_PLACE[self.activation]
        for i, layer in enumerate(self.layers):
            w = params[f"{layer.name}.weight"].transpose(1, 2)  # (S, in, out)
            b = params[f"{layer.name}.bias"].unsqueeze(1)  # (S, 1, out)
            if layer.fan_in == 1:  # an outer product: x (.., N, 1) times w (S, 1, out), plus b
                x = torch.addcmul(b, x, w)
            else:  # (S, N, in) @ (S, in, out) + b in one kernel
                x = x.expand(s, *x.shape[-2:]) if x.dim() == 2 else x
                x = torch.baddbmm(b, x, w)
            if i < len(self.layers) - 1:
                x = act(x)
        return x

    def describe(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"


class DigitsCNNTarget(TargetNetwork):
    """A small CNN for 8x8 one-channel images: two 3x3 convolutions, a pool, a linear layer."""

    input_dims = 4

    def __init__(self, channels: int = 8, num_classes: int = 10) -> None:
        check_positive_int("channels", channels)
        check_positive_int("num_classes", num_classes)
        self.channels, self.num_classes = channels, num_classes
        c = channels
        self.layers = [
            Layer("conv0", (c, 1, 3, 3), (c,)),
            Layer("conv1", (2 * c, c, 3, 3), (2 * c,)),
            Layer("fc", (num_classes, 2 * c * 4 * 4), (num_classes,)),
        ]

    def functional_forward(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x has shape {tuple(x.shape)}; DigitsCNNTarget needs (N, 1, 8, 8)")
        x = torch.relu(F.conv2d(x, params["conv0.weight"], params["conv0.bias"], padding=1))
        x = torch.relu(F.conv2d(x, params["conv1.weight"], params["conv1.bias"], padding=1))
        x = F.max_pool2d(x, 2).flatten(1)
        return F.linear(x, params["fc.weight"], params["fc.bias"])

    def describe(self) -> str:
        return f"channels={self.channels}, num_classes={self.num_classes}"
