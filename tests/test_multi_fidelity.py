"""Rung arithmetic and multi-fidelity schedulers (chapters multi_fidelity
and asha)."""
import math
import os

import numpy as np
import pytest

import d2lhpo


# ----------------------------------------------------------- arithmetic ---

def test_hyperband_table_of_the_paper():
    brackets = d2lhpo.hyperband_brackets(1, 81, 3)
    assert [(s, n, r) for s, n, r in brackets] == [
        (4, 81, 1), (3, 34, 3), (2, 15, 9), (1, 8, 27), (0, 5, 81)]
    rungs = {s: d2lhpo.successive_halving_rungs(n, r, 81, 3)
             for s, n, r in brackets}
    assert rungs[4] == [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]
    assert rungs[3] == [(34, 3), (11, 9), (3, 27), (1, 81)]
    assert rungs[2] == [(15, 9), (5, 27), (1, 81)]
    assert rungs[1] == [(8, 27), (2, 81)]
    assert rungs[0] == [(5, 81)]


def test_rung_levels_use_integers():
    assert d2lhpo.rung_levels(1, 243, 3) == [1, 3, 9, 27, 81, 243]
    assert d2lhpo.rung_levels(1, 30, 3) == [1, 3, 9, 27, 30]
    assert d2lhpo.rung_levels(5, 5, 2) == [5]
    assert d2lhpo.rung_levels(2, 1000, 10) == [2, 20, 200, 1000]
    assert len(d2lhpo.rung_levels(1, 3 ** 20, 3)) == 21


@pytest.mark.parametrize('n, r_min, r_max, eta', [
    (81, 20, 540, 3), (81, 10, 1000, 3), (30, 20, 1500, 2),
    (100, 10, 1000, 4), (9, 30, 1500, 3), (64, 25, 1600, 2)])
def test_rungs_match_scikit_learn(n, r_min, r_max, eta):
    from sklearn.datasets import make_classification
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV
    from sklearn.tree import DecisionTreeClassifier
    X, y = make_classification(n_samples=r_max, random_state=0)
    search = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {'max_depth': list(range(1, n + 1))}, factor=eta,
        min_resources=r_min, max_resources=r_max, cv=2,
        random_state=0).fit(X, y)
    ours = [r for _, r in d2lhpo.successive_halving_rungs(n, r_min, r_max,
                                                          eta)]
    expected = [int(r) for r in search.n_resources_]
    # scikit-learn stops at the last level r_min * eta**k <= r_max; we then
    # add r_max itself as a final level when it is not one of them
    assert ours[:len(expected)] == expected
    assert len(ours) - len(expected) <= 1


@pytest.mark.parametrize('args, match', [
    ((1, 1, 27), 'eta must be >= 2'), ((0, 1, 27), 'eta must be >= 2'),
    ((3, 0, 27), 'r_min must be an integer >= 1'),
    ((3, -1, 27), 'r_min must be an integer >= 1'),
    ((3, 10, 9), 'must not exceed'),
    ((3, 1.5, 27), 'must be an integer'), ((3, 1, 27.0), 'must be an integer'),
    ((2.5, 1, 27), 'must be an integer'),
    ((3, True, 27), 'must be an integer'),
])
def test_bad_fidelity_arguments(args, match):
    eta, r_min, r_max = args
    with pytest.raises(ValueError, match=match):
        d2lhpo.rung_levels(r_min, r_max, eta)
    searcher = d2lhpo.RandomSearcher({'x': [1, 2]}, seed=0)
    for make in (d2lhpo.SuccessiveHalvingScheduler,
                 d2lhpo.HyperbandScheduler):
        with pytest.raises(ValueError, match=match):
            make(searcher, eta=eta, r_min=r_min, r_max=r_max)


def test_successive_halving_rungs_checks_n():
    with pytest.raises(ValueError, match='n must be an integer >= 1'):
        d2lhpo.successive_halving_rungs(0, 1, 9, 3)
    assert d2lhpo.successive_halving_rungs(2, 1, 9, 3) == [(2, 1)]


# ----------------------------------------------------------- schedulers ---

BENCH = None


def bench():
    global BENCH
    if BENCH is None:
        BENCH = d2lhpo.TabularBenchmark()
    return BENCH


def epochs_per_trial(tuner):
    return {r.trial_id: r.epochs for r in tuner.records}


def test_successive_halving_on_the_simulator():
    b = bench()
    scheduler = d2lhpo.SuccessiveHalvingScheduler(
        d2lhpo.RandomSearcher(b.config_space, seed=0), eta=3, r_min=1,
        r_max=27)
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        b, num_workers=4, seed=0))
    tuner.run(max_epochs=81)
    counts = sorted(epochs_per_trial(tuner).values())
    assert counts == [1] * 18 + [3] * 6 + [9] * 2 + [27]
    table = tuner.results_table()
    # the survivors of each rung are the best of the rung below
    for low, high in ((1, 3), (3, 9), (9, 27)):
        at_low = table[table.epoch == low].set_index('trial_id').error
        promoted = set(table[table.epoch == high].trial_id)
        cutoff = at_low.sort_values().iloc[len(promoted) - 1]
        assert all(at_low[t] <= cutoff for t in promoted)
        assert all(at_low[t] >= cutoff for t in set(at_low.index) - promoted)


def test_synchronous_rungs_wait_on_the_simulator():
    """No trial of rung 2 starts before every rung-1 trial has reported."""
    b = bench()
    scheduler = d2lhpo.SuccessiveHalvingScheduler(
        d2lhpo.RandomSearcher(b.config_space, seed=3), eta=3, r_min=1,
        r_max=9, num_configs=9)
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        b, num_workers=4, seed=3))
    tuner.run(max_epochs=9 + 3 * 2 + 6)
    table = tuner.results_table()
    last_rung0 = table[table.epoch == 1].time.max()
    assert table[table.epoch == 2].time.min() > last_rung0


def test_check_fidelity_returns_ints():
    assert d2lhpo.check_fidelity(np.int64(3), 1, 27) == (3, 1, 27)
    assert all(type(v) is int for v in d2lhpo.check_fidelity(np.int64(3),
                                                              1, 27))


def test_traced_successive_halving():
    traced = d2lhpo.TracedScheduler(d2lhpo.SuccessiveHalvingScheduler(
        d2lhpo.GridSearcher({'x': [0.1 * i for i in range(9)]}), eta=3,
        r_min=1, r_max=9, num_configs=9))
    d2lhpo.HPOTuner(traced, toy_objective).run(number_of_trials=10)
    P, S = d2lhpo.PAUSE, d2lhpo.STOP
    assert traced.log == [(P, i, 1) for i in range(9)] + [
        ('resume', 0), (P, 0, 3), ('resume', 1), (P, 1, 3), ('resume', 2),
        (P, 2, 3), ('resume', 0), (S, 0, 9)]


def test_successive_halving_sequential_matches_simulated_ranking():
    """On the sequential tuner with a generator objective, SH resumes paused
    generators; with a deterministic objective the promoted set is the
    top of each rung."""
    def objective(x):
        for epoch in range(1, 10):
            yield x + 1.0 / epoch
    space = {'x': [0.1 * i for i in range(9)]}
    scheduler = d2lhpo.SuccessiveHalvingScheduler(
        d2lhpo.GridSearcher(space, shuffle=True, seed=0), eta=3, r_min=1,
        r_max=9, num_configs=9)
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    tuner.run(number_of_trials=10)
    epochs = {round(r.config['x'], 1): r.epochs for r in tuner.records}
    assert epochs[0.0] == 9
    assert epochs[0.1] == epochs[0.2] == 3
    assert all(epochs[round(0.1 * i, 1)] == 1 for i in range(3, 9))
    assert tuner.incumbent == {'x': 0.0}


def test_a_failed_trial_does_not_block_its_rung():
    def objective(x):
        for epoch in range(1, 10):
            if round(x, 1) == 0.3 and epoch == 1:
                raise RuntimeError('diverged')
            yield x + 1.0 / epoch
    space = {'x': [0.1 * i for i in range(9)]}
    scheduler = d2lhpo.SuccessiveHalvingScheduler(
        d2lhpo.GridSearcher(space), eta=3, r_min=1, r_max=9, num_configs=9)
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    tuner.run(number_of_trials=10)
    status = {round(r.config['x'], 1): (r.status, r.epochs)
              for r in tuner.records}
    assert status[0.3] == ('failed', 0)
    assert status[0.0][1] == 9 and status[0.1][1] == status[0.2][1] == 3


def test_hyperband_brackets_on_the_simulator():
    b = bench()
    scheduler = d2lhpo.HyperbandScheduler(
        d2lhpo.RandomSearcher(b.config_space, seed=0), eta=3, r_min=1,
        r_max=9)
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        b, num_workers=4, seed=0))
    # one round: s=2: 9 x 1, 3 x 3, 1 x 9; s=1: 5 x 3, 1 x 9; s=0: 3 x 9
    tuner.run(max_epochs=21 + 21 + 27)
    counts = [r.epochs for r in tuner.records]
    assert len(counts) == 17
    assert sorted(counts[:9]) == [1] * 6 + [3] * 2 + [9]
    assert sorted(counts[9:14]) == [3] * 4 + [9]
    assert counts[14:] == [9, 9, 9]


def test_multi_fidelity_function_runs():
    mf = d2lhpo.MultiFidelityFunction(d2lhpo.BRANIN, max_epochs=27)
    for make in (d2lhpo.SuccessiveHalvingScheduler,
                 d2lhpo.HyperbandScheduler):
        runs = d2lhpo.simulate(
            lambda seed: make(d2lhpo.RandomSearcher(mf.config_space,
                                                    seed=seed),
                              eta=3, r_min=1, r_max=27),
            mf, seeds=[0, 1], max_time=200)
        for times, trajectory in runs:
            assert np.all(np.diff(times) >= 0)
            assert trajectory[-1] < 10


# ----------------------------------------------------------------- ASHA ---

class Ordered(d2lhpo.HPOSearcher):
    def __init__(self, values):
        self.values = list(values)

    def sample_configuration(self, trial_id):
        return {'x': self.values.pop(0)} if self.values else None


def toy_objective(x):
    for epoch in range(1, 10):
        yield x + 1 / epoch


def Logged(searcher, **kwargs):
    """ASHA, traced: its `log` lists resumes and decisions."""
    return d2lhpo.TracedScheduler(d2lhpo.ASHAScheduler(searcher, **kwargs))


ORDER = [0.5, 0.2, 0.8, 0.1, 0.9, 0.3, 0.7, 0.4, 0.6]


def test_asha_promotion_by_hand():
    scheduler = Logged(Ordered(ORDER), eta=3, r_min=1, r_max=9,
                       kind='promotion')
    tuner = d2lhpo.HPOTuner(scheduler, toy_objective)
    tuner.run(number_of_trials=10)
    P, S = d2lhpo.PAUSE, d2lhpo.STOP
    assert scheduler.log == [
        (P, 0, 1), (P, 1, 1), (P, 2, 1),
        ('resume', 1), (P, 1, 3),       # rung 1 has 3 results: best is 1
        (P, 3, 1), ('resume', 3), (P, 3, 3),  # 4 results: best is 3
        (P, 4, 1), (P, 5, 1), (P, 6, 1), (P, 7, 1),  # top 2: 3, 1 (done)
        (P, 8, 1), ('resume', 5), (P, 5, 3),  # 9 results: top 3 has 5
        ('resume', 3), (S, 3, 9)]       # rung 3: 1, 3, 5: best is 3
    assert [r.epochs for r in tuner.records] == [1, 3, 1, 9, 1, 3, 1, 1, 1]
    # a grid over the list proposes its values in order, as Ordered does
    grid = d2lhpo.TracedScheduler(d2lhpo.ASHAScheduler(
        d2lhpo.GridSearcher({'x': ORDER}), eta=3, r_min=1, r_max=9,
        kind='promotion'))
    d2lhpo.HPOTuner(grid, toy_objective).run(number_of_trials=10)
    assert grid.log == scheduler.log


@pytest.mark.parametrize('make', [
    lambda s: d2lhpo.SuccessiveHalvingScheduler(s, eta=3, r_min=1, r_max=9,
                                                num_configs=9),
    lambda s: d2lhpo.HyperbandScheduler(s, eta=3, r_min=1, r_max=9)])
def test_a_spent_searcher_still_finishes_its_bracket(make):
    """A grid of 5 values in a bracket of 9: the short rung at one epoch is
    still promoted, and its best trial is trained to r_max."""
    values = [0.5, 0.2, 0.8, 0.1, 0.9]
    tuner = d2lhpo.HPOTuner(make(d2lhpo.GridSearcher({'x': values})),
                            toy_objective)
    tuner.run(number_of_trials=20)
    epochs = {r.config['x']: r.epochs for r in tuner.records}
    assert len(tuner.records) == 5
    assert epochs[0.1] == 9  # the best of the five reaches the top
    assert max(epochs.values()) == 9 and min(epochs.values()) >= 1
    assert sum(e > 1 for e in epochs.values()) >= 1


def test_asha_stopping_by_hand():
    scheduler = Logged(Ordered(ORDER), eta=3, r_min=1, r_max=9)
    tuner = d2lhpo.HPOTuner(scheduler, toy_objective)
    tuner.run(number_of_trials=10)
    S = d2lhpo.STOP
    # rank <= ceil(n / 3) at rung 1: n=1 (rank 1), 2 (1), 3: 0.8 is 3rd;
    # n=4: 0.1 is 1st of top 2; n=5..9: 0.9, 0.3 (3rd of top 2), 0.7 (5th
    # of top 3), 0.4 (4th of top 3), 0.6 (6th of top 3) stop
    assert scheduler.log == [(S, 0, 9), (S, 1, 9), (S, 2, 1), (S, 3, 9),
                             (S, 4, 1), (S, 5, 1), (S, 6, 1), (S, 7, 1),
                             (S, 8, 1)]


def test_asha_bad_arguments():
    searcher = d2lhpo.RandomSearcher({'x': [1, 2]}, seed=0)
    with pytest.raises(ValueError, match="kind must be 'stopping'"):
        d2lhpo.ASHAScheduler(searcher, kind='pause')
    with pytest.raises(ValueError, match='eta must be >= 2'):
        d2lhpo.ASHAScheduler(searcher, eta=1)
    with pytest.raises(ValueError, match='must be an integer'):
        d2lhpo.ASHAScheduler(searcher, r_max=27.5)
    basic = d2lhpo.BasicScheduler(searcher)
    with pytest.raises(ValueError, match='r_min must be an integer >= 1'):
        d2lhpo.MedianStoppingRule(basic, r_min=0)
    with pytest.raises(ValueError, match='min_trials must be an integer'):
        d2lhpo.MedianStoppingRule(basic, min_trials=2.5)


def test_a_failed_trial_never_blocks_asha_promotions():
    """Trial 1 (the best) fails right after its first rung result; the
    others are still promoted."""
    def objective(x):
        for epoch in range(1, 10):
            yield x + 1 / epoch
            if x == 0.2:
                raise RuntimeError('out of memory')
    scheduler = Logged(Ordered(ORDER), eta=3, r_min=1, r_max=9,
                       kind='promotion')
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    tuner.run(number_of_trials=10)
    status = [(r.status, r.epochs) for r in tuner.records]
    assert status[1] == ('failed', 1)
    # trial 1 failed after its promotion from rung 1; trials 3 and 5 are
    # promoted as in the run without failures, and rung 3, with two
    # results, is too small to promote anyone to 9 epochs
    assert status[3] == status[5] == ('paused', 3)
    assert ('resume', 3) in scheduler.log and ('resume', 5) in scheduler.log


def schedulers_for(space, seed, r_max):
    rs = d2lhpo.RandomSearcher(space, seed=seed)
    fid = dict(eta=3, r_min=1, r_max=r_max)
    return {
        'sh': d2lhpo.SuccessiveHalvingScheduler(rs, **fid),
        'hyperband': d2lhpo.HyperbandScheduler(rs, **fid),
        'asha-stopping': d2lhpo.ASHAScheduler(rs, **fid),
        'asha-promotion': d2lhpo.ASHAScheduler(rs, kind='promotion', **fid),
        'median': d2lhpo.MedianStoppingRule(d2lhpo.BasicScheduler(rs)),
        'asha-tpe': d2lhpo.ASHAScheduler(
            d2lhpo.MultiFidelityTPESearcher(space, seed=seed),
            kind='promotion', **fid),
    }


@pytest.mark.parametrize('name', ['sh', 'hyperband', 'asha-stopping',
                                  'asha-promotion', 'median', 'asha-tpe'])
def test_every_scheduler_on_the_table_is_reproducible(name):
    b = bench()
    runs = []
    for _ in range(2):
        scheduler = schedulers_for(b.config_space, 5, 30)[name]
        tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
            b, num_workers=4, seed=5))
        tuner.run(max_time=5)
        runs.append((tuner.cumulative_runtime, tuner.incumbent_trajectory))
        epochs = [r.epochs for r in tuner.records]
        assert max(epochs) <= 30 and len(epochs) > 20
        if name != 'median':
            levels = {1, 3, 9, 27, 30}
            ended = [r.epochs for r in tuner.records  # by the scheduler
                     if r.status in ('stopped', 'paused') and not r.message]
            assert set(ended) <= levels
    assert runs[0] == runs[1]


@pytest.mark.parametrize('name', ['sh', 'hyperband', 'asha-stopping',
                                  'asha-promotion', 'median', 'asha-tpe'])
def test_every_scheduler_on_the_multi_fidelity_function(name):
    mf = d2lhpo.MultiFidelityFunction(d2lhpo.HARTMANN3, max_epochs=27,
                                      noise=0.01)
    scheduler = schedulers_for(mf.config_space, 0, 27)[name]
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        mf, num_workers=4, seed=0))
    tuner.run(max_epochs=1500)
    assert tuner.incumbent_error < -2.5
    assert len(tuner.records) > 50


@pytest.mark.parametrize('name', ['sh', 'hyperband', 'asha-stopping',
                                  'asha-promotion', 'median'])
def test_every_scheduler_on_the_sequential_tuner(name):
    def objective(x0, x1):
        for epoch in range(1, 10):
            yield (x0 - 0.3) ** 2 + x1 + 1 / epoch
    space = {'x0': d2lhpo_uniform(), 'x1': d2lhpo_uniform()}
    scheduler = schedulers_for(space, 0, 9)[name]
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    tuner.run(number_of_trials=30)
    assert len(tuner.records) == 30
    assert max(r.epochs for r in tuner.records) == 9


def d2lhpo_uniform():
    from scipy import stats
    return stats.uniform(0, 1)


def test_median_stopping_rule():
    """Curves x + 1/epoch: a trial is stopped once its best error exceeds
    the median running average of the others at that epoch."""
    values = [0.5, 0.4, 0.3, 0.9, 0.1, 0.45]
    scheduler = d2lhpo.MedianStoppingRule(
        d2lhpo.BasicScheduler(Ordered(values)), r_min=2, min_trials=3)
    tuner = d2lhpo.HPOTuner(scheduler, toy_objective)
    tuner.run(number_of_trials=6)
    epochs = [r.epochs for r in tuner.records]
    # the first three run to the end (fewer than 3 others); 0.9 is worse
    # than the median at epoch 2 (grace period); 0.1 runs on; 0.45: its
    # best at epoch 2 (0.95) vs running averages at 2 of 0.5, 0.4, 0.3,
    # 0.9, 0.1 (+0.75): median 1.15 -> continue; at epoch 9 ...
    assert epochs[:3] == [9, 9, 9]
    assert epochs[3] == 2
    assert epochs[4] == 9
    assert 2 <= epochs[5] <= 9


def test_model_based_searcher_uses_the_highest_rung():
    space = {'x': d2lhpo_uniform()}
    searcher = d2lhpo.MultiFidelityTPESearcher(space, min_points=3, seed=0,
                                               random_fraction=0.0)
    for i in range(5):
        searcher.update(i, {'x': 0.1 * i}, 1.0 + i, {'epoch': 1})
    for i in range(3):
        searcher.update(i, {'x': 0.9 - 0.1 * i}, 1.0 + i, {'epoch': 3})
    searcher.update(5, {'x': 0.5}, math.nan, None)  # failed: ignored
    assert sorted(searcher.models) == [1, 3]
    config = searcher.sample_configuration(6)
    assert 0 <= config['x'] <= 1
    # trial 6 starts at the lowest rung: no model tracks it as pending
    assert all(not m.pending for m in searcher.models.values())
    assert len(searcher.models[3].y) == 3


def test_model_based_searcher_ignores_levels_below_min_level():
    space = {'x': d2lhpo_uniform()}
    searcher = d2lhpo.MultiFidelityTPESearcher(space, min_points=3, seed=0,
                                               random_fraction=0.0,
                                               min_level=9)
    draws = d2lhpo.MultiFidelityTPESearcher(space, min_points=3, seed=0,
                                            random_fraction=1.0)
    for level in (1, 3):  # plenty of results below min_level: no model
        for i in range(6):
            searcher.update(i, {'x': 0.1 * i}, 1.0 + i, {'epoch': level})
    assert searcher.models == {}
    # ... so it samples exactly as the searcher that always draws at random
    assert ([searcher.sample_configuration(i) for i in range(6, 9)]
            == [draws.sample_configuration(i) for i in range(6, 9)])
    for i in range(3):
        searcher.update(i, {'x': 0.9 - 0.1 * i}, 1.0 + i, {'epoch': 9})
    assert sorted(searcher.models) == [9] and len(searcher.models[9].y) == 3
    asked = []  # now the level-9 model proposes
    propose = searcher.models[9].propose
    searcher.models[9].propose = lambda **kw: asked.append(1) or propose(**kw)
    searcher.sample_configuration(9)
    assert asked == [1]


def test_is_running_matches_rows_up_to_rounding():
    U = np.array([[0.0, 0.5], [0.25, 1.0], [0.1, 0.2]])
    X = np.array([[0.25, 1.0 + 1e-12], [-0.0, 0.5], [0.3, 0.2]])
    assert d2lhpo.is_running(U, X).tolist() == [True, True, False]
    assert d2lhpo.is_running(U, None).tolist() == [False] * 3
    assert d2lhpo.is_running(U, np.zeros((0, 2))).tolist() == [False] * 3
    assert d2lhpo.is_running(U, [0.1, 0.2]).tolist() == [False, False, True]
    assert d2lhpo.point_key(-0.0) == d2lhpo.point_key(0.0)
    with pytest.raises(ValueError, match='width'):
        d2lhpo.is_running(U, np.zeros((1, 3)))


def test_model_based_searcher_never_suggests_a_configuration_twice():
    # 12 configurations; the model is ready after 2 results at epoch 1
    space = {'a': [1, 2, 3, 4], 'b': ['x', 'y', 'z']}
    searcher = d2lhpo.MultiFidelityTPESearcher(space, min_points=2, seed=0,
                                               random_fraction=0.0)
    seen = []
    for i in range(12):
        config = searcher.sample_configuration(i)
        seen.append((config['a'], config['b']))
        searcher.update(i, config, float(config['a']), {'epoch': 1})
    assert len(set(seen)) == 12  # every configuration, once
    extra = searcher.sample_configuration(12)  # exhausted: a repeat is fine
    assert (extra['a'], extra['b']) in seen


def test_model_based_searcher_follows_bohb_minimum_points():
    space = {f'x{i}': d2lhpo_uniform() for i in range(3)}
    searcher = d2lhpo.MultiFidelityTPESearcher(space, seed=0)
    assert searcher.min_points == 2 * (3 + 1)
    assert searcher.tpe_args['min_good'] == 3 + 1
    tpe = d2lhpo.TPESearcher(space, seed=0, min_good=4)
    for i in range(10):  # ceil(0.15 * 10) = 2 < 4 good points
        tpe.update(i, {f'x{j}': 0.05 * i for j in range(3)}, float(i))
    good, bad = tpe.split()
    assert len(good) == 4 and len(bad) == 6


def test_tpe_propose_excludes_the_given_points():
    space = {'a': [1, 2, 3]}
    tpe = d2lhpo.TPESearcher(space, seed=0, num_init=1)
    for i, a in enumerate([1, 2, 3, 1, 2]):
        tpe.update(i, {'a': a}, float(a))
    best = tpe.encoder.encode({'a': 1})
    for _ in range(5):  # a = 1 is best; excluded, it is never proposed
        u = tpe.propose(exclude=best[None])
        assert tpe.encoder.decode(u)['a'] != 1


# ---------------------------------------------------------- checkpoints ---

def test_pause_and_resume_from_a_checkpoint_equals_training_straight(
        tmp_path):
    import torch
    config = {'lr': 0.1, 'batch_size': 64, 'channels': 8, 'num_epochs': 5}
    straight = str(tmp_path / 'straight.pt')
    paused = str(tmp_path / 'paused.pt')
    errors = list(d2lhpo.cnn_checkpointed(**config, checkpoint=straight))
    steps = d2lhpo.cnn_checkpointed(**config, checkpoint=paused)
    first = [next(steps), next(steps)]  # 2 epochs, then pause
    steps.close()
    assert torch.load(paused)['epoch'] == 2
    rest = list(d2lhpo.cnn_checkpointed(**config, checkpoint=paused))
    assert len(rest) == 3 and first + rest == errors
    a, b = torch.load(straight), torch.load(paused)
    assert a['epoch'] == b['epoch'] == 5
    for key in a['model']:
        assert torch.equal(a['model'][key], b['model'][key])
    for i, buf in a['optimizer']['state'].items():
        assert torch.equal(buf['momentum_buffer'],
                           b['optimizer']['state'][i]['momentum_buffer'])
    assert torch.equal(a['generator'], b['generator'])


def test_asha_promotion_resumes_real_training_on_worker_processes(tmp_path):
    """A promoted trial continues where it paused: its errors equal those
    of the same configuration trained straight through."""
    space = {'lr': [0.03, 0.1, 0.3], 'batch_size': [64], 'channels': [8],
             'num_epochs': 9}
    scheduler = d2lhpo.ASHAScheduler(d2lhpo.RandomSearcher(space, seed=0),
                                     eta=3, r_min=1, r_max=9,
                                     kind='promotion')
    backend = d2lhpo.LocalBackend(d2lhpo.cnn_checkpointed, num_workers=2)
    backend.checkpoint_dir = str(tmp_path)
    try:
        tuner = d2lhpo.AsyncTuner(scheduler, backend)
        tuner.run(max_epochs=14)
    finally:
        backend.close()
    table = tuner.results_table()
    promoted = [r for r in tuner.records if r.epochs >= 3]
    assert promoted and all(r.status != 'failed' for r in tuner.records)
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(backend.num_threads)  # as on the workers
    for record in promoted:
        resumed = table[table.trial_id == record.trial_id].error.tolist()
        assert resumed == list(d2lhpo.cnn_checkpointed(
            **record.config))[:len(resumed)]
        assert os.path.exists(tmp_path / f'trial_{record.trial_id}.pt')
    torch.set_num_threads(threads)


def test_stale_checkpoints_are_not_loaded_by_new_trials(tmp_path):
    import torch
    path = tmp_path / 'trial_0.pt'
    torch.save({'epoch': 99}, path)
    backend = d2lhpo.LocalBackend(d2lhpo.cnn_checkpointed, num_workers=1)
    backend.checkpoint_dir = str(tmp_path)
    try:
        tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
            {'lr': [0.1], 'channels': [8], 'num_epochs': 2}, seed=0)),
            backend)
        tuner.run(number_of_trials=1)
    finally:
        backend.close()
    assert [r.status for r in tuner.records] == ['completed']
    assert torch.load(path)['epoch'] == 2


def toy_checkpointed(x, checkpoint=None):
    """x + 1/epoch for 9 epochs; remembers its last epoch in `checkpoint`."""
    done = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = int(f.read())
    for epoch in range(done + 1, 10):
        if checkpoint is not None:
            with open(checkpoint, 'w') as f:
                f.write(str(epoch))
        yield x + 1 / epoch


@pytest.mark.parametrize('name', ['sh', 'hyperband', 'asha-stopping',
                                  'asha-promotion', 'median'])
def test_every_scheduler_on_worker_processes(name, tmp_path):
    space = {'x': d2lhpo_uniform()}
    scheduler = schedulers_for(space, 0, 9)[name]
    backend = d2lhpo.LocalBackend(toy_checkpointed, num_workers=2)
    backend.checkpoint_dir = str(tmp_path)
    try:
        tuner = d2lhpo.AsyncTuner(scheduler, backend)
        tuner.run(max_epochs=40)
    finally:
        backend.close()
    assert all(r.status != 'failed' for r in tuner.records)
    if name in ('sh', 'hyperband', 'asha-promotion'):  # some were resumed
        assert max(r.epochs for r in tuner.records) >= 3
    table = tuner.results_table()
    for trial_id, rows in table.groupby('trial_id'):
        x = tuner.records[trial_id].config['x']
        assert rows.epoch.tolist() == list(range(1, len(rows) + 1))
        assert np.allclose(rows.error, x + 1 / rows.epoch)  # continued
