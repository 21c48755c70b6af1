"""The budgets of `run` (issue 16): the same keyword arguments on the
sequential `HPOTuner` and on `AsyncTuner` (here on the simulator), each
alone and combined, the first spent ending the run and named in
`stop_reason`; `max_time` counted from the start of each run (and, on
worker processes, from when the workers are ready); bad input refused
before anything runs; the progress bar outside Jupyter."""
import functools
import math
import time

import numpy as np
import pytest
from scipy import stats

import d2lhpo

SPACE = {'x': stats.uniform(0, 1)}
EPOCHS = 5


def error(x, epoch):
    return (x - 0.3) ** 2 + 0.1 / epoch


class ToyBenchmark:
    """Learning curves for the simulator: 5 epochs of 1 simulated s."""
    config_space = SPACE
    seeds = [0]

    def learning_curve(self, config, seed):
        epochs = np.arange(1, EPOCHS + 1)
        return {'error': error(config['x'], epochs),
                'epoch_time': np.ones(EPOCHS)}


def toy_curve(x):
    for epoch in range(1, EPOCHS + 1):
        yield error(x, epoch)


def make_tuner(kind, seed=0, searcher=None, metric='error', mode='min',
               objective=toy_curve):
    scheduler = d2lhpo.BasicScheduler(
        searcher or d2lhpo.RandomSearcher(SPACE, seed=seed))
    if kind == 'sequential':
        return d2lhpo.HPOTuner(scheduler, objective, metric=metric,
                               mode=mode)
    backend = d2lhpo.SimulatedBackend(ToyBenchmark(), num_workers=3,
                                      seed=seed)
    return d2lhpo.AsyncTuner(scheduler, backend, metric=metric, mode=mode)


KINDS = ['sequential', 'async']


@pytest.mark.parametrize('kind', KINDS)
def test_number_of_trials(kind):
    tuner = make_tuner(kind)
    tuner.run(number_of_trials=4, verbose=False)
    assert len(tuner.records) == 4 and tuner.stop_reason == 'number_of_trials'
    assert all(r.status == 'completed' for r in tuner.records)
    tuner.run(number_of_trials=2, verbose=False)  # counted per run
    assert len(tuner.records) == 6


@pytest.mark.parametrize('kind', KINDS)
def test_max_epochs(kind):
    tuner = make_tuner(kind)
    tuner.run(max_epochs=12, verbose=False)
    assert len(tuner.results) == 12 and tuner.stop_reason == 'max_epochs'
    cut = [r for r in tuner.records if r.status == 'stopped']
    assert cut and all(r.message == 'budget exhausted' for r in cut)
    tuner.run(max_epochs=7, verbose=False)  # counted per run
    assert len(tuner.results) == 19


def test_max_time_on_the_simulator_counts_from_the_start_of_each_run():
    tuner = make_tuner('async')
    tuner.run(max_time=7.5, verbose=False)
    assert tuner.stop_reason == 'max_time' and tuner.clock == 7.5
    assert max(r['time'] for r in tuner.results) <= 7.5
    before = len(tuner.results)
    tuner.run(max_time=4.0, verbose=False)  # 4 more simulated seconds
    assert tuner.clock == 11.5 and tuner.stop_reason == 'max_time'
    new = tuner.results[before:]
    assert new and all(7.5 < r['time'] <= 11.5 for r in new)
    # 3 workers, 1 s per epoch: every second brings 3 results
    assert len(new) == 12


def slow_curve(x):
    for epoch in range(1, EPOCHS + 1):
        time.sleep(0.02)
        yield error(x, epoch)


def test_max_time_of_the_sequential_tuner():
    tuner = make_tuner('sequential', objective=slow_curve)
    tic = time.perf_counter()
    tuner.run(max_time=0.3, verbose=False)
    took = time.perf_counter() - tic
    assert tuner.stop_reason == 'max_time'
    assert 0.3 <= tuner.clock < 0.3 + 0.2  # at most about one epoch over
    assert took < 1.0
    last = tuner.records[-1]  # cut after its result past the deadline
    assert last.status == 'stopped' and last.message == 'budget exhausted'
    clock = tuner.clock
    tuner.run(max_time=0.2, verbose=False)  # from the start of this run
    assert tuner.clock >= clock + 0.2


def test_a_plain_function_is_completed_not_cut():
    """A one-result objective has no epoch left when the budget is spent:
    its trial completes."""
    tuner = make_tuner('sequential', objective=lambda x: (x - 0.3) ** 2)
    tuner.run(max_epochs=3, verbose=False)
    assert [r.status for r in tuner.records] == ['completed'] * 3
    assert tuner.stop_reason == 'max_epochs'


def accuracy_curve(x):
    for value in toy_curve(x):
        yield {'accuracy': 1 - value}


TARGETS = {  # (metric, mode, objective, target)
    'min': ('error', 'min', toy_curve, 0.03),
    'max': ('error', 'max', toy_curve, 0.45),  # the simulator's 'error'
    'accuracy': ('accuracy', 'max', accuracy_curve, 0.97)}


@pytest.mark.parametrize('kind, case', [  # the simulator reports errors
    (kind, case) for kind in KINDS for case in TARGETS
    if kind == 'sequential' or case != 'accuracy'])
def test_target_ends_the_run_at_the_first_result_that_reaches_it(kind, case):
    metric, mode, objective, target = TARGETS[case]
    tuner = make_tuner(kind, metric=metric, mode=mode, objective=objective)
    tuner.run(number_of_trials=1000, target=target, verbose=False)
    assert tuner.stop_reason == 'target'
    reached = [m <= target if mode == 'min' else m >= target
               for m in tuner.metric_trajectory()]
    assert reached[-1] and not any(reached[:-1]) and len(reached) > 3
    assert len(tuner.records) < 1000
    # a second run whose target is reached already ends at once
    records = len(tuner.records)
    tuner.run(number_of_trials=5, target=target, verbose=False)
    assert tuner.stop_reason == 'target' and len(tuner.records) == records


def plain_errors(tuner):
    return [r.error for r in tuner.records]


def test_patience_counts_trials_in_a_row_without_improvement():
    """Sequential, one result per trial: the rule of Hyperopt's
    `no_progress_loss`."""
    tuner = make_tuner('sequential', seed=3,
                       objective=lambda x: (x - 0.3) ** 2)
    tuner.run(number_of_trials=500, patience=4, verbose=False)
    assert tuner.stop_reason == 'patience'
    errors, best, plateau, stop = plain_errors(tuner), math.inf, 0, None
    for i, e in enumerate(errors):
        best, plateau = (e, 0) if e < best else (best, plateau + 1)
        if plateau == 4:
            stop = i + 1
            break
    assert stop == len(tuner.records) > 5


def test_patience_on_the_simulator():
    tuner = make_tuner('async', seed=1)
    tuner.run(number_of_trials=500, patience=5, verbose=False)
    assert tuner.stop_reason == 'patience' and len(tuner.records) < 500
    ended = sorted((r for r in tuner.records
                    if r.message != 'budget exhausted'),
                   key=lambda r: (r.end_time, r.trial_id))
    assert all(r.trial_id != tuner.incumbent_id for r in ended[-5:])


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('budgets, reason', [
    (dict(number_of_trials=3, max_epochs=1000), 'number_of_trials'),
    (dict(number_of_trials=1000, max_epochs=7), 'max_epochs'),
    (dict(number_of_trials=1000, target=-1.0), 'number_of_trials'),
    (dict(max_epochs=1000, patience=2), 'patience'),
    (dict(max_epochs=8, patience=1000, target=-1.0), 'max_epochs'),
    (dict(number_of_trials=1000, target=0.5), 'target'),
])
def test_the_first_budget_spent_wins(kind, budgets, reason):
    tuner = make_tuner(kind)
    tuner.run(**budgets, verbose=False)
    assert tuner.stop_reason == reason


def test_max_time_against_other_budgets_on_the_simulator():
    tuner = make_tuner('async')
    tuner.run(max_time=3.0, max_epochs=1000, number_of_trials=1000,
              verbose=False)
    assert tuner.stop_reason == 'max_time' and len(tuner.results) == 9


@pytest.mark.parametrize('kind', KINDS)
def test_a_finite_searcher_ends_the_run(kind):
    grid = d2lhpo.GridSearcher(SPACE, num_points=3)
    tuner = make_tuner(kind, searcher=grid)
    tuner.run(number_of_trials=100, verbose=False)
    assert tuner.stop_reason == 'searcher exhausted'
    assert len(tuner.records) == 3


BAD = [(name, value) for name in ('number_of_trials', 'max_epochs',
                                  'patience')
       for value in (0, -1, 2.5, math.nan, True, '3', [])]
BAD += [('max_time', v) for v in (0, -1.0, math.nan, math.inf, True, '1')]
BAD += [('target', v) for v in (math.nan, math.inf, -math.inf, False, '0')]


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('name, value', BAD)
def test_bad_budgets_are_refused_before_anything_runs(kind, name, value):
    tuner = make_tuner(kind)
    budgets = {'max_epochs': 5, name: value}
    with pytest.raises(ValueError, match=name):
        tuner.run(**budgets)
    assert tuner.records == [] and tuner.results == []


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('budgets', [{}, {'target': 0.1}, {'patience': 3},
                                     {'target': 0.1, 'patience': 3}])
def test_a_run_needs_a_trial_time_or_epoch_budget(kind, budgets):
    tuner = make_tuner(kind)
    with pytest.raises(ValueError, match='at least one budget'):
        tuner.run(**budgets)
    assert tuner.records == []


@pytest.mark.parametrize('kind', KINDS)
def test_verbose_must_be_a_flag(kind):
    with pytest.raises(ValueError, match='verbose'):
        make_tuner(kind).run(number_of_trials=2, verbose='no')


def test_target_and_patience_need_a_single_metric():
    def two(x):
        return {'error': x, 'size': 1 - x}
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(SPACE, seed=0)), two, metric=['error', 'size'])
    for budget in ({'target': 0.1}, {'patience': 3}):
        with pytest.raises(ValueError, match='single metric'):
            tuner.run(number_of_trials=3, **budget)
    tuner.run(number_of_trials=3, verbose=False)  # the other budgets work
    assert len(tuner.records) == 3


def test_target_counts_only_a_feasible_incumbent():
    def constrained(x):
        return {'error': (x - 0.3) ** 2, 'memory': 0.5 - x}  # x >= 0.5
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(SPACE, seed=0)), constrained,
        constraints=['memory'])
    tuner.run(number_of_trials=200, target=0.05, verbose=False)
    assert tuner.stop_reason == 'target'
    assert tuner.incumbent['x'] >= 0.5 and tuner.incumbent_error <= 0.05


def test_a_run_resumed_from_a_log_counts_max_time_from_its_start(tmp_path):
    path = str(tmp_path / 'log.jsonl')
    first = make_tuner('async')
    first.log_to(path)
    first.run(max_time=6.0, verbose=False)
    second = make_tuner('async')
    second.log_to(path)  # replays: the clock goes on from 6 s
    assert second.clock == 6.0
    second.run(max_time=3.0, verbose=False)
    assert second.clock == 9.0 and second.stop_reason == 'max_time'
    assert max(r['time'] for r in second.results) <= 9.0


def sleepy(x):
    time.sleep(0.1)
    return (x - 0.3) ** 2


def test_local_backend_max_time_does_not_count_the_start_up():
    """Issue 16: `run(max_time=...)` on fresh worker processes counted
    their start-up (seconds to import PyTorch), so one trial ran."""
    backend = d2lhpo.LocalBackend(sleepy, num_workers=1, num_threads=1)
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(SPACE, seed=0)), backend)
    try:
        tuner.run(max_time=1.5, verbose=False)
        assert tuner.stop_reason == 'max_time'
        assert tuner.clock - tuner.records[0].start_time <= 1.5
        done = [r for r in tuner.records if r.status == 'completed']
        assert len(done) >= 5  # ~0.1 s each; one, before the fix
        backend.close()  # the next run starts a fresh worker, and waits
        before = len(tuner.records)
        tuner.run(max_time=1.5, verbose=False)
        assert len(tuner.records) - before >= 5
    finally:
        backend.close()


def test_the_progress_bar_shows_a_long_run_outside_jupyter(capsys,
                                                           monkeypatch):
    monkeypatch.setattr(d2lhpo.book, 'RunProgress', functools.partial(
        d2lhpo.RunProgress, delay=0.3, interval=0.05))  # (2 s, 0.25 s)
    monkeypatch.setattr(d2lhpo.book, 'draws_text_bar', lambda: True)

    def slow(x):
        time.sleep(0.05)
        return (x - 0.3) ** 2
    tuner = make_tuner('sequential', objective=slow)
    tuner.run(number_of_trials=12)  # about 0.6 s: the bar shows after 0.3 s
    err = capsys.readouterr().err
    assert 'budget: 100%' in err and '12 trials, 12 results' in err
    assert f'error {tuner.incumbent_error:.4g}' in err
    tuner.run(number_of_trials=14, verbose=False)
    assert capsys.readouterr().err == ''


def test_a_short_run_draws_no_bar(capsys):
    make_tuner('async').run(max_epochs=200)  # milliseconds
    assert capsys.readouterr().err == ''


def test_no_bar_when_standard_error_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(d2lhpo.book.sys.stderr, 'isatty', lambda: False,
                        raising=False)
    tuner = make_tuner('async')
    tuner.run(max_epochs=5)
    assert tuner.budget.bar is None


def test_the_bar_has_a_lock_of_its_own_and_no_monitor_thread():
    import tqdm
    assert d2lhpo.TextBar.monitor_interval == 0
    assert d2lhpo.TextBar.get_lock() is not tqdm.tqdm.get_lock()


def test_no_bar_in_a_notebook(monkeypatch):
    monkeypatch.setattr(d2lhpo.book, 'in_notebook', lambda: True)
    tuner = make_tuner('async')
    tuner.run(max_epochs=5)
    assert tuner.budget.bar is None


def test_ctrl_c_is_the_reason():
    def objective(x):
        if x > 0.5:
            raise KeyboardInterrupt
        return x
    tuner = make_tuner('sequential', objective=objective)
    with pytest.raises(KeyboardInterrupt):
        tuner.run(number_of_trials=100, verbose=False)
    assert tuner.stop_reason == 'interrupted'
    tuner = make_tuner('async')

    class Interrupting(d2lhpo.SchedulerWrapper):
        def on_trial_result(self, trial, result):
            if trial.trial_id == 2:
                raise KeyboardInterrupt
            return super().on_trial_result(trial, result)
    tuner.scheduler = Interrupting(tuner.scheduler)
    with pytest.raises(KeyboardInterrupt):
        tuner.run(max_epochs=100, verbose=False)
    assert tuner.stop_reason == 'interrupted' and not tuner.running
