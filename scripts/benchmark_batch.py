"""Benchmark sections on batching (issue 9), registered in benchmark.py's SECTIONS.

hypnettorch: hyperviz beside hypnettorch's ChunkedHMLP on one task-conditioned chunk-wise
workload for S tasks, with the FLOP bound from the shapes and this machine's measured
batched-matmul rate. seeds: K seeds trained as one batch (`fit_seeds`) vs K `fit` runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from benchmark import markdown_table

import hyperviz as hv
from hyperviz.training import single_threaded

SIZES, CHUNK, EMBEDDING, HIDDEN, INPUTS = [1, 64, 64, 1], 256, 8, 32, 128
TASKS = (1, 16, 256, 1024)


def interleaved_ms(fns: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict:
    """Median, min and max wall time (ms) of each callable, timed in turn `rounds` times.

    Each round calls each callable `calls` times (after one untimed call), so that all see
    the same background load.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: (statistics.median(t), min(t), max(t)) for name, t in times.items()}


def spread(stats: tuple[float, float, float]) -> str:
    """'median (min–max)' in ms."""
    median, low, high = stats
    return f"{median:.2f} ({low:.2f}–{high:.2f})"


def workload_flops(tasks: int) -> float:
    """Multiply-adds ×2 of one forward: the hypernet's chunk tokens and the target on its inputs."""
    target = hv.MLPTarget(SIZES)
    chunks = -(-target.num_params // CHUNK)
    body = (2 * EMBEDDING) * HIDDEN + HIDDEN * HIDDEN + HIDDEN * CHUNK
    mlp = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:], strict=True))
    return 2.0 * tasks * (chunks * body + INPUTS * mlp)


def matmul_gflops() -> float:
    """This machine's batched-matmul rate on the target's largest product, (256, 128, 64)²."""
    a, b = torch.randn(256, INPUTS, 64), torch.randn(256, 64, 64)
    stats = interleaved_ms({"bmm": lambda: torch.bmm(a, b)}, rounds=5, calls=10)["bmm"]
    return 2 * 256 * INPUTS * 64 * 64 / (stats[1] * 1e6)  # the fastest call: the rate


def hyperviz_model(tasks: int) -> tuple[torch.nn.Module, Callable]:
    target = hv.MLPTarget(SIZES)
    hypernet = hv.HyperNetwork(
        target,
        conditioning="task",
        strategy="chunk-wise",
        chunk_size=CHUNK,
        chunk_embedding_dim=EMBEDDING,
        embedding_dim=EMBEDDING,
        hidden=HIDDEN,
        num_tasks=tasks,
        seed=0,
    )
    ids = torch.arange(tasks)
    return hypernet, lambda x: target(x, hypernet(ids))


def hypnettorch_model(tasks: int) -> tuple[torch.nn.Module, Callable]:
    from hypnettorch.hnets import ChunkedHMLP
    from hypnettorch.mnets import MLP

    mnet = MLP(n_in=1, n_out=1, hidden_layers=SIZES[1:-1], no_weights=True, verbose=False)
    hnet = ChunkedHMLP(
        mnet.param_shapes,
        chunk_size=CHUNK,
        layers=[HIDDEN, HIDDEN],
        cond_in_size=EMBEDDING,
        chunk_emb_size=EMBEDDING,
        cond_chunk_embs=False,
        num_cond_embs=tasks,
        verbose=False,
    )
    ids = list(range(tasks))

    def forward(x: torch.Tensor) -> torch.Tensor:
        weights = hnet(cond_id=ids, ret_format="sequential")
        return torch.stack([mnet.forward(x[s], weights=w) for s, w in enumerate(weights)])

    return hnet, forward


def step_fn(model: torch.nn.Module, forward: Callable, x, y) -> Callable[[], None]:
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(forward(x), y).backward()
        optimiser.step()

    return step


def hypnettorch_row(tasks: int, rate: float) -> list:
    """One row: forward and step times of both libraries for S = `tasks`, ratios, bound."""
    x = torch.rand(tasks, INPUTS, 1) * 10 - 5
    y = torch.sin(x)
    ours, ours_forward = hyperviz_model(tasks)
    theirs, theirs_forward = hypnettorch_model(tasks)
    counts = [sum(p.numel() for p in m.parameters()) for m in (ours, theirs)]
    assert counts[0] == counts[1] == 10_192 + 8 * tasks, counts
    with torch.no_grad():
        assert ours_forward(x).shape == theirs_forward(x).shape
    rounds, calls = (5, 20) if tasks <= 16 else (5, 3)
    fwd = interleaved_ms(
        {"ours": lambda: ours_forward(x), "theirs": lambda: theirs_forward(x)}, rounds, calls
    )
    steps = interleaved_ms(
        {
            "ours": step_fn(ours, ours_forward, x, y),
            "theirs": step_fn(theirs, theirs_forward, x, y),
        },
        rounds,
        calls,
    )
    bound = workload_flops(tasks) / (rate * 1e6)  # ms
    return [
        tasks,
        spread(fwd["theirs"]),
        spread(fwd["ours"]),
        fwd["theirs"][0] / fwd["ours"][0],
        fwd["ours"][0] / bound,
        spread(steps["theirs"]),
        spread(steps["ours"]),
        steps["theirs"][0] / steps["ours"][0],
        steps["ours"][0] / (3 * bound),
    ]


def hypnettorch_section() -> str:
    """Forward and train-step time of hyperviz and hypnettorch per S; ratios; FLOP bound."""
    try:
        import hypnettorch  # noqa: F401
    except ImportError:
        return (
            "Skipped: hypnettorch is not installed. Install it without its pinned "
            "dependencies: `.venv/bin/pip install --no-deps hypnettorch`."
        )
    rate = matmul_gflops()
    rows = [hypnettorch_row(tasks, rate) for tasks in TASKS]
    headers = (
        "S",
        "hypnettorch forward (ms)",
        "hyperviz forward (ms)",
        "speed-up",
        "× bound",
        "hypnettorch step (ms)",
        "hyperviz step (ms)",
        "speed-up",
        "× bound",
    )
    return (
        f"Task-conditioned chunk-wise hypernet (chunk {CHUNK}, embeddings {EMBEDDING}, body "
        f"{HIDDEN}-{HIDDEN}) for an MLP {'-'.join(map(str, SIZES))}, {INPUTS} inputs per task, "
        "S tasks; 10,192 + 8·S learnable numbers in both. hypnettorch generates with "
        "`ChunkedHMLP` and evaluates its `MLP` once per task; hyperviz evaluates all S at once. "
        "A step is forward, MSE, backward and Adam. Times: median (min–max) of interleaved "
        "calls. Bound: the shapes' FLOPs (forward; ×3 for a step) at this machine's "
        f"batched-matmul rate, {rate:.0f} GFLOP/s; S = 256 forward: "
        f"{workload_flops(256) / 1e9:.2f} GFLOP.\n\n" + markdown_table(headers, rows)
    )


def seeds_row(name: str, make, lr: float, x, y, seeds: int, steps: int, rounds: int) -> list:
    """One row of the seeds table: one seed, `seeds` batched, `seeds` looped."""
    options = {"steps": steps, "lr": lr, "progress": False}
    stats = interleaved_ms(
        {
            "one": lambda make=make: hv.fit(make(0), x, y, **options),
            "batched": lambda make=make: hv.fit_seeds(make, range(seeds), x, y, **options),
            "looped": lambda make=make: [hv.fit(make(s), x, y, **options) for s in range(seeds)],
        },
        rounds,
        calls=1,
    )
    one, batched, looped = stats["one"][0], stats["batched"][0], stats["looped"][0]
    return [
        name,
        spread(stats["one"]),
        spread(stats["batched"]),
        spread(stats["looped"]),
        batched / one,
        looped / batched,
    ]


def seeds_section(seeds: int = 5, steps: int = 300, rounds: int = 3) -> str:
    """Notebook 01's two models: `seeds` seeds in one `fit_seeds` batch vs one seed and a loop."""
    task = hv.sinusoid_tasks(num_tasks=1, num_points=30, seed=1)
    x, y = task.x[0], task.y[0]
    target = hv.MLPTarget([1, 40, 40, 1])

    def hyper(seed: int) -> hv.HyperDNN:
        return hv.HyperDNN(
            hv.HyperNetwork(target, strategy="chunk-wise", chunk_size=256, seed=seed)
        )

    models = {"DNN": (lambda seed: hv.DNN(target, seed=seed), 3e-3), "HyperDNN": (hyper, 1e-3)}
    with single_threaded():
        rows = [
            seeds_row(name, make, lr, x, y, seeds, steps, rounds)
            for name, (make, lr) in models.items()
        ]
    headers = (
        "Model",
        "1 seed (ms)",
        f"{seeds} seeds batched (ms)",
        f"{seeds} seeds looped (ms)",
        "batched / 1 seed",
        "speed-up vs loop",
    )
    return (
        f"Notebook 01's models on its task (30 points): {steps} Adam steps of one seed "
        f"(`fit`), of {seeds} seeds in one batch (`fit_seeds`) and of {seeds} `fit` runs in "
        f"a loop; median (min–max) of {rounds} interleaved rounds, one torch thread.\n\n"
        + markdown_table(headers, rows)
    )


# --- batched vs looped: many generated networks, one call or a loop --------------------------

LOOP_CASES = (  # (target sizes, inputs per network): notebook-sized to the largest here
    ([1, 16, 16, 1], 20),
    ([1, 40, 40, 1], 200),
    ([1, 64, 64, 1], 200),
)


def mlp_flops(sizes: list[int], inputs: int) -> float:
    """Multiply-adds ×2 of one MLP forward on `inputs` examples."""
    return 2.0 * inputs * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def loop_paths(target, hypernet, x, z, theta) -> dict[str, Callable[[], object]]:
    """Θ given, or generated from the noise z: all networks in one call, or one by one."""
    return {
        "eval batched": lambda: target(x, theta),
        "eval looped": lambda: [target(x, t) for t in theta],
        "gen batched": lambda: target(x, hypernet.strategy(z)),
        "gen looped": lambda: [
            target(x, hypernet.strategy(z[i : i + 1])[0]) for i in range(len(z))
        ],
    }


def loop_rows(samples: int, rate: float, rounds: int) -> tuple[list, float]:
    """Per case: Θ given (evaluation) and Θ generated too, batched vs a loop, and the bound."""
    rows, worst_diff = [], 0.0
    for sizes, inputs in LOOP_CASES:
        hv.seed_everything(0)
        target = hv.MLPTarget(sizes)
        hypernet = hv.HyperNetwork(target, conditioning="noise", strategy="one-shot")
        x = torch.linspace(-5, 5, inputs).unsqueeze(1)
        z = hypernet.embed(samples, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            theta = hypernet.strategy(z)  # (S, P): the same Θ for both paths
            worst_diff = max(
                worst_diff,
                (target(x, theta) - torch.stack([target(x, t) for t in theta])).abs().max().item(),
            )
            fns = loop_paths(target, hypernet, x, z, theta)
            stats = interleaved_ms(fns, rounds=rounds, calls=1)
        bound = samples * mlp_flops(sizes, inputs) / (rate * 1e6)  # ms, evaluation only
        name = f"{'-'.join(map(str, sizes))}, {inputs} inputs"
        for what in ("eval", "gen"):
            batched, looped = stats[f"{what} batched"][0], stats[f"{what} looped"][0]
            kind = "evaluate Θ" if what == "eval" else "generate Θ and evaluate"
            rows.append(
                [name, kind, spread(stats[f"{what} batched"]), spread(stats[f"{what} looped"]),
                 looped / batched, looped / bound]
            )  # fmt: skip
    return rows, worst_diff


def loop_section(samples: int = 256, rounds: int = 7) -> str:
    """`samples` networks in one batched call vs a Python loop of calls, per network size."""
    torch.set_num_threads(2)
    rate = matmul_gflops()
    rows, diff = loop_rows(samples, rate, rounds)
    headers = ("MLP target", "work", "batched (ms)", "looped (ms)", "speed-up",
               "most a batch could gain")  # fmt: skip
    return (
        f"{samples} noise-conditioned one-shot networks, under torch.no_grad: the same Θ "
        f"evaluated in one call or in a loop of {samples} calls, and Θ generated too (one call, "
        f"or one generation and evaluation per network). Median (min–max) of {rounds} "
        f"interleaved rounds. *Most a batch could gain*: the loop's time over the batch's FLOP "
        f"bound (the evaluation's FLOPs at this machine's batched-matmul rate, {rate:.0f} "
        "GFLOP/s): no batched call can beat that ratio.\n\n"
        + markdown_table(headers, rows)
        + f"\n\nMax abs difference between batched and looped outputs: {diff:.1e}."
    )
