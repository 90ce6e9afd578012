"""Static and dynamic hypernets (survey §3.3-3.5): what may change from one call to the next.

The input (context) is static when it is one of a set fixed at training time (task ids) and
dynamic when it is computed from data or noise and can be new at test time. The output is
static when the target architecture is fixed and dynamic when the caller picks it. A
hypernet is static only when both are static (§3.5). `static_dynamic_map` draws that 2×2 map.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from hyperviz.data import sinusoid_curve
from hyperviz.targets import TargetNetwork


@torch.no_grad()
def curve_errors(
    target: TargetNetwork, theta: torch.Tensor, params: torch.Tensor, grid: torch.Tensor
) -> torch.Tensor:
    """MSE of each generated network (Θ of shape (S, P)) against its true sinusoid on `grid`."""
    if theta.dim() != 2 or theta.shape[0] != params.shape[0]:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)} for {params.shape[0]} sinusoids; "
            "give one weight set per sinusoid, shape (S, P)"
        )
    return (target(grid, theta) - sinusoid_curve(params, grid)).pow(2).mean(dim=(1, 2))


MAP_CELLS = {
    ("static", "static"): "task ids → one fixed target\nvaries: only which known task",
    ("dynamic", "static"): "examples or noise → one fixed target\nvaries: Θ with every new context",
    ("static", "dynamic"): "task ids → target chosen at call time\nvaries: the size P of Θ",
    ("dynamic", "dynamic"): "examples or noise → target chosen at call time\nvaries: Θ and P",
}


def static_dynamic_map(cells: dict[tuple[str, str], str] | None = None) -> Figure:
    """The 2×2 map: input (static, dynamic) across, output (static, dynamic) down.

    `cells` maps (input, output) to the text of that cell; only (static, static) is a static
    hypernet, the other three are dynamic.
    """
    cells = {**MAP_CELLS, **(cells or {})}
    figure, ax = plt.subplots(figsize=(8.5, 4.2), layout="constrained")
    kinds = ("static", "dynamic")
    for col, given in enumerate(kinds):
        for row, made in enumerate(kinds):
            static = given == made == "static"
            colour = "#cfe0f3" if static else "#f8dcc4"
            ax.add_patch(plt.Rectangle((col, 1 - row), 1, 1, fc=colour, ec="white", lw=3))
            kind = "STATIC hypernet" if static else "DYNAMIC hypernet"
            ax.text(col + 0.5, 1.82 - row, kind, ha="center", weight="bold", fontsize=10)
            ax.text(col + 0.5, 1.45 - row, cells[(given, made)], ha="center", va="center")
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    ax.set_xticks([0.5, 1.5], ["static input (§3.3)", "dynamic input (§3.3)"])
    ax.set_yticks([1.5, 0.5], ["static output\n(§3.4)", "dynamic output\n(§3.4)"])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Static and dynamic hypernets (§3.5)", pad=28)
    return figure
