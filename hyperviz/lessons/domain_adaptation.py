"""Notebook 09, domain adaptation (survey §4): a hypernet writes each domain's classifier head.

The domains are the 8x8 digits turned by an angle (`hyperviz.domains.rotate`). A trunk
pretrained on upright digits is frozen; on top of it (`hyperviz.partial`) three heads compete,
all trained on the same source domains, all seeds as one batch:

- generated: a data-conditioned hypernet reads a set of unlabelled images of a domain and
  writes that domain's linear head (after HyperPADA's `HyperLinear`, Volk et al. 2022);
- shared: one head for every domain (the obvious baseline);
- own: a head per domain trained on that domain's labels (an upper reference, not a rival).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from hyperviz.batched import train_jointly
from hyperviz.checks import check_positive_int, check_positive_number
from hyperviz.domains import Domains, digit_domains, pretrain_upright
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import count_learnable
from hyperviz.partial import PartlyGenerated, StackedParts, run_part, split_mlp
from hyperviz.progress import progress_stage
from hyperviz.stacking import copy_losses
from hyperviz.tables import aligned
from hyperviz.targets import MLPTarget
from hyperviz.training import single_threaded

METHODS = ("generated head", "shared head", "own head")
CLASSES = 10
LOSS = "cross-entropy"


@dataclass(frozen=True)
class Setup:
    """The experiment's knobs: which domains, how long and on how many images each step."""

    source_angles: tuple[int, ...] = tuple(range(0, 360, 30))  # labelled training domains
    angles: tuple[int, ...] = tuple(range(0, 360, 15))  # every domain scored
    steps: int = 400
    lr: float = 5e-3
    per_domain: int = 16  # labelled images of each source domain per step
    own_batch: int = 32  # labelled images per step for each domain's own head
    set_size: int = 32  # unlabelled images of a domain the hypernet reads per step
    hidden: int = 64  # width of the hypernet's body
    pretrain_steps: int = 300

    def __post_init__(self) -> None:
        for name in ("steps", "per_domain", "own_batch", "set_size", "hidden", "pretrain_steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_number("lr", self.lr)
        if 0 not in self.source_angles or not set(self.source_angles) <= set(self.angles):
            raise ValueError(
                f"source_angles={list(self.source_angles)} must include 0 (the pretraining "
                f"domain) and lie among angles={list(self.angles)}"
            )


@dataclass
class DomainResult:
    """Accuracies per seed and domain of every method, and what the dashboard draws."""

    seeds: tuple[int, ...]
    domains: Domains
    source: torch.Tensor  # (A,) bool: a source domain (trained on) or held out
    accuracy: dict[str, torch.Tensor]  # method -> (K, A) on each domain's test images
    class_accuracy: dict[str, torch.Tensor]  # method -> (K, A, 10)
    pretrained: torch.Tensor  # (K, A) the pretrained network (trunk + its upright head)
    heads: torch.Tensor  # (K, A, P) each domain's generated head, from its test images
    cross: torch.Tensor  # (K, A, A): accuracy on domain i of the head generated for domain j
    features: torch.Tensor  # (K, A, N, F) the frozen trunk's features of the test images
    head_target: MLPTarget
    learnable: dict[str, int]  # method -> numbers learned per seed (own head: per domain)
    models: list[PartlyGenerated]  # the trained hypernet models, one per seed
    losses: torch.Tensor  # (steps, copies) training losses
    examples: torch.Tensor = field(init=False)  # (A, 10, 8, 8): a test digit of each class

    def __post_init__(self) -> None:
        x, y = self.domains.x_test, self.domains.y_test
        first = [int((y == c).nonzero()[0]) for c in range(CLASSES)]
        self.examples = x[:, first].unflatten(-1, (8, 8))

    @property
    def angles(self) -> tuple[int, ...]:
        return self.domains.angles

    def mean(self, method: str, held_out: bool = True) -> torch.Tensor:
        """(K,) mean accuracy over the held-out (or the source) domains, per seed."""
        return self.accuracy[method][:, ~self.source if held_out else self.source].mean(dim=1)

    def borrowed(self, offset: int) -> torch.Tensor:
        """(K, A): accuracy on each domain of the head generated for the domain `offset`° on.

        Needs angles evenly spaced around the whole circle (like the default 0, 15, ..., 345).
        """
        count, step = len(self.angles), 360 // len(self.angles)
        if self.angles != tuple(range(self.angles[0], self.angles[0] + 360, step)):
            raise ValueError(f"angles {self.angles} are not evenly spaced around the circle")
        if offset % step:
            raise ValueError(f"offset={offset} is not a multiple of the angles' step {step}°")
        picked = (torch.arange(count) + offset // step) % count  # domain i borrows i + offset
        return self.cross.gather(2, picked.expand(len(self.seeds), -1).unsqueeze(2)).squeeze(2)


def run_experiment(seeds: Sequence[int] = (0, 1, 2), **options) -> DomainResult:
    """Pretrain the trunks, train the three heads on the source angles, score every angle.

    `options` are the fields of `Setup` (source_angles, angles, steps, lr, ...).
    """
    setup = Setup(**options)
    steps = setup.pretrain_steps + setup.steps
    with single_threaded(), progress_stage(steps, "domain adaptation", copies=len(seeds)):
        return _run(list(seeds), setup)  # tiny networks: one thread is as fast


def _run(seeds: list[int], setup: Setup) -> DomainResult:
    domains, a = digit_domains(setup.angles), len(setup.angles)
    source = torch.tensor([angle in setup.source_angles for angle in setup.angles])
    full, thetas = pretrain_upright(seeds, domains, [64, 64, 32, CLASSES], setup.pretrain_steps)
    (trunk, trunk_thetas), (head, _) = split_mlp(full, thetas, layers=2)

    def build(k: int, generated: bool) -> PartlyGenerated:
        hypernets = {}
        if generated:
            hypernets["head"] = HyperNetwork(
                head, "data", data_features=64, hidden=setup.hidden, seed=seeds[k]
            )
        parts, start = {"trunk": trunk, "head": head}, {"trunk": trunk_thetas[k]}
        return PartlyGenerated(parts, hypernets, frozen=("trunk",), weights=start, seed=seeds[k])

    k_range = range(len(seeds))
    hyper = StackedParts([build(k, True) for k in k_range])
    shared = StackedParts([build(k, False) for k in k_range])
    own_heads = StackedParts([build(k, False) for k in k_range for _ in range(a)])
    x_source, n = domains.x_train[source], domains.x_train.shape[1]
    d, b = x_source.shape[0], setup.per_domain
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    sets_generator = torch.Generator().manual_seed(seeds[0])
    domain_rows, all_rows = torch.arange(d).view(d, 1), torch.arange(a).view(a, 1)

    def losses_fn(step: int) -> torch.Tensor:
        picks = torch.stack([torch.randint(n, (d, b), generator=g) for g in generators])
        x, y = x_source[domain_rows, picks], domains.y_train[picks]  # (K, D, b, 64), (K, D, b)
        own = [torch.randint(n, (a, setup.own_batch), generator=g) for g in generators]
        own = torch.stack(own)  # each seed's picks for each domain's own head
        unlabelled = torch.randint(n, (d, setup.set_size), generator=sets_generator)
        sets = x_source[domain_rows, unlabelled]  # each source domain's images, no labels
        return torch.cat(
            [
                copy_losses(hyper(x, sets), y, LOSS),
                copy_losses(shared(x.flatten(1, 2)), y.flatten(1, 2), LOSS),
                copy_losses(
                    own_heads(domains.x_train[all_rows, own].flatten(0, 1)), y_of(own), LOSS
                ),
            ]
        )

    def y_of(picks: torch.Tensor) -> torch.Tensor:
        return domains.y_train[picks].flatten(0, 1)

    stacks = (hyper, shared, own_heads)
    parameters = [p for stack in stacks for p in stack.parameters()]
    losses = train_jointly(losses_fn, parameters, setup.steps, setup.lr, "heads on the sources")
    return _score(seeds, domains, source, (full, thetas), stacks, losses)


@torch.no_grad()
def _score(seeds, domains, source, pretrained, stacks, losses) -> DomainResult:
    """Every method on every domain's test images; the generated heads; the counts."""
    k, a = len(seeds), len(domains.angles)
    hyper, shared, own_heads = stacks
    x, y = domains.x_test, domains.y_test  # (A, N, 64), (N,)
    thetas = hyper.weights(x)  # each domain's head, from all its unlabelled test images
    trunk, head = hyper.model.parts["trunk"], hyper.model.parts["head"]
    features = hyper.model.act(run_part(trunk, x.expand(k, -1, -1, -1), thetas["trunk"]))
    own = own_heads.weights()["head"].unflatten(0, (k, a))  # (K, A, P)
    logits = {
        METHODS[0]: apply_heads(head, thetas["head"], features, "own domain"),
        METHODS[1]: shared(x.flatten(0, 1)).unflatten(1, (a, -1)),
        METHODS[2]: apply_heads(head, own, features, "own domain"),
    }
    scores = {method: _accuracy(values, y) for method, values in logits.items()}
    full, full_thetas = pretrained
    pretrained_logits = full(x.flatten(0, 1), full_thetas).unflatten(1, (a, -1))
    models = hyper.unstack()
    return DomainResult(
        seeds=tuple(seeds),
        domains=domains,
        source=source,
        accuracy={m: s[0] for m, s in scores.items()},
        class_accuracy={m: s[1] for m, s in scores.items()},
        pretrained=_accuracy(pretrained_logits, y)[0],
        heads=thetas["head"],
        cross=_accuracy(apply_heads(head, thetas["head"], features, "every domain"), y)[0],
        features=features,
        head_target=head,
        learnable={
            METHODS[0]: count_learnable(models[0]),
            METHODS[1]: count_learnable(shared.model),
            METHODS[2]: count_learnable(own_heads.model),
        },
        models=models,
        losses=losses,
    )


def apply_heads(
    head: MLPTarget, heads: torch.Tensor, features: torch.Tensor, on: str
) -> torch.Tensor:
    """Linear heads (K, H, P) on features (K, A, N, F): logits (K, A, N, 10) when `on` is
    "own domain" (head h on domain h, H = A), (K, A, H, N, 10) when it is "every domain"."""
    params = head.unflatten(heads.reshape(-1, heads.shape[-1]))
    weight = params["fc0.weight"].unflatten(0, heads.shape[:-1])  # (K, H, 10, F)
    bias = params["fc0.bias"].unflatten(0, heads.shape[:-1])  # (K, H, 10)
    if on == "own domain":
        return torch.einsum("kanf,kacf->kanc", features, weight) + bias.unsqueeze(2)
    return torch.einsum("kanf,khcf->kahnc", features, weight) + bias[:, None, :, None]


def accuracy_by_set_size(
    result: DomainResult, sizes: Sequence[int], draws: int = 4, seed: int = 0
) -> torch.Tensor:
    """(K, len(sizes)): held-out accuracy when each head is written from only k unlabelled
    images of its domain (k in `sizes`; the mean over `draws` random sets of k)."""
    x, y = result.domains.x_test, result.domains.y_test
    a, n = x.shape[:2]
    held = (~result.source).nonzero().squeeze(1)
    stack, generator = StackedParts(result.models), torch.Generator().manual_seed(seed)
    scores = []
    with torch.no_grad(), single_threaded():
        for k in sizes:
            if not 1 <= check_positive_int("sizes[i]", k) <= n:
                raise ValueError(f"set size {k} is not allowed; a domain has 1 to {n} images")
            picks = torch.stack([torch.randperm(n, generator=generator)[:k] for _ in range(draws)])
            sets = x[held][:, picks].flatten(0, 1)  # (held · draws, k, 64)
            heads = stack.weights(sets)["head"].unflatten(1, (len(held), draws))
            features = result.features[:, held].repeat_interleave(draws, dim=1)
            logits = apply_heads(result.head_target, heads.flatten(1, 2), features, "own domain")
            scores.append(_accuracy(logits, y)[0].mean(dim=1))
    return torch.stack(scores, dim=1)


def accuracy_table(result: DomainResult) -> str:
    """Per method: numbers learned, and mean test accuracy (lowest–highest seed) on the
    source and the held-out domains."""

    def cell(values: torch.Tensor) -> str:
        return f"{values.mean():.2f} ({values.min():.2f}-{values.max():.2f})"

    def learned(method: str) -> str:
        per = " per domain" if method == METHODS[2] else ""
        return f"{result.learnable[method]:,}{per}"

    rows = [
        [method, learned(method), cell(result.mean(method, held_out=False)),
         cell(result.mean(method))]
        for method in METHODS
    ]  # fmt: skip
    headers = ["head", "numbers learned", "source domains", "held-out domains"]
    return aligned(headers, rows)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Accuracy over the example axis (second to last of logits) and per class."""
    correct = (logits.argmax(-1) == labels).float()
    one_hot = F.one_hot(labels, CLASSES).float()
    return correct.mean(-1), (correct @ one_hot) / one_hot.sum(0)
