"""Worker processes: checkpoints that a resumed trial can trust, results
that cannot travel, working directories, scripts without a main guard, and
no process left behind (issue 13, "Processes")."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import cloudpickle
import pytest
from scipy import stats

import d2lhpo

REPO = str(pathlib.Path(__file__).resolve().parent.parent)


def counting(x, checkpoint):
    """Reports x + epoch; remembers its last epoch in `checkpoint`."""
    done = 0
    if os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = int(f.read())
    for epoch in range(done + 1, 10):
        with open(checkpoint, 'w') as f:
            f.write(str(epoch))
        yield x + epoch


def runner(objective):
    return d2lhpo.TrialRunner(cloudpickle.dumps(objective))


def test_a_trial_continues_from_the_snapshot_of_its_booked_epoch(tmp_path):
    path = str(tmp_path / 'trial_0.pt')
    first = runner(counting)
    results = [first.start({'x': 0.0}, path)] + [first.step() for _ in range(3)]
    assert [r[1]['error'] for r in results] == [1, 2, 3, 4]
    # the checkpoint is at epoch 4; the tuner booked only 3 (it died before
    # booking the fourth): a new runner continues after epoch 3
    second = runner(counting)
    kind, result = second.start({'x': 0.0}, path, epochs=3)
    assert kind == 'result' and result['error'] == 4
    assert sorted(os.listdir(tmp_path)) == [
        'trial_0.pt', 'trial_0.pt.epoch3', 'trial_0.pt.epoch4']


def test_a_missing_checkpoint_fails_the_trial_and_names_the_file(tmp_path):
    path = str(tmp_path / 'trial_7.pt')
    kind, message = runner(counting).start({'x': 0.0}, path, epochs=5)
    assert kind == 'failed'
    assert f'{path}.epoch5' in message and 'missing' in message


def test_an_unpicklable_result_fails_with_its_cause():
    def objective(x):
        yield {'error': x, 'model': lambda: x}
    kind, message = runner(objective).start({'x': 0.5})
    assert kind == 'failed'
    assert 'cannot be sent to the tuner' in message and 'lambda' in message


def test_the_working_directory_is_restored_after_a_trial(tmp_path):
    cwd = os.getcwd()

    def objective(x, where):
        os.chdir(where)
        yield x
    run = runner(objective)
    try:
        assert run.start({'x': 0.1, 'where': str(tmp_path)})[0] == 'result'
        assert run.step() == ('complete', None)
        assert os.getcwd() == cwd
        run.start({'x': 0.1, 'where': str(tmp_path)})
        run.stop()
        assert os.getcwd() == cwd
    finally:
        os.chdir(cwd)


def test_a_script_without_a_main_guard_runs(tmp_path):
    script = tmp_path / 'tune.py'
    script.write_text(textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {REPO!r})
        from scipy import stats
        import d2lhpo
        print('body', flush=True)  # runs once, not again in each worker

        def objective(x):
            for epoch in range(1, 3):
                yield x / epoch
        scheduler = d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
            {{'x': stats.uniform(0, 1)}}, seed=0))
        backend = d2lhpo.LocalBackend(objective, num_workers=2)
        tuner = d2lhpo.AsyncTuner(scheduler, backend)
        tuner.run(number_of_trials=4)
        print([r.status for r in tuner.records])
        '''))
    out = subprocess.run([sys.executable, str(script)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count('body') == 1
    assert "['completed', 'completed', 'completed', 'completed']" in out.stdout


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f'/proc/{pid}/stat') as f:  # a zombie is dead
            return f.read().split(')')[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def wait_until_dead(pids, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline and any(map(alive, pids)):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def spawning(x, folder):
    """Starts a child process, notes both pids, then works for a long time."""
    child = subprocess.Popen(['sleep', '300'])
    with open(os.path.join(folder, f'{os.getpid()}.json'), 'w') as f:
        json.dump([os.getpid(), child.pid], f)
    time.sleep(300)
    yield x


def noted_pids(folder, count, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        files = list(pathlib.Path(folder).glob('*.json'))
        if len(files) >= count:
            time.sleep(0.2)  # let the writes finish
            return [p for f in files for p in json.loads(f.read_text())]
        time.sleep(0.1)
    raise AssertionError(f'only {len(files)} of {count} workers started')


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM,
                                 signal.SIGINT])
def test_no_process_outlives_a_killed_tuner(tmp_path, sig):
    script = tmp_path / 'tune.py'
    script.write_text(textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {REPO!r})
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        import d2lhpo
        from test_worker_faults import spawning
        scheduler = d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            {{'x': [1, 2, 3, 4]}}))
        backend = d2lhpo.LocalBackend(
            lambda x: spawning(x, {str(tmp_path)!r}), num_workers=2)
        d2lhpo.AsyncTuner(scheduler, backend).run(number_of_trials=4)
        '''))
    tuner = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path,
                             stderr=subprocess.DEVNULL)
    try:
        pids = noted_pids(tmp_path, 2)
        tuner.send_signal(sig)
        tuner.wait(timeout=30)
    finally:
        tuner.kill()
    assert len(pids) == 4 and not wait_until_dead(pids)


def test_a_timed_out_trial_ends_the_objectives_processes(tmp_path):
    backend = d2lhpo.LocalBackend(
        lambda x: spawning(x, str(tmp_path)), num_workers=2, trial_timeout=3)
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
        {'x': [1, 2]})), backend)
    try:
        tuner.run(number_of_trials=2)
        assert all('timed out' in r.message for r in tuner.records)
        pids = noted_pids(tmp_path, 2)
        assert len(pids) == 4 and not wait_until_dead(pids)
    finally:
        backend.close()


def test_close_ends_the_objectives_processes(tmp_path):
    backend = d2lhpo.LocalBackend(
        lambda x: spawning(x, str(tmp_path)), num_workers=2)
    try:
        for trial_id in (0, 1):
            backend.start_trial(d2lhpo.TrialRecord(trial_id, {'x': 1},
                                                   worker=trial_id))
        pids = noted_pids(tmp_path, 2)
    finally:
        backend.close()
    assert len(pids) == 4 and not wait_until_dead(pids)
