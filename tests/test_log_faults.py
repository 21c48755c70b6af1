"""Faults of the trial log (issue 13): torn tails, kills at random points,
two writers, forged or damaged lines, values JSON cannot write, and ends
that the tuner books at a budget."""
import json
import os
import random
import signal
import time
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

import d2lhpo

BENCH = d2lhpo.TabularBenchmark()
# a small part of the grid (3 x 3 x 3 x 3 x 2 = 162 configurations), so
# that a grid search ends by itself after 162 x 30 trial-epochs
SPACE = dict(BENCH.config_space, lr=[0.01, 0.03162, 0.1],
             weight_decay=[0.0])


def make_tuner(seed=0, scheduler=None):
    scheduler = scheduler or d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
        SPACE, shuffle=True, seed=seed))
    return d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        BENCH, num_workers=4, seed=seed))


def run_to_end(path):
    tuner = make_tuner()
    tuner.log_to(str(path))
    tuner.run(number_of_trials=10 ** 6)  # the grid ends the run
    return tuner


def replayed(path):
    """A fresh tuner that replays `path` (every line must be valid)."""
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no torn tail left behind
        tuner = make_tuner()
        tuner.log_to(str(path))
        tuner.close_log()
    return tuner


def books(tuner):
    return [(r.trial_id, r.config, r.status, r.epochs) for r in tuner.records]


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    return books(run_to_end(tmp_path_factory.mktemp('ref') / 'log.jsonl'))


def test_new_events_never_glue_onto_a_torn_tail(tmp_path):
    log = tmp_path / 'log.jsonl'
    first = make_tuner()
    first.log_to(str(log))
    first.run(max_epochs=50)
    with open(log, 'a') as f:
        f.write('{"event": "result", "trial_id": 3, "res')  # killed here
    second = make_tuner()
    with pytest.warns(UserWarning, match='torn last line'):
        second.log_to(str(log))
    second.run(max_epochs=50)
    lines = log.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # nothing glued
    assert len(replayed(log).results) == len(second.results) == 100


def test_random_truncations_resume_to_the_end(tmp_path, reference):
    full = tmp_path / 'full.jsonl'
    run_to_end(full)
    data = full.read_bytes()
    rng = random.Random(0)
    for cut in [rng.randrange(len(data)) for _ in range(6)] + [1, 0]:
        log = tmp_path / f'cut{cut}.jsonl'
        log.write_bytes(data[:cut])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the torn tail is cut
            run_to_end(log)
        assert books(replayed(log)) == reference, cut


def test_sigkill_at_random_points_then_resume(tmp_path, reference):
    """A child process runs the logged search and is killed (SIGKILL) at a
    random moment, five times; then the run is resumed to its end."""
    log = tmp_path / 'log.jsonl'
    tic = time.perf_counter()
    run_to_end(tmp_path / 'timing.jsonl')
    duration = time.perf_counter() - tic
    rng, killed = random.Random(1), 0
    for _ in range(5):
        pid = os.fork()
        if pid == 0:  # the child: resume and run; never returns
            try:
                warnings.simplefilter('ignore')
                run_to_end(log)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, duration))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed += os.WIFSIGNALED(status)
    assert killed >= 3
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        run_to_end(log)
    assert books(replayed(log)) == reference


def test_a_second_writer_is_refused(tmp_path):
    log = str(tmp_path / 'log.jsonl')
    first, second = make_tuner(), make_tuner()
    first.log_to(log)
    with pytest.raises(RuntimeError, match='another tuner is writing'):
        second.log_to(log)
    first.run(max_epochs=20)  # releases the log when it returns
    second.log_to(log)  # resumes it and holds it
    with pytest.raises(RuntimeError, match='another tuner is writing'):
        first.run(max_epochs=20)
    second.run(max_epochs=20)
    # the log grew while `first` did not hold it: its books are stale
    with pytest.raises(RuntimeError, match='changed since'):
        first.run(max_epochs=20)
    assert len(replayed(log).results) == 40
    with pytest.raises(RuntimeError, match='once'):
        second.log_to(log)


def valid_lines(tmp_path):
    tuner = make_tuner()
    tuner.log_to(str(tmp_path / 'good.jsonl'))
    tuner.run(max_epochs=12)
    return (tmp_path / 'good.jsonl').read_text().splitlines()


def forge(lines, kind, edit):
    """Apply `edit` to the first line of `kind`; return its line number."""
    number = next(i for i, line in enumerate(lines)
                  if json.loads(line)['event'] == kind)
    event = json.loads(lines[number])
    lines[number] = edit(event) if callable(edit) else edit
    if isinstance(lines[number], dict):
        lines[number] = json.dumps(lines[number])
    return number + 1


def update(**kwargs):
    return lambda event: {**event, **kwargs}


def result(**kwargs):
    return lambda event: {**event, 'result': {**event['result'], **kwargs}}


BAD_LINES = {
    'not json': ('start', 'hello', 'Expecting value'),
    'a list': ('start', '[1, 2]', 'not a JSON object'),
    'unknown kind': ('result', update(event='exploded'), 'unknown event'),
    'no config': ('start', lambda e: {k: v for k, v in e.items()
                                      if k != 'config'}, "'config'"),
    'id as text': ('start', update(trial_id='0'), "'trial_id'"),
    'id as bool': ('start', update(trial_id=False), "'trial_id'"),
    'skipped id': ('start', update(trial_id=5), 'the next is 0'),
    'resume new': ('start', update(resume=True), 'the next is 0'),
    'off space': ('start', lambda e: {**e, 'config': {**e['config'],
                                                     'lr': 42.0}}, "'lr'"),
    'unknown hp': ('start', lambda e: {**e, 'config': {**e['config'],
                                                      'x': 1}}, 'unknown'),
    'bad time': ('start', update(time='soon'), "'time'"),
    'unknown trial': ('result', update(trial_id=99), 'not started'),
    'result list': ('result', update(result=[0.1]), "'result'"),
    'error text': ('result', result(error='low'), "'error'"),
    'error nan': ('result', result(error=float('nan')), "'error'"),
    'epoch off': ('result', result(epoch=7), 'not the next one'),
    'end unknown': ('stopped', update(trial_id=77), 'not started'),
    'no message': ('stopped', update(message=None), "'message'"),
}


@pytest.mark.parametrize('case', sorted(BAD_LINES))
def test_every_bad_line_is_a_value_error_naming_it(tmp_path, case):
    kind, edit, match = BAD_LINES[case]
    lines = valid_lines(tmp_path)
    number = forge(lines, kind, edit)
    log = tmp_path / 'bad.jsonl'
    log.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=match) as info:
        make_tuner().log_to(str(log))
    assert f'{log}, line {number}:' in str(info.value)
    with pytest.raises(ValueError):  # the lock was released, so again
        make_tuner().log_to(str(log))  # a ValueError, not "another tuner"


def test_an_end_of_a_trial_that_ended_is_refused(tmp_path):
    lines = valid_lines(tmp_path)
    end = next(line for line in lines if '"completed"' in line
               or '"stopped"' in line or '"paused"' in line)
    log = tmp_path / 'twice.jsonl'
    log.write_text('\n'.join(lines + [end]) + '\n')
    with pytest.raises(ValueError, match=f'line {len(lines) + 1}: a '):
        make_tuner().log_to(str(log))


@pytest.mark.parametrize('choices', [[torch.nn.ReLU, torch.nn.Tanh],
                                     [(64, 64), (128,)], [1 + 2j]])
def test_choices_json_cannot_write_are_refused_at_log_to(tmp_path, choices):
    space = {'act': choices, 'lr': stats.loguniform(1e-3, 1)}
    tuner = make_tuner(scheduler=d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(space)))
    with pytest.raises(TypeError, match="hyperparameter 'act'"):
        tuner.log_to(str(tmp_path / 'log.jsonl'))
    # through a wrapping scheduler too
    wrapped = make_tuner(scheduler=d2lhpo.ASHAScheduler(
        d2lhpo.RandomSearcher(space), r_max=9))
    with pytest.raises(TypeError, match="hyperparameter 'act'"):
        wrapped.log_to(str(tmp_path / 'log.jsonl'))


class ExtraBackend(d2lhpo.SimulatedBackend):
    """Adds `extra(trial_id, epoch)` to every result."""
    def __init__(self, extra, **kwargs):
        super().__init__(BENCH, num_workers=4, seed=0, **kwargs)
        self.extra = extra

    def next_event(self, until=None):
        event = super().next_event(until)
        if event is not None and event.kind == 'result':
            event.result.update(self.extra(event.trial_id,
                                           len(self.running)))
        return event


def test_numpy_and_torch_numbers_in_results_are_logged(tmp_path):
    log = tmp_path / 'log.jsonl'
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            SPACE, shuffle=True, seed=0)),
        ExtraBackend(lambda t, n: {'acc': torch.tensor(0.5),
                                   'loss': np.float32(0.25),
                                   'curve': np.arange(2)}))
    tuner.log_to(str(log))
    tuner.run(max_epochs=30)
    results = [e['result'] for e in map(json.loads, log.open())
               if e['event'] == 'result']
    assert len(results) == 30 and results[0]['acc'] == 0.5
    assert results[0]['loss'] == 0.25 and results[0]['curve'] == [0, 1]


def test_a_result_json_cannot_write_stops_the_log_not_the_run(tmp_path):
    log = tmp_path / 'log.jsonl'
    extra = lambda t, n: {'model': object()} if t == 3 else {}
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            SPACE, shuffle=True, seed=0)),
        ExtraBackend(extra))
    tuner.log_to(str(log))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tuner.run(max_epochs=200)
    assert len(tuner.results) == 200  # the run went on
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and str(log) in messages[0]
    assert 'logging stops' in messages[0]
    resumed = replayed(log)  # the log is a clean prefix of the run
    assert 3 in [r.trial_id for r in resumed.restarts]
    assert resumed.results == tuner.results[:len(resumed.results)]


@pytest.mark.parametrize('value', [{'a': float('nan'), 'b': float('-inf')},
                                   [1, 2.5, np.float32(0.25), 'é\n"'],
                                   {'nested': {'x': torch.tensor([1, 2])}}])
def test_the_fast_line_encoder_writes_what_json_writes(value):
    assert d2lhpo.encode_line(value) == d2lhpo.LOG_ENCODER.encode(value)


def test_a_result_that_contains_itself_stops_the_log_not_the_run(tmp_path):
    log = tmp_path / 'log.jsonl'

    def extra(t, n):
        if t != 2:
            return {}
        loop = []
        loop.append(loop)
        return {'loop': loop}
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            SPACE, shuffle=True, seed=0)),
        ExtraBackend(extra))
    tuner.log_to(str(log))
    with pytest.warns(UserWarning, match='logging stops'):
        tuner.run(max_epochs=100)
    assert len(tuner.results) == 100 and tuner.log is None
    assert d2lhpo.encode_line({'ok': [1]}) == '{"ok":[1]}'  # still works


def test_every_end_is_logged_with_the_trials_status(tmp_path):
    """Trials stopped at the budget are logged with the status the tuner
    gave them, so a resumed run books them as a continued run does."""
    log = tmp_path / 'log.jsonl'
    tuner = make_tuner()
    tuner.log_to(str(log))
    tuner.run(max_epochs=45)
    ends = {e['trial_id']: e['event'] for e in map(json.loads, log.open())
            if e['event'] not in ('run', 'start', 'result')}
    assert ends == {r.trial_id: r.status for r in tuner.records}
    resumed = replayed(log)
    assert resumed.restarts == [] and books(resumed) == books(tuner)
    assert resumed.results == tuner.results


def test_a_batch_of_events_is_encoded_as_one_line_each():
    events = [{'event': 'result', 'trial_id': i,
               'result': {'error': i / 3, 'epoch': 1, 'note': '}, {"event": '}}
              for i in range(5)]
    data, error = d2lhpo.encode_lines(events)
    assert error is None
    assert data == ''.join(d2lhpo.encode_line(e) + '\n'
                           for e in events).encode()
    assert [json.loads(line) for line in data.splitlines()] == events


@pytest.mark.parametrize('value', [
    float('nan'), float('inf'), None, 2**70, {'1': {2: 3}}, 'nullable',
    [{'event': 1}, {'event': 2}]])
def test_json_writes_what_orjson_would_change_or_refuse(value):
    # orjson writes NaN and infinities as null; None looks the same; it
    # refuses big integers and keys that are not strings
    events = [{'event': 'result', 'trial_id': i,
               'result': {'error': 0.5, 'epoch': 1, 'extra': value}}
              for i in range(3)]
    assert d2lhpo.fast_lines(events) is None
    data, error = d2lhpo.encode_lines(events)
    assert error is None
    assert data == ''.join(d2lhpo.encode_line(e) + '\n'
                           for e in events).encode()
    back = [json.loads(line) for line in data.splitlines()]
    assert json.dumps(back) == json.dumps(json.loads(json.dumps(events)))


def test_orjson_lines_read_back_as_the_events_they_encode():
    rng = np.random.default_rng(0)
    events = [{'event': 'result', 'trial_id': i, 'result': {
        'error': float(v), 'time': float(t), 'epoch': 3, 'small': 1e-7 * v,
        'np': np.float32(v), 'text': 'é\n"}, {"event": '}}
        for i, (v, t) in enumerate(zip(rng.random(50), rng.random(50) * 1e4))]
    data = d2lhpo.fast_lines(events)
    assert data is not None and data.count(b'\n') == len(events)
    back = [json.loads(line) for line in data.splitlines()]
    assert back == json.loads(d2lhpo.encode_line(events))
    assert back[0]['result']['error'] == events[0]['result']['error']


def test_an_event_that_looks_like_a_boundary_is_encoded_one_by_one():
    # a list of dicts whose first key is "event" writes `}, {"event": `
    events = [{'event': 'result', 'trial_id': 0,
               'result': {'history': [{'event': 1}, {'event': 2}]}},
              {'event': 'completed', 'trial_id': 0, 'time': 1.0}]
    data, error = d2lhpo.encode_lines(events)
    assert error is None
    assert [json.loads(line) for line in data.splitlines()] == events


def test_a_batch_stops_before_the_event_json_cannot_write():
    events = [{'event': 'start', 'trial_id': 0}, {'event': 'result',
               'trial_id': 0, 'result': {'model': object()}},
              {'event': 'completed', 'trial_id': 0}]
    data, error = d2lhpo.encode_lines(events)
    assert data == b'{"event":"start","trial_id":0}\n'
    assert isinstance(error, TypeError) and error.event is events[1]
    assert d2lhpo.encode_lines([]) == (b'', None)


def test_a_bad_result_in_a_full_batch_stops_the_log_at_that_event(tmp_path):
    log = tmp_path / 'log.jsonl'
    extra = lambda t, n: {'model': object()} if t == 40 else {}
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            SPACE, shuffle=True, seed=0)),
        ExtraBackend(extra))
    tuner.log_to(str(log))
    with pytest.warns(UserWarning, match='logging stops at a result of '
                                         'trial 40'):
        tuner.run(max_epochs=2500)  # more than one batch of 1,000 lines
    assert len(tuner.results) == 2500 and tuner.log is None
    lines = [json.loads(line) for line in log.open()]
    assert {'event': 'start', 'trial_id': 40} in [
        {k: e.get(k) for k in ('event', 'trial_id')} for e in lines]
    assert not any(e['event'] == 'result' and e['trial_id'] == 40
                   for e in lines)  # the lines stop before its result
    assert 1000 < len(lines) < len(tuner.results)  # after a full batch
    resumed = replayed(log)  # a clean prefix of the run
    assert resumed.results == tuner.results[:len(resumed.results)]


def test_orjson_writes_enums_and_uuids_by_value_as_documented():
    import enum
    import uuid
    Optimizer = enum.Enum('Optimizer', {'ADAM': 'adam'})
    key = uuid.UUID(int=7)
    events = [{'event': 'result', 'trial_id': 0,
               'result': {'error': 0.5, 'opt': Optimizer.ADAM, 'id': key}}]
    line = json.loads(d2lhpo.fast_lines(events))
    assert line['result'] == {'error': 0.5, 'opt': 'adam', 'id': str(key)}
    with pytest.raises(TypeError):  # json refuses them
        d2lhpo.encode_line(events[0])
