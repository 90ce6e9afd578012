"""Claim checks: a sentence of the prose, computed and asserted right where it is made.

`check_claim("the hypernet learns fewer numbers", phi < theta, f"{phi:,} < {theta:,}")`
prints `✓ the hypernet learns fewer numbers` (and returns nothing, so a cell ending with it
shows no repr); if the claim does not hold it raises `ClaimFailed` with the evidence, so a
notebook that stops being true stops. `evaluate_claim` returns the `Claim` for tables.

Printed digits that depend on training differ between CPUs; strict nbval compares words, counts
and claim lines, and tests/nbval_sanitize.cfg normalises floats and the counts `measured` marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class ClaimFailed(AssertionError):
    """A claim of the prose that the measurement does not support."""


@dataclass(frozen=True)
class Claim:
    """A statement, whether it holds, and the measured evidence behind it."""

    statement: str
    holds: bool
    evidence: str

    def __str__(self) -> str:
        return f"{'✓' if self.holds else '✗'} {self.statement}"


def evaluate_claim(statement: str, holds: bool, evidence: str = "") -> Claim:
    """The `Claim` (statement, outcome, evidence), without printing or raising."""
    if not isinstance(statement, str) or not statement:
        raise TypeError(f"statement must be a non-empty string, got {statement!r}")
    if not isinstance(holds, bool | np.bool_):
        raise TypeError(f"holds must be a bool (the outcome of the check), got {holds!r}")
    return Claim(statement, bool(holds), evidence)


def check_claim(statement: str, holds: bool, evidence: str = "") -> None:
    """Print ✓ and the statement if `holds`; otherwise raise ClaimFailed naming the evidence.

    Only the statement is printed: evidence holds measured digits, which differ across CPUs.
    """
    claim = evaluate_claim(statement, holds, evidence)
    if not claim.holds:
        raise ClaimFailed(
            f"the claim {statement!r} does not hold here: {evidence or 'no evidence'}"
        )
    print(claim)


def measured(count: int) -> str:
    """A count that depends on training, printed as "~13": the nbval sanitizer normalises it."""
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise TypeError(f"count must be an int (a measured count), got {count!r}")
    return f"~{int(count)}"


@dataclass(frozen=True)
class Spread:
    """A measurement repeated over seeds: every value, their mean and standard deviation."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.std:.2g} over {len(self.values)} seeds"


def spread(values: Sequence[float]) -> Spread:
    """The values of one measurement over several seeds, as a `Spread`."""
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("values is empty; give one measurement per seed")
    return Spread(values)
