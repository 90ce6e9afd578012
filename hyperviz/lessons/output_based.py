"""Notebook 03, output-based hypernets (survey §3.2): Table 1 measured, per output strategy.

`make_hypernet` builds a hypernet per strategy variant for one target; `format_counts` and
`compare_with_survey` set Table 1's counts and the survey's own rows side by side (counts
only); `fit_strategies` trains every variant from several seeds, each variant's seeds as one
batch; `scaling_reports` counts how the last layer grows with the target; `train_grid` trains
the strategy explorer's grid once, before its dashboard is built.
"""

from __future__ import annotations

import itertools
import statistics
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from hyperviz.checks import check_choice, check_positive_int
from hyperviz.data import TaskFamily
from hyperviz.hypernetwork import GenerationReport, HyperNetwork
from hyperviz.models import HyperDNN
from hyperviz.progress import progress_stage
from hyperviz.seeds import fit_seeds
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
SHORT = {"component-wise (layer)": "layer-wise", "component-wise (neuron)": "neuron-wise"}
TASK_EMBEDDING_DIM = 8
STRATEGY_STEPS = 150  # training steps of one setting of the explorer grid


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


def runs_per_layer(hypernet: HyperNetwork) -> list[int]:
    """How many runs of a head (one per head and token) make each target layer's numbers."""
    target = hypernet.target
    ends = torch.tensor(list(itertools.accumulate(layer.size for layer in target.layers)))
    runs: list[set[tuple[int, int]]] = [set() for _ in target.layers]
    for h, (_, rows) in enumerate(hypernet.strategy.layout(target)):
        for token in range(rows.shape[1]):
            index = rows[:, token]
            for layer in torch.bucketize(index[index >= 0], ends, right=True).unique().tolist():
                runs[layer].add((h, token))
    return [len(r) for r in runs]


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


COUNT_HEADERS = ("strategy", "Φ learnable", "Θ generated", "Θ/Φ", "last layer", "largest head",
                 "unused", "embeddings")  # fmt: skip


def format_counts(hypernets: Mapping[str, HyperNetwork]) -> str:
    """Table 1's counts (exact: no training), one row per named hypernet."""
    rows = []
    for name, hypernet in hypernets.items():
        rep = hypernet.report()
        rows.append((name, f"{rep.learnable:,}", f"{rep.generated:,}",
                     f"{rep.compression_ratio:.3f}", f"{rep.last_layer:,}",
                     f"{largest_head(hypernet):,}", f"{rep.unused_outputs:,}",
                     f"{rep.extra_embeddings:,}"))  # fmt: skip
    return aligned(COUNT_HEADERS, rows)


# --- Table 1 of the survey, beside the measurement -------------------------------------------
SURVEY_COLUMNS = ("one-shot", "multi-head", "chunk-wise", "component-wise")
# What Table 1 and the text of §3.2 say of each strategy, in SURVEY_COLUMNS order ("": nothing).
SURVEY_TABLE1: dict[str, tuple[str, str, str, str]] = {
    "uses every output": ("yes", "yes", "no", "no"),
    "a layer in one run": ("yes", "", "no", ""),
    "extra embeddings": ("no", "no", "yes", "yes"),
    "last layer vs one-shot": ("largest", "÷ heads", "smaller", "smaller"),
    "scales with the target": ("no", "", "yes", "yes"),
}


@dataclass(frozen=True)
class Comparison:
    """One cell of Table 1: what the survey says of a variant and what is measured here."""

    prop: str
    variant: str
    survey: str  # "" where the survey says nothing
    measured: str
    holds: bool | None  # None where the survey says nothing


def compare_with_survey(
    target: TargetNetwork,
    wide_target: TargetNetwork,
    variants: Sequence[str] = tuple(VARIANTS),
    **options,
) -> list[Comparison]:
    """Every row of Table 1 for every variant: the survey's entry, the count here, a verdict.

    "scales with the target" compares how the last layer grows from `target` to
    `wide_target` with how Θ grows. Counts only: nothing is trained.
    """
    if "one-shot" not in variants:
        raise ValueError(f"variants={list(variants)!r}: the comparison needs 'one-shot'")
    nets = {v: make_hypernet(target, v, **options) for v in variants}
    wide = {v: make_hypernet(wide_target, v, **options).report() for v in variants}
    one_shot = nets["one-shot"].report().last_layer
    cells = []
    for v, net in nets.items():
        rep, runs, head = net.report(), max(runs_per_layer(net)), largest_head(net)
        heads, ratio = len(net.strategy.layout(target)), one_shot / head
        growth = wide[v].last_layer / rep.last_layer
        slower = wide[v].last_layer * target.num_params < rep.last_layer * wide_target.num_params
        unused, extra = rep.unused_outputs, rep.extra_embeddings
        found = {  # property: (does the measurement say yes?, what it says)
            "uses every output": (unused == 0, f"no, {unused:,} unused" if unused else "yes"),
            "a layer in one run": (runs == 1, f"no, up to {runs} runs" if runs > 1 else "yes"),
            "extra embeddings": (extra > 0, f"yes, {extra:,}" if extra else "no"),
            "scales with the target": (slower, f"{'yes' if slower else 'no'}, ×{growth:.3g}"),
        }
        for prop in SURVEY_TABLE1:
            said = SURVEY_TABLE1[prop][SURVEY_COLUMNS.index(VARIANTS[v][0])]
            if prop == "last layer vs one-shot":
                text = f"{one_shot:,}" if v == "one-shot" else f"÷{ratio:.3g}"
                text += f" ({heads} heads)" if heads > 1 else ""
                verdict = {"largest": all(one_shot >= largest_head(n) for n in nets.values()),
                           "÷ heads": ratio >= heads, "smaller": ratio > 1}.get(said)  # fmt: skip
            else:
                yes, text = found[prop]
                verdict = (said == "yes") == yes if said else None
            cells.append(Comparison(prop, v, said, text, verdict))
    return cells


# --- training: one variant per run, or every variant from several seeds ----------------------
@dataclass(frozen=True)
class StrategyResult:
    """One trained hypernet: its counts, its training run and the Θ it generates after it."""

    variant: str
    chunk_size: int
    embedding_dim: int
    report: GenerationReport
    largest_head: int
    history: History  # the training run: loss and wall time per step
    theta: torch.Tensor  # the generated Θ after training, (tasks, P)
    seed: int = 0

    @property
    def loss(self) -> list[float]:
        """The full-batch loss at every training step."""
        return self.history.loss

    @property
    def final_loss(self) -> float:
        """The run's final loss as History defines it (median of the last 20 steps)."""
        return self.history.final_loss()

    @property
    def label(self) -> str:
        """The variant with the settings that matter for it, e.g. 'chunk-wise (chunk 64)'."""
        if uses_chunks(self.variant):
            return f"{self.variant} (chunk {self.chunk_size})"
        return self.variant

    def loss_at(self, step: int, window: int = 20) -> float:
        """Median loss of the `window` steps that end at `step` (as `final_loss` at the end)."""
        if not 1 <= check_positive_int("step", step) <= len(self.loss):
            raise ValueError(f"step={step} is outside the {len(self.loss)} steps trained")
        return statistics.median(self.loss[max(0, step - window) : step])

    def first_steps(self, steps: int) -> StrategyResult:
        """This run as if it had stopped after `steps` steps (needs Θ's snapshot at `steps`)."""
        h = self.history
        if steps not in h.snapshots:
            raise ValueError(f"no snapshot of Θ at step {steps}; snapshots: {sorted(h.snapshots)}")
        records = (h.loss, h.grad_norm_learned, h.grad_norm_theta, h.step_time)
        kept = {s: theta for s, theta in h.snapshots.items() if s <= steps}
        cut = History(*(list(r[:steps]) for r in records), snapshots=kept)
        return replace(self, history=cut, theta=h.snapshots[steps].clone())


def _result(model: HyperDNN, variant: str, history: History, context, seed: int, **knobs):
    with torch.no_grad():
        theta = model.weights(context)
    net, chunk, dim = model.hypernet, knobs["chunk_size"], knobs["embedding_dim"]
    return StrategyResult(
        variant, chunk, dim, net.report(), largest_head(net), history, theta, seed
    )


def train_strategy(
    target: TargetNetwork,
    variant: str,
    tasks: TaskFamily,
    *,
    chunk_size: int = 64,
    embedding_dim: int = 8,
    hidden: int = 32,
    steps: int = STRATEGY_STEPS,
    lr: float = 5e-3,
    seed: int = 0,
) -> StrategyResult:
    """Train the `variant` hypernet for `target` on all tasks at once (full batch, 1 thread)."""
    knobs = {"chunk_size": chunk_size, "embedding_dim": embedding_dim}
    hypernet = make_hypernet(target, variant, num_tasks=tasks.num_tasks, hidden=hidden,
                             seed=seed, **knobs)  # fmt: skip
    model, context = HyperDNN(hypernet), torch.arange(tasks.num_tasks)
    with single_threaded():
        history = fit(model, tasks.x, tasks.y, context=context, steps=steps, lr=lr, seed=seed,
                      progress=False)  # fmt: skip
        return _result(model, variant, history, context, seed, **knobs)


def fit_strategies(
    target: TargetNetwork,
    tasks: TaskFamily,
    variants: Sequence[str] = tuple(VARIANTS),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    chunk_size: int = 64,
    embedding_dim: int = 8,
    hidden: int = 32,
    steps: int = 300,
    lr: float = 5e-3,
    snapshot_every: int | None = None,
) -> dict[str, list[StrategyResult]]:
    """Every variant from every seed, a variant's seeds as one batch (`fit_seeds`, 1 thread)."""
    knobs = {"chunk_size": chunk_size, "embedding_dim": embedding_dim}
    context, fits = torch.arange(tasks.num_tasks), {}
    with single_threaded(), progress_stage(steps * len(variants), "strategies"):
        for variant in variants:

            def make(seed: int, variant: str = variant) -> HyperDNN:
                return HyperDNN(make_hypernet(target, variant, num_tasks=tasks.num_tasks,
                                              hidden=hidden, seed=seed, **knobs))  # fmt: skip

            runs = fit_seeds(make, list(seeds), tasks.x, tasks.y, context=context, steps=steps,
                             lr=lr, snapshot_every=snapshot_every, progress=False)  # fmt: skip
            fits[variant] = [_result(m, variant, h, context, s, **knobs) for s, m, h in runs]
    return fits


def neuron_similarity(target: TargetNetwork, theta: torch.Tensor, layer: str = "fc1") -> float:
    """Mean |correlation| between the incoming weights of `layer`'s neurons, for task 0."""
    rows = target.unflatten(theta[0])[f"{layer}.weight"]  # one row per neuron
    corr = torch.corrcoef(rows).abs().nan_to_num(1.0)  # a constant row: alike, not undefined
    return float(corr[~torch.eye(len(rows), dtype=torch.bool)].mean())


# --- scaling: counts only ----------------------------------------------------------------------
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
    trained: Mapping[GridKey, StrategyResult] | None = None,
    **train_options,
) -> dict[GridKey, StrategyResult]:
    """Train every distinct setting of the grid once; the result of each, by `grid_key`.

    Settings found in `trained` (results of the same training) are taken from there.
    """
    sizes = {"widths": widths, "chunk_sizes": chunk_sizes, "embedding_dims": embedding_dims}
    for name, values in {**sizes, "variants": variants}.items():
        if not values:
            raise ValueError(f"{name}={values!r} is empty; give at least one value")
    for name, value in [(name, value) for name, values in sizes.items() for value in values]:
        check_positive_int(name, value)
    for variant in variants:
        check_choice("variant", variant, VARIANTS)
    keys: dict[GridKey, tuple[int, int, int]] = {}  # each distinct setting: its first sizes
    for width, variant, chunk, dim in itertools.product(
        widths, variants, chunk_sizes, embedding_dims
    ):
        keys.setdefault(grid_key(variant, width, chunk, dim), (width, chunk, dim))
    results = {key: trained[key] for key in keys if key in (trained or {})}
    to_train = [key for key in keys if key not in results]
    steps = train_options.get("steps", STRATEGY_STEPS)
    with progress_stage(steps * len(to_train), "strategy grid"), warnings.catch_warnings():
        # A chunk larger than a small target is a setting the grid shows on purpose:
        # the explorer's "unused outputs" count says how much of it is wasted.
        warnings.filterwarnings("ignore", "chunk_size=", UserWarning)
        for key in to_train:
            width, chunk, dim = keys[key]
            results[key] = train_strategy(
                explorer_target(width), key[0], tasks, chunk_size=chunk, embedding_dim=dim,
                **train_options,
            )  # fmt: skip
    return results
