"""Notebook 07's dashboard (survey §4, federated learning): three methods, client by client.

It receives the trained results (`federated_learning.run_experiment`) and only looks them up:
pick the split of the digits (label skew or permuted labels), a seed and a round, and see each
client's test accuracy under local-only training, FedAvg and pFedHN, the mean accuracy over
the rounds, and how many numbers have crossed the network so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from hyperviz.federated import METHODS
from hyperviz.lessons.federated_learning import SETTINGS, Experiment
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE

COLOURS = {"local": PALETTE[2], "FedAvg": PALETTE[1], "pFedHN": PALETTE[0]}
LABELS = {"local": "local only", "FedAvg": "FedAvg (one global model)", "pFedHN": "pFedHN"}
SERVER = "Φ (never sent)"
TITLES = ("clients", "rounds", "traffic")


@dataclass(frozen=True)
class RoundView:
    """What one (setting, seed, round) shows."""

    setting: str
    seed: int
    round: int
    clients: list[str]  # one label per client: its number and the digits it holds
    per_client: dict[str, np.ndarray]  # method -> (C,) test accuracy at this round
    curves: dict[str, np.ndarray]  # method -> (measurements,) mean accuracy over clients
    rounds: np.ndarray  # the measured rounds
    chance: float
    sent: dict[str, int]  # method -> numbers sent down and up so far; SERVER -> |Φ|

    def mean(self, method: str) -> float:
        return float(self.per_client[method].mean())


class FederatedDashboard(Dashboard):
    """Pick a split, a seed and a round: per-client accuracy, mean accuracy, traffic so far."""

    title = "Federated learning: local only, FedAvg and pFedHN"

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment
        first = next(iter(experiment.settings.values()))
        self.rounds = list(first.runs["pFedHN"].rounds)
        controls = {
            "setting": widgets.Dropdown(options=list(SETTINGS), description="split"),
            "seed": widgets.Dropdown(options=list(experiment.seeds), description="seed"),
            "round": widgets.SelectionSlider(
                options=self.rounds, value=self.rounds[-1], description="round"
            ),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        specs = [[{"colspan": 2}, None], [{}, {}]]
        spacing = dict(vertical_spacing=0.2, horizontal_spacing=0.17)  # room for bar labels
        figure = subplot_figure(2, 2, TITLES, specs=specs, **spacing)
        for method in METHODS:
            bar = go.Bar(marker_color=COLOURS[method], legendgroup=method)
            figure.add_trace(keyed(bar, method, LABELS[method]), row=1, col=1)
        chance = go.Scatter(mode="lines", line=dict(color="black", dash="dash", width=1))
        figure.add_trace(keyed(chance, "chance", "chance"), row=1, col=1)
        for method in METHODS:
            line = go.Scatter(
                mode="lines", line_color=COLOURS[method], legendgroup=method, showlegend=False
            )
            figure.add_trace(keyed(line, f"{method} curve", LABELS[method]), row=2, col=1)
        now = go.Scatter(mode="markers", marker=dict(size=9, color="black"), showlegend=False)
        figure.add_trace(keyed(now, "now", "this round"), row=2, col=1)
        traffic = go.Bar(
            orientation="h", showlegend=False, textposition="outside", cliponaxis=False
        )
        figure.add_trace(keyed(traffic, "traffic", "numbers sent so far"), row=2, col=2)
        figure.update_yaxes(range=[0, 1.05], title_text="test accuracy", row=1, col=1)
        figure.update_yaxes(range=[0, 1.05], title_text="mean test accuracy", row=2, col=1)
        figure.update_xaxes(title_text="round", row=2, col=1)
        figure.update_yaxes(autorange="reversed", row=2, col=2)  # local at the top
        figure.update_xaxes(title_text="numbers", row=2, col=2)
        figure.update_layout(
            height=640,
            barmode="group",
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", y=1.08, yanchor="bottom", x=0),
        )
        return figure

    def compute(self, setting: str, seed: int, round: int) -> RoundView:
        if setting not in self.experiment.settings:
            raise ValueError(f"setting={setting!r} was not run; choose one of {SETTINGS}")
        if seed not in self.experiment.seeds:
            raise ValueError(f"seed={seed!r} was not run; choose one of {self.experiment.seeds}")
        if round not in self.rounds:
            raise ValueError(f"round={round!r} was not measured; choose one of {self.rounds}")
        result = self.experiment.settings[setting]
        k, at = self.experiment.seeds.index(seed), self.rounds.index(round)
        runs = result.runs
        sent = {m: runs[m].traffic.total * round for m in METHODS}
        sent[SERVER] = self.experiment.hypernet_size
        return RoundView(
            setting=setting,
            seed=seed,
            round=round,
            clients=self._client_labels(setting, k),
            per_client={m: runs[m].accuracy[at, k].numpy() for m in METHODS},
            curves={m: runs[m].accuracy[:, k].mean(-1).numpy() for m in METHODS},
            rounds=np.asarray(self.rounds),
            chance=result.split.chance,
            sent=sent,
        )

    def _client_labels(self, setting: str, k: int) -> list[str]:
        holds = self.experiment.settings[setting].split.holds[k]
        if setting == "permuted labels":
            return [f"{c}" for c in range(len(holds))]
        return [
            f"{c}: " + ",".join(str(d) for d in row.nonzero().flatten().tolist())
            for c, row in enumerate(holds)
        ]

    @staticmethod
    def _client_axis(setting: str) -> str:
        held = "all ten digits" if setting == "permuted labels" else "the digits it holds"
        return f"client ({held})"

    def _titles(self, state: RoundView) -> dict[str, str]:
        return {
            "clients": f"{state.setting}, seed {state.seed}: each client's test accuracy "
            f"after round {state.round}",
            "rounds": "mean over clients, by round",
            "traffic": f"sent in {state.round} rounds, and the size of Φ",
        }

    def draw(self, state: RoundView) -> None:
        for method in METHODS:
            self.live.show(method, x=state.clients, y=state.per_client[method])
            self.live.show(f"{method} curve", x=state.rounds, y=state.curves[method])
        edges = [state.clients[0], state.clients[-1]]
        self.live.show("chance", x=edges, y=[state.chance, state.chance])
        self.live.show("now", x=[state.round] * len(METHODS), y=[state.mean(m) for m in METHODS])
        names, values = list(state.sent), list(state.sent.values())
        text = [f"{v:,}" for v in values]
        colours = [COLOURS.get(name, "#999999") for name in names]
        self.live.show("traffic", x=values, y=names, text=text, marker_color=colours)
        axis = self.trace("traffic").xaxis.replace("x", "xaxis")
        self.figure.layout[axis].range = [0, 1.3 * max(values)]  # room for the counts
        for key, title in self._titles(state).items():
            self.live.title(key, title)
        self.figure.layout.xaxis.title.text = self._client_axis(state.setting)

    def draw_static(self, state: RoundView) -> Figure:
        figure = plt.figure(figsize=(11, 6.5), layout="constrained")
        grid = figure.add_gridspec(2, 2)
        titles = self._titles(state)
        ax = figure.add_subplot(grid[0, :])
        positions, width = np.arange(len(state.clients)), 0.27
        for i, method in enumerate(METHODS):
            ax.bar(positions + (i - 1) * width, state.per_client[method], width,
                   color=COLOURS[method], label=LABELS[method])  # fmt: skip
        ax.axhline(state.chance, color="black", ls="--", lw=1, label="chance")
        ax.set_xticks(positions, state.clients, fontsize=8)
        ax.set(ylim=(0, 1.25), yticks=np.linspace(0, 1, 6), ylabel="test accuracy")
        ax.set_xlabel(self._client_axis(state.setting))
        ax.legend(fontsize=8, ncols=4, loc="upper center")
        ax.set_title(titles["clients"], fontsize=9)
        ax = figure.add_subplot(grid[1, 0])
        for method in METHODS:
            ax.plot(state.rounds, state.curves[method], color=COLOURS[method])
            ax.scatter([state.round], [state.mean(method)], color="black", zorder=3, s=14)
        ax.set(ylim=(0, 1.05), xlabel="round", ylabel="mean test accuracy")
        ax.set_title(titles["rounds"], fontsize=9)
        ax = figure.add_subplot(grid[1, 1])
        names, values = list(state.sent), list(state.sent.values())
        bars = ax.barh(names, values, color=[COLOURS.get(n, "#999999") for n in names])
        ax.bar_label(bars, [f" {v:,}" for v in values], fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set(xlim=(0, 1.3 * max(values)), xlabel="numbers")
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
        ax.set_title(titles["traffic"], fontsize=9)
        return figure

    def describe(self, state: RoundView) -> str:
        means = ", ".join(f"{m} {state.mean(m):.2f}" for m in METHODS)
        return (
            f"{state.setting}, seed {state.seed}, round {state.round}: mean test accuracy "
            f"{means} (chance {state.chance:.2f})"
        )
