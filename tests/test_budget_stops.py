"""A trial that the tuner stops (a budget is spent, Ctrl-C) reaches the
scheduler, so that `run()` can be called again with any scheduler and
continues (issue 13: a second run of successive halving, Hyperband or the
synchronous scheduler started no trial at all)."""
import math

import pytest
from scipy import stats

import d2lhpo

BENCH = d2lhpo.TabularBenchmark()

SCHEDULERS = {
    'basic': lambda s: d2lhpo.BasicScheduler(s),
    'synchronous': lambda s: d2lhpo.SynchronousScheduler(
        d2lhpo.BasicScheduler(s), batch_size=4),
    'successive halving': lambda s: d2lhpo.SuccessiveHalvingScheduler(
        s, eta=3, r_min=1, r_max=27),
    'hyperband': lambda s: d2lhpo.HyperbandScheduler(
        s, eta=3, r_min=1, r_max=27),
    'asha': lambda s: d2lhpo.ASHAScheduler(s, eta=3, r_min=1, r_max=27),
    'asha promotion': lambda s: d2lhpo.ASHAScheduler(
        s, eta=3, r_min=1, r_max=27, kind='promotion'),
}


def make_tuner(name, seed=0):
    searcher = d2lhpo.RandomSearcher(BENCH.config_space, seed=seed)
    backend = d2lhpo.SimulatedBackend(BENCH, num_workers=4, seed=seed)
    return d2lhpo.AsyncTuner(SCHEDULERS[name](searcher), backend)


@pytest.mark.parametrize('first', [{'max_epochs': 10}, {'max_time': 2.0},
                                   {'number_of_trials': 3}])
@pytest.mark.parametrize('name', list(SCHEDULERS))
def test_a_second_run_continues(name, first):
    tuner = make_tuner(name)
    tuner.run(**first)
    before = len(tuner.results)
    assert before > 0
    tuner.run(max_epochs=30)
    assert len(tuner.results) == before + 30
    assert not tuner.running


class Recorder(d2lhpo.SchedulerWrapper):
    """Remembers which trials the scheduler heard of as ended."""
    def __init__(self, scheduler):
        super().__init__(scheduler)
        self.ended = set()

    def on_trial_complete(self, trial, result):
        self.ended.add(trial.trial_id)
        super().on_trial_complete(trial, result)

    def on_trial_error(self, trial, message):
        self.ended.add(trial.trial_id)
        super().on_trial_error(trial, message)


def test_the_scheduler_hears_of_every_trial_the_tuner_stops():
    scheduler = Recorder(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(BENCH.config_space, seed=1)))
    tuner = d2lhpo.AsyncTuner(
        scheduler, d2lhpo.SimulatedBackend(BENCH, num_workers=4, seed=1))
    tuner.run(max_epochs=25)
    cut = [r for r in tuner.records if r.message == 'budget exhausted']
    assert len(cut) == 4  # one per busy worker
    for trial in cut:
        assert trial.trial_id in scheduler.ended
        assert trial.status == 'stopped'  # with the results it has
        assert trial.epochs >= 1 and not math.isnan(trial.error)


def test_the_sequential_tuner_reports_an_interrupted_trial():
    """Ctrl-C in the objective: the trial ends with its last result and the
    scheduler hears of it; the next run goes on."""
    calls = []

    def objective(x):
        for epoch in range(1, 4):
            calls.append(epoch)
            if len(calls) == 2:
                raise KeyboardInterrupt
            yield {'error': x / epoch}

    scheduler = Recorder(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher({'x': stats.uniform(0, 1)}, seed=0)))
    tuner = d2lhpo.HPOTuner(scheduler, objective)
    with pytest.raises(KeyboardInterrupt):
        tuner.run(number_of_trials=2)
    trial = tuner.records[0]
    assert trial.status == 'stopped' and trial.message == 'interrupted'
    assert trial.epochs == 1 and 0 in scheduler.ended
    tuner.run(number_of_trials=1)
    assert tuner.records[-1].status == 'completed'
