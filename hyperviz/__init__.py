"""hyperviz: a small library behind a hands-on course on hypernetworks.

Target networks take their weights from outside (`targets`); a `HyperNetwork` generates
those weights from a context, built from three independent choices: conditioning
(`conditioning`, §3.1), output strategy (`strategies`, §3.2) and body (`bodies`, §3.6).
"""

from hyperviz.bodies import BODIES
from hyperviz.conditioning import CONDITIONINGS, DataConditioner, NoiseConditioner, TaskConditioner
from hyperviz.data import (
    load_digits_tensors,
    polynomial_tasks,
    sinusoid_curve,
    sinusoid_tasks,
    two_moons,
)
from hyperviz.hypernetwork import INITS, GenerationReport, HyperNetwork
from hyperviz.init import format_variance_report, hyperfan_init, weight_variance_report
from hyperviz.models import DNN, HyperDNN, count_learnable
from hyperviz.seeds import SeedRuns, fit_seeds
from hyperviz.strategies import STRATEGIES
from hyperviz.targets import DigitsCNNTarget, MLPTarget, TargetNetwork
from hyperviz.training import History, fit, prediction_loss, seed_everything, train

__all__ = [
    "BODIES",
    "CONDITIONINGS",
    "DNN",
    "DataConditioner",
    "DigitsCNNTarget",
    "GenerationReport",
    "History",
    "HyperDNN",
    "HyperNetwork",
    "INITS",
    "MLPTarget",
    "NoiseConditioner",
    "STRATEGIES",
    "SeedRuns",
    "TargetNetwork",
    "TaskConditioner",
    "count_learnable",
    "fit",
    "fit_seeds",
    "format_variance_report",
    "hyperfan_init",
    "load_digits_tensors",
    "polynomial_tasks",
    "prediction_loss",
    "seed_everything",
    "sinusoid_curve",
    "sinusoid_tasks",
    "train",
    "two_moons",
    "weight_variance_report",
]
