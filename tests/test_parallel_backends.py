"""LocalBackend (worker processes) and RayBackend: events, decisions,
dead workers, time limits, interrupts, logs and resuming."""
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import (CONTINUE, STOP, AsyncTuner, BasicScheduler, GridSearcher,
                    HPOScheduler, HPOTuner, LocalBackend, RandomSearcher,
                    TrialRecord, softmax_objective)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE = {'x': stats.uniform(0, 1)}


def curve(x, num_epochs=3, sleep=0.0):
    """A cheap generator objective: x / epoch after every epoch."""
    for epoch in range(1, num_epochs + 1):
        time.sleep(sleep)
        yield x / epoch


def misbehaving(x):
    """Dies, hangs, raises or returns NaN depending on x."""
    if x == 0.1:
        os._exit(3)
    if x == 0.2:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 0.3:
        time.sleep(60)
    if x == 0.4:
        raise RuntimeError('out of memory (pretend)')
    if x == 0.5:
        return math.nan
    return x


@pytest.fixture
def backends():
    made = []

    def make(*args, **kwargs):
        made.append(LocalBackend(*args, **kwargs))
        return made[-1]
    yield make
    for backend in made:
        backend.close()


def worker_pids(backend):
    return [p.pid for p in backend.processes if p is not None]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); check its state
    with open(f'/proc/{pid}/stat') as f:
        return f.read().split(')')[1].split()[0] != 'Z'


def test_local_backend_runs_generator_objectives(backends):
    tuner = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=0)),
                       backends(curve, num_workers=2))
    tuner.run(number_of_trials=10)
    assert [r.status for r in tuner.records] == ['completed'] * 10
    assert all(r.epochs == 3 for r in tuner.records)
    assert len(tuner.results) == 30
    for record in tuner.records:
        mine = [r for r in tuner.results if r['trial_id'] == record.trial_id]
        assert [r['epoch'] for r in mine] == [1, 2, 3]
        assert [r['error'] for r in mine] == [record.config['x'] / e
                                             for e in (1, 2, 3)]
    times = [r['time'] for r in tuner.results]
    assert times == sorted(times)
    assert {r.worker for r in tuner.records} == {0, 1}


def test_scheduler_decisions_reach_the_worker(backends):
    class StopAfterTwo(BasicScheduler):
        def on_trial_result(self, trial, result):
            return STOP if result['epoch'] == 2 else CONTINUE

    tuner = AsyncTuner(StopAfterTwo(RandomSearcher(SPACE, seed=0)),
                       backends(lambda x: curve(x, num_epochs=50),
                                num_workers=2))
    tuner.run(number_of_trials=6)
    assert [r.status for r in tuner.records] == ['stopped'] * 6
    assert [r.epochs for r in tuner.records] == [2] * 6
    assert len(tuner.results) == 12


def test_dead_hung_and_failing_trials_are_failed_and_others_go_on(backends):
    values = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5, 0.65]
    space = {'x': values}
    backend = backends(misbehaving, num_workers=2, trial_timeout=3)
    tuner = AsyncTuner(BasicScheduler(GridSearcher(space)), backend)
    tuner.run(number_of_trials=len(values))
    by_x = {r.config['x']: r for r in tuner.records}
    assert len(by_x) == len(values)
    assert 'died' in by_x[0.1].message and 'exit code 3' in by_x[0.1].message
    assert 'SIGKILL' in by_x[0.2].message
    assert 'timed out after 3 s' in by_x[0.3].message
    assert 'RuntimeError' in by_x[0.4].message
    assert 'nan' in by_x[0.5].message
    for x in (0.1, 0.2, 0.3, 0.4, 0.5):
        assert by_x[x].status == 'failed' and math.isnan(by_x[x].error)
    for x in (0.9, 0.8, 0.7, 0.6, 0.65):
        assert by_x[x].status == 'completed' and by_x[x].error == x
    assert tuner.incumbent == {'x': 0.6}
    # the hung trial was killed at its limit, not after 60 s (the limit
    # starts once its worker is up, which takes seconds on a busy machine)
    assert by_x[0.3].end_time - by_x[0.3].start_time < 40


def test_keyboard_interrupt_ends_every_worker_and_keeps_results(backends):
    class Interrupting(BasicScheduler):
        def on_trial_result(self, trial, result):
            if trial.trial_id == 6:
                raise KeyboardInterrupt
            return CONTINUE

    backend = backends(lambda x: curve(x, sleep=0.05), num_workers=2)
    tuner = AsyncTuner(Interrupting(RandomSearcher(SPACE, seed=0)), backend)
    pids = worker_pids(backend)
    with pytest.raises(KeyboardInterrupt):
        tuner.run(number_of_trials=20)
    time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
    completed = [r for r in tuner.records if r.status == 'completed']
    assert len(completed) >= 4
    assert all(r.status in ('completed', 'stopped') for r in tuner.records)
    assert {r.message for r in tuner.records if r.status == 'stopped'} == {
        'interrupted'}
    assert len(tuner.results) >= 3 * len(completed)


def test_ctrl_c_in_a_real_process_leaves_no_orphans(tmp_path):
    script = tmp_path / 'run.py'
    script.write_text(textwrap.dedent(f'''
        import json, signal, sys, time
        sys.path.insert(0, {REPO!r})
        from scipy import stats
        import d2lhpo

        # Ctrl-C as a terminal gives it, even where a background shell
        # without job control (as CI may be) has set SIGINT to be ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def objective(x):
            time.sleep(0.3)
            return x

        if __name__ == '__main__':
            backend = d2lhpo.LocalBackend(objective, num_workers=2)
            print(json.dumps([p.pid for p in backend.processes]), flush=True)
            tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(
                d2lhpo.RandomSearcher({{'x': stats.uniform(0, 1)}}, seed=0)),
                backend)
            tuner.log_to(sys.argv[1])
            try:
                tuner.run(number_of_trials=1000)
            except KeyboardInterrupt:
                print(json.dumps(len(tuner.results)), flush=True)
        '''))
    log = tmp_path / 'log.jsonl'
    proc = subprocess.Popen([sys.executable, str(script), str(log)],
                            stdout=subprocess.PIPE, text=True)
    pids = json.loads(proc.stdout.readline())
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or sum(
            '"completed"' in line for line in log.read_text().splitlines())
            < 4):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    finished = json.loads(out.strip().splitlines()[-1])
    assert finished >= 4
    assert not any(alive(pid) for pid in pids)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(e['event'] == 'completed' for e in logged) == finished


RUNNER = '''
import json, os, sys, time
sys.path.insert(0, {repo!r})
from scipy import stats

import d2lhpo

def objective(x, checkpoint):
    done = 0
    if os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = int(f.read())
    for epoch in range(done + 1, 4):
        with open({calls!r}, 'a') as f:  # one line per epoch trained
            f.write(json.dumps([x, epoch]) + '\\n')
        time.sleep(0.1)
        with open(checkpoint, 'w') as f:
            f.write(str(epoch))
        yield x / epoch

def make_tuner(num_workers):
    scheduler = d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        {{'x': stats.uniform(0, 1)}}, seed=4))
    return d2lhpo.AsyncTuner(scheduler, d2lhpo.LocalBackend(objective,
                                                            num_workers))

tuner = make_tuner(2)  # no main guard: the workers never run this script
tuner.log_to(sys.argv[1])
tuner.run(number_of_trials=int(sys.argv[2]))
'''


def test_killed_run_resumes_from_its_log(tmp_path):
    """A run killed with SIGKILL and resumed from its log (checkpoints
    beside it) loses no finished epoch, trains none twice, and every
    learning curve continues where it stopped."""
    calls, log = tmp_path / 'calls.jsonl', tmp_path / 'log.jsonl'
    script = tmp_path / 'runner.py'
    script.write_text(RUNNER.format(repo=REPO, calls=str(calls)))
    proc = subprocess.Popen([sys.executable, str(script), str(log), '12'])
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or sum(
            '"completed"' in line for line in log.read_text().splitlines())
            < 4):
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no clean-up at all
    proc.wait()
    events = [json.loads(line) for line in log.read_text().splitlines()
              if line.strip()]
    started = {e['trial_id'] for e in events if e['event'] == 'start'}
    booked = [(e['trial_id'], e['result']['epoch']) for e in events
              if e['event'] == 'result']
    assert 4 <= len(started) < 12
    subprocess.run([sys.executable, str(script), str(log),
                    str(12 - len(started))], check=True, timeout=120)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(e['trial_id'] for e in events
                  if e['event'] == 'completed') == list(range(12))
    results = [e['result'] for e in events if e['event'] == 'result']
    pairs = [(r['trial_id'], r['epoch']) for r in results]
    assert pairs[:len(booked)] == booked  # nothing booked was lost
    assert sorted(pairs) == [(t, e) for t in range(12) for e in (1, 2, 3)]
    for r in results:  # every curve continues: epoch k reports x / k
        config = next(e['config'] for e in events if e['event'] == 'start'
                      and e['trial_id'] == r['trial_id'])
        assert math.isclose(r['error'], config['x'] / r['epoch'])
    # the workers trained each booked epoch once; an epoch trained but not
    # booked when the tuner died (at most one per worker) is trained again
    trained = [tuple(json.loads(line)) for line in
               calls.read_text().splitlines()]
    assert len(trained) - 36 <= 2
    assert {(round(x, 12), e) for x, e in trained} == {
        (round(config_x, 12), e) for config_x in
        [e['config']['x'] for e in events if e['event'] == 'start'
         and not e['resume']] for e in (1, 2, 3)}


def test_replay_in_process_feeds_the_searcher(tmp_path, backends):
    class Recording(BasicScheduler):
        def __init__(self, searcher):
            super().__init__(searcher)
            self.seen = []

        def inform_searcher(self, trial, result):
            error = math.nan if result is None else result['error']
            self.seen.append((trial.config['x'], error))
            super().inform_searcher(trial, result)

    log = str(tmp_path / 'log.jsonl')
    first = AsyncTuner(Recording(RandomSearcher(SPACE, seed=1)),
                       backends(curve, num_workers=2))
    first.log_to(log)
    first.run(number_of_trials=5)
    second = AsyncTuner(Recording(RandomSearcher(SPACE, seed=1)),
                        backends(curve, num_workers=2))
    second.log_to(log)
    assert sorted(second.scheduler.seen) == sorted(first.scheduler.seen)
    assert len(second.records) == 5 and second.results == first.results
    assert second.incumbent == first.incumbent
    clock = second.clock
    second.run(number_of_trials=3)
    assert len(second.records) == 8
    assert [r.config for r in second.records[:5]] == [
        r.config for r in first.records]
    assert min(r.start_time for r in second.records[5:]) >= clock


def test_a_torn_last_line_is_ignored_and_garbage_is_an_error(tmp_path,
                                                            backends):
    log = tmp_path / 'log.jsonl'
    tuner = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=1)),
                       backends(curve, num_workers=1))
    tuner.log_to(str(log))
    tuner.run(number_of_trials=2)
    log.write_text(log.read_text() + '{"event": "sta')
    resumed = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=1)),
                         backends(curve, num_workers=1))
    resumed.log_to(str(log))
    assert len(resumed.records) == 2
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('hello\n{}\n')
    with pytest.raises(ValueError, match='line 1'):
        AsyncTuner(BasicScheduler(RandomSearcher(SPACE)),
                   backends(curve, num_workers=1)).log_to(str(bad))


def test_one_worker_reproduces_the_sequential_trajectory(backends):
    seq = HPOTuner(BasicScheduler(RandomSearcher(SPACE, seed=3)), curve)
    seq.run(6)
    par = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=3)),
                     backends(curve, num_workers=1))
    par.run(number_of_trials=6)
    assert [r.config for r in seq.records] == [r.config for r in par.records]
    assert [(r['trial_id'], r['epoch'], r['error']) for r in seq.results] \
        == [(r['trial_id'], r['epoch'], r['error']) for r in par.results]
    assert seq.incumbent_trajectory == par.incumbent_trajectory


def test_several_workers_propose_a_reproducible_set(backends):
    sets = []
    for _ in range(2):
        tuner = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=8)),
                           backends(lambda x: curve(x, sleep=0.01),
                                    num_workers=3))
        tuner.run(number_of_trials=12)
        sets.append(sorted(r.config['x'] for r in tuner.records))
    assert sets[0] == sets[1]


def test_resuming_without_a_checkpoint_parameter_fails_clearly(backends):
    """An objective that cannot save its state cannot be resumed: the trial
    fails with a message (resuming with checkpoints: test_multi_fidelity)."""
    backend = backends(curve, num_workers=1)
    trial = TrialRecord(0, {'x': 0.5}, epochs=2)
    backend.start_trial(trial)
    event = backend.next_event()
    assert isinstance(event, d2lhpo.TrialEvent)
    assert (event.kind, event.trial_id) == ('failed', 0)
    assert 'cannot continue' in event.message and 'checkpoint' in event.message


@pytest.mark.parametrize('kwargs, pattern', [
    ({'num_workers': 0}, 'num_workers'), ({'num_workers': 1.5}, 'num_workers'),
    ({'trial_timeout': -1}, 'trial_timeout'),
])
def test_bad_arguments_are_rejected(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        LocalBackend(curve, **kwargs)


def test_closed_backend_starts_fresh_workers_on_demand(backends):
    backend = backends(curve, num_workers=2)
    tuner = AsyncTuner(BasicScheduler(RandomSearcher(SPACE, seed=0)),
                       backend)
    tuner.run(number_of_trials=2)
    backend.close()
    tuner.run(number_of_trials=2)
    assert [r.status for r in tuner.records] == ['completed'] * 4


# ---------------------------------------------------------------- Ray
@pytest.mark.xdist_group('ray')  # one Ray at a time
def test_ray_backend_runs_a_real_tuning_job():
    ray = pytest.importorskip('ray')
    from d2lhpo import RayBackend
    try:
        space = {'lr': stats.loguniform(1e-2, 1)}
        objective = lambda lr: softmax_objective(lr, num_epochs=2)
        backend = RayBackend(objective, num_workers=2, trial_timeout=60)
        # a local instance of its own, reachable from this machine only
        assert {n['NodeManagerAddress'] for n in ray.nodes()} == {'127.0.0.1'}
        tuner = AsyncTuner(BasicScheduler(RandomSearcher(space, seed=0)),
                           backend)
        tuner.run(number_of_trials=4)
        assert [r.status for r in tuner.records] == ['completed'] * 4
        assert all(0 <= r.error <= 1 for r in tuner.records)
        assert {r.worker for r in tuner.records} == {0, 1}
        backend.close()  # frees its CPUs for the next actors
        # failures are handled the same way on Ray (a local function, so
        # that cloudpickle ships it by value: Ray's workers cannot import
        # this test module)
        def fragile(x):
            if x == 0.1:
                os._exit(3)
            if x == 0.4:
                raise RuntimeError('out of memory (pretend)')
            return x

        failing = AsyncTuner(BasicScheduler(GridSearcher(
            {'x': [0.4, 0.9, 0.1]})), RayBackend(fragile, num_workers=2))
        failing.run(number_of_trials=3)
        by_x = {r.config['x']: r for r in failing.records}
        assert by_x[0.9].status == 'completed', by_x[0.9].message
        assert 'RuntimeError' in by_x[0.4].message
        assert by_x[0.1].status == 'failed' and 'died' in by_x[0.1].message
        failing.backend.close()

        # promotion-type ASHA on Ray actors: paused trials resume from
        # their checkpoints (one machine, so the folder is shared; a local
        # function again, like tests/test_multi_fidelity.py's
        # toy_checkpointed, which Ray's workers could not import)
        def counter(x, checkpoint=None):
            import os
            done = 0
            if checkpoint is not None and os.path.exists(checkpoint):
                with open(checkpoint) as f:
                    done = int(f.read())
            for epoch in range(done + 1, 10):
                with open(checkpoint, 'w') as f:
                    f.write(str(epoch))
                yield x + 1 / epoch

        with tempfile.TemporaryDirectory() as folder:
            backend = RayBackend(counter, num_workers=2)
            backend.checkpoint_dir = folder
            asha = d2lhpo.ASHAScheduler(RandomSearcher(
                {'x': stats.uniform(0, 1)}, seed=0), eta=3, r_min=1,
                r_max=9, kind='promotion')
            tuner = AsyncTuner(asha, backend)
            tuner.run(max_epochs=30)
            backend.close()
        assert all(r.status != 'failed' for r in tuner.records)
        assert max(r.epochs for r in tuner.records) >= 3  # some resumed
        table = tuner.results_table()
        for trial_id, rows in table.groupby('trial_id'):
            x = tuner.records[trial_id].config['x']
            # every epoch once, in order: resumed, not retrained
            assert rows.epoch.tolist() == list(range(1, len(rows) + 1))
            assert np.allclose(rows.error, x + 1 / rows.epoch)
    finally:
        ray.shutdown()


class ScriptedBackend(d2lhpo.WorkerBackend):
    """Workers whose messages come from a script: the books alone."""
    def __init__(self, num_workers, script):
        super().__init__(num_workers)
        self.script = list(script)  # one list of messages per _wait call
        self.ready.update(range(num_workers))

    def _launch(self, worker):
        self.ready.add(worker)

    def _send(self, worker, message):
        pass

    def _wait(self, timeout):
        return self.script.pop(0)

    def _kill(self, worker):
        pass

    def _death(self, worker):
        return 'scripted'


def test_a_stale_message_is_never_booked_to_the_next_trial(tmp_path):
    """Two results arrive at once; the second worker's trial is stopped
    before its result is read. The worker's next trial must get its own
    result, not the stale one."""
    backend = ScriptedBackend(2, [
        [(0, ('result', {'error': 0.1})), (1, ('result', {'error': 0.5}))],
        [(1, ('result', {'error': 0.7}))]])
    backend.checkpoint_dir = str(tmp_path)
    for trial_id, worker in ((0, 0), (1, 1)):
        trial = d2lhpo.TrialRecord(trial_id, {'x': 0.0})
        trial.worker = worker
        backend.start_trial(trial)
    first = backend.next_event()
    assert (first.kind, first.trial_id) == ('result', 0)
    backend.stop_trial(0)
    backend.stop_trial(1)  # its result (0.5) is still unread
    trial = d2lhpo.TrialRecord(2, {'x': 1.0})
    trial.worker = 1
    backend.start_trial(trial)
    event = backend.next_event()
    assert (event.kind, event.trial_id) == ('result', 2)
    assert event.result['error'] == 0.7
