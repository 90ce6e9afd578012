"""A recurrent main network and a recurrent hypernet that rescales its weights at every step.

After Ha, Dai and Le, *HyperNetworks* (ICLR 2017), §3.2 (HyperRNN): a small RNN, the hypernet,
reads the main RNN's input and state at each time step and emits embeddings z_t; linear maps
turn them into vectors d_t that scale the rows of the main RNN's weight matrices,

    h_t = tanh(d_x(z_t) ⊙ (W_x x_t) + d_h(z_t) ⊙ (W_h h_{t-1}) + b + b(z_t)),

which is W(z_t) = diag(d(z_t)) · W without building a matrix per step. HyperLSTM does the same
to each of an LSTM's four gates. Every weight has a leading copy axis (one copy per seed), so K
runs are one batch (`hyperviz.batched.train_jointly` trains them with one Adam).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from hyperviz.checks import check_positive_int, check_seed

SCALES = ("x", "h", "bias")  # what the hypernet emits per step: d_x, d_h and a bias shift


@dataclass(frozen=True)
class SequenceRun:
    """A forward pass over sequences: K copies × B sequences × T steps."""

    outputs: torch.Tensor  # (K, B, T, output_size)
    hidden: torch.Tensor  # (K, B, T, hidden_size): the main RNN's states h_1 ... h_T
    scales: dict[str, torch.Tensor] = field(default_factory=dict)  # SCALES -> (K, B, T, H)


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """`seeds` as a non-empty tuple of valid seeds, one per copy."""
    if isinstance(seeds, int | str) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(f"seeds must be a non-empty sequence of ints (one per copy), got {seeds!r}")
    return tuple(check_seed("seeds", seed) for seed in seeds)


def uniform_copies(
    generators: Sequence[torch.Generator], shape: tuple[int, ...], bound: float
) -> nn.Parameter:
    """One U(-bound, bound) draw of `shape` per generator, stacked: (K, *shape)."""
    draws = [(torch.rand(shape, generator=g) * 2 - 1) * bound for g in generators]
    return nn.Parameter(torch.stack(draws))


def check_sequences(x: object, copies: int, input_size: int) -> torch.Tensor:
    """`x` if it is a finite float tensor (copies, batch, steps, input_size), else raise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    wanted = f"(copies={copies}, batch, steps, input_size={input_size})"
    if x.dim() != 4 or x.shape[0] != copies or x.shape[3] != input_size or 0 in x.shape:
        raise ValueError(f"x has shape {tuple(x.shape)}; sequences must have shape {wanted}")
    if not x.is_floating_point() or not torch.isfinite(x).all():
        raise ValueError(f"x must hold finite floats, got dtype {x.dtype} with NaN or inf values")
    return x


class TanhRNN(nn.Module):
    """K tanh RNNs with a linear readout, one per seed: h_t = tanh(W_x x_t + W_h h_{t-1} + b).

    Weights start as `torch.nn.RNN`'s do, U(±1/√hidden), drawn from each copy's own seed, so a
    copy does not depend on which other seeds share its batch.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int = 1,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.output_size = check_positive_int("output_size", output_size)
        self.seeds = check_seeds(seeds)
        gens = [torch.Generator().manual_seed(seed) for seed in self.seeds]
        bound = 1 / math.sqrt(hidden_size)
        self.w_x = uniform_copies(gens, (input_size, hidden_size), bound)
        self.w_h = uniform_copies(gens, (hidden_size, hidden_size), bound)
        self.bias = uniform_copies(gens, (1, hidden_size), bound)
        self.w_out = uniform_copies(gens, (hidden_size, output_size), bound)
        self.b_out = uniform_copies(gens, (1, output_size), bound)

    @property
    def copies(self) -> int:
        return len(self.seeds)

    def forward(self, x: torch.Tensor, hypernet: ScalingHypernet | None = None) -> SequenceRun:
        """Run over x (K, B, T, input_size); with a `hypernet`, its d_t rescale W_x and W_h."""
        check_sequences(x, self.copies, self.input_size)
        if hypernet is not None and (hypernet.copies, hypernet.hidden_size) != (
            self.copies,
            self.hidden_size,
        ):
            raise ValueError(
                f"the hypernet has {hypernet.copies} copies for hidden size "
                f"{hypernet.hidden_size}; this RNN has {self.copies} for {self.hidden_size}"
            )
        K, B, T, _ = x.shape
        # W_x x_t for every step at once; only the recurrence needs the loop over time.
        inputs = torch.bmm(x.reshape(K, B * T, -1), self.w_x).reshape(K, B, T, -1)
        h = x.new_zeros(K, B, self.hidden_size)
        states, emitted = [], []
        if hypernet is None:
            for inputs_t in (inputs + self.bias.unsqueeze(2)).unbind(dim=2):
                h = torch.tanh(torch.baddbmm(inputs_t, h, self.w_h))
                states.append(h)
        else:
            steps = hypernet.start(x)
            for inputs_t in inputs.unbind(dim=2):
                recurrent = torch.bmm(h, self.w_h)
                d = steps.next(h)  # (K, B, 3 H): d_x, d_h and the bias shift, side by side
                d_x, d_h, shift = d.split(self.hidden_size, dim=-1)
                mixed = torch.addcmul(torch.addcmul(shift, d_h, recurrent), d_x, inputs_t)
                h = torch.tanh(mixed + self.bias)
                states.append(h)
                emitted.append(d)
        hidden = torch.stack(states, dim=2)
        outputs = torch.baddbmm(self.b_out, hidden.reshape(K, B * T, -1), self.w_out)
        scales = {}
        if emitted:
            parts = torch.stack(emitted, dim=2).split(self.hidden_size, dim=-1)
            scales = dict(zip(SCALES, parts, strict=True))
        return SequenceRun(outputs.reshape(K, B, T, -1), hidden, scales)


class ScalingHypernet(nn.Module):
    """K small tanh RNNs that read [x_t; h_{t-1}] and emit d_x, d_h and a bias shift per step.

    After Ha et al. 2017, §3.2: ĥ_t = tanh(Ŵ [x_t; h_{t-1}] + Û ĥ_{t-1} + b̂); three
    embeddings z = W_z ĥ_t + b_z of `embedding_size` numbers each (from ĥ_t, as the paper's
    text and the authors' code have it; its Eq. 6 writes ĥ_{t-1}); d_x = P_x z_x,
    d_h = P_h z_h, shift = P_b z_b. At the start d ≡ 1 and shift ≡ 0 (W_z = 0, b_z = 1,
    P = 1/embedding_size; the bias path as in the authors' code): the main RNN unchanged.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        hyper_size: int = 8,
        embedding_size: int = 4,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.hyper_size = check_positive_int("hyper_size", hyper_size)
        self.embedding_size = check_positive_int("embedding_size", embedding_size)
        self.seeds = check_seeds(seeds)
        # Another stream than the main RNN's: the same seed must not draw the same numbers.
        gens = [torch.Generator().manual_seed(seed + 7919) for seed in self.seeds]
        K, bound, n = len(self.seeds), 1 / math.sqrt(hyper_size), embedding_size
        self.w_in = uniform_copies(gens, (input_size + hidden_size, hyper_size), bound)
        self.w_rec = uniform_copies(gens, (hyper_size, hyper_size), bound)
        self.bias = uniform_copies(gens, (1, hyper_size), bound)
        z_bias = torch.zeros(K, 1, 3, n)
        z_bias[:, :, :2] = 1.0  # z_x = z_h = 1 at the start, so d_x = d_h = 1
        z_weight = torch.zeros(K, hyper_size, 3, n)
        z_weight[:, :, 2] = torch.stack(
            [0.01 * torch.randn(hyper_size, n, generator=g) for g in gens]
        )
        self.z_weight = nn.Parameter(z_weight.reshape(K, hyper_size, 3 * n))
        self.z_bias = nn.Parameter(z_bias.reshape(K, 1, 3 * n))
        projection = torch.full((K, 3, n, hidden_size), 1 / n)
        projection[:, 2] = 0.0  # the bias shift starts at 0
        self.projection = nn.Parameter(projection)

    @property
    def copies(self) -> int:
        return len(self.seeds)

    def emission(self) -> tuple[torch.Tensor, torch.Tensor]:
        """ĥ_t -> [d_x, d_h, shift] as one linear map: weight (K, hyper, 3 H), bias (K, 1, 3 H).

        z = W_z ĥ_t + b_z, then d_j = P_j z_j; their product is computed once per forward.
        """
        K, n = self.copies, self.embedding_size
        z_weight = self.z_weight.reshape(K, self.hyper_size, 3, n).transpose(1, 2)
        z_bias = self.z_bias.reshape(K, 1, 3, n).transpose(1, 2)
        weight = torch.matmul(z_weight, self.projection)  # (K, 3, hyper, H)
        bias = torch.matmul(z_bias, self.projection)  # (K, 3, 1, H)
        return torch.cat(weight.unbind(1), dim=-1), torch.cat(bias.unbind(1), dim=-1)

    def start(self, x: torch.Tensor) -> HyperSteps:
        """Steps of this hypernet over sequences x (K, B, T, input_size), from a zero state."""
        return HyperSteps(self, x)


class HyperSteps:
    """The hypernet running beside the main RNN: `next(h_{t-1})` gives d_t for step t."""

    def __init__(self, hypernet: ScalingHypernet, x: torch.Tensor) -> None:
        K, B, T, inputs = x.shape
        net = self.hypernet = hypernet
        # Ŵ = [Ŵ_x | Ŵ_h] reads [x_t; h_{t-1}]: the x_t half for every step at once.
        w_x, self.w_h = net.w_in[:, :inputs], net.w_in[:, inputs:]
        reads = torch.baddbmm(net.bias, x.reshape(K, B * T, inputs), w_x).reshape(K, B, T, -1)
        self.reads = iter(reads.unbind(dim=2))  # Ŵ_x x_t + b̂ for every step at once
        self.weight, self.bias = net.emission()
        self.state = x.new_zeros(K, B, net.hyper_size)

    def next(self, h: torch.Tensor) -> torch.Tensor:
        """d_t from [x_t; h_{t-1}] and the hypernet's own state: (K, B, 3 H)."""
        reads = torch.baddbmm(next(self.reads), h, self.w_h)
        self.state = torch.tanh(torch.baddbmm(reads, self.state, self.hypernet.w_rec))
        return torch.baddbmm(self.bias, self.state, self.weight)


class HyperRNN(nn.Module):
    """A main `TanhRNN` whose weights a `ScalingHypernet` rescales at every step (K copies)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int = 1,
        hyper_size: int = 8,
        embedding_size: int = 4,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__()
        self.main = TanhRNN(input_size, hidden_size, output_size, seeds)
        self.hypernet = ScalingHypernet(input_size, hidden_size, hyper_size, embedding_size, seeds)

    @property
    def copies(self) -> int:
        return self.main.copies

    def forward(self, x: torch.Tensor) -> SequenceRun:
        """Run over x (K, B, T, input_size); the run's `scales` hold every step's d_t."""
        return self.main(x, self.hypernet)


def parameters_per_copy(model: nn.Module) -> int:
    """Learnable numbers of one copy (one seed's model) of a stacked model."""
    copies = getattr(model, "copies", None)
    if not isinstance(copies, int):
        raise TypeError(f"model must be a TanhRNN or HyperRNN, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters()) // copies


def tanh_rnn_size(input_size: int, hidden_size: int, output_size: int = 1) -> int:
    """Learnable numbers of one `TanhRNN`: W_x, W_h, b, and the readout."""
    check_positive_int("input_size", input_size)
    check_positive_int("hidden_size", hidden_size)
    check_positive_int("output_size", output_size)
    return hidden_size * (input_size + hidden_size + 1) + output_size * (hidden_size + 1)


def matching_hidden_size(parameters: int, input_size: int, output_size: int = 1) -> int:
    """The `TanhRNN` hidden size whose count of learnable numbers is closest to `parameters`."""
    check_positive_int("parameters", parameters)
    size = 1
    while tanh_rnn_size(input_size, size + 1, output_size) <= parameters:
        size += 1
    above = tanh_rnn_size(input_size, size + 1, output_size) - parameters
    below = parameters - tanh_rnn_size(input_size, size, output_size)
    return size + 1 if above < below else size
