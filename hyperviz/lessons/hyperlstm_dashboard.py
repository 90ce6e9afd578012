"""Notebook 11's dashboard (survey §4, NLP): one held-out sequence, and the weights over time.

`SequenceExplorer` receives `hyperlstm.run_experiment`'s results (seed 0's runs on the held-out
sequences) and only looks them up. Pick a sequence: its signal with the regime of every step
and both models' predictions; their squared error per step; the HyperRNN's chosen scaling
vector d_t (each unit minus its average) as a heatmap over time; and how much all of d changes
from one step to the next, the quantity Ha et al. plot under their samples (Figs. 4 and 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hyperviz.lessons.hyperlstm import FREQUENCIES, MODELS, SKIP, SequenceResult
from hyperviz.recurrent import SCALES
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE, as_array
from hyperviz.viz.plots import show_figure

COLOURS = dict(zip(MODELS, PALETTE, strict=False))
REGIME_COLOURS = ("#55a868", "#8172b3", "#c44e52")
REGIMES = tuple(f"regime ω = {w} rad/step" for w in FREQUENCIES)
VECTORS = {
    "x": "d_x: scales the rows of W_x",
    "h": "d_h: scales the rows of W_h",
    "bias": "b(z): the generated bias shift",
}
TITLES = ("signal", "error", "scales", "change")
BAND = -1.35  # height of the regime markers under the signal
ERROR_RANGE = (1e-6, 3.0)  # the error panel's (log) range
SHOWN = 12  # held-out sequences the dashboard offers


@dataclass(frozen=True)
class SequenceState:
    """One held-out sequence (seed 0): what each of the four panels shows."""

    sequence: int
    vector: str
    steps: np.ndarray  # (T,) the step t of each target x_t
    truth: np.ndarray  # (T,)
    regimes: np.ndarray  # (T,) the regime of each target
    predictions: dict[str, np.ndarray]  # model -> (T,)
    errors: dict[str, np.ndarray]  # model -> (T,) squared error
    scales: np.ndarray  # (H, T): the chosen vector minus each unit's average
    change: np.ndarray  # (T - 1,): |d_t - d_{t-1}| of all vectors, for t ≥ 2

    @property
    def boundaries(self) -> np.ndarray:
        """Half a step before each target whose regime differs from the one before it."""
        return self.steps[1:][self.regimes[1:] != self.regimes[:-1]] - 0.5


class SequenceExplorer(Dashboard):
    """Pick a held-out sequence and a scaling vector: predictions, errors and d_t over time."""

    title = "HyperRNN on a sequence whose regime switches"

    def __init__(self, result: SequenceResult) -> None:
        self.result = result
        test = result.test
        count = min(SHOWN, test.values.shape[0])
        self.truth = as_array(test.targets[:count])
        self.regimes = test.regimes[:count, 1:].numpy()
        self.predictions = {m: as_array(result.predictions[m][0, :count]) for m in MODELS}
        self.steps = np.arange(1, self.truth.shape[1] + 1)
        scales = {name: as_array(result.scales[name][0]) for name in SCALES}  # (N, T, H)
        self.deviations = {n: (s - s.mean(axis=(0, 1)))[:count] for n, s in scales.items()}
        # One colour scale per vector for all sequences: a colour means the same change throughout.
        self.limits = {n: float(np.quantile(np.abs(d), 0.99)) for n, d in self.deviations.items()}
        self.changes = as_array(result.scale_changes()[0, :count])
        self.change_top = float(self.changes.max()) * 1.05
        controls = {
            "sequence": widgets.IntSlider(value=0, min=0, max=count - 1, description="sequence"),
            "vector": widgets.Dropdown(
                options=[(label, name) for name, label in VECTORS.items()],
                value="x",
                description="scaling vector",
            ),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        figure = subplot_figure(
            4,
            1,
            TITLES,
            shared_xaxes=True,
            vertical_spacing=0.07,
            row_heights=[0.34, 0.2, 0.3, 0.16],
        )
        truth = go.Scatter(mode="lines+markers", line=dict(color="black", width=1), marker_size=4)
        figure.add_trace(keyed(truth, "truth", "true signal"), row=1, col=1)
        for regime, colour in zip(REGIMES, REGIME_COLOURS, strict=True):
            band = go.Scatter(mode="markers", marker=dict(color=colour, size=6, symbol="square"))
            figure.add_trace(keyed(band, regime), row=1, col=1)
        for model in MODELS:
            line = go.Scatter(mode="lines", line=dict(color=COLOURS[model], width=2))
            figure.add_trace(keyed(line, model, f"{model} prediction (seed 0)"), row=1, col=1)
            error = go.Scatter(mode="lines", line_color=COLOURS[model], showlegend=False)
            figure.add_trace(keyed(error, f"error {model}", f"{model} squared error"), row=2, col=1)
        for row, key in ((2, "switches"), (4, "switches |Δd|")):
            lines = go.Scatter(mode="lines", line=dict(color="grey", width=1, dash="dot"))
            lines.showlegend = row == 2
            figure.add_trace(
                keyed(lines, key, "regime switch" if row == 2 else key), row=row, col=1
            )
        bottom, top = figure.layout.yaxis3.domain  # the colour bar spans the heatmap's row
        bar = dict(thickness=12, len=top - bottom, y=(bottom + top) / 2, title="d − mean")
        heatmap = go.Heatmap(colorscale="RdBu_r", colorbar=bar)
        figure.add_trace(keyed(heatmap, "scales", "scaling vector"), row=3, col=1)
        change = go.Bar(marker_color="#937860", showlegend=False)
        figure.add_trace(keyed(change, "change", "|d_t − d_{t−1}|"), row=4, col=1)
        figure.update_yaxes(range=[-1.55, 1.45], row=1, col=1)
        low, high = np.log10(ERROR_RANGE)
        figure.update_yaxes(
            type="log",
            range=[low, high],
            exponentformat="power",
            title_text="squared error",
            row=2,
            col=1,
        )
        figure.update_yaxes(autorange="reversed", title_text="unit", row=3, col=1)
        figure.update_yaxes(title_text="|Δd|", range=[0, self.change_top], row=4, col=1)
        figure.update_xaxes(title_text="step t (predicting x_t)", row=4, col=1)
        figure.update_layout(
            height=760,
            margin=dict(l=50, r=20, t=90, b=40),
            legend=dict(orientation="h", x=0, y=1.05, yanchor="bottom", font_size=10),
        )
        return figure

    def compute(self, sequence: int, vector: str) -> SequenceState:
        count = self.truth.shape[0]
        if not 0 <= sequence < count:
            raise ValueError(f"sequence={sequence!r} is out of range; allowed: 0 to {count - 1}")
        if vector not in VECTORS:
            raise ValueError(f"vector={vector!r} is not known; allowed: {list(VECTORS)}")
        truth = self.truth[sequence]
        predictions = {m: p[sequence] for m, p in self.predictions.items()}
        errors = {m: (p - truth) ** 2 for m, p in predictions.items()}
        regimes = self.regimes[sequence]
        return SequenceState(
            sequence,
            vector,
            self.steps,
            truth,
            regimes,
            predictions,
            errors,
            self.deviations[vector][sequence].T,
            self.changes[sequence],
        )

    def draw(self, state: SequenceState) -> None:
        live = self.live
        live.show("truth", x=state.steps, y=state.truth)
        for index, regime in enumerate(REGIMES):
            steps = state.steps[state.regimes == index]
            live.show(regime, x=steps, y=np.full(len(steps), BAND))
        for model in MODELS:
            live.show(model, x=state.steps, y=state.predictions[model])
            live.show(f"error {model}", x=state.steps, y=state.errors[model])
        for key, span in (("switches", ERROR_RANGE), ("switches |Δd|", (0, self.change_top))):
            x, y = switch_lines(state.boundaries, span)
            live.show(key, x=x, y=y)
        limit = self.limits[state.vector]
        units = np.arange(state.scales.shape[0])
        live.show("scales", x=state.steps, y=units, z=state.scales, zmin=-limit, zmax=limit)
        live.show("change", x=state.steps[1:], y=state.change)
        live.title("signal", f"sequence {state.sequence}: true signal, regimes and predictions")
        live.title("error", "squared error of each prediction (log scale)")
        live.title("scales", f"{VECTORS[state.vector]}, minus each unit's average (seed 0)")
        live.title("change", "how much the weights change: |d_t − d_{t−1}|, all of d")

    def draw_static(self, state: SequenceState) -> Figure:
        figure, axes = plt.subplots(
            4,
            1,
            figsize=(10, 8.5),
            sharex=True,
            height_ratios=[0.34, 0.2, 0.3, 0.16],
            layout="constrained",
        )
        signal, error, scales, change = axes
        signal.plot(state.steps, state.truth, "k.-", lw=1, ms=4, label="true signal")
        for index, (regime, colour) in enumerate(zip(REGIMES, REGIME_COLOURS, strict=True)):
            steps = state.steps[state.regimes == index]
            signal.scatter(
                steps, np.full(len(steps), BAND), c=colour, marker="s", s=12, label=regime
            )
        for model in MODELS:
            colour = COLOURS[model]
            signal.plot(
                state.steps,
                state.predictions[model],
                color=colour,
                lw=2,
                label=f"{model} prediction",
            )
            error.semilogy(state.steps, state.errors[model], color=colour, label=model)
        signal.set_ylim(-1.55, 1.45)
        signal.legend(fontsize=7, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
        error.set(ylabel="squared error", ylim=ERROR_RANGE)
        limit = self.limits[state.vector]
        extent = (state.steps[0] - 0.5, state.steps[-1] + 0.5, state.scales.shape[0] - 0.5, -0.5)
        image = scales.imshow(
            state.scales, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", extent=extent
        )
        figure.colorbar(image, ax=scales, label="d − mean", shrink=0.9)
        scales.set(ylabel="unit", title=f"{VECTORS[state.vector]}, minus each unit's average")
        scales.set_yticks(range(0, state.scales.shape[0], 5))
        scales.title.set_fontsize(9)
        change.bar(state.steps[1:], state.change, color="#937860")
        change.set(ylabel="|Δd|", xlabel="step t (predicting x_t)", ylim=(0, self.change_top))
        for boundary in state.boundaries:
            for ax in (error, change):
                ax.axvline(boundary, color="grey", lw=1, ls=":")
        return figure

    def describe(self, state: SequenceState) -> str:
        hyper, plain = (float(state.errors[m][SKIP:].mean()) for m in MODELS)
        return (
            f"sequence {state.sequence} (seed 0): {len(state.boundaries)} regime switches; "
            f"mean squared error HyperRNN {hyper:.3g}, plain RNN {plain:.3g}"
        )


def switch_lines(boundaries: np.ndarray, span: tuple[float, float]) -> tuple[list, list]:
    """x and y of vertical segments at `boundaries` over `span`: one line, broken by None."""
    x = [value for b in boundaries.tolist() for value in (b, b, None)]
    y = [value for _ in boundaries.tolist() for value in (*span, None)]
    return x, y


def plot_training_and_switches(result: SequenceResult, steps: int = 10) -> None:
    """Training losses of both models, and their test error against the steps since a switch."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for model in MODELS:
        for k, curve in enumerate(as_array(result.losses[model]).T):
            label = f"{model} ({len(result.seeds)} seeds)" if k == 0 else None
            left.semilogy(curve, color=COLOURS[model], lw=1, alpha=0.8, label=label)
    left.set(xlabel="training step", ylabel="training loss (MSE)")
    left.legend(fontsize=8)
    left.set_title("training loss (fresh sequences every step)", fontsize=9)
    since = np.arange(steps)
    for model in MODELS:
        errors = as_array(result.errors_since_switch(model, range(steps)))  # (seeds, steps)
        for k, row in enumerate(errors):
            right.semilogy(
                since, row, color=COLOURS[model], alpha=0.8, label=model if k == 0 else None
            )
    right.set(xlabel="steps since the regime switched")
    right.set(ylabel="test squared error", xticks=since)
    right.set_title("held-out error; 0 = first step of a new regime (a line per seed)", fontsize=9)
    right.legend(fontsize=8)
    show_figure(
        figure,
        "Left: training loss of the HyperRNN and the plain RNN for each seed. Right: their mean "
        "squared error on held-out sequences against the number of steps since the regime "
        "switched, one line per seed.",
    )
