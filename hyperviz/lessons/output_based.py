"""Notebook 03, output-based hypernets (survey §3.2): Table 1 measured, per output strategy.

`make_hypernet` builds one hypernet per strategy variant for the same target,
`layout_summary` says how its output layer lays out Θ, `strategy_table` trains every variant
on the same tasks and returns one `StrategyResult` per row, `survey_claims` checks the
survey's qualitative claims against those rows, and `scaling_reports` counts (without
training) how the last layer grows with the target's width. `train_grid` trains every
setting of the strategy explorer's grid once, before its dashboard is built.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from hyperviz.checks import check_choice, check_positive_int
from hyperviz.data import TaskFamily
from hyperviz.hypernetwork import GenerationReport, HyperNetwork
from hyperviz.models import HyperDNN
from hyperviz.tables import aligned
from hyperviz.targets import MLPTarget, TargetNetwork
from hyperviz.training import History, fit, seed_everything, single_threaded

# Variant name -> (strategy, its options). Component-wise comes in both granularities.
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "one-shot": ("one-shot", {}),
    "multi-head": ("multi-head", {}),
    "chunk-wise": ("chunk-wise", {}),
    "component-wise (layer)": ("component-wise", {"component": "layer"}),
    "component-wise (neuron)": ("component-wise", {"component": "neuron"}),
}
TASK_EMBEDDING_DIM = 8


def uses_chunks(variant: str) -> bool:
    """True if the chunk size matters for `variant`."""
    return VARIANTS[variant][0] == "chunk-wise"


def uses_embeddings(variant: str) -> bool:
    """True if `variant` learns chunk or component embeddings (so their size matters)."""
    return VARIANTS[variant][0] in ("chunk-wise", "component-wise")


def make_hypernet(
    target: TargetNetwork,
    variant: str,
    *,
    num_tasks: int = 1,
    chunk_size: int = 64,
    embedding_dim: int = 8,
    hidden: int = 32,
    seed: int = 0,
) -> HyperNetwork:
    """A task-conditioned MLP-body hypernet for `target` with the output strategy `variant`.

    `embedding_dim` is the size of each chunk or component embedding (the task embedding
    stays at TASK_EMBEDDING_DIM numbers).
    """
    check_choice("variant", variant, VARIANTS)
    check_positive_int("chunk_size", chunk_size)
    check_positive_int("embedding_dim", embedding_dim)
    strategy, options = VARIANTS[variant]
    if uses_chunks(variant):
        options = {**options, "chunk_size": chunk_size, "chunk_embedding_dim": embedding_dim}
    elif uses_embeddings(variant):
        options = {**options, "component_embedding_dim": embedding_dim}
    seed_everything(seed)
    return HyperNetwork(
        target,
        conditioning="task",
        strategy=strategy,
        num_tasks=num_tasks,
        embedding_dim=TASK_EMBEDDING_DIM,
        hidden=hidden,
        **options,
    )


def largest_head(hypernet: HyperNetwork) -> int:
    """Weights and biases of the biggest output head (the whole last layer unless multi-head)."""
    heads = [head for head, _ in hypernet.strategy.layout(hypernet.target)]
    return max(head.weight.numel() + head.bias.numel() for head in heads)


def layout_summary(hypernet: HyperNetwork, name: str = "") -> str:
    """One line: heads, their outputs, the tokens each runs on, numbers made and unused."""
    layout = hypernet.strategy.layout(hypernet.target)
    outputs = [rows.shape[0] for _, rows in layout]
    tokens = {rows.shape[1] for _, rows in layout}
    made = sum(rows.numel() for _, rows in layout)
    unused = sum(int((rows < 0).sum()) for _, rows in layout)
    heads = f"{len(layout)} head" + ("s" if len(layout) > 1 else "")
    sizes = ", ".join(f"{n:,}" for n in outputs)
    per = {1: "1 token"}.get(max(tokens), f"{max(tokens)} tokens")
    if not name:
        component = getattr(hypernet.strategy, "component", None)
        name = hypernet.strategy_name + (f" ({component})" if component else "")
    return (
        f"{name}: {heads} of {sizes} outputs, each run on {per}; "
        f"makes {made:,} numbers per network for Θ of {hypernet.target.num_params:,}, "
        f"{unused:,} unused"
    )


@dataclass(frozen=True)
class StrategyResult:
    """One row of Table 1: the counts of one hypernet and how its training went."""

    variant: str
    chunk_size: int
    embedding_dim: int
    report: GenerationReport
    largest_head: int
    history: History  # the training run: loss and wall time per step
    theta: torch.Tensor  # the generated Θ after training, (tasks, P)

    @property
    def loss(self) -> list[float]:
        """The full-batch loss at every training step."""
        return self.history.loss

    @property
    def final_loss(self) -> float:
        """The run's final loss as History defines it (median of the last 20 steps)."""
        return self.history.final_loss()

    @property
    def step_ms(self) -> float:
        """Median wall time of a training step in ms, as History measures it (after warm-up)."""
        return self.history.step_ms()

    @property
    def label(self) -> str:
        """The variant with the settings that matter for it, e.g. 'chunk-wise (chunk 64)'."""
        if uses_chunks(self.variant):
            return f"{self.variant} (chunk {self.chunk_size})"
        return self.variant


def train_strategy(
    target: TargetNetwork,
    variant: str,
    tasks: TaskFamily,
    *,
    chunk_size: int = 64,
    embedding_dim: int = 8,
    hidden: int = 32,
    steps: int = 150,
    lr: float = 5e-3,
    seed: int = 0,
) -> StrategyResult:
    """Train the `variant` hypernet for `target` on every task of `tasks` at once (full batch).

    Training runs on one torch thread (see `single_threaded`).
    """
    hypernet = make_hypernet(
        target,
        variant,
        num_tasks=tasks.num_tasks,
        chunk_size=chunk_size,
        embedding_dim=embedding_dim,
        hidden=hidden,
        seed=seed,
    )
    model = HyperDNN(hypernet)
    context = torch.arange(tasks.num_tasks)
    with single_threaded():
        history = fit(
            model, tasks.x, tasks.y, context=context, steps=steps, lr=lr, seed=seed, progress=False
        )
        with torch.no_grad():
            theta = model.weights(context)
    return StrategyResult(
        variant,
        chunk_size,
        embedding_dim,
        hypernet.report(),
        largest_head(hypernet),
        history,
        theta,
    )


def strategy_table(
    target: TargetNetwork,
    tasks: TaskFamily,
    variants: Sequence[str] = tuple(VARIANTS),
    **options,
) -> list[StrategyResult]:
    """Table 1 live: one trained `StrategyResult` per variant, all for the same target."""
    return [train_strategy(target, variant, tasks, **options) for variant in variants]


COUNT_HEADERS = (
    "strategy",
    "Φ learnable",
    "Θ generated",
    "Θ/Φ",
    "last layer",
    "largest head",
    "unused",
    "embeddings",
    "loss",
)


def format_counts(results: Sequence[StrategyResult]) -> str:
    """The deterministic columns of Table 1 (counts and the loss reached), one row per result."""
    rows = []
    for r in results:
        rep = r.report
        rows.append(
            (
                r.label,
                f"{rep.learnable:,}",
                f"{rep.generated:,}",
                f"{rep.compression_ratio:.3f}",
                f"{rep.last_layer:,}",
                f"{r.largest_head:,}",
                f"{rep.unused_outputs:,}",
                f"{rep.extra_embeddings:,}",
                f"{r.final_loss:.3g}",
            )
        )
    return aligned(COUNT_HEADERS, rows)


def format_timing(results: Sequence[StrategyResult]) -> str:
    """Median training step time per result (volatile: depends on the machine and its load)."""
    rows = [(r.label, f"{r.step_ms:.2f}", f"{len(r.loss)}") for r in results]
    return aligned(("strategy", "ms per step", "steps"), rows)


@dataclass(frozen=True)
class Claim:
    """A qualitative claim of §3.2 / Table 1 and what the measurement says about it."""

    strategy: str
    claim: str
    measured: str
    holds: bool


def survey_claims(results: Sequence[StrategyResult]) -> list[Claim]:
    """Check the survey's qualitative claims per strategy against measured rows."""
    variants = {r.variant for r in results}
    if not {"one-shot", "multi-head"} <= variants or not any(map(uses_embeddings, variants)):
        raise ValueError(
            f"results cover {sorted(variants)}; the claims compare one-shot, multi-head and "
            "at least one chunk- or component-wise variant"
        )
    one_shot = next(r.report.last_layer for r in results if r.variant == "one-shot")
    biggest = max(r.report.last_layer for r in results)
    claims = []
    for r in results:
        rep = r.report
        unused, extra = f"{rep.unused_outputs:,} unused", f"{rep.extra_embeddings:,} numbers"
        found: list[tuple[str, str, bool]] = []
        if not uses_embeddings(r.variant):
            found += [
                ("uses every output", unused, rep.unused_outputs == 0),
                ("needs no extra embeddings", extra, rep.extra_embeddings == 0),
            ]
        if r.variant == "one-shot":
            found.append(("has the biggest last layer", f"{one_shot:,}", one_shot == biggest))
        if r.variant == "multi-head":
            heads = f"largest head {r.largest_head:,}, all heads {rep.last_layer:,}"
            found.append(
                ("splits the last layer into smaller heads", heads, r.largest_head < one_shot)
            )
        if uses_embeddings(r.variant):
            what = "chunk" if uses_chunks(r.variant) else "component"
            smaller = f"{rep.last_layer:,} vs {one_shot:,}"
            found += [
                (f"needs an embedding per {what}", extra, rep.extra_embeddings > 0),
                ("can leave outputs unused", unused, rep.unused_outputs > 0),
                ("has a smaller last layer than one-shot", smaller, rep.last_layer < one_shot),
            ]
        claims += [Claim(r.label, claim, measured, holds) for claim, measured, holds in found]
    return claims


def format_scaling(widths: Sequence[int], reports: dict[str, list[GenerationReport]]) -> str:
    """Last-layer size and Θ/Φ per variant (rows) and width (columns)."""
    headers = ["width", *(f"{w:,}" for w in widths)]
    rows = [["Θ of the target", *(f"{r.generated:,}" for r in next(iter(reports.values())))]]
    rows += [[f"{v}: last layer", *(f"{r.last_layer:,}" for r in rs)] for v, rs in reports.items()]
    rows += [
        [f"{v}: Θ/Φ", *(f"{r.compression_ratio:.3g}" for r in rs)] for v, rs in reports.items()
    ]
    return aligned(headers, rows)


def format_claims(claims: Sequence[Claim]) -> str:
    """The claims as a table with a ✓ or ✗ per row."""
    rows = [(c.strategy, c.claim, c.measured, "✓" if c.holds else "✗") for c in claims]
    return aligned(("strategy", "survey says", "measured here", "holds"), rows)


def scaling_reports(
    widths: Sequence[int],
    variants: Sequence[str] = tuple(VARIANTS),
    depth: int = 2,
    **options,
) -> dict[str, list[GenerationReport]]:
    """Counts only (no training): a report per variant for MLPTarget([1, w, ..., w, 1])."""
    reports: dict[str, list[GenerationReport]] = {v: [] for v in variants}
    for width in widths:
        target = MLPTarget([1] + [width] * depth + [1])
        for variant in variants:
            reports[variant].append(make_hypernet(target, variant, **options).report())
    return reports


def plot_scaling(widths: Sequence[int], reports: dict[str, list[GenerationReport]]) -> Figure:
    """Last-layer size and compression ratio Θ/Φ against the target width (log-log)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for variant, rows in reports.items():
        style = "o:" if variant == "multi-head" else "o-"  # it lies on one-shot's line
        left.plot(widths, [r.last_layer for r in rows], style, label=variant, ms=3)
        right.plot(widths, [r.compression_ratio for r in rows], style, label=variant, ms=3)
    generated = [r.generated for r in next(iter(reports.values()))]
    left.plot(widths, generated, "k--", lw=1, label="Θ of the target")
    right.axhline(1, color="k", lw=1, ls="--")
    left.set(xscale="log", yscale="log", xlabel="target width w", ylabel="numbers",
             title="size of the hypernet's last layer")  # fmt: skip
    right.set(xscale="log", yscale="log", xlabel="target width w", ylabel="Θ/Φ",
              title="compression ratio Θ/Φ")  # fmt: skip
    for ax in (left, right):
        ax.set_xticks(list(widths), [str(w) for w in widths])
        ax.minorticks_off()
    left.legend(fontsize=8)
    return figure


# --- the strategy explorer's grid (trained here; its dashboard only looks results up) -------
GridKey = tuple[str, int, int, int]  # variant, width, chunk size (0: n/a), embedding size (0: n/a)


def explorer_target(width: int) -> MLPTarget:
    """The strategy explorer's target: a 1 -> width -> width -> 1 ReLU MLP."""
    return MLPTarget([1, width, width, 1])


def grid_key(variant: str, width: int, chunk_size: int, embedding_dim: int) -> GridKey:
    """The key of a setting; knobs that do not apply to `variant` become 0."""
    chunk = chunk_size if uses_chunks(variant) else 0
    return (variant, width, chunk, embedding_dim if uses_embeddings(variant) else 0)


def train_grid(
    tasks: TaskFamily,
    widths: Sequence[int],
    chunk_sizes: Sequence[int],
    embedding_dims: Sequence[int],
    variants: Sequence[str] = tuple(VARIANTS),
    **train_options,
) -> dict[GridKey, StrategyResult]:
    """Train every distinct setting of the grid once; the result of each, by `grid_key`."""
    sizes = {"widths": widths, "chunk_sizes": chunk_sizes, "embedding_dims": embedding_dims}
    for name, values in {**sizes, "variants": variants}.items():
        if not values:
            raise ValueError(f"{name}={values!r} is empty; give at least one value")
    for name, value in [(name, value) for name, values in sizes.items() for value in values]:
        check_positive_int(name, value)
    for variant in variants:
        check_choice("variant", variant, VARIANTS)
    results: dict[GridKey, StrategyResult] = {}
    for width, variant, chunk, dim in itertools.product(
        widths, variants, chunk_sizes, embedding_dims
    ):
        key = grid_key(variant, width, chunk, dim)
        if key not in results:
            with warnings.catch_warnings():
                # A chunk larger than a small target is a setting the grid shows on purpose:
                # the explorer's "unused outputs" count says how much of it is wasted.
                warnings.filterwarnings("ignore", "chunk_size=", UserWarning)
                results[key] = train_strategy(
                    explorer_target(width), variant, tasks, chunk_size=chunk, embedding_dim=dim,
                    **train_options,
                )  # fmt: skip
    return results
