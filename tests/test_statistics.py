"""`paired_comparison`: paired statistics of two methods over seeds,
checked against scipy on known samples."""
import numpy as np
import pytest
from scipy import stats

from d2lhpo import PairedComparison, paired_comparison

# final errors of two methods on 12 seeds (entry i from seed i): a wins 7,
# ties 2, loses 3
A = np.array([0.10, 0.12, 0.08, 0.15, 0.11, 0.09, 0.13, 0.10, 0.14, 0.07,
              0.12, 0.11])
B = np.array([0.13, 0.12, 0.11, 0.14, 0.15, 0.09, 0.16, 0.12, 0.12, 0.10,
              0.13, 0.10])


def test_p_value_is_scipys_wilcoxon():
    result = paired_comparison(A, B)
    assert isinstance(result, PairedComparison)
    expected = stats.wilcoxon(A, B).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12)
    # the same as the test on the differences, with zeros dropped
    assert result.p_value == pytest.approx(
        stats.wilcoxon(A - B, zero_method='wilcox').pvalue, rel=1e-12)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_p_value_matches_scipy_on_random_samples(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.1, 0.02, 25)
    b = a + rng.normal(0.005, 0.01, 25)
    result = paired_comparison(a, b)
    assert result.p_value == pytest.approx(stats.wilcoxon(a, b).pvalue,
                                           rel=1e-12)


def test_wins_ties_losses_and_median():
    result = paired_comparison(A, B, names=('x', 'y'))
    d = A - B
    assert (result.wins, result.ties, result.losses) == (7, 2, 3)
    assert result.wins + result.ties + result.losses == len(A)
    assert result.median == pytest.approx(np.median(d))
    np.testing.assert_allclose(result.differences, d)
    assert result.names == ('x', 'y')
    assert 'x vs y' in str(result) and '7/2/3' in str(result)


def test_bootstrap_interval_contains_median_and_is_seeded():
    result = paired_comparison(A, B, seed=3)
    low, high = result.interval
    assert low <= result.median <= high
    # the interval is made of medians of resamples: within the data's range
    d = A - B
    assert d.min() <= low and high <= d.max()
    again = paired_comparison(A, B, seed=3)
    assert again.interval == result.interval
    wider = paired_comparison(A, B, seed=3, level=0.99)
    assert wider.interval[0] <= low and high <= wider.interval[1]


def test_all_zero_differences_are_a_tie():
    a = np.array([0.1, 0.2, 0.3, 0.4])
    result = paired_comparison(a, a.copy())
    assert result.p_value == 1.0
    assert (result.wins, result.ties, result.losses) == (0, 4, 0)
    assert result.median == 0.0 and result.interval == (0.0, 0.0)
    assert result.verdict() == 'no significant difference'


def test_verdict_on_clearly_separated_samples():
    rng = np.random.default_rng(0)
    good = rng.uniform(0.05, 0.10, 20)
    bad = good + rng.uniform(0.01, 0.05, 20)  # worse on every seed
    better = paired_comparison(good, bad)
    assert better.p_value < 1e-4
    assert better.verdict() == 'better' and better.wins == 20
    assert better.interval[1] < 0
    worse = paired_comparison(bad, good)
    assert worse.verdict() == 'worse' and worse.losses == 20
    assert worse.p_value == pytest.approx(better.p_value)
    assert worse.interval[0] > 0


def test_verdict_respects_alpha():
    result = paired_comparison(A, B)
    assert 0.01 < result.p_value < 0.2  # a borderline case on 12 seeds
    assert result.verdict(alpha=0.2) == 'better'
    assert result.verdict(alpha=0.01) == 'no significant difference'


@pytest.mark.parametrize('a, b', [
    ([0.1, 0.2, 0.3], [0.1, 0.2]),               # different lengths
    ([[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [0.3, 0.4]]),  # not 1-D
    ([0.1], [0.2]),                              # a single seed
    ([0.1, np.nan, 0.3], [0.1, 0.2, 0.3]),       # NaN
    ([0.1, 0.2, 0.3], [0.1, np.inf, 0.3]),       # infinite
])
def test_bad_input_raises(a, b):
    with pytest.raises(ValueError):
        paired_comparison(a, b)
