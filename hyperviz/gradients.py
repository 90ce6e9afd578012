"""Where the gradient goes: walk the autograd graph from Θ back to the parameters it came from."""

from __future__ import annotations

import torch
from torch import nn

# Operations that only reshape or slice: skipped so the picture shows what computes Θ.
PLUMBING = {
    "ViewBackward0",
    "TBackward0",
    "SliceBackward0",
    "ReshapeAliasBackward0",
    "UnsqueezeBackward0",
    "ExpandBackward0",
    "SqueezeBackward0",
    "SelectBackward0",
    "UnsafeViewBackward0",
    "TransposeBackward0",
    "CloneBackward0",
    "PermuteBackward0",
}


def autograd_path(tensor: torch.Tensor, model: nn.Module, max_depth: int = 20) -> str:
    """A text picture of the autograd graph behind `tensor`, naming the leaf parameters.

    A leaf Θ (a DNN's weights) has no graph: the gradient stops at Θ itself. A generated Θ
    (a HyperDNN's) is the output of operations whose leaves are the hypernet's parameters Φ.
    """
    names = {id(p): name for name, p in model.named_parameters()}
    if tensor.grad_fn is None:
        where = names.get(id(tensor), "a tensor that is not a parameter")
        return f"Θ is a leaf: {where} {tuple(tensor.shape)} (the optimiser updates it directly)"
    lines: list[str] = ["Θ " + str(tuple(tensor.shape)) + " is computed by:"]
    seen: set[int] = set()

    def visit(fn, depth: int) -> None:
        if fn is None or id(fn) in seen or depth > max_depth:
            return
        seen.add(id(fn))
        if type(fn).__name__ in PLUMBING:
            for child, _ in fn.next_functions:
                visit(child, depth)
            return
        if hasattr(fn, "variable"):
            p = fn.variable
            label = f"Φ: {names.get(id(p), 'leaf')} {tuple(p.shape)}"
        else:
            label = type(fn).__name__
        lines.append("  " * depth + "└ " + label)
        for child, _ in fn.next_functions:
            visit(child, depth + 1)

    visit(tensor.grad_fn, 1)
    return "\n".join(lines)


def leaf_parameters(tensor: torch.Tensor, model: nn.Module) -> list[str]:
    """Names of the model parameters that the gradient of `tensor` reaches."""
    names = {id(p): name for name, p in model.named_parameters()}
    found, stack, seen = [], [tensor.grad_fn], set()
    if tensor.grad_fn is None:
        return [names[id(tensor)]] if id(tensor) in names else []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if hasattr(fn, "variable") and id(fn.variable) in names:
            found.append(names[id(fn.variable)])
        stack += [child for child, _ in fn.next_functions]
    return sorted(found)
