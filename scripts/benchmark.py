"""Benchmarks of the course, printed as Markdown tables (`make bench`).

Usage: .venv/bin/python scripts/benchmark.py [--only SECTION] [--out FILE]
Sections: notebooks (run time, kernel peak RSS and size of each notebook, and the update
latency of every dashboard it builds), batched (256 generated networks in one vmapped call
vs a Python loop), training (step time of a DNN and of a HyperDNN per output strategy),
explorer (update latency of notebook 03's strategy explorer over its whole grid),
hypnettorch (hyperviz beside hypnettorch's ChunkedHMLP for S tasks, and the FLOP bound), seeds
(K seeds trained in one batch vs a loop); these two live in benchmark_batch.py; walk (memory
of every notebook run in order in one JupyterLab, no kernel shut down: benchmark_walk.py). Add a
section by appending a function to `SECTIONS`; `latency_row` times a callable (e.g. a
widget update) against the 100 ms budget.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

import hyperviz as hv
from hyperviz.viz.latency import percentile

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIME_BUDGET_S, RSS_BUDGET_MB, FILE_BUDGET_MB = 30.0, 1500.0, 2.0  # MB = 10^6 bytes
LATENCY_BUDGET_MS = 100.0
# Peak RSS of the kernel in KiB: VmHWM, the high-water mark of its own address space. (Not
# ru_maxrss: on Linux it also counts the RSS of the forked parent, i.e. of this script.)
PEAK_RSS_CODE = """\
import pathlib, resource, sys
status = pathlib.Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else []
hwm = [line.split()[1] for line in lines if line.startswith("VmHWM")]
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB elsewhere
print(hwm[0] if hwm else maxrss // 1024 if sys.platform == "darwin" else maxrss)
"""
# Every dashboard the notebook left in its namespace, each control swept through its values.
LATENCY_CODE = """\
import json
from hyperviz.viz.latency import namespace_latencies
print(json.dumps([[l.name, len(l.times_ms), l.p50, l.p95, l.failed]
                  for l in namespace_latencies(globals())]))
"""
SIZES = [1, 64, 64, 1]
STRATEGY_NAMES = ("one-shot", "multi-head", "chunk-wise", "component-wise")


def format_cell(value: object, floatfmt: str) -> str:
    """A table cell: ints with thousands separators, floats with `floatfmt`, "|" escaped."""
    if isinstance(value, float):
        return format(value, floatfmt)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], floatfmt: str = ".2f"
) -> str:
    """A Markdown table; columns of numbers are right-aligned."""
    align = ["---:" if isinstance(v, int | float) else "---" for v in rows[0]] if rows else []
    lines = [headers, align or ["---"] * len(headers)]
    lines += [[format_cell(v, floatfmt) for v in row] for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def time_ms(fn: Callable[[], object], n: int, warmup: int = 1) -> list[float]:
    """Wall times (ms) of n calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def mark(ok: bool) -> str:
    """✓ or ✗."""
    return "✓" if ok else "✗"


# --- latency of interactive updates (used by widget benchmarks) ------------------------------

LATENCY_HEADERS = ("Update", "Calls", "p50 (ms)", "p95 (ms)", f"≤ {LATENCY_BUDGET_MS:.0f} ms")


def latency_row(name: str, update_fn: Callable[[], object], n: int = 50) -> list[object]:
    """One row of LATENCY_HEADERS: p50/p95 ms of n calls of `update_fn` and its p95 verdict."""
    times = time_ms(update_fn, n)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    return [name, n, p50, p95, mark(p95 <= LATENCY_BUDGET_MS)]


# --- 1. notebooks ----------------------------------------------------------------------------


def run_notebook(path: Path) -> tuple[float, float, list[list]]:
    """Execute `path` in a fresh kernel (cwd notebooks/): cell time in s, kernel peak RSS in MB,
    and one [name, updates, p50 ms, p95 ms, failed] row per dashboard it built.

    Kernel start-up is not timed. Two last cells, added in memory only, read the kernel's own
    peak RSS (VmHWM, in KiB) and then sweep every dashboard's controls. Nothing is written back.
    """
    import json

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        store_widget_state=False,
    )
    client.reset_execution_trackers()
    probes = [nbformat.v4.new_code_cell(code) for code in (PEAK_RSS_CODE, LATENCY_CODE)]
    with client.setup_kernel():
        client.wait_for_reply(client.kc.kernel_info())  # kernel ready before the clock starts
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        for probe in probes:
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
    rss_text, latency_text = (
        "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
        for probe in probes
    )
    return seconds, int(rss_text.split()[-1]) * 1024 / 1e6, json.loads(latency_text)


def notebooks_section() -> str:
    """Run time, kernel peak RSS and stored size of every notebook, against the budgets."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        return f"No notebooks in {NOTEBOOKS.name}/ yet."
    rows, latency_rows = [], []
    for path in paths:
        size_mb = path.stat().st_size / 1e6
        size = f"{size_mb:.2f} MB / {FILE_BUDGET_MB:g} MB"
        try:
            seconds, rss_mb, latencies = run_notebook(path)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            name = getattr(error, "ename", type(error).__name__)
            reason = f"{name}: {getattr(error, 'evalue', '')}".removesuffix(": ")[:60]
            rows.append([path.name, "failed", "—", size, f"✗ {reason}"])
            continue
        over = [
            name
            for name, value, budget in [
                ("time", seconds, TIME_BUDGET_S),
                ("memory", rss_mb, RSS_BUDGET_MB),
                ("size", size_mb, FILE_BUDGET_MB),
            ]
            if value > budget
        ]
        for name, updates, p50, p95, failed in latencies:
            ok = p95 <= LATENCY_BUDGET_MS and not failed
            verdict = mark(ok) + (f" {failed} updates failed" if failed else "")
            latency_rows.append([path.stem[:2], name, updates, p50, p95, verdict])
        rows.append(
            [
                path.name,
                f"{seconds:.1f} s / {TIME_BUDGET_S:g} s",
                f"{rss_mb:.0f} MB / {RSS_BUDGET_MB / 1000:g} GB",
                size,
                "✗ " + ", ".join(over) if over else "✓",
            ]
        )
    headers = ("Notebook", "Run time / budget", "Kernel peak RSS / budget", "File / budget", "OK")
    latency_headers = ("Notebook", "Dashboard", *LATENCY_HEADERS[1:])
    return (
        markdown_table(headers, rows)
        + "\n\nRun time: all cells, kernel start-up excluded.\n\n"
        + "### Dashboard latency\n\nEvery dashboard each notebook builds, in its kernel after "
        "the last cell: each control set to each of its values in turn, twice "
        "(`hyperviz.viz.latency.sweep_latencies`). One update = `dashboard.set(...)`: recompute, "
        "redraw the live figure, new status line (Python side; the browser's drawing comes on "
        "top). A free text box is re-set to its value.\n\n"
        + markdown_table(latency_headers, latency_rows, floatfmt=".1f")
    )


# --- 2. batched vs looped --------------------------------------------------------------------


def batched_section() -> str:
    """Many generated networks in one batched call vs a Python loop, per network size."""
    from benchmark_batch import loop_section

    return loop_section()


# --- 3. training step time -------------------------------------------------------------------


def step_time_ms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, context) -> list[float]:
    """Step times (ms) of 100 Adam steps of `model` on (x, y), the first 10 dropped."""
    history = hv.fit(model, x, y, context=context, steps=100, progress=False)
    return [t * 1000 for t in history.step_time[10:]]


def training_section() -> str:
    """Median training step time of a DNN and of a task-conditioned HyperDNN per strategy."""
    hv.seed_everything(0)
    target = hv.MLPTarget(SIZES)
    tasks = hv.sinusoid_tasks(num_tasks=8, num_points=20)
    runs: list[tuple[str, torch.nn.Module, torch.Tensor, torch.Tensor, object, int]] = [
        ("DNN", hv.DNN(target), tasks.x[0], tasks.y[0], None, 1)
    ]
    for strategy in STRATEGY_NAMES:
        hypernet = hv.HyperNetwork(
            target, conditioning="task", strategy=strategy, body="mlp", num_tasks=tasks.num_tasks
        )
        model = hv.HyperDNN(hypernet)
        runs.append((f"HyperDNN {strategy}", model, tasks.x, tasks.y, torch.arange(8), 8))
    rows = []
    for name, model, x, y, context, networks in runs:
        times = step_time_ms(model, x, y, context)
        median, p95 = statistics.median(times), percentile(times, 95)
        rows.append([name, hv.count_learnable(model), networks, median, p95])
    headers = ("Model (MLP body)", "Learnable", "Networks / step", "Median (ms)", "p95 (ms)")
    return (
        f"MLPTarget({SIZES}), P = {target.num_params:,}; sinusoid tasks, 20 points each; "
        "hyperviz.fit, 100 steps, first 10 skipped. The DNN fits one task, each HyperDNN "
        "all 8 at once.\n\n" + markdown_table(headers, rows)
    )


# --- strategy explorer latency (notebook 03) -------------------------------------------------


def explorer_section() -> str:
    """p50/p95 of StrategyExplorer.set() cycling through its trained grid, as in notebook 03."""
    import itertools

    from hyperviz.lessons.output_based import VARIANTS, train_grid
    from hyperviz.lessons.output_based_dashboard import StrategyExplorer

    tasks = hv.sinusoid_tasks(num_tasks=4, num_points=20, seed=0)
    start = time.perf_counter()
    results = train_grid(  # the notebook's grid: 3 widths, 3 chunk sizes, 2 embeddings
        tasks, widths=(8, 16, 32), chunk_sizes=(16, 64, 256), embedding_dims=(2, 8), steps=100
    )
    build_s = time.perf_counter() - start
    explorer = StrategyExplorer(results)
    grid = [
        {"strategy": s, "chunk_size": c, "embedding_dim": e, "width": w}
        for s, c, e, w in itertools.product(
            VARIANTS, explorer.chunk_sizes, explorer.embedding_dims, explorer.widths
        )
    ]
    settings, strategies = itertools.cycle(grid), itertools.cycle(VARIANTS)

    def checked(ok: bool) -> None:
        if not ok:
            raise RuntimeError(f"explorer update failed: {explorer.status_text()}")

    def bad_value() -> None:
        if explorer.set(chunk_size=0):
            raise RuntimeError("chunk_size=0 was accepted")

    rows = [
        latency_row(
            "every control: next setting of the grid",
            lambda: checked(explorer.set(**next(settings))),
            n=len(grid),
        ),  # fmt: skip
        latency_row(
            "strategy dropdown only", lambda: checked(explorer.set(strategy=next(strategies)))
        ),  # fmt: skip
        latency_row("bad value (chunk size 0): error shown", bad_value),
    ]
    return (
        f"StrategyExplorer on 4 sinusoid tasks: {len(explorer.results)} settings trained by "
        f"`train_grid` in {build_s:.1f} s (100 steps each, one torch thread). Each update is "
        "`explorer.set(...)`: look up the trained result, redraw the FigureWidget (Python side; "
        "the browser's drawing comes on top).\n\n"
        + markdown_table(LATENCY_HEADERS, rows, floatfmt=".1f")
    )


# --- report ----------------------------------------------------------------------------------


def hypnettorch_section() -> str:
    """hyperviz beside hypnettorch's ChunkedHMLP per number of tasks S, and the FLOP bound."""
    from benchmark_batch import hypnettorch_section as section

    return section()


def seeds_section() -> str:
    """K seeds of notebook 01's models trained as one batch vs one seed and a loop."""
    from benchmark_batch import seeds_section as section

    return section()


def walk_section() -> str:
    """Every notebook in order in one JupyterLab, no kernel shut down: memory."""
    from benchmark_walk import walk_section as section

    return section()


SECTIONS: dict[str, tuple[str, Callable[[], str]]] = {
    "notebooks": ("Notebooks", notebooks_section),
    "batched": ("Batched vs looped", batched_section),
    "training": ("Training step time", training_section),
    "explorer": ("Strategy explorer latency", explorer_section),
    "hypnettorch": ("hyperviz beside hypnettorch", hypnettorch_section),
    "seeds": ("Seeds in one batch", seeds_section),
    "walk": ("One JupyterLab, every kernel kept", walk_section),
}


def machine() -> str:
    """One line: CPU model, CPU count and load, torch threads, torch and Python versions, date."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]  # other busy processes make every timing below noisy
    return (
        f"Machine: {cpu} ({os.cpu_count()} CPUs, load average {load:.1f}), "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"Python {platform.python_version()}, {datetime.date.today().isoformat()}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the chosen sections as Markdown, and write them to --out if given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(SECTIONS), help="run one section")
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    parts = ["# hyperviz benchmarks", machine()]
    print(*parts, sep="\n\n", end="\n\n", flush=True)
    for key in [args.only] if args.only else list(SECTIONS):
        title, section = SECTIONS[key]
        parts.append(f"## {title}\n\n{section()}")
        print(parts[-1], end="\n\n", flush=True)
    if args.out:
        args.out.write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    sys.exit(main())
