"""The worker's side of a trial (TrialRunner): checkpoints that a continued
trial can trust, results that cannot travel, working directories (issue 13,
"Processes"). Whole processes (scripts without a main guard, orphans after
kills, timeouts and close) are cases of benchmarks/fault_cases.py, which
tests/test_faults.py runs."""
import os

import cloudpickle

import d2lhpo


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
