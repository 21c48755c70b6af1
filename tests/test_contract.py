"""One contract for every searcher and every scheduler, on every way of
running trials: the sequential tuner, the simulator and worker processes.

Schedulers hear about trials only through the four trial events, and
searchers learn by trial id; so any searcher under any scheduler must run
on any backend, and a scheduler written in a few lines against the events
alone must run there too.
"""
import math

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import CONTINUE, STOP

SPACE = {'x0': stats.uniform(0, 1), 'x1': stats.uniform(0, 1)}
NUM_EPOCHS = 9


def curve(x0, x1, epoch):
    """A learning curve that falls to a bowl around (0.3, 0.6)."""
    return (x0 - 0.3) ** 2 + (x1 - 0.6) ** 2 + 1 / epoch


def make_objective():
    """The objective, defined locally so that cloudpickle ships it by value
    to the worker processes (they cannot import this test module). It
    checkpoints its epoch, so paused trials resume on any worker."""
    def objective(x0, x1, checkpoint=None):
        import json
        import os
        done = 0
        if checkpoint is not None and os.path.exists(checkpoint):
            with open(checkpoint) as f:
                done = json.load(f)['epoch']
        for epoch in range(done + 1, NUM_EPOCHS + 1):
            if checkpoint is not None:
                with open(checkpoint, 'w') as f:
                    json.dump({'epoch': epoch}, f)
            yield (x0 - 0.3) ** 2 + (x1 - 0.6) ** 2 + 1 / epoch
    return objective


class ToyCurves:
    """The same curves as a benchmark for the simulator."""
    config_space, seeds = SPACE, [0]

    def learning_curve(self, config, seed):
        errors = [curve(config['x0'], config['x1'], e)
                  for e in range(1, NUM_EPOCHS + 1)]
        return {'error': errors,
                'epoch_time': [0.1 + config['x0']] * NUM_EPOCHS}


class StopAfterTwoEpochs(d2lhpo.HPOScheduler):
    """A scheduler written against the events alone, in a few lines: it
    stops every trial whose error after two epochs is above 0.7."""
    def __init__(self, searcher):
        self.searcher = searcher

    def suggest(self, trial_id):
        return self.searcher.sample_configuration(trial_id)

    def on_trial_result(self, trial, result):
        if result['epoch'] == 2 and result['error'] > 0.7:
            return STOP
        return CONTINUE


SEARCHERS = {
    'random': lambda seed: d2lhpo.RandomSearcher(SPACE, seed=seed),
    'grid': lambda seed: d2lhpo.GridSearcher(SPACE, num_points=3,
                                             shuffle=True, seed=seed),
    'bo': lambda seed: d2lhpo.BayesOptSearcher(SPACE, seed=seed,
                                               num_init=4),
    'tpe': lambda seed: d2lhpo.TPESearcher(SPACE, seed=seed, num_init=4),
    'rf': lambda seed: d2lhpo.RFSearcher(SPACE, seed=seed, num_init=4),
    'mf-tpe': lambda seed: d2lhpo.MultiFidelityTPESearcher(
        SPACE, seed=seed, min_points=3),
}
FIDELITY = dict(eta=3, r_min=1, r_max=NUM_EPOCHS)
SCHEDULERS = {
    'basic': d2lhpo.BasicScheduler,
    'synchronous': lambda s: d2lhpo.SynchronousScheduler(
        d2lhpo.BasicScheduler(s), batch_size=2),
    'sh': lambda s: d2lhpo.SuccessiveHalvingScheduler(s, **FIDELITY),
    'hyperband': lambda s: d2lhpo.HyperbandScheduler(s, **FIDELITY),
    'asha-stopping': lambda s: d2lhpo.ASHAScheduler(s, **FIDELITY),
    'asha-promotion': lambda s: d2lhpo.ASHAScheduler(
        s, kind='promotion', **FIDELITY),
    'median': lambda s: d2lhpo.MedianStoppingRule(d2lhpo.BasicScheduler(s)),
    'events-only': StopAfterTwoEpochs,
}
COMBINATIONS = [(se, sc) for se in SEARCHERS for sc in SCHEDULERS]
NUM_TRIALS = 12


def run_sequential(searcher, scheduler, seed):
    scheduler = SCHEDULERS[scheduler](SEARCHERS[searcher](seed))
    tuner = d2lhpo.HPOTuner(scheduler, make_objective())
    tuner.run(number_of_trials=NUM_TRIALS)
    return tuner


def run_simulated(searcher, scheduler, seed):
    scheduler = SCHEDULERS[scheduler](SEARCHERS[searcher](seed))
    backend = d2lhpo.SimulatedBackend(ToyCurves(), num_workers=3, seed=seed)
    tuner = d2lhpo.AsyncTuner(scheduler, backend)
    tuner.run(number_of_trials=NUM_TRIALS)
    return tuner


def check_books(tuner):
    """What every run must satisfy, whoever searched and scheduled."""
    domains = d2lhpo.parse_config_space(SPACE)
    assert tuner.records, 'no trial ran'
    for record in tuner.records:
        assert d2lhpo.check_config(domains, record.config) == record.config
        assert record.status in ('completed', 'stopped', 'paused', 'failed')
        assert record.status != 'failed', record.message
        # a trial's results are its epochs 1, 2, ... in order, each once,
        # with the values of its curve: pausing and resuming lose nothing
        mine = [r for r in tuner.results if r['trial_id'] == record.trial_id]
        assert [r['epoch'] for r in mine] == list(range(1, len(mine) + 1))
        assert len(mine) == record.epochs <= NUM_EPOCHS
        expected = [curve(record.config['x0'], record.config['x1'], e)
                    for e in range(1, len(mine) + 1)]
        assert [r['error'] for r in mine] == pytest.approx(expected)
    times = [r['time'] for r in tuner.results]
    assert times == sorted(times)
    best = min(r['error'] for r in tuner.results)
    assert tuner.incumbent_error == best
    assert tuner.incumbent_trajectory[-1] == best


def trajectory(tuner):
    return [(r['trial_id'], r['epoch'], r['error']) for r in tuner.results]


@pytest.mark.parametrize('searcher,scheduler', COMBINATIONS,
                         ids=[f'{a}-{b}' for a, b in COMBINATIONS])
def test_contract_on_the_sequential_tuner(searcher, scheduler):
    tuner = run_sequential(searcher, scheduler, seed=1)
    check_books(tuner)
    again = run_sequential(searcher, scheduler, seed=1)
    assert trajectory(again) == trajectory(tuner)


@pytest.mark.parametrize('searcher,scheduler', COMBINATIONS,
                         ids=[f'{a}-{b}' for a, b in COMBINATIONS])
def test_contract_on_the_simulator(searcher, scheduler):
    tuner = run_simulated(searcher, scheduler, seed=2)
    check_books(tuner)
    workers = {r.worker for r in tuner.records}
    assert workers <= {0, 1, 2}
    again = run_simulated(searcher, scheduler, seed=2)
    assert trajectory(again) == trajectory(tuner)


@pytest.fixture(scope='module')
def local_backend():
    backend = d2lhpo.LocalBackend(make_objective(), num_workers=2,
                                  num_threads=1)
    backend.wait_until_ready()
    yield backend
    backend.close()


@pytest.mark.parametrize('scheduler', list(SCHEDULERS))
def test_contract_on_worker_processes(scheduler, local_backend, tmp_path):
    """Every scheduler on real worker processes, with checkpoints for the
    trials that pause and resume (the searcher is random search; the
    searchers are backend-agnostic, tested above)."""
    local_backend.checkpoint_dir = str(tmp_path)
    tuner = d2lhpo.AsyncTuner(
        SCHEDULERS[scheduler](SEARCHERS['random'](3)), local_backend)
    tuner.run(number_of_trials=8)
    check_books(tuner)
    assert {r.worker for r in tuner.records} <= {0, 1}


def test_searchers_learn_from_the_schedulers_by_trial_id():
    """Under ASHA, BO is told each rung result of a trial by its id: no
    trial stays pending once it has reported, and every observation is a
    configuration that one of its trials ran."""
    searcher = SEARCHERS['bo'](0)
    tuner = d2lhpo.HPOTuner(d2lhpo.ASHAScheduler(searcher, **FIDELITY),
                            make_objective())
    tuner.run(number_of_trials=10)
    assert not searcher.pending
    configs = [np.array([r.config['x0'], r.config['x1']])
               for r in tuner.records]
    X, y = searcher.observed()
    assert len(y) >= len(tuner.records)  # one per rung reached
    for u in X:
        assert min(np.abs(u - c).max() for c in configs) < 1e-9
    assert np.all(np.isfinite(y)) and not math.isnan(y.min())


@pytest.mark.parametrize('searcher', list(SEARCHERS))
def test_contract_every_searcher_on_worker_processes(searcher, local_backend,
                                                     tmp_path):
    local_backend.checkpoint_dir = str(tmp_path)
    tuner = d2lhpo.AsyncTuner(
        SCHEDULERS['asha-promotion'](SEARCHERS[searcher](4)), local_backend)
    tuner.run(number_of_trials=8)
    check_books(tuner)
