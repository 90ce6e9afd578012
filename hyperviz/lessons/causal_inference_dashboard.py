"""Notebook 10's dashboard (survey §4, causal inference): what each learner makes of the effect.

It receives the trained results (`causal_inference.run_experiment`) and only looks them up:
pick the dataset size (and a seed) and see each learner's estimated effect τ̂ along x1 against
the true τ, the units it learned from (treated ones are scarce where x1 is low: confounding),
and every learner's √PEHE over the sizes with this run marked.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hyperviz.lessons.causal_inference import LEARNERS, CausalExperiment
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE, as_curve

COLOURS = dict(zip(LEARNERS, (PALETTE[1], PALETTE[2], PALETTE[4], PALETTE[0]), strict=True))
ARM_COLOURS = {"control": "#8c8c8c", "treated": PALETTE[3]}
EFFECT_RANGE = (-1.5, 3.5)  # τ̂ beyond it is cut off: a wild estimate must not squash the rest
TITLES = ("effect", "pehe", "units")


@dataclass(frozen=True)
class RunView:
    """What one (size, seed) shows: τ̂ along x1, the units, √PEHE over the sizes."""

    size: int
    seed: int
    x1: np.ndarray  # (G,) along the slice
    truth: np.ndarray  # (G,) τ along the slice
    effect: dict[str, np.ndarray]  # learner -> (G,) τ̂ along the slice
    control: list[np.ndarray]  # x1 and x2 of the control units
    treated: list[np.ndarray]  # x1 and x2 of the treated units
    sizes: np.ndarray
    mean_pehe: dict[str, np.ndarray]  # learner -> (sizes,) mean over seeds
    seed_pehe: dict[str, np.ndarray]  # learner -> (sizes,) this seed
    pehe: dict[str, float]  # learner -> this run's √PEHE


class CausalDashboard(Dashboard):
    """Pick a dataset size and a seed: each learner's τ̂ along x1, the units, √PEHE by size."""

    title = "Causal inference: four learners of the treatment effect"

    def __init__(self, experiment: CausalExperiment) -> None:
        self.experiment = experiment
        sizes = list(experiment.sizes)
        controls = {
            "size": widgets.SelectionSlider(options=sizes, value=sizes[0], description="units n"),
            "seed": widgets.Dropdown(options=list(experiment.seeds), description="seed"),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        specs = [[{}, {"rowspan": 2}], [{}, None]]
        figure = subplot_figure(
            2, 2, TITLES, specs=specs, row_heights=[0.62, 0.38], vertical_spacing=0.16,
            horizontal_spacing=0.1,
        )  # fmt: skip
        truth = go.Scatter(mode="lines", line=dict(color="black", dash="dash", width=2))
        figure.add_trace(keyed(truth, "truth", "true effect τ(x)"), row=1, col=1)
        for name in LEARNERS:
            line = go.Scatter(mode="lines", line=dict(color=COLOURS[name], width=2.5))
            figure.add_trace(keyed(line, name, f"{name}: τ̂(x)"), row=1, col=1)
        for arm, colour in ARM_COLOURS.items():
            dots = go.Scatter(mode="markers", marker=dict(color=colour, size=5, opacity=0.7))
            figure.add_trace(keyed(dots, arm, f"{arm} units"), row=2, col=1)
        for name in LEARNERS:
            mean = go.Scatter(mode="lines+markers", line_color=COLOURS[name], showlegend=False)
            figure.add_trace(keyed(mean, f"{name} mean", f"{name}, mean over seeds"), row=1, col=2)
            one = go.Scatter(
                mode="markers", showlegend=False,
                marker=dict(color=COLOURS[name], size=9, symbol="circle-open", line_width=2),
            )  # fmt: skip
            figure.add_trace(keyed(one, f"{name} seed", f"{name}, this seed"), row=1, col=2)
        now = go.Scatter(mode="lines", line=dict(color="black", width=1, dash="dot"))
        figure.add_trace(keyed(now, "now", "this size"), row=1, col=2)
        figure.update_yaxes(range=list(EFFECT_RANGE), title_text="effect", row=1, col=1)
        figure.update_xaxes(range=[-2.05, 2.05], title_text="x1 (x2 = 0)", row=1, col=1)
        figure.update_xaxes(range=[-2.05, 2.05], title_text="x1", row=2, col=1)
        figure.update_yaxes(range=[-2.2, 2.2], title_text="x2", row=2, col=1)
        # A linear axis with plotly's own ticks (a log axis given ticktext drew no traces in a
        # browser run of notebook 08).
        low, high = min(self.experiment.sizes), max(self.experiment.sizes)
        margin = 0.08 * (high - low)
        figure.update_xaxes(range=[low - margin, high + margin], title_text="units n", row=1, col=2)
        figure.update_yaxes(rangemode="tozero", title_text="√PEHE (lower is better)", row=1, col=2)
        figure.update_layout(
            height=620,
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", y=-0.1, yanchor="top", x=0),
        )
        return figure

    def compute(self, size: int, seed: int) -> RunView:
        e = self.experiment
        if size not in e.sizes:
            raise ValueError(f"size={size!r} was not trained; choose one of {e.sizes}")
        if seed not in e.seeds:
            raise ValueError(f"seed={seed!r} was not trained; choose one of {e.seeds}")
        i, j = e.seeds.index(seed), e.sizes.index(size)
        x, t = e.study.x[i, :size, :2], e.study.t[i, :size]
        # float64 copies, one per axis: the widget sends contiguous arrays to the browser
        control, treated = ([as_curve(x[t == arm, k]) for k in range(2)] for arm in (0, 1))
        return RunView(
            size=size,
            seed=seed,
            x1=as_curve(e.slice_x1),
            truth=as_curve(e.slice_truth),
            effect={n: as_curve(e.slice_effect[n][i, j]) for n in LEARNERS},
            control=control,
            treated=treated,
            sizes=np.asarray(e.sizes, dtype=float),
            mean_pehe={n: as_curve(e.mean_pehe(n)) for n in LEARNERS},
            seed_pehe={n: as_curve(e.pehe[n][i]) for n in LEARNERS},
            pehe={n: float(e.pehe[n][i, j]) for n in LEARNERS},
        )

    def _titles(self, state: RunView) -> dict[str, str]:
        return {
            "effect": f"τ̂ along x1: seed {state.seed}, n = {state.size}",
            "pehe": f"√PEHE by size (line: mean; ○: seed {state.seed})",
            "units": f"the {state.size} units: {len(state.treated[0])} treated",
        }

    def draw(self, state: RunView) -> None:
        self.live.show("truth", x=state.x1, y=state.truth)
        for name in LEARNERS:
            self.live.show(name, x=state.x1, y=state.effect[name])
            self.live.show(f"{name} mean", x=state.sizes, y=state.mean_pehe[name])
            self.live.show(f"{name} seed", x=state.sizes, y=state.seed_pehe[name])
        self.live.show("control", x=state.control[0], y=state.control[1])
        self.live.show("treated", x=state.treated[0], y=state.treated[1])
        top = max(float(v.max()) for v in [*state.mean_pehe.values(), *state.seed_pehe.values()])
        self.live.show("now", x=[state.size, state.size], y=[0, top])
        for key, title in self._titles(state).items():
            self.live.title(key, title)

    def draw_static(self, state: RunView) -> Figure:
        figure = plt.figure(figsize=(11, 6.2), layout="constrained")
        grid = figure.add_gridspec(2, 2, height_ratios=[0.62, 0.38])
        titles = self._titles(state)
        ax = figure.add_subplot(grid[0, 0])
        ax.plot(state.x1, state.truth, "k--", lw=2, label="true effect τ(x)")
        for name in LEARNERS:
            ax.plot(state.x1, state.effect[name], color=COLOURS[name], lw=2, label=f"{name}: τ̂(x)")
        ax.set(ylim=EFFECT_RANGE, xlim=(-2.05, 2.05), xlabel="x1 (x2 = 0)", ylabel="effect")
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title(titles["effect"], fontsize=9)
        ax = figure.add_subplot(grid[1, 0])
        for arm, units in (("control", state.control), ("treated", state.treated)):
            ax.scatter(*units, s=9, color=ARM_COLOURS[arm], alpha=0.7, label=f"{arm} units")
        ax.set(xlim=(-2.05, 2.05), ylim=(-2.2, 2.2), xlabel="x1", ylabel="x2")
        ax.legend(fontsize=8, loc="upper left", ncols=2)
        ax.set_title(titles["units"], fontsize=9)
        ax = figure.add_subplot(grid[:, 1])
        for name in LEARNERS:
            ax.plot(state.sizes, state.mean_pehe[name], "o-", color=COLOURS[name],
                    label=f"{name}, mean over seeds")  # fmt: skip
            ax.scatter(state.sizes, state.seed_pehe[name], s=50, facecolors="none",
                       edgecolors=COLOURS[name], linewidths=1.5)  # fmt: skip
        ax.axvline(state.size, color="black", ls=":", lw=1, label="this size")
        ax.scatter([], [], s=50, facecolors="none", edgecolors="black", label="this seed")
        ax.set_xticks(state.sizes, [f"{n:.0f}" for n in state.sizes])
        ax.set(ylim=(0, None), xlabel="units n", ylabel="√PEHE (lower is better)")
        ax.legend(fontsize=8)
        ax.set_title(titles["pehe"], fontsize=9)
        return figure

    def describe(self, state: RunView) -> str:
        scores = ", ".join(f"{n} {state.pehe[n]:.2f}" for n in LEARNERS)
        return f"seed {state.seed}, n = {state.size}: √PEHE {scores}"
