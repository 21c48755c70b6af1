"""SimulatedBackend and AsyncTuner: simulated time, workers, decisions."""
import collections
import json
import math
import time
import warnings

import numpy as np
import pytest

import d2lhpo

from d2lhpo import (CONTINUE, PAUSE, STOP, AsyncTuner, BasicScheduler,
                    GridSearcher, HARTMANN3, HPOScheduler, HPOTuner,
                    MultiFidelityFunction, RandomSearcher, Resume,
                    SimulatedBackend, TabularBenchmark)

MF = MultiFidelityFunction(HARTMANN3, max_epochs=10, noise=0.01)


@pytest.fixture(scope='module')
def table():
    return TabularBenchmark()


def random_tuner(benchmark, num_workers, seed=0, scheduler=None, **kwargs):
    scheduler = scheduler or BasicScheduler(
        RandomSearcher(benchmark.config_space, seed=seed))
    backend = SimulatedBackend(benchmark, num_workers=num_workers, seed=seed,
                               **kwargs)
    return AsyncTuner(scheduler, backend)


def worker_intervals(tuner):
    per_worker = collections.defaultdict(list)
    for r in tuner.records:
        per_worker[r.worker].append((r.start_time, r.end_time))
    return per_worker


# ------------------------------------------------- exactness, one worker
def test_one_worker_returns_the_tables_values_in_order(table):
    searcher = GridSearcher(table.config_space)
    tuner = AsyncTuner(BasicScheduler(searcher),
                       SimulatedBackend(table, num_workers=1, seed=3))
    tuner.run(number_of_trials=12)
    expected_errors, expected_times, clock = [], [], 0.0
    for record in tuner.records:
        seed = tuner.backend.training_seeds[record.trial_id]
        for epoch in range(1, table.max_epochs + 1):
            row = table.lookup(record.config, seed, epoch)
            expected_errors.append(row['val_error'])
            clock += row['epoch_time']
            expected_times.append(clock)
        assert record.status == 'completed'
        assert record.epochs == table.max_epochs
    assert [r['error'] for r in tuner.results] == expected_errors
    assert [r['time'] for r in tuner.results] == pytest.approx(
        expected_times, rel=1e-12)
    assert [r.config for r in tuner.records] == searcher.grid[:12]
    # the next trial starts when the previous one ends
    for a, b in zip(tuner.records, tuner.records[1:]):
        assert b.start_time == a.end_time


def test_one_worker_matches_the_sequential_tuner_on_the_same_curves():
    """The same scheduler class on both tuners sees the same results."""
    def objective(**config):
        yield from MF.learning_curve(config, seed=0)['error']

    space = MF.config_space
    seq = HPOTuner(BasicScheduler(RandomSearcher(space, seed=5)), objective)
    seq.run(4)
    sim = AsyncTuner(BasicScheduler(RandomSearcher(space, seed=5)),
                     SimulatedBackend(MF, num_workers=1))
    sim.backend.training_seeds = {}  # (MF's seed 0 is drawn or not: force)
    sim.backend.rng.randrange = lambda n: 0
    sim.run(number_of_trials=4)
    assert [r['error'] for r in seq.results] == [
        r['error'] for r in sim.results]
    assert [r.config for r in seq.records] == [r.config for r in sim.records]


# --------------------------------------------------- several workers
@pytest.mark.parametrize('num_workers', [2, 4, 7])
def test_no_worker_runs_two_trials_at_once_and_time_never_goes_back(
        num_workers):
    tuner = random_tuner(MF, num_workers)
    tuner.run(max_epochs=600)
    times = [r['time'] for r in tuner.results]
    assert all(b >= a for a, b in zip(times, times[1:]))
    for intervals in worker_intervals(tuner).values():
        intervals.sort()
        for (s0, e0), (s1, e1) in zip(intervals, intervals[1:]):
            assert s0 <= e0 <= s1 <= e1
    assert len({r.worker for r in tuner.records}) == num_workers
    assert len(tuner.results) == 600


def test_a_free_worker_gets_a_trial_at_once():
    tuner = random_tuner(MF, 3)
    tuner.run(number_of_trials=9)
    by_worker = worker_intervals(tuner)
    for intervals in by_worker.values():
        intervals.sort()
        assert intervals[0][0] == 0.0
        for (_, e0), (s1, _) in zip(intervals, intervals[1:]):
            assert s1 == e0  # no idle time between trials
    assert all(r.status == 'completed' for r in tuner.records)


class StopAtEpoch(HPOScheduler):
    """Random configs; stops every even trial after `epoch` results."""
    def __init__(self, space, epoch, decision=STOP):
        self.searcher = RandomSearcher(space, seed=0)
        self.epoch, self.decision = epoch, decision

    def suggest(self, trial_id):
        return self.searcher.sample_configuration(trial_id)

    def on_trial_result(self, trial, result):
        if trial.trial_id % 2 == 0 and result['epoch'] == self.epoch:
            return self.decision
        return CONTINUE


def test_a_stopped_trial_frees_its_worker_at_the_stop_time():
    tuner = random_tuner(MF, 2, scheduler=StopAtEpoch(MF.config_space, 3))
    tuner.run(number_of_trials=6)
    records = tuner.records
    for r in records:
        assert r.status == ('stopped' if r.trial_id % 2 == 0 else
                            'completed')
        assert r.epochs == (3 if r.trial_id % 2 == 0 else MF.max_epochs)
    stop_times = {r.end_time for r in records if r.status == 'stopped'}
    starts = {r.start_time for r in records}
    # every stop except possibly the last is followed at once by a new trial
    assert len(stop_times & starts) >= len(stop_times) - 1
    # the stop time is the time of the trial's third result
    for r in records:
        if r.status == 'stopped':
            last = [x for x in tuner.results if x['trial_id'] == r.trial_id]
            assert r.end_time == last[-1]['time']


class PauseAndResume(HPOScheduler):
    """Starts trial 0 and 1; pauses 0 at epoch 2; later resumes it."""
    def __init__(self):
        self.queue = [{'x0': 0.1, 'x1': 0.2, 'x2': 0.3},
                      {'x0': 0.5, 'x1': 0.5, 'x2': 0.5}]
        self.paused = []

    def suggest(self, trial_id):
        if self.queue:
            return self.queue.pop(0)
        if self.paused:
            return Resume(self.paused.pop())
        return None

    def on_trial_result(self, trial, result):
        if trial.trial_id == 0 and result['epoch'] == 2:
            self.paused.append(0)
            return PAUSE
        return CONTINUE


def test_pause_and_resume_continue_the_learning_curve():
    tuner = random_tuner(MF, 1, scheduler=PauseAndResume())
    tuner.run(number_of_trials=3)  # the scheduler proposes only 2
    seed = tuner.backend.training_seeds[0]
    curve = MF.learning_curve(tuner.records[0].config, seed)['error']
    trial0 = [r for r in tuner.results if r['trial_id'] == 0]
    assert [r['epoch'] for r in trial0] == list(range(1, 11))
    assert [r['error'] for r in trial0] == curve
    order = [r['trial_id'] for r in tuner.results]
    assert order == [0, 0] + [1] * 10 + [0] * 8
    assert tuner.records[0].status == 'completed'


def test_budgets_stop_running_trials():
    tuner = random_tuner(MF, 4)
    tuner.run(max_time=20.0)
    assert tuner.clock == 20.0
    assert all(r['time'] <= 20.0 for r in tuner.results)
    stopped = [r for r in tuner.records if r.status == 'stopped']
    assert stopped and all(r.message == 'budget exhausted' for r in stopped)
    assert all(r.end_time == 20.0 for r in stopped)
    assert all(r.status in ('completed', 'stopped') for r in tuner.records)
    assert tuner.backend.running == {}
    tuner = random_tuner(MF, 4)
    tuner.run(max_epochs=55)
    assert len(tuner.results) == 55


@pytest.mark.parametrize('kwargs, pattern', [
    ({}, 'at least one budget'),
    ({'max_time': 0}, 'max_time'),
    ({'number_of_trials': -1}, 'number_of_trials'),
    ({'max_epochs': True}, 'max_epochs'),
    ({'max_time': 'soon'}, 'max_time'),
])
def test_bad_budgets_are_rejected(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        random_tuner(MF, 2).run(**kwargs)


@pytest.mark.parametrize('n', [0, -2, 1.5, True, None])
def test_bad_number_of_workers_is_rejected(n):
    with pytest.raises(ValueError, match='num_workers'):
        SimulatedBackend(MF, num_workers=n)


def test_exhausted_searcher_ends_the_run_when_all_trials_are_done():
    space = {'x0': [0.1, 0.9], 'x1': [0.5], 'x2': [0.2, 0.3]}
    tuner = AsyncTuner(BasicScheduler(GridSearcher(space)),
                       SimulatedBackend(MF, num_workers=3))
    tuner.run(number_of_trials=100)
    assert len(tuner.records) == 4
    assert all(r.status == 'completed' for r in tuner.records)


def test_same_seed_same_trajectory():
    runs = []
    for _ in range(2):
        tuner = random_tuner(MF, 4, seed=11)
        tuner.run(max_epochs=300)
        runs.append(tuner)
    a, b = runs
    assert a.results == b.results
    assert [r.config for r in a.records] == [r.config for r in b.records]
    c = random_tuner(MF, 4, seed=12)
    c.run(max_epochs=300)
    assert c.results != a.results


def test_overhead_is_counted_only_when_asked():
    class Slow(BasicScheduler):
        def suggest(self, trial_id):
            time.sleep(0.02)
            return super().suggest(trial_id)

    clocks = {}
    for count in (False, True):
        tuner = random_tuner(
            MF, 1, scheduler=Slow(RandomSearcher(MF.config_space, seed=0)),
            count_overhead=count)
        tuner.run(number_of_trials=3)
        clocks[count] = tuner.clock
    # the first suggestion comes before the clock starts; the others count
    assert clocks[True] >= clocks[False] + 2 * 0.02
    assert clocks[True] < clocks[False] + 3


def test_failing_learning_curve_lookup_is_a_clear_error():
    tuner = AsyncTuner(BasicScheduler(RandomSearcher(
        {'x0': 2.0, 'x1': 0.5, 'x2': 0.5})), SimulatedBackend(MF, 1))
    with pytest.raises(ValueError, match='outside the box'):
        tuner.run(number_of_trials=1)


# ------------------------------------------- synchronous scheduling, speed-up
def test_synchronous_scheduler_starts_batches_only_when_all_ended(table):
    from d2lhpo import SynchronousScheduler
    scheduler = SynchronousScheduler(BasicScheduler(RandomSearcher(
        table.config_space, seed=0)), batch_size=4)
    tuner = AsyncTuner(scheduler, SimulatedBackend(table, 4, seed=0))
    tuner.run(number_of_trials=16)
    records = tuner.records
    for b in range(4):
        batch = records[4 * b:4 * b + 4]
        assert len({r.start_time for r in batch}) == 1
        if b:
            previous = records[4 * b - 4:4 * b]
            assert batch[0].start_time == max(r.end_time for r in previous)
    # asynchronous scheduling keeps the workers busier
    async_tuner = random_tuner(table, 4)
    async_tuner.run(number_of_trials=16)
    assert async_tuner.clock < tuner.clock


def test_synchronous_scheduler_passes_decisions_through():
    from d2lhpo import SynchronousScheduler
    inner = StopAtEpoch(MF.config_space, 2)
    tuner = random_tuner(MF, 2, scheduler=SynchronousScheduler(inner, 2))
    tuner.run(number_of_trials=6)
    assert [r.status for r in tuner.records] == ['stopped', 'completed'] * 3


def test_time_to_reach():
    from d2lhpo import time_to_reach
    assert time_to_reach([1, 2, 3], [0.5, 0.2, 0.1], 0.2) == 2
    assert time_to_reach([1, 2, 3], [0.5, 0.2, 0.1], 0.05) == math.inf


@pytest.mark.parametrize('kind', ['stopping', 'promotion'])
def test_a_replayed_log_reproduces_interleaved_results(tmp_path, kind):
    """Results of parallel trials interleave in time; the log has them in
    their order, and replay feeds them back in that order, so
    ASHA's rungs and paused trials are rebuilt exactly, and it proposes
    the logged configurations and promotions."""
    bench = d2lhpo.TabularBenchmark()

    def make():
        scheduler = d2lhpo.ASHAScheduler(d2lhpo.RandomSearcher(
            bench.config_space, seed=3), eta=3, r_min=1, r_max=9, kind=kind)
        return d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
            bench, num_workers=4, seed=3))
    log = str(tmp_path / 'log.jsonl')
    first = make()
    first.log_to(log)
    first.run(max_epochs=120)
    second = make()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the scheduler proposes the same
        second.log_to(log)
    # every end the tuner booked is logged, budget stops included (issue
    # 13): every result comes back, in its place in time, and no trial is
    # run again
    done = first.results
    assert len(done) > 60 and second.results == done
    assert [(r.status, r.epochs) for r in second.records] == [
        (r.status, r.epochs) for r in first.records]
    assert second.restarts == []
    starts = [r['trial_id'] for r in done]
    assert starts != sorted(starts)  # the results did interleave


def test_the_log_has_one_line_per_event_in_time_order(tmp_path):
    """start, every result and every end, each on its own line, in the
    order in which they happened; budget stops are logged too, with the
    status that the tuner gave the trial (issue 13)."""
    bench = d2lhpo.TabularBenchmark()
    scheduler = d2lhpo.ASHAScheduler(d2lhpo.RandomSearcher(
        bench.config_space, seed=1), eta=3, r_min=1, r_max=9,
        kind='promotion')
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        bench, num_workers=4, seed=1))
    log = tmp_path / 'log.jsonl'
    tuner.log_to(str(log))
    tuner.run(max_epochs=80)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events.pop(0) == {'event': 'run', 'metric': 'error',
                             'mode': 'min', 'constraints': []}
    kinds = collections.Counter(e['event'] for e in events)
    resumes = [e for e in events if e['event'] == 'start' and e['resume']]
    assert resumes  # promotions resume paused trials
    assert kinds['start'] == len(tuner.records) + len(resumes)
    assert kinds['result'] == len(tuner.results) == 80
    assert [e['result'] for e in events if e['event'] == 'result'] == \
        tuner.results
    ends = {k: kinds[k] for k in ('completed', 'failed', 'paused',
                                  'stopped')}
    statuses = collections.Counter(r.status for r in tuner.records)
    assert ends['paused'] == len(resumes) + statuses['paused']
    assert ends['stopped'] == statuses['stopped']
    assert ends['completed'] == statuses['completed']
    assert set(kinds) <= {'start', 'result', 'completed', 'paused',
                          'stopped', 'failed'}
    times = [e['result']['time'] if e['event'] == 'result' else e['time']
             for e in events]
    assert times == sorted(times)
    started = set()
    for e in events:  # each trial starts before its results and its end
        if e['event'] == 'start':
            started.add(e['trial_id'])
        assert e['trial_id'] in started


def test_trial_events_are_named_values():
    event = d2lhpo.TrialEvent('failed', 3, message='boom')
    assert (event.kind, event.trial_id, event.result) == ('failed', 3, None)
    with pytest.raises(Exception):
        event.kind = 'result'  # frozen
    for backend in (SimulatedBackend(MF, 2),):
        assert isinstance(backend, d2lhpo.Backend)
    assert issubclass(d2lhpo.LocalBackend, d2lhpo.Backend)
    assert issubclass(d2lhpo.RayBackend, d2lhpo.WorkerBackend)
    tuner = random_tuner(MF, 1)
    tuner.backend.start_trial(d2lhpo.TrialRecord(
        0, {'x0': 0.1, 'x1': 0.2, 'x2': 0.3}))
    event = tuner.backend.next_event()
    assert event.kind == 'result' and event.trial_id == 0
    assert set(event.result) == {'error', 'time'}


@pytest.mark.parametrize('budget,message', [
    ({'number_of_trials': 2.5}, 'number_of_trials must be an integer'),
    ({'max_epochs': True}, 'max_epochs must be an integer'),
    ({'max_epochs': 0}, 'max_epochs must be an integer >= 1'),
    ({'max_time': -1.0}, 'max_time must be a positive number'),
    ({}, 'give at least one budget')])
def test_budgets_are_checked_before_anything_runs(budget, message):
    tuner = random_tuner(MF, 2)
    with pytest.raises(ValueError, match=message):
        tuner.run(**budget)
    assert tuner.records == [] and tuner.results == []


def test_close_releases_every_simulated_worker():
    """After `close` (e.g. on Ctrl-C), the backend can run trials again."""
    tuner = random_tuner(MF, 3)
    tuner.run(max_epochs=4)  # three trials still running were stopped
    tuner.backend.start_trial(tuner.start_trial({'x0': 0.1, 'x1': 0.2,
                                                 'x2': 0.3}, 0.0, 0))
    tuner.backend.close()
    assert tuner.backend.free_worker() == 0
    assert sorted(tuner.backend.free) == [0, 1, 2]
    assert tuner.backend.next_event() is None
