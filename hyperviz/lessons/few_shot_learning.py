"""Notebook 08, few-shot learning (survey §4, few-shot): a support set in, a network's weights out.

A data-conditioned hypernet reads a task's support set through a set encoder and writes the
whole target network for that task in one forward pass (amortised, like the weight generators
of LEO and HyperShot). It is meta-trained on fresh sinusoid episodes, S per step, all seeds as
one batch, and compared on held-out tasks, on the same query points, with:

- the same hypernet plus a few gradient steps on its embedding (`latent_steps`: LEO's idea of
  adapting in the generator's small latent space, not in the weights it writes);
- MAML: a shared initialisation, meta-learned on the same episodes, then fine-tuned with a few
  gradient steps on each test task's support set (`sgd_steps`, every task in one batch);
- from scratch: a new network per test task, trained on its support set only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.func import functional_call, vmap

from hyperviz.batched import Stacked, train_jointly
from hyperviz.checks import check_positive_int
from hyperviz.data import sinusoid_curve, sinusoid_tasks
from hyperviz.evaluation import dense_grid
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.progress import progress_stage
from hyperviz.set_encoding import Episodes, sample_episodes, split_episodes
from hyperviz.targets import MLPTarget
from hyperviz.training import single_threaded

METHODS = ("hypernet", "hypernet + latent steps", "MAML + fine-tuning", "from scratch")
SUPPORT_SIZES = (1, 2, 5, 10, 20, 40)


@dataclass(frozen=True)
class Recipe:
    """How each method is trained: meta-training budget (shared) and test-time adaptation."""

    meta_steps: int = 500  # meta-training steps, for the hypernet and for MAML alike
    episodes: int = 16  # episodes per meta-training step
    max_support: int = 40  # support size K of a training episode: uniform in 1 .. max_support
    query: int = 20  # query points of a training episode
    hypernet_hidden: int = 64  # width of the hypernet's body (its head: hidden -> all of Θ)
    hypernet_lr: float = 3e-3
    maml_lr: float = 1e-3
    inner_lr: float = 0.01  # MAML's inner step size α
    inner_steps: int = 1  # MAML's gradient steps while meta-training
    fine_tune_steps: int = 10  # ... and at test time
    latent_steps: int = 20  # gradient steps on the hypernet's embedding at test time (LEO)
    latent_lr: float = 0.1
    scratch_steps: int = 300  # Adam steps of a network trained from scratch
    scratch_lr: float = 1e-2


def linear_default_weights(
    target: MLPTarget, count: int, generator: torch.Generator
) -> torch.Tensor:
    """`count` weight sets (count, P), each entry U(±1/√fan_in) as `torch.nn.Linear` draws them."""
    bounds = torch.cat(
        [torch.full((layer.size,), 1 / math.sqrt(layer.fan_in)) for layer in target.layers]
    )
    return (torch.rand(count, target.num_params, generator=generator) * 2 - 1) * bounds


Supports = Sequence[tuple[torch.Tensor, torch.Tensor]]
"""Groups of support sets (x (N_i, K_i, 1), y (N_i, K_i, 1)), one group per support size K_i."""


def support_errors(
    target: MLPTarget, thetas: Sequence[torch.Tensor], supports: Supports
) -> torch.Tensor:
    """Mean squared error of each network on its own support set, (N_1 + N_2 + ...,).

    thetas[i] (N_i, P) are the networks of group i, each meeting its row of supports[i].
    """
    return torch.cat(
        [
            (target(x, theta) - y).pow(2).mean(dim=(1, 2))
            for theta, (x, y) in zip(thetas, supports, strict=True)
        ]
    )


def sgd_steps(
    target: MLPTarget,
    thetas: Sequence[torch.Tensor],
    supports: Supports,
    steps: int,
    lr: float,
    create_graph: bool = False,
) -> list[torch.Tensor]:
    """`steps` gradient steps of every network of every group at once, each on its own support.

    MAML's inner loop (after Finn et al. 2017, Eq. 1); `create_graph` keeps the steps
    differentiable, so a loss after them can train the starting point.
    """
    thetas = list(thetas)
    for _ in range(steps):
        loss = support_errors(target, thetas, supports).sum()
        grads = torch.autograd.grad(loss, thetas, create_graph=create_graph)
        thetas = [theta - lr * grad for theta, grad in zip(thetas, grads, strict=True)]
    return thetas


def training_episodes(step: int, recipe: Recipe) -> Episodes:
    """The episodes of meta-training step `step`, the same for every method and seed."""
    generator = torch.Generator().manual_seed(step)
    support = int(torch.randint(1, recipe.max_support + 1, (1,), generator=generator))
    return sample_episodes(recipe.episodes, support, recipe.query, seed=100_000 + step)


def query_errors(target: MLPTarget, theta: torch.Tensor, batch: Episodes) -> torch.Tensor:
    """Query MSE of each generated network, theta (..., S, P) -> (..., S); seeds share tasks."""
    lead = theta.shape[:-2]
    copies = math.prod(lead)
    x, y = batch.query_x.repeat(copies, 1, 1), batch.query_y.repeat(copies, 1, 1)
    prediction = target(x, theta.reshape(-1, theta.shape[-1]))
    return (prediction - y).pow(2).mean(dim=(1, 2)).view(*lead, -1)


def train_hypernets(
    target: MLPTarget, seeds: Sequence[int], recipe: Recipe
) -> tuple[list[HyperNetwork], torch.Tensor]:
    """One data-conditioned hypernet per seed, trained as one batch; (steps, seeds) losses."""
    hypernets = [
        HyperNetwork(target, "data", data_features=2, hidden=recipe.hypernet_hidden, seed=s)
        for s in seeds
    ]
    stacked = Stacked(hypernets)

    def losses(step: int) -> torch.Tensor:
        batch = training_episodes(step, recipe)
        return query_errors(target, stacked(batch.context()), batch).mean(dim=1)

    parameters = list(stacked.params.values())
    history = train_jointly(losses, parameters, recipe.meta_steps, recipe.hypernet_lr, "hypernet")
    return stacked.unstack(), history


def train_maml(
    target: MLPTarget, seeds: Sequence[int], recipe: Recipe
) -> tuple[torch.Tensor, torch.Tensor]:
    """One MAML initialisation per seed (seeds, P), meta-trained on the hypernets' episodes."""
    k, s = len(seeds), recipe.episodes
    start = [linear_default_weights(target, 1, torch.Generator().manual_seed(v)) for v in seeds]
    init = torch.nn.Parameter(torch.cat(start))

    def losses(step: int) -> torch.Tensor:
        batch = training_episodes(step, recipe)
        theta = init[:, None].expand(k, s, -1).reshape(k * s, -1)
        support = [(batch.support_x.repeat(k, 1, 1), batch.support_y.repeat(k, 1, 1))]
        (adapted,) = sgd_steps(
            target, [theta], support, recipe.inner_steps, recipe.inner_lr, create_graph=True
        )
        return query_errors(target, adapted.view(k, s, -1), batch).mean(dim=1)

    history = train_jointly(losses, [init], recipe.meta_steps, recipe.maml_lr, "MAML")
    return init.detach(), history


class StackedHypernets:
    """Every seed's hypernet as one batch, in LEO's two halves: support sets -> embeddings z
    (the set encoder), and z -> Θ (the generator), each seed with its own z."""

    def __init__(self, hypernets: Sequence[HyperNetwork]) -> None:
        self.encoders = Stacked([h.conditioner for h in hypernets])
        self.generators = Stacked([h.strategy for h in hypernets])

    def embed(self, context: torch.Tensor) -> torch.Tensor:
        """Support sets (S, K, 2) -> every seed's embeddings (seeds, S, e)."""
        return self.encoders(context)

    def weights(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Embeddings (seeds, S, e) -> Θ (seeds, S, P), seed k's generator on embeddings[k]."""
        base = self.generators.base
        return vmap(lambda p, z: functional_call(base, p, (z,)))(self.generators.params, embeddings)


def latent_steps(
    hypernets: StackedHypernets,
    embeddings: torch.Tensor,
    target: MLPTarget,
    supports: Supports,
    steps: int,
    lr: float,
) -> torch.Tensor:
    """Gradient steps on the embeddings (seeds, N, e), each on its task's support set: Θ after.

    LEO's inner loop (after Rusu et al. 2019): adapt the few numbers a generator reads, not the
    weights it writes. Embedding i of each seed belongs to row i of the support groups.
    """
    k = embeddings.shape[0]
    z = embeddings.detach().requires_grad_()
    for _ in range(steps):
        theta = hypernets.weights(z)  # (seeds, N, P), its N in the order of the groups
        groups = theta.split([x.shape[0] // k for x, _ in supports], dim=1)
        loss = support_errors(target, [g.flatten(0, 1) for g in groups], supports).sum()
        (grad,) = torch.autograd.grad(loss, z)
        z = (z - lr * grad).detach().requires_grad_()
    with torch.no_grad():
        return hypernets.weights(z)


@dataclass(frozen=True)
class FewShotResult:
    """Trained methods and their held-out results, for every support size and seed."""

    target: MLPTarget
    seeds: tuple[int, ...]
    recipe: Recipe
    test: Episodes  # held-out tasks: support of max(SUPPORT_SIZES), query points
    grid: torch.Tensor  # (G, 1) where curves are drawn
    truth: torch.Tensor  # (shown, G, 1) true curves of the tasks the dashboard shows
    errors: dict[str, torch.Tensor]  # method -> (seeds, sizes, tasks) query MSE
    curves: dict[str, torch.Tensor]  # method -> (sizes, shown, G): seed 0's predictions
    losses: dict[str, torch.Tensor]  # "hypernet" / "MAML" -> (steps, seeds) meta-training loss
    hypernets: list[HyperNetwork]
    maml_init: torch.Tensor  # (seeds, P)

    def mean_errors(self, method: str) -> torch.Tensor:
        """(seeds, sizes): the query error averaged over the held-out tasks."""
        return self.errors[method].mean(dim=-1)

    def at(self, method: str, support: int) -> torch.Tensor:
        """(seeds,): mean query error of `method` with `support` points per task."""
        return self.mean_errors(method)[:, SUPPORT_SIZES.index(support)]


def adapt_all(
    target: MLPTarget,
    test: Episodes,
    hypernets: Sequence[HyperNetwork],
    maml_init: torch.Tensor,
    seeds: Sequence[int],
    recipe: Recipe,
) -> dict[str, torch.Tensor]:
    """Θ (seeds, sizes, tasks, P) of every method on every held-out task and support size.

    Each method handles every (size, seed, task) in one batch; a task's network from scratch
    starts from the same draw for every support size.
    """
    k, t = len(seeds), test.num_episodes
    episodes = [test.first(n) for n in SUPPORT_SIZES]
    supports = [(e.support_x.repeat(k, 1, 1), e.support_y.repeat(k, 1, 1)) for e in episodes]
    stacked = StackedHypernets(hypernets)
    with torch.no_grad():  # (seeds, sizes · tasks, e): each task seen through K points
        embeddings = torch.cat([stacked.embed(e.context()) for e in episodes], dim=1)
        generated = stacked.weights(embeddings)
    refined = latent_steps(
        stacked, embeddings, target, supports, recipe.latent_steps, recipe.latent_lr
    )
    start = maml_init[:, None].expand(k, t, -1).reshape(k * t, -1)
    starts = [start.clone().requires_grad_() for _ in SUPPORT_SIZES]
    tuned = sgd_steps(target, starts, supports, recipe.fine_tune_steps, recipe.inner_lr)
    draws = [linear_default_weights(target, t, torch.Generator().manual_seed(s)) for s in seeds]
    scratch = [torch.nn.Parameter(torch.cat(draws)) for _ in SUPPORT_SIZES]

    def losses(step: int) -> torch.Tensor:
        return support_errors(target, scratch, supports)

    train_jointly(losses, scratch, recipe.scratch_steps, recipe.scratch_lr, "from scratch")
    shape = (len(SUPPORT_SIZES), k, t, -1)  # (sizes, seeds, ...) -> (seeds, sizes, tasks, P)
    return {
        "hypernet": generated.view(k, len(SUPPORT_SIZES), t, -1),
        "hypernet + latent steps": refined.view(k, len(SUPPORT_SIZES), t, -1),
        "MAML + fine-tuning": torch.stack(tuned).detach().view(shape).transpose(0, 1),
        "from scratch": torch.stack(scratch).detach().view(shape).transpose(0, 1),
    }


def run_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    recipe: Recipe = Recipe(),
    test_tasks: int = 30,
    query_points: int = 100,
    shown: int = 8,
) -> FewShotResult:
    """Meta-train the hypernet and MAML, then adapt every method to `test_tasks` held-out tasks.

    The dashboard's curves are kept for the first `shown` tasks (seed 0).
    """
    for name, value in (("test_tasks", test_tasks), ("query_points", query_points)):
        check_positive_int(name, value)
    if not 1 <= check_positive_int("shown", shown) <= test_tasks:
        raise ValueError(f"shown={shown} is not allowed; use 1 to test_tasks={test_tasks}")
    target = MLPTarget([1, 40, 40, 1])
    support = max(SUPPORT_SIZES)
    test = split_episodes(sinusoid_tasks(test_tasks, support + query_points, seed=1), support)
    steps = 2 * recipe.meta_steps + recipe.scratch_steps
    with single_threaded(), progress_stage(steps, "few-shot learning"):
        hypernets, hypernet_losses = train_hypernets(target, seeds, recipe)
        maml_init, maml_losses = train_maml(target, seeds, recipe)
        theta = adapt_all(target, test, hypernets, maml_init, seeds, recipe)
    grid = dense_grid(200)
    with torch.no_grad():
        errors = {m: query_errors(target, theta[m], test) for m in METHODS}
        curves = {m: target(grid, theta[m][0, :, :shown].flatten(0, 1)) for m in METHODS}
    return FewShotResult(
        target=target,
        seeds=tuple(seeds),
        recipe=recipe,
        test=test,
        grid=grid,
        truth=sinusoid_curve(test.params[:shown], grid),
        errors=errors,
        curves={m: c.view(len(SUPPORT_SIZES), shown, -1) for m, c in curves.items()},
        losses={"hypernet": hypernet_losses, "MAML": maml_losses},
        hypernets=hypernets,
        maml_init=maml_init,
    )
