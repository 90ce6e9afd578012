"""How a flat Θ splits into layers, and into chunks of a chosen size (chunk-wise hypernets)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hyperviz.checks import check_positive_int
from hyperviz.targets import TargetNetwork


@dataclass(frozen=True)
class ChunkLayout:
    """Segments (start, length) of Θ per layer and per chunk, and the unused tail."""

    chunk_size: int
    layers: list[tuple[str, int, int]]
    chunks: list[tuple[int, int]]
    unused: int


def chunk_layout(target: TargetNetwork, chunk_size: int) -> ChunkLayout:
    """Where each layer and each chunk of `chunk_size` numbers sits in the flat Θ."""
    check_positive_int("chunk_size", chunk_size)
    layers, start = [], 0
    for layer in target.layers:
        layers.append((layer.name, start, layer.size))
        start += layer.size
    count = math.ceil(target.num_params / chunk_size)
    chunks = [(i * chunk_size, chunk_size) for i in range(count)]
    return ChunkLayout(chunk_size, layers, chunks, count * chunk_size - target.num_params)
