"""Notebook 02, input-based hypernets (survey §3.1): what each conditioning buys, on sinusoids.

- Task-conditioned: `compare_task_models` trains, per seed, one shared hypernet for all tasks,
  one hypernet per task (the same start, no sharing) and one DNN per task (`SeparateDNNs`),
  all at once (`OneShotStack` holds many one-shot hypernets; `hyperviz.batched` trains them).
- Data-conditioned: `train_data_hypernets` samples new tasks every step, so the encoder must
  turn a task's few examples into weights for a task it has never seen.
- Noise-conditioned: `train_noise_hypernets` fits S generated nets by maximum likelihood,
  optionally plus `kl_to_prior` (a mean-field stand-in for a Bayesian hypernet's KL term);
  `spread_summary` measures how much the generated nets disagree, and whether that is honest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from hyperviz.batched import Stacked, train_jointly
from hyperviz.checks import check_finite, check_positive_int
from hyperviz.data import TaskFamily, sinusoid_curve, sinusoid_tasks
from hyperviz.evaluation import curve_errors, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.init import target_variances
from hyperviz.models import HyperDNN
from hyperviz.targets import TargetNetwork

KINDS = ("separate DNNs", "one hypernet per task", "one shared hypernet")


class SeparateDNNs(nn.Module):
    """S independent DNNs of one target: Θ is an (S, P) leaf, one row per net.

    `init="kaiming"`: Kaiming-normal weights and zero biases (`hv.DNN`'s start); `"pytorch"`:
    `nn.Linear`'s default, U(±1/√fan_in) for weights and biases. Row s meets only net s's data.
    """

    def __init__(
        self, target: TargetNetwork, num_nets: int, seed: int = 0, init: str = "kaiming"
    ) -> None:
        super().__init__()
        check_positive_int("num_nets", num_nets)
        if init not in ("kaiming", "pytorch"):
            raise ValueError(f"init={init!r} is not known; allowed: 'kaiming', 'pytorch'")
        self.target = target
        generator = torch.Generator().manual_seed(seed)
        draw = target.kaiming_weights if init == "kaiming" else self._pytorch_default
        self.theta = nn.Parameter(torch.stack([draw(generator) for _ in range(num_nets)]))

    def _pytorch_default(self, generator: torch.Generator) -> torch.Tensor:
        bounds = [(1 / math.sqrt(layer.fan_in), layer) for layer in self.target.layers]
        shapes = [(b, s) for b, layer in bounds for s in (layer.weight_shape, layer.bias_shape)]
        return torch.cat(
            [torch.rand(math.prod(s), generator=generator) * 2 * b - b for b, s in shapes]
        )

    def weights(self, context=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Θ itself, shape (S, P); the context is ignored."""
        return self.theta

    def forward(self, x: torch.Tensor, context=None) -> torch.Tensor:
        return self.target(x, self.theta)


class OneShotStack(nn.Module):
    """K one-shot hypernets with MLP bodies, stacked: (K, S, embedding) -> Θ (K, S, P) at once.

    Copy k starts from `hypernets[k // copies_each]`'s Φ (its conditioner is left out: the
    caller passes embeddings). The head is kept as (K, hidden, P) for fast batched products.
    """

    def __init__(self, hypernets: Sequence[HyperNetwork], copies_each: int = 1) -> None:
        super().__init__()
        if any(h.strategy_name != "one-shot" or h.body_name != "mlp" for h in hypernets):
            raise ValueError("OneShotStack stacks one-shot hypernets with an MLP body")
        self._sources = tuple(hypernets)  # a tuple: not registered, its Φ is not trained here
        self.copies_each = check_positive_int("copies_each", copies_each)
        layers = [
            (h.strategy.body.net[0], h.strategy.body.net[2], h.strategy.head) for h in hypernets
        ]

        def stacked(get: Callable[[tuple[nn.Linear, ...]], nn.Linear]) -> tuple[nn.Parameter, ...]:
            weights = [get(ls).weight.detach().T for ls in layers for _ in range(copies_each)]
            biases = [get(ls).bias.detach()[None] for ls in layers for _ in range(copies_each)]
            return nn.Parameter(torch.stack(weights)), nn.Parameter(torch.stack(biases))

        self.w1, self.b1 = stacked(lambda ls: ls[0])
        self.w2, self.b2 = stacked(lambda ls: ls[1])
        self.head, self.head_bias = stacked(lambda ls: ls[2])

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Θ (K, S, P) of embeddings (K, S, embedding_dim): copy k reads embeddings[k]."""
        h = torch.relu(torch.baddbmm(self.b1, embeddings, self.w1))
        h = torch.relu(torch.baddbmm(self.b2, h, self.w2))
        return _BatchedProduct.apply(h, self.head) + self.head_bias

    def unstack(self) -> list[HyperNetwork]:
        """Copy the trained Φ back into the hypernets (one copy each) and return them."""
        if self.copies_each != 1:
            raise ValueError("unstack needs one copy per hypernet (copies_each=1)")
        stacks = [(self.w1, self.b1), (self.w2, self.b2), (self.head, self.head_bias)]
        with torch.no_grad():
            for k, h in enumerate(self._sources):
                layers = (h.strategy.body.net[0], h.strategy.body.net[2], h.strategy.head)
                for layer, (w, b) in zip(layers, stacks, strict=True):
                    layer.weight.copy_(w[k].T)
                    layer.bias.copy_(b[k, 0])
        return list(self._sources)


class _BatchedProduct(torch.autograd.Function):
    """bmm(h (K, S, H), w (K, H, P)). With S = 1 the backward forms w's gradient as a
    broadcast product: bmm's own (an inner size of 1) is many times slower on CPU."""

    @staticmethod
    def forward(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.bmm(h, w)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (h, w), grad = ctx.saved_tensors, grad.contiguous()
        one = h.shape[1] == 1
        grad_w = h.transpose(1, 2) * grad if one else torch.bmm(h.transpose(1, 2), grad)
        return torch.bmm(grad, w.transpose(1, 2)), grad_w


@dataclass
class TaskComparison:
    """Per kind of model (`KINDS`) and seed: per-task training loss and error against the truth."""

    seeds: tuple[int, ...]
    theta: dict[str, torch.Tensor]  # kind -> (seeds, tasks, P): the trained weights
    separate: list[SeparateDNNs]  # one per seed
    shared: list[HyperDNN]  # one per seed
    losses: torch.Tensor  # (steps, kinds, seeds, tasks) training loss of each net
    errors: dict[str, torch.Tensor]  # kind -> (seeds, tasks) error against the true curves

    def final_fit(self, window: int = 20) -> dict[str, torch.Tensor]:
        """Kind -> (seeds, tasks): each net's median training loss over the last `window` steps."""
        final = self.losses[-window:].median(dim=0).values
        return {kind: final[i] for i, kind in enumerate(KINDS)}


def compare_task_models(
    target: TargetNetwork,
    tasks: TaskFamily,
    grid: torch.Tensor,
    seeds: Sequence[int] = (0, 1, 2),
    hidden: int = 16,
    steps: int = 500,
    lr: float = 3e-3,
) -> TaskComparison:
    """Per seed: separate DNNs, lone and shared task hypernets, same lr and steps, trained jointly.

    Seed s builds the shared hypernet; its lone hypernets start from the same Φ (no sharing).
    """
    t, k = tasks.num_tasks, len(seeds)
    hypernets = [HyperNetwork(target, "task", num_tasks=t, hidden=hidden, seed=s) for s in seeds]
    separate = [SeparateDNNs(target, t, seed=s, init="pytorch") for s in seeds]
    shared, lone = OneShotStack(hypernets), OneShotStack(hypernets, copies_each=t)
    tables = [h.conditioner.task_embedding.weight.detach() for h in hypernets]
    embeddings = nn.Parameter(torch.stack(tables))  # (K, T, e): shared by one hypernet's tasks
    lone_embeddings = nn.Parameter(torch.cat(tables).unsqueeze(1))  # (K·T, 1, e): one each
    x, y = tasks.x.repeat(len(KINDS) * k, 1, 1), tasks.y.repeat(len(KINDS) * k, 1, 1)

    def all_theta() -> torch.Tensor:  # (kinds · seeds · tasks, P), in the order of KINDS
        dnns = torch.cat([m.theta for m in separate])
        return torch.cat([dnns, lone(lone_embeddings)[:, 0], shared(embeddings).flatten(0, 1)])

    def losses_fn(step: int) -> torch.Tensor:
        return (target(x, all_theta()) - y).pow(2).mean(dim=(1, 2))

    parameters = [m.theta for m in separate] + [*lone.parameters(), *shared.parameters()]
    losses = train_jointly(losses_fn, [*parameters, embeddings, lone_embeddings], steps, lr)
    with torch.no_grad():
        theta = all_theta().reshape(len(KINDS), k, t, -1)
        for h, table in zip(shared.unstack(), embeddings, strict=True):
            h.conditioner.task_embedding.weight.copy_(table)
    params = tasks.params.repeat(k, 1)
    errors = {
        kind: curve_errors(predict(target, theta[i].flatten(0, 1), grid), params, grid).reshape(
            k, t
        )
        for i, kind in enumerate(KINDS)
    }
    losses = losses.reshape(steps, len(KINDS), k, t)
    models = [HyperDNN(h) for h in hypernets]
    return TaskComparison(
        tuple(seeds), dict(zip(KINDS, theta, strict=True)), separate, models, losses, errors
    )


def family_mean_curve(grid: torch.Tensor, num_tasks: int = 2000, seed: int = 99) -> torch.Tensor:
    """The average true curve over many tasks of the family (G, 1): the best blind guess."""
    params = sinusoid_tasks(num_tasks, num_points=1, seed=seed).params
    return sinusoid_curve(params, grid).mean(dim=0)


def scaled_errors(
    predictions: torch.Tensor, params: torch.Tensor, grid: torch.Tensor
) -> torch.Tensor:
    """Per task: the error against the true curve divided by the error of predicting 0 (E[y²])."""
    return curve_errors(predictions, params, grid) / sinusoid_curve(params, grid).pow(2).mean(
        dim=(1, 2)
    )


def errors_by_examples(
    models: Sequence[HyperDNN],
    family: TaskFamily,
    grid: torch.Tensor,
    counts: Sequence[int],
    scaled: bool = False,
) -> torch.Tensor:
    """(models, counts): mean error over `family` when the encoder sees each task's first k
    examples, k in `counts`; `scaled` divides each task's error by that of predicting 0."""
    score = scaled_errors if scaled else curve_errors

    def error(model: HyperDNN, k: int) -> float:
        theta = model.weights(family.examples()[:, :k])
        return score(predict(model.target, theta, grid), family.params, grid).mean().item()

    with torch.no_grad():
        return torch.tensor([[error(m, k) for k in counts] for m in models])


def train_data_hypernets(
    target: TargetNetwork,
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 500,
    tasks_per_step: int = 16,
    context_points: int = 6,
    query_points: int = 20,
    lr: float = 3e-3,
    first_seed: int = 10_000,
) -> tuple[list[HyperDNN], torch.Tensor]:
    """One data hypernet per seed, trained as one batch on new tasks at every step.

    Step i draws `tasks_per_step` tasks (seed first_seed + i); the encoder sees each task's
    first `context_points` (x, y) pairs and the loss covers those and `query_points` more.
    Returns the models and the (steps, K) training losses.
    """
    check_positive_int("tasks_per_step", tasks_per_step)
    check_positive_int("context_points", context_points)
    if not isinstance(query_points, int) or query_points < 0:
        raise ValueError(f"query_points={query_points!r} is not allowed; use an int >= 0")
    hypernets = [HyperNetwork(target, "data", data_features=2, seed=s) for s in seeds]
    encoders, generators = Stacked([h.conditioner for h in hypernets]), OneShotStack(hypernets)
    k = len(seeds)

    def losses_fn(step: int) -> torch.Tensor:
        tasks = sinusoid_tasks(
            tasks_per_step, context_points + query_points, seed=first_seed + step
        )
        theta = generators(encoders(tasks.examples()[:, :context_points]))  # (K, T, P)
        prediction = target(tasks.x.repeat(k, 1, 1), theta.flatten(0, 1))
        return (prediction.unflatten(0, (k, -1)) - tasks.y).pow(2).mean(dim=(1, 2, 3))

    parameters = [*encoders.params.values(), *generators.parameters()]
    losses = train_jointly(losses_fn, parameters, steps, lr, "data hypernets")
    encoders.unstack()
    return [HyperDNN(h) for h in generators.unstack()], losses


def prior_variances(target: TargetNetwork) -> torch.Tensor:
    """Per entry of Θ, the prior's variance: Kaiming (fan-in) for weights, 1 for biases."""
    variances = target_variances(target, "in")
    return torch.where(variances > 0, variances, torch.ones_like(variances))


def kl_to_prior(theta: torch.Tensor, prior_variance: torch.Tensor) -> torch.Tensor:
    """KL(q ‖ p): q a diagonal Gaussian fitted to the S rows of Θ (..., S, P), p = N(0, prior).

    Its -log(variance) part is the entropy bonus: it grows without bound as the S nets
    collapse onto one, so minimising it keeps them apart where the data allow.
    """
    if theta.dim() < 2 or theta.shape[-2] < 2:
        raise ValueError(f"theta has shape {tuple(theta.shape)}; the KL needs (S, P) with S >= 2")
    mean = theta.mean(dim=-2)
    variance = (theta - mean.unsqueeze(-2)).pow(2).sum(dim=-2) / (theta.shape[-2] - 1) + 1e-8
    ratio = variance / prior_variance
    return 0.5 * (ratio + mean.pow(2) / prior_variance - 1 - ratio.log()).sum(dim=-1)


@dataclass
class NoiseRuns:
    """Noise hypernets trained on one task: `models[(kl_weight, seed)]`, spreads over training."""

    models: dict[tuple[float, int], HyperDNN]
    losses: torch.Tensor  # (steps, runs) in the order of `models`
    spreads: dict[int, torch.Tensor]  # step -> (runs, 2): spread where data are, and beyond


def train_noise_hypernets(
    target: TargetNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    grid: torch.Tensor,
    seen: torch.Tensor,
    seeds: Sequence[int] = (0, 1, 2),
    kl_weights: Sequence[float] = (0.0, 1e-4),
    samples: int = 16,
    steps: int = 500,
    lr: float = 1e-3,
    snapshot_every: int = 100,
) -> NoiseRuns:
    """Fit S = `samples` generated nets to (x, y) per step, plus kl_weight · KL, for every pair.

    kl_weight 0 is plain maximum likelihood: each net is rewarded only for fitting. kl_weight
    = 2σ²/N is the ELBO of N points under Gaussian noise σ, divided by N/(2σ²).
    """
    check_finite("x", x)
    check_finite("y", y)
    check_positive_int("samples", samples)
    if not all(w >= 0 for w in kl_weights):
        raise ValueError(f"kl_weights={list(kl_weights)!r} is not allowed; use numbers >= 0")
    if any(kl_weights) and samples < 2:
        raise ValueError(f"samples={samples} is too few for the KL term; use samples >= 2")
    pairs = [(float(w), s) for w in kl_weights for s in seeds]
    hypernets = [HyperNetwork(target, "noise", seed=s) for _, s in pairs]
    stacked = OneShotStack(hypernets)
    weights = torch.tensor([w for w, _ in pairs])
    prior, dim = prior_variances(target), hypernets[0].conditioner.embedding_dim
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(len(pairs), 64, dim, generator=generator)  # fixed draws to measure
    spreads = {}

    def losses_fn(step: int) -> torch.Tensor:
        if step % snapshot_every == 0:
            with torch.no_grad():
                spreads[step] = _spreads(target, stacked(probe), grid, seen)
        z = torch.randn(len(pairs), samples, dim, generator=generator)
        theta = stacked(z)  # (runs, S, P)
        fit = (target(x, theta.flatten(0, 1)).unflatten(0, (len(pairs), -1)) - y).pow(2)
        kl = kl_to_prior(theta, prior) if samples > 1 else torch.zeros(len(pairs))
        return fit.mean(dim=(1, 2, 3)) + weights * kl

    losses = train_jointly(losses_fn, list(stacked.parameters()), steps, lr, "noise hypernets")
    with torch.no_grad():
        spreads[steps] = _spreads(target, stacked(probe), grid, seen)
    stacked.unstack()
    models = {pair: HyperDNN(h) for pair, h in zip(pairs, hypernets, strict=True)}
    return NoiseRuns(models, losses, spreads)


def _spreads(
    target: TargetNetwork, theta: torch.Tensor, grid: torch.Tensor, seen: torch.Tensor
) -> torch.Tensor:
    std = target(grid, theta.flatten(0, 1)).unflatten(0, theta.shape[:2]).std(dim=1).squeeze(-1)
    return torch.stack([std[:, seen].mean(dim=1), std[:, ~seen].mean(dim=1)], dim=1)


@dataclass(frozen=True)
class SpreadSummary:
    """How S generated nets disagree where the training data are ("seen") and elsewhere."""

    spread_seen: float  # mean standard deviation of the S predictions, data region
    spread_unseen: float  # the same away from the data
    error_seen: float  # MSE of the mean prediction against the truth, data region
    coverage_seen: float  # fraction of grid points whose truth lies in mean ± 2 std
    coverage_unseen: float

    def __str__(self) -> str:
        return (
            f"spread (std) {self.spread_seen:.3g} where data are, {self.spread_unseen:.3g} "
            f"beyond | truth inside mean ± 2 std: {self.coverage_seen:.0%} / "
            f"{self.coverage_unseen:.0%} | error of the mean where data are {self.error_seen:.3g}"
        )


def spread_summary(
    predictions: torch.Tensor, truth: torch.Tensor, seen: torch.Tensor
) -> SpreadSummary:
    """Spread, error and 2-std coverage of predictions (S, G, 1) against truth (G, 1).

    `seen` (G,) is True on grid points inside the region the training data cover.
    """
    if predictions.dim() != 3 or predictions.shape[0] < 2:
        raise ValueError(
            f"predictions has shape {tuple(predictions.shape)}; need (S, G, 1), S >= 2"
        )
    if seen.dtype != torch.bool or not seen.any() or seen.all():
        raise ValueError("seen must be a boolean mask with both seen and unseen grid points")
    mean, std = predictions.mean(dim=0).squeeze(-1), predictions.std(dim=0).squeeze(-1)
    inside = (truth.squeeze(-1) - mean).abs() <= 2 * std
    return SpreadSummary(
        spread_seen=std[seen].mean().item(),
        spread_unseen=std[~seen].mean().item(),
        error_seen=(mean - truth.squeeze(-1))[seen].pow(2).mean().item(),
        coverage_seen=inside[seen].float().mean().item(),
        coverage_unseen=inside[~seen].float().mean().item(),
    )
