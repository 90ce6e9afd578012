"""Hypernet bodies (survey §3.6): MLP, CNN, RNN and attention.

Every body maps a sequence of input tokens (S, T, in_features) to features
(S, T, hidden). One-shot and multi-head hypernets feed one token (the context
embedding); chunk-wise and component-wise hypernets feed one token per chunk or
component, so only there can a CNN, RNN or attention body relate tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from hyperviz.checks import check_choice, check_positive_int


class MLPBody(nn.Module):
    """Two fully connected layers applied to each token on its own."""

    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.net(tokens)


class CNNBody(nn.Module):
    """Two 1-D convolutions (kernel 3) along the token axis: neighbouring tokens share features."""

    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_features, hidden, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv1d(hidden, hidden, kernel_size=3, padding=1),
            nn.ReLU(),
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.net(tokens.transpose(1, 2)).transpose(1, 2)


class RNNBody(nn.Module):
    """A GRU that reads the tokens in order (e.g. layer after layer, chunk after chunk)."""

    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(in_features, hidden, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        features, _ = self.gru(tokens)
        return features


class AttentionBody(nn.Module):
    """One transformer encoder block over the set of tokens; keeps its last attention map."""

    def __init__(self, in_features: int, hidden: int, num_heads: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(in_features, hidden)
        self.attention = nn.MultiheadAttention(hidden, num_heads, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.feed_forward = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden)
        )
        self.last_attention: torch.Tensor | None = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        attended, weights = self.attention(h, h, h, need_weights=True)
        self.last_attention = weights.detach()  # (S, T, T), averaged over heads
        h = self.norm1(h + attended)
        return torch.relu(self.norm2(h + self.feed_forward(h)))


BODIES: dict[str, type[nn.Module]] = {
    "mlp": MLPBody,
    "cnn": CNNBody,
    "rnn": RNNBody,
    "attention": AttentionBody,
}


def make_body(name: str, in_features: int, hidden: int) -> nn.Module:
    """Build the body called `name` (one of BODIES) mapping in_features to hidden features."""
    check_choice("body", name, BODIES)
    check_positive_int("hidden", hidden)
    if name == "attention" and hidden % 2:
        raise ValueError(f"hidden={hidden} must be even for body='attention' (two heads)")
    return BODIES[name](in_features, hidden)
