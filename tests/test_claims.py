"""Claim checks print a tick when a claim holds and stop the notebook when it does not."""

import numpy as np
import pytest

from hyperviz.claims import ClaimFailed, check_claim, evaluate_claim, spread


def test_a_claim_that_holds_prints_its_statement_only(capsys):
    assert check_claim("two is more than one", 2 > 1, "2 > 1") is None
    assert capsys.readouterr().out == "✓ two is more than one\n"


def test_a_claim_that_fails_raises_with_its_evidence():
    with pytest.raises(ClaimFailed, match=r"'one is more than two' does not hold here: 1 vs 2"):
        check_claim("one is more than two", 1 > 2, "1 vs 2")


def test_numpy_booleans_count_and_other_values_are_refused():
    claim = evaluate_claim("numpy says yes", np.bool_(True), "evidence")
    assert claim.holds and claim.evidence == "evidence" and str(claim) == "✓ numpy says yes"
    with pytest.raises(TypeError, match="holds must be a bool"):
        check_claim("a number is not an outcome", 1)
    with pytest.raises(TypeError, match="statement must be a non-empty string"):
        check_claim("", True)


def test_spread_over_seeds():
    s = spread([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.std == 1.0 and str(s) == "2 ± 1 over 3 seeds"
    assert spread([5.0]).std == 0.0
    with pytest.raises(ValueError, match="values is empty"):
        spread([])
