"""A tuner's metric= and mode=: converted once where a result arrives, shown
as reported in tables and logs; and the runtime that AsyncTuner records."""
import json
import math
import os
import time

import pytest

import d2lhpo
from d2lhpo import (ASHAScheduler, AsyncTuner, BasicScheduler, GridSearcher,
                    HPOTuner, LocalBackend, RandomSearcher, SimulatedBackend,
                    TabularBenchmark, TrialEvent)

GRID = {'x': [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}


def accuracy(x):
    return {'accuracy': 1 - (x - 0.3) ** 2, 'size': 10 * x}


def grid_tuner(objective, **kwargs):
    return HPOTuner(BasicScheduler(GridSearcher(GRID)), objective, **kwargs)


def test_mode_max_finds_the_best_accuracy():
    tuner = grid_tuner(accuracy, metric='accuracy', mode='max')
    tuner.run(len(GRID['x']))
    assert tuner.incumbent == {'x': 0.3}
    assert tuner.incumbent_metric() == 1.0
    assert tuner.incumbent_error == -1.0  # what the tuner minimizes
    assert tuner.metric_trajectory() == [-e for e in
                                         tuner.incumbent_trajectory]
    assert tuner.metric_trajectory()[-1] == 1.0
    # the tables show the metric as reported, under its own name
    records = tuner.records_table()
    assert 'error' not in records.columns
    assert records['accuracy'].tolist() == [accuracy(x)['accuracy']
                                            for x in GRID['x']]
    results = tuner.results_table()
    assert list(results.columns[:4]) == ['trial_id', 'epoch', 'accuracy',
                                         'time']
    assert 'error' not in results.columns
    assert results['size'].tolist() == [10 * x for x in GRID['x']]


def test_mode_min_on_a_user_metric_and_mode_max_on_the_error():
    tuner = grid_tuner(accuracy, metric='size')
    tuner.run(7)
    assert tuner.incumbent == {'x': 0.0}
    tuner = grid_tuner(lambda x: x, mode='max')  # a number is an 'error'
    tuner.run(7)
    assert tuner.incumbent == {'x': 0.6} and tuner.incumbent_metric() == 0.6
    assert tuner.records_table()['error'].tolist() == GRID['x']
    assert tuner.results_table()['error'].tolist() == GRID['x']


def test_the_default_metric_is_the_error_unchanged():
    runs = []
    for kwargs in ({}, {'metric': 'error', 'mode': 'min'}):
        tuner = grid_tuner(lambda x: (x - 0.3) ** 2, **kwargs)
        tuner.run(7)
        runs.append(tuner)
    a, b = runs
    assert a.incumbent_trajectory == b.incumbent_trajectory
    assert [{k: v for k, v in r.items() if k != 'time'} for r in a.results] \
        == [{k: v for k, v in r.items() if k != 'time'} for r in b.results]
    assert a.incumbent_metric() == a.incumbent_error
    assert list(a.records_table().columns) == list(b.records_table().columns)
    assert 'error' in a.records_table().columns


@pytest.mark.parametrize('kwargs, error, pattern', [
    ({'mode': 'maximize'}, ValueError, "'min' or 'max'"),
    ({'mode': None}, ValueError, "'min' or 'max'"),
    ({'metric': ''}, ValueError, 'non-empty string'),
    ({'metric': 3}, ValueError, 'non-empty string'),
    ({'metric': None}, ValueError, 'non-empty string'),
    ({'metric': ['error', 'size'], 'mode': ['min']}, ValueError,
     'one per metric'),
    ({'metric': ['size', 'error']}, ValueError, 'only be the first'),
    ({'metric': ['size', 'size']}, ValueError, 'distinct'),
    ({'metric': []}, ValueError, 'distinct'),
    ({'metric': ['error', 'size'], 'mode': ['min', 'up']}, ValueError,
     "'min' or 'max'"),
])
def test_bad_metric_or_mode_is_refused_by_both_tuners(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        grid_tuner(accuracy, **kwargs)
    bench = TabularBenchmark()
    with pytest.raises(error, match=pattern):
        AsyncTuner(BasicScheduler(RandomSearcher(bench.config_space)),
                   SimulatedBackend(bench), **kwargs)


def test_a_result_without_the_metric_fails_only_its_trial():
    def objective(x):
        if x == 0.2:
            return {'acc': 0.99}  # a typo: no 'accuracy'
        return accuracy(x)

    tuner = grid_tuner(objective, metric='accuracy', mode='max')
    tuner.run(7)
    failed = [r for r in tuner.records if r.status == 'failed']
    assert [r.config for r in failed] == [{'x': 0.2}]
    assert "'accuracy'" in failed[0].message
    assert math.isnan(failed[0].error)
    assert sum(r.status == 'completed' for r in tuner.records) == 6
    assert tuner.incumbent == {'x': 0.3}


def test_earlier_results_of_a_trial_that_loses_its_metric_are_kept():
    def curve(x):
        yield {'accuracy': x}
        yield {'accuracy': 2 * x}
        yield {'error': 0.5}  # the metric is missing

    tuner = grid_tuner(curve, metric='accuracy', mode='max')
    tuner.run(2)
    assert [r.status for r in tuner.records] == ['failed', 'failed']
    assert all("has no 'accuracy'" in r.message
               for r in tuner.records)
    assert [r['accuracy'] for r in tuner.results] == [0.0, 0.0, 0.1, 0.2]
    assert tuner.incumbent == {'x': 0.1} and tuner.incumbent_metric() == 0.2


def test_an_error_beside_another_metric_fails_the_trial():
    tuner = grid_tuner(lambda x: {'accuracy': x, 'error': 1 - x},
                       metric='accuracy', mode='max')
    tuner.run(1)
    assert tuner.records[0].status == 'failed'
    assert "besides the metric 'accuracy'" in tuner.records[0].message


def test_as_result_and_reported_result_are_inverse():
    for metric, mode, value in (('error', 'min', {'error': 0.25}),
                                ('error', 'max', {'error': 0.25, 'n': 1}),
                                ('acc', 'max', {'acc': 0.75, 'n': 1}),
                                ('acc', 'min', {'acc': 0.75})):
        result = d2lhpo.as_result(value, metric, mode)
        assert result['error'] == (value[metric] if mode == 'min'
                                   else -value[metric])
        assert d2lhpo.reported_result(result, metric, mode) == value


def test_board_is_drawn_and_labelled_in_the_metric():
    board = d2lhpo.ProgressBoard(live=False)
    tuner = grid_tuner(accuracy, metric='accuracy', mode='max', board=board)
    tuner.run(7)
    xs, ys = board.lines['incumbent']
    assert ys == tuner.metric_trajectory() and max(ys) == 1.0
    assert board.ylabel == 'incumbent accuracy'
    mine = d2lhpo.ProgressBoard(ylabel='my label', live=False)
    grid_tuner(accuracy, metric='accuracy', mode='max', board=mine)
    assert mine.ylabel == 'my label'
    default = d2lhpo.ProgressBoard(live=False)
    grid_tuner(accuracy, board=default)
    assert default.ylabel == 'incumbent validation error'


# ------------------------------------------------------------ AsyncTuner

class AccuracyBackend(SimulatedBackend):
    """The simulator, reporting an accuracy (1 - error) instead of an error."""
    def next_event(self, until=None):
        event = super().next_event(until)
        if event is not None and event.kind == 'result':
            result = {'accuracy': 1 - event.result['error'],
                      'time': event.result['time']}
            event = TrialEvent('result', event.trial_id, result)
        return event


def async_tuner(backend_class=AccuracyBackend, seed=0, **kwargs):
    bench = TabularBenchmark()
    scheduler = ASHAScheduler(RandomSearcher(bench.config_space, seed=seed),
                              r_max=27, kind='promotion')
    return AsyncTuner(scheduler, backend_class(bench, 4, seed=seed), **kwargs)


def test_async_mode_max_equals_mode_min_on_the_error():
    acc = async_tuner(metric='accuracy', mode='max')
    acc.run(max_epochs=300)
    err = async_tuner(SimulatedBackend)
    err.run(max_epochs=300)
    assert acc.incumbent == err.incumbent
    assert acc.incumbent_metric() == pytest.approx(1 - err.incumbent_error)
    assert [r.status for r in acc.records] == [r.status for r in err.records]
    assert 'accuracy' in acc.records_table().columns


def test_async_result_without_the_metric_fails_the_trial():
    tuner = async_tuner(SimulatedBackend, metric='accuracy', mode='max')
    tuner.run(number_of_trials=3)
    assert [r.status for r in tuner.records] == ['failed'] * 3
    assert all("has no 'accuracy'" in r.message
               for r in tuner.records)
    assert tuner.results == []
    assert not tuner.backend.running  # the failed trials were stopped


def test_log_holds_results_as_reported_and_replays(tmp_path):
    path = str(tmp_path / 'run.jsonl')
    first = async_tuner(metric='accuracy', mode='max')
    first.log_to(path)
    first.run(max_epochs=60)
    with open(path) as f:
        logged = [json.loads(line) for line in f]
    results = [e['result'] for e in logged if e['event'] == 'result']
    assert results and all('error' not in r and 0 <= r['accuracy'] <= 1
                           for r in results)
    second = async_tuner(metric='accuracy', mode='max')
    second.log_to(path)
    second.close_log()
    assert second.results == first.results
    assert second.incumbent == first.incumbent
    assert second.incumbent_metric() == first.incumbent_metric()
    for a, b in zip(first.records, second.records):
        if a.status != 'running':
            assert b.status == a.status
            assert b.runtime == pytest.approx(a.runtime)
    with pytest.raises(ValueError, match="line 1: the log was written by "
                       "a tuner with metric='accuracy', mode='max', "
                       "constraints=\\[\\]; this tuner has metric='error', "
                       "mode='min'"):
        async_tuner().log_to(path)  # another metric: the log does not fit
    with pytest.raises(ValueError, match="this tuner has metric='accuracy', "
                       "mode='min'"):  # another mode
        async_tuner(metric='accuracy', mode='min').log_to(path)


def test_log_of_mode_max_on_the_error_stores_the_error(tmp_path):
    path = str(tmp_path / 'run.jsonl')
    first = async_tuner(SimulatedBackend, mode='max')
    first.log_to(path)
    first.run(max_epochs=40)
    with open(path) as f:
        errors = [json.loads(line)['result']['error'] for line in f
                  if '"result"' in line]
    assert errors == [-r['error'] for r in first.results]
    assert all(e > 0 for e in errors)
    second = async_tuner(SimulatedBackend, mode='max')
    second.log_to(path)
    second.close_log()
    assert second.results == first.results


# --------------------------------------------------------------- runtime

@pytest.mark.parametrize('asha', [True, False])
def test_simulated_runtime_is_the_sum_of_the_epoch_times_it_ran(asha):
    if asha:  # trials pause, resume, and stop at r_max
        tuner = async_tuner(SimulatedBackend, seed=1)
    else:  # trials complete
        bench = TabularBenchmark()
        tuner = AsyncTuner(BasicScheduler(RandomSearcher(
            bench.config_space, seed=1)), SimulatedBackend(bench, 4, seed=1))
    tuner.run(max_time=60)
    ended = {(r.status, r.message) for r in tuner.records}
    assert ended >= ({('paused', ''), ('stopped', '')} if asha
                     else {('completed', '')})
    for r in tuner.records:
        times = tuner.backend.curves[r.trial_id]['epoch_time']
        ran = sum(times[:r.epochs])
        if r.message == 'budget exhausted':  # cut inside an epoch
            assert ran - 1e-9 <= r.runtime <= sum(times[:r.epochs + 1])
        else:
            assert r.runtime == pytest.approx(ran, rel=1e-9, abs=1e-9)
    assert sum(r.runtime for r in tuner.records) == pytest.approx(
        4 * tuner.clock, rel=1e-6)  # 4 workers, never idle


def test_local_backend_runtime_is_wall_clock_on_the_worker():
    def sleepy(x):
        for epoch in range(2):
            time.sleep(0.2)
            yield {'accuracy': x / (epoch + 1)}

    backend = LocalBackend(sleepy, num_workers=2, num_threads=1)
    try:
        backend.wait_until_ready()
        tuner = AsyncTuner(BasicScheduler(GridSearcher({'x': [0.1, 0.9]})),
                           backend, metric='accuracy', mode='max')
        tuner.run(number_of_trials=2)
    finally:
        backend.close()
    assert tuner.incumbent == {'x': 0.9}
    assert tuner.incumbent_metric() == 0.9
    for r in tuner.records:
        assert r.status == 'completed'
        assert 0.4 <= r.runtime <= r.end_time - r.start_time + 1e-9
