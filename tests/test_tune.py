"""`d2lhpo.tune`: searchers and schedulers of the book by name (issue 16)."""
import pytest
from scipy import stats

import d2lhpo

SPACE = {'x': stats.uniform(0, 1), 'k': [1, 2, 3]}


def plain(x, k):
    return (x - 0.3) ** 2 + 0.01 * k


def curve(x, k):
    for epoch in range(1, 10):
        yield (x - 0.3) ** 2 + 0.01 * k + 0.1 / epoch


@pytest.mark.parametrize('searcher', ['random', 'grid', 'bo', 'tpe', 'rf'])
def test_every_searcher_by_name(searcher):
    tuner = d2lhpo.tune(plain, SPACE, searcher=searcher, seed=0,
                        number_of_trials=6, verbose=False,
                        searcher_options={'num_init': 3}
                        if searcher in ('bo', 'rf') else None)
    assert isinstance(tuner, d2lhpo.HPOTuner)
    assert len(tuner.records) == 6 and tuner.stop_reason == 'number_of_trials'
    assert all(r.status == 'completed' for r in tuner.records)
    kind = {'random': d2lhpo.RandomSearcher, 'grid': d2lhpo.GridSearcher,
            'bo': d2lhpo.BayesOptSearcher, 'tpe': d2lhpo.TPESearcher,
            'rf': d2lhpo.RFSearcher}[searcher]
    assert type(tuner.scheduler.searcher) is kind


@pytest.mark.parametrize('scheduler, cls', [
    ('fifo', d2lhpo.BasicScheduler),
    ('sh', d2lhpo.SuccessiveHalvingScheduler),
    ('hyperband', d2lhpo.HyperbandScheduler),
    ('asha', d2lhpo.ASHAScheduler),
    ('median', d2lhpo.MedianStoppingRule)])
def test_every_scheduler_by_name(scheduler, cls):
    tuner = d2lhpo.tune(curve, SPACE, scheduler=scheduler, r_max=9, seed=1,
                        max_epochs=60, verbose=False)
    assert type(tuner.scheduler) is cls
    assert len(tuner.results) == 60 and tuner.stop_reason == 'max_epochs'
    if scheduler in ('sh', 'hyperband', 'asha'):  # some trials end early
        assert any(r.epochs < 9 for r in tuner.records  # (sh: paused)
                   if r.status in ('stopped', 'paused') and not r.message)


def test_the_same_seed_gives_the_same_run():
    runs = [d2lhpo.tune(plain, SPACE, searcher='tpe', seed=3,
                        number_of_trials=12, verbose=False)
            for _ in range(2)]
    assert [r.config for r in runs[0].records] == [
        r.config for r in runs[1].records]


def test_metric_mode_and_budgets_reach_the_tuner():
    def accuracy(x, k):
        return {'accuracy': 1 - plain(x, k)}
    tuner = d2lhpo.tune(accuracy, SPACE, metric='accuracy', mode='max',
                        seed=0, number_of_trials=500, target=0.98,
                        verbose=False)
    assert tuner.stop_reason == 'target' and tuner.incumbent_metric() >= 0.98
    assert tuner.mode == 'max' and len(tuner.records) < 500


def test_options_reach_the_classes():
    tuner = d2lhpo.tune(plain, SPACE, searcher='grid', number_of_trials=100,
                        searcher_options={'num_points': 2}, verbose=False)
    assert len(tuner.records) == 6  # 2 x 3 points, then the grid is done
    assert tuner.stop_reason == 'searcher exhausted'
    tuner = d2lhpo.tune(curve, SPACE, scheduler='asha', r_max=9, eta=2,
                        number_of_trials=4, verbose=False,
                        scheduler_options={'kind': 'promotion'})
    assert tuner.scheduler.eta == 2 and tuner.scheduler.kind == 'promotion'


@pytest.mark.parametrize('kwargs, words', [
    (dict(searcher='bayes'), ['unknown searcher', "'random'", "'grid'",
                              "'bo'", "'tpe'", "'rf'"]),
    (dict(scheduler='pbt'), ['unknown scheduler', "'fifo'", "'sh'",
                             "'hyperband'", "'asha'", "'median'"]),
    (dict(searcher='TPE'), ['unknown searcher']),
    (dict(searcher=None), ['unknown searcher None']),
    (dict(scheduler=d2lhpo.BasicScheduler), ['unknown scheduler']),
    (dict(scheduler='asha'), ['needs r_max']),
    (dict(n_workers=0), ['n_workers']),
    (dict(n_workers=2.0), ['n_workers']),
    (dict(number_of_trials=0), ['number_of_trials']),
    (dict(number_of_trials=None), ['at least one budget']),
])
def test_bad_arguments_are_refused_before_anything_runs(kwargs, words):
    calls = []

    def objective(x, k):
        calls.append(x)
        return x

    kwargs = {'number_of_trials': 3, 'verbose': False, **kwargs}
    with pytest.raises(ValueError) as info:
        d2lhpo.tune(objective, SPACE, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert calls == []


def test_several_workers_run_on_worker_processes():
    tuner = d2lhpo.tune(plain, SPACE, n_workers=2, seed=0,
                        number_of_trials=4, verbose=False)
    assert isinstance(tuner, d2lhpo.AsyncTuner)
    assert isinstance(tuner.backend, d2lhpo.LocalBackend)
    assert len(tuner.records) == 4
    assert {r.status for r in tuner.records} == {'completed'}
    assert {r.worker for r in tuner.records} == {0, 1}
    assert tuner.backend.processes == [None, None]  # closed by `tune`
