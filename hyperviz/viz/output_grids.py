"""Where each generated number goes: a hypernet's output layer drawn as a grid (notebook 03)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from hyperviz.hypernetwork import HyperNetwork

LAYER_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#8172b3", "#c44e52", "#937860")
UNUSED_COLOUR = "#bbbbbb"


def output_grid(hypernet: HyperNetwork) -> np.ndarray:
    """Every number the output layer makes: rows are a head's outputs, columns its tokens.

    Each cell holds the index of the target layer the number goes to, -1 if it is thrown
    away, and NaN where a (shorter) head has no such output.
    """
    target = hypernet.target
    sizes = torch.tensor([layer.size for layer in target.layers])
    layer_of = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    layout = hypernet.strategy.layout(target)
    height = max(rows.shape[0] for _, rows in layout)
    columns = []
    for _, rows in layout:
        codes = torch.where(rows >= 0, layer_of[rows.clamp_min(0)], -1).double()
        padding = torch.full((height - rows.shape[0], rows.shape[1]), float("nan"))
        columns.append(torch.cat([codes, padding]))
    return torch.cat(columns, dim=1).numpy()


def plot_output_grids(hypernets: dict[str, HyperNetwork]) -> Figure:
    """One panel per strategy: where each generated number goes (colour: target layer)."""
    figure, axes = plt.subplots(1, len(hypernets), figsize=(2.1 * len(hypernets), 3.4))
    layers = next(iter(hypernets.values())).target.layers
    colours = ListedColormap([UNUSED_COLOUR, *LAYER_COLOURS[: len(layers)]])
    for ax, (name, hypernet) in zip(np.atleast_1d(axes), hypernets.items(), strict=True):
        grid = output_grid(hypernet)
        ax.imshow(grid, cmap=colours, vmin=-1.5, vmax=len(layers) - 0.5, aspect="auto",
                  interpolation="nearest")  # fmt: skip
        ax.set_title(f"{name}\n{grid.shape[0]:,} outputs × {grid.shape[1]}", fontsize=8)
        ax.set_xlabel("head" if name == "multi-head" else "token", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=1))
    np.atleast_1d(axes)[0].set_ylabel("output row of the head", fontsize=8)
    handles = [Patch(color=UNUSED_COLOUR, label="made, unused")]
    handles += [
        Patch(color=c, label=layer.name) for c, layer in zip(LAYER_COLOURS, layers, strict=False)
    ]
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    figure.subplots_adjust(bottom=0.25, wspace=0.45, top=0.82)
    return figure
