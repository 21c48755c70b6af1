"""The trial-event interface on the sequential HPOTuner: generator objectives,
scheduler decisions (continue, pause, stop), resuming, failures mid-trial."""
import math

import pytest

from d2lhpo import (CONTINUE, PAUSE, STOP, BasicScheduler, HPOScheduler,
                    HPOTuner, Resume, TrialRecord, as_result)


def curve_objective(x, num_epochs=5, fail_at=None):
    """A generator objective: error x / epoch after every epoch."""
    for epoch in range(1, num_epochs + 1):
        if epoch == fail_at:
            raise RuntimeError(f'diverged at epoch {epoch}')
        yield x / epoch


class ListScheduler(HPOScheduler):
    """Proposes the given configs in order and logs every event."""
    def __init__(self, configs, decide=None):
        self.configs, self.position = list(configs), 0
        self.decide = decide or (lambda trial, result: CONTINUE)
        self.events, self.updates = [], []

    def suggest(self, trial_id):
        if self.position >= len(self.configs):
            return None
        self.position += 1
        return self.configs[self.position - 1]

    def on_trial_start(self, trial):
        self.events.append(('start', trial.trial_id))

    def on_trial_result(self, trial, result):
        self.events.append(('result', trial.trial_id, result['epoch']))
        return self.decide(trial, result)

    def on_trial_complete(self, trial, result):
        self.events.append(('complete', trial.trial_id))
        self.updates.append((trial.config, result['error']))

    def on_trial_error(self, trial, message):
        self.events.append(('error', trial.trial_id))
        self.updates.append((trial.config, math.nan))


def test_generator_objective_reports_every_epoch_in_order():
    scheduler = ListScheduler([{'x': 1.0}, {'x': 0.5}])
    tuner = HPOTuner(scheduler, curve_objective)
    tuner.run(2)
    assert [(r['trial_id'], r['epoch']) for r in tuner.results] == [
        (t, e) for t in (0, 1) for e in range(1, 6)]
    assert [r['error'] for r in tuner.results[:5]] == [
        1.0 / e for e in range(1, 6)]
    times = [r['time'] for r in tuner.results]
    assert times == sorted(times) and times == tuner.cumulative_runtime
    assert scheduler.events == (
        [('start', 0)] + [('result', 0, e) for e in range(1, 6)]
        + [('complete', 0), ('start', 1)]
        + [('result', 1, e) for e in range(1, 6)] + [('complete', 1)])
    # on_trial_complete gets the last result
    assert scheduler.updates == [({'x': 1.0}, 0.2), ({'x': 0.5}, 0.1)]
    assert [r.epochs for r in tuner.records] == [5, 5]
    assert tuner.incumbent == {'x': 0.5} and tuner.incumbent_error == 0.1


def test_incumbent_counts_results_of_every_epoch():
    """The incumbent is the best result so far, whatever its epoch."""
    def bumpy(x):
        yield x
        yield 10 * x

    tuner = HPOTuner(ListScheduler([{'x': 0.1}, {'x': 0.2}]), bumpy)
    tuner.run(2)
    assert tuner.incumbent_trajectory == [0.1, 0.1, 0.1, 0.1]
    assert [r.error for r in tuner.records] == [1.0, 2.0]  # latest errors


def test_stop_decision_ends_the_trial_and_closes_the_generator():
    closed = []

    def objective(x):
        try:
            for epoch in range(1, 10):
                yield x / epoch
        finally:
            closed.append(x)

    stop_bad = lambda trial, result: (
        STOP if result['epoch'] == 2 and result['error'] > 0.3 else CONTINUE)
    scheduler = ListScheduler([{'x': 1.0}, {'x': 0.4}], stop_bad)
    tuner = HPOTuner(scheduler, objective)
    tuner.run(2)
    assert [r.status for r in tuner.records] == ['stopped', 'completed']
    assert [r.epochs for r in tuner.records] == [2, 9]
    assert closed == [1.0, 0.4]
    # a stopped trial is not reported to update: the scheduler decided
    assert scheduler.updates == [({'x': 0.4}, 0.4 / 9)]
    assert ('complete', 0) not in scheduler.events


class PauseThenResume(HPOScheduler):
    """Pauses trial 0 after epoch 2, starts trial 1, then resumes trial 0."""
    def __init__(self):
        self.queue = [{'x': 1.0}, {'x': 0.5}, Resume(0)]

    def suggest(self, trial_id):
        return self.queue.pop(0) if self.queue else None

    def on_trial_result(self, trial, result):
        if trial.trial_id == 0 and result['epoch'] == 2:
            return PAUSE
        return CONTINUE


def test_pause_and_resume_continue_the_same_generator():
    starts = []

    def objective(x):
        starts.append(x)
        for epoch in range(1, 5):
            yield x / epoch

    tuner = HPOTuner(PauseThenResume(), objective)
    tuner.run(3)  # stops when suggest returns None
    assert len(tuner.records) == 2  # a resume is not a new trial
    assert starts == [1.0, 0.5]  # trial 0 was not restarted
    assert [(r['trial_id'], r['epoch'], r['error']) for r in tuner.results] \
        == ([(0, 1, 1.0), (0, 2, 0.5)] + [(1, e, 0.5 / e) for e in range(1, 5)]
            + [(0, 3, 1 / 3), (0, 4, 0.25)])
    assert [r.status for r in tuner.records] == ['completed', 'completed']
    assert tuner.paused == {}


def test_run_ends_after_the_new_trials_and_leaves_paused_trials_paused():
    tuner = HPOTuner(PauseThenResume(), curve_objective)
    tuner.run(2)
    assert [r.status for r in tuner.records] == ['paused', 'completed']
    assert list(tuner.paused) == [0]
    tuner.run(1)  # the next suggestion resumes trial 0
    assert [r.status for r in tuner.records] == ['completed', 'completed']
    assert tuner.records[0].epochs == 5


def test_resuming_a_trial_that_is_not_paused_is_an_error():
    class Bad(PauseThenResume):
        def __init__(self):
            self.queue = [{'x': 1.0}, Resume(0)]

        def on_trial_result(self, trial, result):
            return CONTINUE

    tuner = HPOTuner(Bad(), curve_objective)
    with pytest.raises(ValueError, match='not paused'):
        tuner.run(5)


def test_failure_mid_trial_keeps_the_earlier_results():
    objective = lambda x: curve_objective(x, fail_at=3)
    scheduler = ListScheduler([{'x': 0.3}, {'x': 0.9}])
    tuner = HPOTuner(scheduler, objective)
    tuner.run(2)
    assert [r.status for r in tuner.records] == ['failed', 'failed']
    assert 'diverged at epoch 3' in tuner.records[0].message
    assert [r['epoch'] for r in tuner.results] == [1, 2, 1, 2]
    assert tuner.incumbent == {'x': 0.3} and tuner.incumbent_error == 0.15
    assert [e for e in scheduler.events if e[0] == 'error'] == [
        ('error', 0), ('error', 1)]
    assert all(math.isnan(error) for _, error in scheduler.updates)


def test_non_finite_intermediate_result_fails_the_trial():
    def objective(x):
        yield 0.5
        yield math.nan
        yield 0.1

    tuner = HPOTuner(ListScheduler([{'x': 0}]), objective)
    tuner.run(1)
    record = tuner.records[0]
    assert record.status == 'failed' and 'nan' in record.message
    assert record.epochs == 1 and math.isnan(record.error)


def test_generator_reporting_nothing_is_a_failed_trial():
    def objective(x):
        return
        yield

    tuner = HPOTuner(ListScheduler([{'x': 0}]), objective)
    tuner.run(1)
    assert tuner.records[0].status == 'failed'
    assert 'no result' in tuner.records[0].message


def test_dict_results_keep_extra_metrics():
    def objective(x):
        yield {'error': x, 'train_loss': 2 * x}

    tuner = HPOTuner(ListScheduler([{'x': 0.25}]), objective)
    tuner.run(1)
    table = tuner.results_table()
    assert list(table.columns[:4]) == ['trial_id', 'epoch', 'error', 'time']
    assert table['train_loss'].tolist() == [0.5]


@pytest.mark.parametrize('value, error, pattern', [
    ({'loss': 0.1}, KeyError, 'error'),
    ({'error': 'x'}, TypeError, 'str'),
    (math.inf, ValueError, 'inf'),
])
def test_as_result_rejects_bad_reports(value, error, pattern):
    with pytest.raises(error, match=pattern):
        as_result(value)


def test_invalid_decision_is_a_clear_error():
    scheduler = ListScheduler([{'x': 1.0}], lambda t, r: 'maybe')
    with pytest.raises(ValueError, match='CONTINUE, PAUSE or STOP'):
        HPOTuner(scheduler, curve_objective).run(1)


def test_default_events_run_every_trial_to_its_end():
    """Only suggest is abstract; every event has a harmless default."""
    base = HPOScheduler()
    trial = TrialRecord(0, {'x': 1})
    assert base.on_trial_start(trial) is None
    assert base.on_trial_result(trial, {'error': 0.5, 'epoch': 1}) == CONTINUE
    assert base.on_trial_complete(trial, {'error': 0.5}) is None
    assert base.on_trial_error(trial, 'boom') is None
