"""Individual treatment effects from observational data (survey §4, causal inference).

- `confounded_study`: covariates X, a treatment T whose probability depends on X (confounding),
  factual outcomes Y, and the true potential outcomes μ0(x), μ1(x) = μ0(x) + τ(x), so the true
  individual effect τ(x) is known and an estimate can be scored by its √PEHE (`sqrt_pehe`).
- Learners of μ0 and μ1, each a batch of R runs (seeds × dataset sizes): `t_learner` (one
  network per arm, each fitted to its own arm's examples), `s_learner` (one network on [x, t])
  and `hyper_t_learner` (HyperITE: a hypernet conditioned on the arm generates both networks;
  `shared=False`, one hypernet per arm, is its control without sharing).
- `fit_learners` trains them all as one batch on the factual outcomes and keeps, per run, the
  step with the lowest factual loss on held-out examples (early stopping, as HyperITE's code).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hyperviz.batched import Stacked, train_jointly
from hyperviz.checks import (
    as_float_tensor,
    check_bool,
    check_positive_int,
    check_positive_number,
    check_seed,
)
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.targets import MLPTarget

ARMS = 2  # control (t = 0) and treated (t = 1)
COVARIATE_RANGE = (-2.0, 2.0)  # every covariate is uniform on it
HOLD_OUT_EVERY = 5  # every 5th example of a dataset is held out for early stopping


def control_outcome(x: torch.Tensor) -> torch.Tensor:
    """μ0(x) = sin(1.5 x1) + 0.5 x2²: the outcome without treatment, x (..., d ≥ 2) -> (...)."""
    return torch.sin(1.5 * x[..., 0]) + 0.5 * x[..., 1] ** 2


def treatment_effect(x: torch.Tensor) -> torch.Tensor:
    """τ(x) = 1 + 0.5 x1: what treatment adds, so μ1 = μ0 + τ shares μ0's shape; (...)."""
    return 1.0 + 0.5 * x[..., 0]


def propensity(x: torch.Tensor, confounding: float, offset: float) -> torch.Tensor:
    """P(t = 1 | x) = sigmoid(confounding · x1 + offset): x1 drives treatment and outcome."""
    return torch.sigmoid(confounding * x[..., 0] + offset)


@dataclass(frozen=True)
class Study:
    """R observational datasets: x (R, n, d), treatment t (R, n) of 0/1 floats, outcome y (R, n)."""

    x: torch.Tensor
    t: torch.Tensor
    y: torch.Tensor

    @property
    def mu0(self) -> torch.Tensor:
        return control_outcome(self.x)

    @property
    def mu1(self) -> torch.Tensor:
        return control_outcome(self.x) + treatment_effect(self.x)


def confounded_study(
    seeds: Sequence[int],
    num_samples: int,
    num_features: int = 2,
    noise: float = 0.2,
    confounding: float = 2.0,
    offset: float = -1.5,
) -> Study:
    """One dataset per seed: x uniform on COVARIATE_RANGE^d, t ~ Bernoulli(propensity(x)),
    y = μ_t(x) + noise · N(0, 1). The default offset treats about a third of the units."""
    seeds = _checked_seeds(seeds)
    check_positive_int("num_samples", num_samples)
    if check_positive_int("num_features", num_features) < 2:
        raise ValueError(f"num_features={num_features}; the outcomes read x1 and x2: use ≥ 2")
    check_positive_number("noise", noise)
    for name, value in (("confounding", confounding), ("offset", offset)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise TypeError(f"{name} must be a finite number, got {value!r}")
    low, high = COVARIATE_RANGE
    parts = []
    for seed in seeds:  # one generator per quantity: the first n units never depend on the rest
        g = [torch.Generator().manual_seed(seed * 3 + k) for k in range(3)]
        x = torch.rand(num_samples, num_features, generator=g[0]) * (high - low) + low
        t = (torch.rand(num_samples, generator=g[1]) < propensity(x, confounding, offset)).float()
        y = control_outcome(x) + t * treatment_effect(x)
        # N(0, 1) by inverting the CDF at U(0, 1) (rand's grid shifted off 0): unlike randn,
        # the first n draws are the same for any num_samples
        normal = torch.special.ndtri(torch.rand(num_samples, generator=g[2]) + 2**-25)
        parts.append((x, t, y + noise * normal))
    x, t, y = (torch.stack(p) for p in zip(*parts, strict=True))
    return Study(x, t, y)


def sqrt_pehe(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """√PEHE = √mean_x (τ̂(x) − τ(x))² over the last axis; a leading batch of runs is kept.

    Precision in Estimation of Heterogeneous Effect (Hill 2011), as reported by HyperITE.
    """
    estimate, truth = as_float_tensor("estimate", estimate), as_float_tensor("truth", truth)
    if estimate.dim() == 0 or estimate.shape[-1] != truth.shape[-1] or estimate.shape[-1] == 0:
        raise ValueError(
            f"estimate has shape {tuple(estimate.shape)} and truth {tuple(truth.shape)}; they "
            "need the same number (≥ 1) of units on the last axis"
        )
    return (estimate - truth).pow(2).mean(-1).sqrt()


def naive_effect(study: Study) -> torch.Tensor:
    """Mean outcome of the treated minus that of the controls, per dataset (R,): the average
    effect if nothing confounded the treatment."""
    treated = (study.y * study.t).sum(-1) / study.t.sum(-1)
    return treated - (study.y * (1 - study.t)).sum(-1) / (1 - study.t).sum(-1)


@dataclass
class Learner:
    """R runs of one way to learn μ0 and μ1: `weights()` gives the runs' Θ, (R, 2, P) for one
    network per arm, or (R, P) for one network that reads [x, t] (`reads_treatment`)."""

    name: str
    target: MLPTarget
    weights: Callable[[], torch.Tensor]
    parameters: list[torch.Tensor]
    reads_treatment: bool = False

    def arm_weights(self, weights: torch.Tensor, run: torch.Tensor, arm: torch.Tensor):
        """The Θ (K, P) that predicts arm[k] of run[k]: that arm's network, or the one network."""
        return weights[run] if self.reads_treatment else weights[run, arm]

    def predict(self, arm_weights: torch.Tensor, x: torch.Tensor, arm: torch.Tensor):
        """μ̂_arm[k](x[k]) (K, n) with Θ (K, P) from `arm_weights`, on x (K, n, d)."""
        if self.reads_treatment:
            t = arm.to(x.dtype).view(-1, 1, 1).expand(*x.shape[:-1], 1)
            x = torch.cat([x, t], -1)
        return self.target(x, arm_weights)[..., 0]

    def outcomes(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """μ̂0 and μ̂1 (K, 2, n) of K runs' Θ on the same covariates x (n, d)."""
        run, arm = torch.arange(weights.shape[0]).repeat_interleave(ARMS), torch.arange(ARMS)
        arm = arm.repeat(weights.shape[0])
        x = x.expand(len(run), *x.shape[-2:])
        return self.predict(self.arm_weights(weights, run, arm), x, arm).view(-1, ARMS, x.shape[1])

    def effect(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """τ̂(x) = μ̂1(x) − μ̂0(x), (K, n), of K runs' Θ."""
        with torch.no_grad():
            mu = self.outcomes(weights, x)
        return mu[:, 1] - mu[:, 0]


def _arm_target(num_features: int, hidden: int, reads_treatment: bool = False) -> MLPTarget:
    check_positive_int("num_features", num_features)
    check_positive_int("hidden", hidden)
    return MLPTarget([num_features + int(reads_treatment), hidden, hidden, 1])


def t_learner(run_seeds: Sequence[int], num_features: int = 2, hidden: int = 16) -> Learner:
    """One network per arm and run, Kaiming-initialised from the run's seed; arm a's network
    only ever meets arm a's examples (its parameters appear in no other arm's loss)."""
    target, run_seeds = _arm_target(num_features, hidden), _checked_seeds(run_seeds, unique=False)
    theta = [_kaiming(target, seed, ARMS) for seed in run_seeds]
    theta = torch.nn.Parameter(torch.stack(theta))
    return Learner("T-learner", target, lambda: theta, [theta])


def s_learner(run_seeds: Sequence[int], num_features: int = 2, hidden: int = 16) -> Learner:
    """One network per run on [x, t]: the arms share every weight, only the input t differs."""
    target = _arm_target(num_features, hidden, reads_treatment=True)
    run_seeds = _checked_seeds(run_seeds, unique=False)
    theta = torch.nn.Parameter(torch.stack([_kaiming(target, s, 1)[0] for s in run_seeds]))
    return Learner("S-learner", target, lambda: theta, [theta], reads_treatment=True)


def _kaiming(target: MLPTarget, seed: int, copies: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([target.kaiming_weights(generator) for _ in range(copies)])


def hyper_t_learner(
    run_seeds: Sequence[int],
    shared: bool = True,
    num_features: int = 2,
    hidden: int = 16,
    hypernet_hidden: int = 16,
    embedding_dim: int = 8,
) -> Learner:
    """HyperITE's HyperTLearner: per run, a hypernet H with a learned embedding e_a per arm
    generates arm a's network, Θ_a = H(e_a; Φ); both arms' losses train the shared Φ.

    `shared=False` is its control: one hypernet per arm, arm a's a copy of the shared one
    holding only e_a, so both start from the same networks and differ only in sharing.
    After Chauhan et al. 2024 (AISTATS, HyperITE), whose code uses embeddings of 8 numbers.
    """
    check_bool("shared", shared)
    target, run_seeds = _arm_target(num_features, hidden), _checked_seeds(run_seeds, unique=False)
    options = dict(num_tasks=ARMS, embedding_dim=embedding_dim, hidden=hypernet_hidden)
    hypernets = [HyperNetwork(target, "task", **options, seed=s) for s in run_seeds]
    params = Stacked(hypernets).params  # each tensor of Φ with a leading axis of runs
    if shared:
        return Learner("HyperITE", target, lambda: arm_weights(params), list(params.values()))
    copies = {name: t.repeat_interleave(ARMS, 0) for name, t in params.items()}  # (R·arms, ..)
    copies[f"{EMBEDDINGS}.weight"] = params[f"{EMBEDDINGS}.weight"].reshape(-1, 1, embedding_dim)
    alone = {name: t.detach().clone().requires_grad_() for name, t in copies.items()}
    runs = len(run_seeds)
    return Learner(
        "hypernet per arm",
        target,
        lambda: arm_weights(alone).view(runs, ARMS, -1),
        list(alone.values()),
    )


# The tensors of Φ of a task-conditioned one-shot hypernet with an MLP body, as HyperNetwork
# names them: the arm embeddings, the body's two layers and the head.
EMBEDDINGS, BODY, HEAD = (
    "conditioner.task_embedding",
    ("strategy.body.net.0", "strategy.body.net.2"),
    "strategy.head",
)


def arm_weights(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Θ (R, arms, P) of R stacked hypernets (`Stacked(...).params`) for all their arms at once.

    The same numbers as calling `Stacked(...)(torch.arange(arms))`, with one batched product
    per layer instead of vmap (about twice as fast to train here).
    """
    expected = {f"{EMBEDDINGS}.weight"} | {
        f"{m}.{k}" for m in (*BODY, HEAD) for k in ("weight", "bias")
    }
    if set(params) != expected:
        raise ValueError(
            f"params must be a stacked task-conditioned one-shot MLP hypernet's {sorted(expected)}"
        )
    h = params[f"{EMBEDDINGS}.weight"]
    for i, layer in enumerate((*BODY, HEAD)):
        h = torch.baddbmm(params[f"{layer}.bias"].unsqueeze(1), h, params[f"{layer}.weight"].mT)
        h = torch.relu(h) if i < len(BODY) else h
    return h


def _checked_seeds(seeds: object, unique: bool = True) -> list[int]:
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(f"seeds must be a non-empty list of ints like [0, 1, 2], got {seeds!r}")
    checked = [check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if unique and len(set(checked)) != len(checked):
        raise ValueError(f"seeds={list(seeds)!r} repeats a seed; give each dataset its own")
    return checked


class NestedRuns:
    """Runs (dataset i, size n), each fitted to the first n units of dataset i, as one batch.

    A run's units are sorted by arm and cut into rows of `chunk` units (the last row of an arm
    padded, `valid` says which units are real): x (rows, chunk, d), y (rows, chunk); row r holds
    arm `arm_of_row[r]` of run `run_of_row[r]`, so each unit meets only its own arm's network.
    Every HOLD_OUT_EVERY-th unit of a dataset is held out for early stopping (`held_out`).
    """

    def __init__(self, study: Study, sizes: Sequence[int], chunk: int = 25) -> None:
        if not isinstance(study, Study):
            raise TypeError(f"study must be a Study (confounded_study), got {type(study).__name__}")
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or not sizes:
            raise TypeError(f"sizes must be a non-empty list of ints like [50, 100], got {sizes!r}")
        available = study.x.shape[1]
        for i, n in enumerate(sizes):
            if not HOLD_OUT_EVERY <= check_positive_int(f"sizes[{i}]", n) <= available:
                raise ValueError(
                    f"sizes[{i}]={n}; each size must be from {HOLD_OUT_EVERY} (one unit held "
                    f"out) to the {available} units of each dataset"
                )
        self.chunk = check_positive_int("chunk", chunk)
        self.sizes = tuple(sizes)
        self.runs = [(i, n) for i in range(study.x.shape[0]) for n in self.sizes]
        rows = []  # (run, arm, dataset, unit indices)
        for r, (i, n) in enumerate(self.runs):
            for a in range(ARMS):
                units = (study.t[i, :n] == a).nonzero().flatten()
                if len(units) < 2:
                    raise ValueError(
                        f"dataset {i} has {len(units)} units in arm {a} among its first {n}: "
                        "too few to fit and hold out; use a larger size"
                    )
                rows += [(r, a, i, units[s : s + chunk]) for s in range(0, len(units), chunk)]
        self.run_of_row = torch.tensor([r for r, *_ in rows])
        self.arm_of_row = torch.tensor([a for _, a, *_ in rows])
        self.valid = torch.zeros(len(rows), chunk)
        unit = torch.zeros(len(rows), chunk, dtype=torch.long)
        for k, (*_, units) in enumerate(rows):
            unit[k, : len(units)], self.valid[k, : len(units)] = units, 1.0
        dataset = torch.tensor([i for *_, i, _ in rows]).unsqueeze(1)
        self.x, self.y = study.x[dataset, unit], study.y[dataset, unit]
        self.held_out = self.valid * (unit % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1)
        self.fitted = self.valid - self.held_out

    def __len__(self) -> int:
        return len(self.runs)

    def run_means(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per run (R,): the mean of `values` (rows, chunk) over the units where `mask` is 1."""
        total = torch.zeros(len(self)).index_add(0, self.run_of_row, (values * mask).sum(1))
        count = torch.zeros(len(self)).index_add(0, self.run_of_row, mask.sum(1))
        return total / count

    def squared_errors(self, learner: Learner, weights: torch.Tensor) -> torch.Tensor:
        """(μ̂_t(x) − y)² of every unit (rows, chunk): each row with its run's Θ for its arm."""
        arm_weights = learner.arm_weights(weights, self.run_of_row, self.arm_of_row)
        return (learner.predict(arm_weights, self.x, self.arm_of_row) - self.y).pow(2)


@dataclass(frozen=True)
class FittedLearner:
    """A learner after `fit_learners`: per run, Θ at the step with the lowest held-out loss."""

    learner: Learner
    weights: torch.Tensor  # (R, 2, P) or (R, P)
    best_step: torch.Tensor  # (R,) updates done when the kept Θ was current
    fit_loss: torch.Tensor  # (steps + 1, R) factual loss on the fitted units
    held_out_loss: torch.Tensor  # (steps + 1, R) factual loss on the held-out units

    def effect(self, x: torch.Tensor) -> torch.Tensor:
        """τ̂ (R, n) of every run on the same covariates x (n, d)."""
        return self.learner.effect(self.weights, x)


def fit_learners(
    learners: Sequence[Learner],
    runs: NestedRuns,
    steps: int = 300,
    lr: float = 1e-2,
    description: str = "learners",
) -> dict[str, FittedLearner]:
    """Train every learner's runs on the factual loss with one Adam, all as one batch.

    Each run keeps the Θ of its step with the lowest factual loss on its held-out units:
    early stopping, chosen from observed outcomes only (never from τ).
    """
    if not isinstance(runs, NestedRuns):
        raise TypeError(f"runs must be NestedRuns, got {type(runs).__name__}")
    for learner in learners:
        if not isinstance(learner, Learner) or learner.weights().shape[0] != len(runs):
            raise ValueError(f"every learner needs one run per one of the {len(runs)} runs")
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    records: list[list[torch.Tensor]] = [[] for _ in learners]
    best: list[list[torch.Tensor]] = [[] for _ in learners]  # [held-out loss, Θ, step]

    def evaluate(step: int) -> torch.Tensor:
        fit_losses = []
        for k, learner in enumerate(learners):
            weights = learner.weights()
            errors = runs.squared_errors(learner, weights)
            fit_loss = runs.run_means(errors, runs.fitted)
            held_out = runs.run_means(errors.detach(), runs.held_out)
            records[k].append(torch.stack([fit_loss.detach(), held_out]))
            _keep_best(best[k], held_out, weights.detach(), step)
            fit_losses.append(fit_loss)
        return torch.cat(fit_losses)

    parameters = [p for learner in learners for p in learner.parameters]
    train_jointly(evaluate, parameters, steps, lr, description)
    with torch.no_grad():
        evaluate(steps)  # the Θ after the last update competes too
    fitted = {}
    for learner, record, (_, weights, step) in zip(learners, records, best, strict=True):
        losses = torch.stack(record)  # (steps + 1, 2, R)
        fitted[learner.name] = FittedLearner(learner, weights, step, losses[:, 0], losses[:, 1])
    return fitted


def _keep_best(best: list[torch.Tensor], loss: torch.Tensor, weights: torch.Tensor, step: int):
    """Per run, keep (loss, Θ, step) of the lowest held-out loss so far in `best`."""
    if not best:
        best += [loss, weights.clone(), torch.zeros_like(loss, dtype=torch.long)]
        return
    better = loss < best[0]
    best[0] = torch.where(better, loss, best[0])
    best[1] = torch.where(better.view(-1, *[1] * (weights.dim() - 1)), weights, best[1])
    best[2] = torch.where(better, step, best[2])
