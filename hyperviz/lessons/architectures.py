"""Notebook 05, hypernet bodies (survey §3.6): what each one sees, how it mixes tokens, a race.

- `body_tokens`: the token tensor (S, T, d) a hypernet's body receives, and what it returns.
- `token_shapes`: those shapes for every output strategy (only several tokens let bodies differ).
- `token_mixing`: how strongly each output token of a body depends on each input token.
- `attention_map`: the attention body's weights (S, T, T), averaged over heads.
- `compare_bodies`: one hypernet per body, trained on the same task family and target.
- `SetHypernet`, `compare_set_bodies`: a context that is a set of examples, read by a flat MLP
  or by a body over one token per example, over several seeds (when the body matters).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from hyperviz.bodies import BODIES, AttentionBody, make_body
from hyperviz.checks import check_choice, check_positive_int
from hyperviz.chunk_layout import chunk_layout
from hyperviz.data import TaskFamily
from hyperviz.evaluation import curve_errors, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import HyperDNN
from hyperviz.progress import progress_stage
from hyperviz.seeds import fit_seeds
from hyperviz.targets import TargetNetwork
from hyperviz.training import History, prediction_loss, seed_everything, train

STRATEGY_VARIANTS: list[tuple[str, dict]] = [
    ("one-shot", {}),
    ("multi-head", {}),
    ("chunk-wise", {"chunk_size": 128}),
    ("component-wise", {"component": "layer"}),
    ("component-wise", {"component": "neuron"}),
]


@torch.no_grad()
def body_tokens(hypernet: HyperNetwork, context) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokens (S, T, d) that `hypernet`'s body receives for `context`, and its features."""
    seen: dict[str, torch.Tensor] = {}

    def keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        seen["tokens"], seen["features"] = inputs[0], output

    hook = hypernet.strategy.body.register_forward_hook(keep)
    try:
        hypernet(context)
    finally:
        hook.remove()
    return seen["tokens"], seen["features"]


@dataclass(frozen=True)
class TokenShape:
    """What one output strategy feeds its body: tokens (S, T, d) and features (S, T, hidden)."""

    strategy: str
    tokens: tuple[int, ...]
    features: tuple[int, ...]

    @property
    def num_tokens(self) -> int:
        return self.tokens[1]


def token_shapes(
    target: TargetNetwork, num_tasks: int, hidden: int = 64, variants=None
) -> list[TokenShape]:
    """Token and feature shapes of a task-conditioned hypernet, per strategy, for all tasks."""
    check_positive_int("num_tasks", num_tasks)
    rows = []
    for strategy, options in variants or STRATEGY_VARIANTS:
        hypernet = HyperNetwork(
            target, "task", strategy, num_tasks=num_tasks, hidden=hidden, **options
        )
        tokens, features = body_tokens(hypernet, torch.arange(num_tasks))
        name = " ".join([strategy, *(f"{k}={v}" for k, v in options.items())])
        rows.append(TokenShape(name, tuple(tokens.shape), tuple(features.shape)))
    return rows


def format_token_shapes(rows: list[TokenShape]) -> str:
    """The token shapes as an aligned table (S = networks, T = tokens, d = token width)."""
    lines = [f"{'strategy':<34}{'tokens (S, T, d)':>18}{'features (S, T, h)':>20}"]
    lines += [f"{r.strategy:<34}{str(r.tokens):>18}{str(r.features):>20}" for r in rows]
    return "\n".join(lines)


def token_mixing(body: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """(S, T, T): entry [s, j, i] = ‖∂(sum of token j's features) / ∂ token i‖ for network s.

    It is zero where the body never lets token i reach token j. One backward pass: the batch
    holds T copies of each network's tokens, and copy j sums only the features of token j.
    """
    if tokens.dim() != 3:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}; token_mixing needs (S, T, d)")
    s, t, d = tokens.shape
    copies = tokens.detach().repeat_interleave(t, dim=0).requires_grad_(True)  # (S*T, T, d)
    features = body(copies).sum(dim=-1).reshape(s, t, t)  # [s, copy j, token]
    (grad,) = torch.autograd.grad(features.diagonal(dim1=1, dim2=2).sum(), copies)
    return grad.reshape(s, t, t, d).norm(dim=-1)


def receptive_field(mixing: torch.Tensor, tolerance: float = 1e-7) -> list[int]:
    """How many input tokens each output token depends on (network 0 of a (S, T, T) mixing)."""
    return [int(n) for n in (mixing[0] > tolerance).sum(dim=1)]


@torch.no_grad()
def attention_map(hypernet: HyperNetwork, context) -> torch.Tensor:
    """(S, T, T) attention weights of an attention body for `context`, averaged over heads."""
    body = hypernet.strategy.body
    if not isinstance(body, AttentionBody):
        raise ValueError(
            f"hypernet has body={hypernet.body_name!r}; only body='attention' has an attention map"
        )
    hypernet(context)
    return body.last_attention


def chunk_labels(target: TargetNetwork, chunk_size: int) -> list[str]:
    """One label per chunk token: its index and the target layers its numbers fall in."""
    layout = chunk_layout(target, chunk_size)
    labels = []
    for i, (start, size) in enumerate(layout.chunks):
        names = [n for n, s, k in layout.layers if s < start + size and start < s + k]
        labels.append(f"{i} {'+'.join(names)}")
    return labels


def plot_token_maps(maps: dict[str, torch.Tensor], labels: list[str], colorbar: str = "") -> Figure:
    """One (T, T) heatmap per name (rows: output or query token, columns: input token)."""
    figure, axes = plt.subplots(
        1, len(maps), figsize=(3.3 * len(maps) + 0.8, 3.6), layout="constrained", squeeze=False
    )
    ticks = range(len(labels))
    for ax, (name, matrix) in zip(axes[0], maps.items(), strict=True):
        image = ax.imshow(matrix.detach().numpy(), cmap="viridis", vmin=0)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(ticks, labels, rotation=90, fontsize=6)
        ax.set_yticks(ticks, labels if ax is axes[0, 0] else [], fontsize=6)
        figure.colorbar(image, ax=ax, shrink=0.7, label=colorbar)
    return figure


@dataclass
class BodyRun:
    """One trained hypernet of a race: its body, model, history and scores."""

    body: str
    model: HyperDNN
    history: History
    learnable: int
    body_params: int
    train_loss: float
    test_loss: float

    def step_ms(self, skip: int = 10) -> float:
        """Median wall time of a training step in ms, after `skip` warm-up steps (History's)."""
        return self.history.step_ms(skip)


def compare_bodies(
    target: TargetNetwork,
    family: TaskFamily,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    bodies=tuple(BODIES),
    strategy: str = "chunk-wise",
    steps: int = 500,
    lr: float = 1e-3,
    hidden: int = 64,
    seed: int = 0,
    **options,
) -> dict[str, BodyRun]:
    """Train one task-conditioned hypernet per body on all tasks of `family`; score on test data.

    Every run has the same target, strategy, width, optimiser, steps and seed; only the body
    differs. `test_y` (S, M, out) holds each task's true outputs at `test_x` (M, in).
    """
    for body in bodies:
        check_choice("body", body, BODIES)
    task_ids = torch.arange(family.num_tasks)
    runs = {}
    with progress_stage(steps * len(bodies), "bodies"):
        for body in bodies:
            seed_everything(seed)
            hypernet = HyperNetwork(
                target,
                "task",
                strategy,
                body,
                num_tasks=family.num_tasks,
                hidden=hidden,
                **options,
            )
            model = HyperDNN(hypernet)

            def loss_fn(m: HyperDNN) -> tuple[torch.Tensor, torch.Tensor]:
                theta = m.weights(task_ids)
                return prediction_loss(target(family.x, theta), family.y), theta

            history = train(model, loss_fn, steps=steps, lr=lr, seed=seed, description=body)
            with torch.no_grad():
                test_loss = prediction_loss(target(test_x, model.weights(task_ids)), test_y).item()
            runs[body] = BodyRun(
                body,
                model,
                history,
                learnable=hypernet.report().learnable,
                body_params=sum(p.numel() for p in hypernet.strategy.body.parameters()),
                train_loss=history.final_loss(),
                test_loss=test_loss,
            )
    return runs


def format_comparison(runs: dict[str, BodyRun]) -> str:
    """Parameters and losses of each body's run as an aligned table (3 significant digits)."""
    lines = [f"{'body':<11}{'Φ total':>10}{'in body':>10}{'train loss':>12}{'test loss':>12}"]
    lines += [
        f"{r.body:<11}{r.learnable:>10,}{r.body_params:>10,}{r.train_loss:>12.3g}{r.test_loss:>12.3g}"
        for r in runs.values()
    ]
    return "\n".join(lines)


def format_step_times(runs: dict[str, BodyRun]) -> str:
    """Median training step time of each run, and its ratio to the first run's."""
    first_name, first = next(iter(runs)), next(iter(runs.values())).step_ms()
    return "\n".join(
        f"{r.body:<11}{r.step_ms():>8.2f} ms per step  ({r.step_ms() / first:.1f}× {first_name})"
        for r in runs.values()
    )


@torch.no_grad()
def initial_losses(
    target: TargetNetwork, family: TaskFamily, seeds=(0, 1, 2), chunk_size: int = 128
) -> dict[str, list[float]]:
    """Per body: the loss on all tasks of a fresh chunk-wise hypernet, one value per seed."""
    task_ids = torch.arange(family.num_tasks)
    losses: dict[str, list[float]] = {}
    for body in BODIES:
        for seed in seeds:
            hypernet = HyperNetwork(
                target, "task", "chunk-wise", body, num_tasks=family.num_tasks,
                chunk_size=chunk_size, seed=seed,
            )  # fmt: skip
            loss = prediction_loss(target(family.x, hypernet(task_ids)), family.y).item()
            losses.setdefault(body, []).append(loss)
    return losses


SET_BODIES = ("flat MLP", "mlp", "attention")


class SetHypernet(nn.Module):
    """Θ from a set of n (x, y) examples, as one-shot output from pooled body features.

    "flat MLP" reads the n examples as one vector of 2n numbers (their order matters);
    a body of BODIES reads one token per example and its features are averaged over tokens.
    """

    def __init__(self, target: TargetNetwork, body: str, n: int, hidden: int = 32, seed=0):
        super().__init__()
        check_choice("body", body, SET_BODIES)
        self.target, self.body_name, self.n = target, body, check_positive_int("n", n)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if body == "flat MLP":
                self.body = nn.Sequential(
                    nn.Linear(2 * n, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
                )
            else:
                self.body = make_body(body, 2, hidden)
            self.head = nn.Linear(hidden, target.num_params)

    def weights(self, context: torch.Tensor, generator=None) -> torch.Tensor:
        """Θ (S, P) from S sets of examples, (S, n, 2)."""
        if context.dim() != 3 or context.shape[1:] != (self.n, 2):
            raise ValueError(f"context has shape {tuple(context.shape)}; need (S, {self.n}, 2)")
        if self.body_name == "flat MLP":
            return self.head(self.body(context.flatten(1)))
        return self.head(self.body(context).mean(dim=1))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.target(x, self.weights(context))


@dataclass
class SetRace:
    """Errors on new tasks (mean over tasks) per body and seed, and the trained models."""

    seeds: list[int]
    errors: dict[str, list[float]]
    models: dict[str, list[SetHypernet]]


def compare_set_bodies(
    target: TargetNetwork,
    train: TaskFamily,
    test: TaskFamily,
    grid: torch.Tensor,
    seeds=(0, 1, 2),
    bodies=SET_BODIES,
    steps: int = 200,
    lr: float = 3e-3,
) -> SetRace:
    """Train a `SetHypernet` per body and seed (seeds as one batch); score on `test`'s tasks."""
    errors, models = {}, {}
    with progress_stage(steps * len(bodies), "set bodies", copies=len(seeds)):
        for body in bodies:
            runs = fit_seeds(
                lambda seed, body=body: SetHypernet(target, body, train.x.shape[1], seed=seed),
                list(seeds), train.x, train.y, context=train.examples(), steps=steps, lr=lr,
                description=body,
            )  # fmt: skip
            models[body] = runs.models
            with torch.no_grad():
                errors[body] = [
                    curve_errors(
                        predict(target, m.weights(test.examples()), grid), test.params, grid
                    )
                    .mean()
                    .item()
                    for m in runs.models
                ]
    return SetRace(list(seeds), errors, models)


__all__ = [
    "SET_BODIES",
    "BodyRun",
    "SetHypernet",
    "SetRace",
    "compare_set_bodies",
    "initial_losses",
    "TokenShape",
    "attention_map",
    "body_tokens",
    "chunk_labels",
    "compare_bodies",
    "format_comparison",
    "format_step_times",
    "plot_token_maps",
    "receptive_field",
    "token_mixing",
    "token_shapes",
]
