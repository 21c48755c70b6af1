"""Objective values and data that break a surrogate model (errors of
1e308, infinities, a huge spread, duplicate points, a failing fit) must not
end a run: the model-based searchers fall back, warn once, and go on. And a
GP fitted on many observations uses at most `max_points` of them."""
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import (BayesOptSearcher, MultiFidelityTPESearcher, RFSearcher,
                    TPESearcher)

SEARCHERS = {'bo': BayesOptSearcher, 'tpe': TPESearcher, 'rf': RFSearcher}
SPACE = {'x0': stats.uniform(0, 1), 'x1': stats.uniform(0, 1)}


def bowl(x0, x1):
    return (x0 - 0.3) ** 2 + (x1 - 0.6) ** 2


def run(searcher, objective, num_trials):
    """Run `num_trials` trials sequentially; the tuner and the warnings
    (each recorded, none filtered)."""
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tuner.run(number_of_trials=num_trials)
    return tuner, [w for w in caught  # jitter has its own warning
                   if not str(w.message).startswith('added jitter')]


def names_searcher(caught, name):
    return [w for w in caught if name in str(w.message)]


@pytest.mark.parametrize('name', sorted(SEARCHERS))
def test_errors_of_1e308_do_not_end_the_run(name):
    def objective(x0, x1):  # half of the space "explodes"
        return 1e308 if x0 > 0.5 else bowl(x0, x1)
    tuner, caught = run(SEARCHERS[name](SPACE, seed=0), objective, 20)
    assert len(tuner.records) == 20
    assert all(r.status == 'completed' for r in tuner.records)
    assert tuner.incumbent_error < 1.0
    if name != 'tpe':  # TPE only sorts the errors: nothing to fall back
        cls = SEARCHERS[name].__name__
        assert len(names_searcher(caught, cls)) == 1, [
            str(w.message) for w in caught]


@pytest.mark.parametrize('name', sorted(SEARCHERS))
@pytest.mark.parametrize('value', [math.inf, -math.inf, -1e308])
def test_infinite_and_huge_negative_errors(name, value):
    def objective(x0, x1):
        return value if x1 > 0.7 else bowl(x0, x1)
    tuner, caught = run(SEARCHERS[name](SPACE, seed=1), objective, 16)
    assert len(tuner.records) == 16
    statuses = {r.status for r in tuner.records}
    assert statuses <= {'completed', 'failed'}
    if math.isinf(value):  # an infinite error fails the trial
        assert 'failed' in statuses
    assert len(caught) <= 1  # at most the one fallback warning


@pytest.mark.parametrize('name', ['bo', 'rf'])
@pytest.mark.parametrize('outlier', [1e200, 1e300])
def test_a_huge_spread_still_ranks_the_small_errors(name, outlier):
    """One huge error among errors near 0.1: standardizing would overflow
    (the variance); the surrogate is fitted to their ranks instead, and
    still tells the small errors apart."""
    searcher = SEARCHERS[name](SPACE, seed=0)
    rng = np.random.default_rng(0)
    for i in range(12):
        config = {'x0': rng.uniform(), 'x1': rng.uniform()}
        searcher.update(i, config, outlier if i == 3 else bowl(**config))
    X, y = searcher.observed()
    with pytest.warns(RuntimeWarning, match=type(searcher).__name__):
        targets, _, _ = d2lhpo.robust_standardize(y, searcher)
    assert np.isfinite(targets).all()
    assert len(np.unique(targets)) == len(y)
    np.testing.assert_array_equal(np.argsort(targets), np.argsort(y))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once already: not again
        d2lhpo.robust_standardize(y, searcher)
        config = searcher.sample_configuration(12)
    assert set(config) == {'x0', 'x1'}


@pytest.mark.parametrize('y', [
    [0.3, 0.1, 0.25, 0.9],
    [1.0, 2.0, 1e5, 3.0, 10.0],  # heavy-tailed, but not absurd
    [5.0, 1e-9, 2e-9, 1.5e-9, 1.2e-9, 1.1e-9],  # a run that converged
    [0.5, 0.5, 0.5, 0.5, 7.0],   # no interquartile range
    # a converged run: errors one ulp apart, which standardizing merges
    [-3.32237, np.nextafter(-3.32237, 0), -3.3, -2.9, -1.0, -0.2]])
def test_ordinary_errors_are_standardized_as_before(y):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        z, center, scale = d2lhpo.robust_standardize(y, object())
    np.testing.assert_array_equal(z, d2lhpo.standardize(y)[0])
    assert (center, scale) == d2lhpo.standardize(y)[1:]


@pytest.mark.parametrize('name', sorted(SEARCHERS))
def test_duplicate_points(name):
    """A tiny grid evaluated over and over, with noisy errors: the same
    point observed many times with different values."""
    space = {'a': [1, 2], 'b': [0.0, 1.0]}
    rng = np.random.default_rng(0)
    tuner, caught = run(SEARCHERS[name](space, seed=0),
                        lambda a, b: a + b + 0.1 * rng.normal(), 30)
    assert len(tuner.records) == 30
    assert all(r.status == 'completed' for r in tuner.records)
    assert not caught


def test_multi_fidelity_tpe_with_1e308_errors():
    def objective(x0, x1):
        for epoch in range(1, 10):
            yield 1e308 if x0 > 0.5 else bowl(x0, x1) + 1 / epoch
    scheduler = d2lhpo.ASHAScheduler(
        MultiFidelityTPESearcher(SPACE, seed=0, min_points=3), eta=3,
        r_min=1, r_max=9, kind='promotion')
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tuner.run(number_of_trials=30)
    assert len(tuner.records) >= 30
    assert not any(r.status == 'failed' for r in tuner.records)
    assert len(caught) <= 1


def test_a_failing_fit_falls_back_to_random_with_one_warning(monkeypatch):
    def broken(K, max_tries=10):
        raise np.linalg.LinAlgError('not positive definite even with '
                                    'jitter 1e-3')
    monkeypatch.setattr(d2lhpo.book, 'cholesky_with_jitter', broken)
    monkeypatch.setattr(d2lhpo, 'cholesky_with_jitter', broken)
    tuner, caught = run(BayesOptSearcher(SPACE, seed=0), bowl, 15)
    assert len(tuner.records) == 15
    assert all(r.status == 'completed' for r in tuner.records)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert 'BayesOptSearcher' in message and 'random' in message


def test_a_failing_forest_falls_back_to_random(monkeypatch):
    searcher = RFSearcher(SPACE, seed=0)

    def broken(X, y):
        raise ValueError('Input contains NaN')
    monkeypatch.setattr(searcher, 'fit_forest', broken)
    tuner, caught = run(searcher, bowl, 12)
    assert len(tuner.records) == 12
    assert len(names_searcher(caught, 'RFSearcher')) == 1


# ------------------------------------------------------------ max_points
def fill(searcher, num, seed=0):
    rng = np.random.default_rng(seed)
    function = d2lhpo.HARTMANN6
    for i in range(num):
        config = dict(zip(function.names, rng.uniform(size=6).tolist()))
        searcher.update(i, config, function(**config))


def test_the_gp_is_fitted_on_at_most_max_points_rows():
    searcher = BayesOptSearcher(d2lhpo.HARTMANN6.config_space, seed=0,
                                max_points=40)
    fill(searcher, 100)
    searcher.num_suggested = 100
    searcher.sample_configuration(100)
    assert len(searcher.gp.X) == 40
    # the best half of the data is always among them
    X, y = searcher.observed()
    best = X[np.argsort(y)[:20]]
    gp_rows = searcher.gp.X.numpy()
    assert all(np.abs(gp_rows - u).max(axis=1).min() == 0 for u in best)


def test_subsample_keeps_the_best_half_and_is_seeded():
    y = np.arange(50.0)[::-1]
    X = np.arange(100.0).reshape(50, 2)
    X1, y1 = d2lhpo.subsample(X, y, 10, np.random.default_rng(3))
    X2, y2 = d2lhpo.subsample(X, y, 10, np.random.default_rng(3))
    np.testing.assert_array_equal(X1, X2)
    assert len(y1) == 10 and set(range(5)) <= set(y1.tolist())
    np.testing.assert_array_equal(X1[:, 0] / 2, 49 - y1)  # rows stay paired
    X3, y3 = d2lhpo.subsample(X, y, None, None)
    assert X3 is X and y3 is y
    X4, _ = d2lhpo.subsample(X, y, 60, None)
    assert X4 is X


def test_below_max_points_nothing_changes():
    """With fewer observations than max_points, the suggestions equal those
    of a searcher that never subsamples."""
    runs = []
    for max_points in (None, 30):
        searcher = BayesOptSearcher(d2lhpo.BRANIN.config_space, seed=2,
                                    max_points=max_points)
        configs = []
        for trial_id in range(25):
            configs.append(searcher.sample_configuration(trial_id))
            searcher.update(trial_id, configs[-1],
                            d2lhpo.BRANIN(**configs[-1]))
        runs.append(configs)
    assert runs[0] == runs[1]


@pytest.mark.parametrize('bad', [1, 0, 2.5, True, 'many'])
def test_max_points_is_checked(bad):
    with pytest.raises(ValueError, match='max_points'):
        BayesOptSearcher(SPACE, max_points=bad)
