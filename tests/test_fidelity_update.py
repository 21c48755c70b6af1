"""Model-based searchers under multi-fidelity schedulers: one observation
per trial, its result at the highest fidelity (epoch) seen so far."""
import math

import numpy as np
import pytest

import d2lhpo

SEARCHERS = [d2lhpo.BayesOptSearcher, d2lhpo.TPESearcher,
             d2lhpo.RFSearcher]
SPACE = d2lhpo.BRANIN.config_space


def report(searcher, trial_id, config, error, epoch):
    searcher.update(trial_id, config, error,
                    {'error': error, 'epoch': epoch, 'trial_id': trial_id})


def rows(searcher):
    X, y = searcher.observed()
    return X, y.tolist()


@pytest.mark.parametrize('cls', SEARCHERS)
def test_one_trial_at_three_levels_is_one_observation(cls):
    searcher = cls(SPACE, seed=0)
    config = searcher.sample_configuration(0)
    for epoch, error in ((1, 30.0), (3, 12.0), (9, 5.0)):
        report(searcher, 0, config, error, epoch)
        X, y = rows(searcher)
        assert y == [error] and len(X) == 1  # replaced, never appended
    np.testing.assert_allclose(X[0], searcher.encoder.encode(config))
    assert searcher.fidelity[0][0] == 9
    assert not searcher.pending and not searcher.failed


@pytest.mark.parametrize('cls', SEARCHERS)
def test_two_trials_keep_two_observations(cls):
    searcher = cls(SPACE, seed=1)
    a, b = (searcher.sample_configuration(i) for i in range(2))
    report(searcher, 0, a, 20.0, 1)
    report(searcher, 1, b, 10.0, 1)
    report(searcher, 0, a, 8.0, 3)
    report(searcher, 1, b, 4.0, 3)
    report(searcher, 0, a, 2.0, 9)
    X, y = rows(searcher)
    assert y == [2.0, 4.0]  # each trial at its highest level, in order
    np.testing.assert_allclose(X, [searcher.encoder.encode(a),
                                   searcher.encoder.encode(b)])


def test_equal_configs_of_two_trials_stay_two_observations():
    """Searchers learn by trial id, not by configuration."""
    searcher = d2lhpo.BayesOptSearcher(SPACE, seed=2)
    config = {'x0': 1.0, 'x1': 2.0}
    report(searcher, 0, config, 7.0, 3)
    report(searcher, 1, config, 6.0, 1)
    assert rows(searcher)[1] == [7.0, 6.0]


def test_a_lower_level_arriving_late_is_ignored():
    searcher = d2lhpo.TPESearcher(SPACE, seed=0)
    config = searcher.sample_configuration(0)
    report(searcher, 0, config, 3.0, 9)
    report(searcher, 0, config, 9.0, 3)
    assert rows(searcher)[1] == [3.0]
    assert searcher.fidelity[0][0] == 9
    report(searcher, 0, config, 2.5, 9)  # the same level again: the latest
    assert rows(searcher)[1] == [2.5]


def test_results_without_a_level_count_once_per_trial():
    searcher = d2lhpo.BayesOptSearcher(SPACE, seed=0)
    config = searcher.sample_configuration(0)
    searcher.update(0, config, 4.0)           # no result dict
    searcher.update(0, config, 3.0, {'error': 3.0})  # no epoch in it
    assert rows(searcher)[1] == [3.0]
    report(searcher, 0, config, 2.0, 1)  # any level beats "no level"
    assert rows(searcher)[1] == [2.0]


def test_a_failure_after_a_result_keeps_the_result():
    searcher = d2lhpo.BayesOptSearcher(SPACE, seed=0)
    config = searcher.sample_configuration(0)
    report(searcher, 0, config, 5.0, 1)
    searcher.update(0, config, math.nan, None)
    assert rows(searcher)[1] == [5.0]
    assert len(searcher.failed) == 1  # and it is not proposed again


def run_on_simulator(make_scheduler, seed, max_epochs,
                     cls=d2lhpo.TPESearcher):
    """Run on the simulator; return the tuner, the searcher and the
    results that the scheduler passed to the searcher, in order."""
    mf = d2lhpo.MultiFidelityFunction(d2lhpo.BRANIN, max_epochs=27,
                                      noise=0.5)
    searcher, told = cls(mf.config_space, seed=seed), []
    update = searcher.update

    def spy(trial_id, config, error, result=None):
        told.append((trial_id, (result or {}).get('epoch'), error))
        update(trial_id, config, error, result)
    searcher.update = spy
    tuner = d2lhpo.AsyncTuner(make_scheduler(searcher),
                              d2lhpo.SimulatedBackend(mf, num_workers=4,
                                                      seed=seed))
    tuner.run(max_epochs=max_epochs)
    return tuner, searcher, told


SCHEDULERS = {
    'asha': lambda s: d2lhpo.ASHAScheduler(s, eta=3, r_min=1, r_max=27),
    'asha-promotion': lambda s: d2lhpo.ASHAScheduler(
        s, eta=3, r_min=1, r_max=27, kind='promotion'),
    'successive-halving': lambda s: d2lhpo.SuccessiveHalvingScheduler(
        s, eta=3, r_min=1, r_max=27),
}


@pytest.mark.parametrize('name', sorted(SCHEDULERS))
def test_under_a_multi_fidelity_scheduler(name):
    tuner, searcher, told = run_on_simulator(SCHEDULERS[name], 0, 400)
    highest = {}  # trial id -> (epoch, error) of its highest level told
    for trial_id, epoch, error in told:
        if math.isfinite(error) and epoch >= highest.get(trial_id,
                                                         (0, 0))[0]:
            highest[trial_id] = (epoch, error)
    # the scheduler told the searcher about several levels of a trial,
    # and several trials went past the first level
    assert len(told) > len(highest)
    assert sum(epoch > 1 for epoch, _ in highest.values()) >= 3
    X, y = searcher.observed()
    assert len(y) == len(highest) == len(searcher.fidelity)
    for trial_id, (level, row) in searcher.fidelity.items():
        assert (level, y[row]) == highest[trial_id]
        config = tuner.records[trial_id].config
        np.testing.assert_allclose(X[row], searcher.encoder.encode(config))
    # the rows are in the order of the trials' first results
    firsts = list(dict.fromkeys(t for t, _, e in told if math.isfinite(e)))
    assert [searcher.fidelity[t][1] for t in firsts] == list(range(len(y)))


@pytest.mark.parametrize('name', ['asha', 'successive-halving'])
def test_under_a_scheduler_is_reproducible(name):
    runs = [run_on_simulator(SCHEDULERS[name], 3, 250) for _ in range(2)]
    (t1, s1, told1), (t2, s2, told2) = runs
    assert told1 == told2
    assert t1.cumulative_runtime == t2.cumulative_runtime
    assert t1.incumbent_trajectory == t2.incumbent_trajectory
    assert s1.fidelity == s2.fidelity and s1.y == s2.y


def test_bayesopt_under_asha_fits_one_point_per_trial():
    """The GP's data have no repeated configurations from rungs."""
    tuner, searcher, _ = run_on_simulator(SCHEDULERS['asha'], 4, 120,
                                       cls=d2lhpo.BayesOptSearcher)
    X, y = searcher.observed()
    assert len(y) == len(searcher.fidelity) >= 10
    assert len(np.unique(X.round(12), axis=0)) == len(X)
    assert searcher.gp.X is not None  # the GP was fitted on the way
