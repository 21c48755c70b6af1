"""RayBackend waits for its actors to start up (a ping of each actor):
the time budget of a run, `max_time`, and a trial's `trial_timeout` both
start when the actors are up, as they do for LocalBackend's workers. An
actor that dies while starting up is reported with its reason (a warning,
or an error when every actor died). One Ray instance and three rounds of
start-ups keep it short; the error is tested on a fake `ray`."""
import os
import time

import pytest

from d2lhpo import AsyncTuner, BasicScheduler, GridSearcher, RandomSearcher
from scipy import stats

LOAD_SECONDS = 1.0


def slow_to_load(folder, failures):
    """An objective whose unpickling on an actor takes LOAD_SECONDS and
    fails for the first `failures` actors (each claims a numbered file in
    `folder`, the first free one), and whose trials with x < 0.2 kill their
    actor. A class made here, so that cloudpickle ships it by value (Ray's
    workers cannot import this module)."""
    class SlowToLoad:
        def __init__(self, folder, failures):
            self.folder, self.failures = folder, failures

        def __setstate__(self, state):  # runs in the actor's constructor
            time.sleep(LOAD_SECONDS)
            for k in range(100):  # which start-up this is, across actors
                try:
                    os.close(os.open(os.path.join(state['folder'], str(k)),
                                     os.O_CREAT | os.O_EXCL))
                    break
                except FileExistsError:
                    continue
            if k < state['failures']:
                raise RuntimeError(f'\x1b[31mstart-up {k} fails\x1b[0m')
            self.__dict__.update(state)

        def __call__(self, x):
            if x < 0.2:
                os._exit(3)
            return x
    return SlowToLoad(str(folder), failures)


def test_ray_error_reason_is_plain_text():
    from d2lhpo import ray_error_reason
    err = RuntimeError('The actor died, \x1b[36mray::A.__init__()\x1b[39m\n'
                       '   ^^^^\n  File "x.py"\n'
                       'ValueError: \x1b[31mno\x1b[0m\n')
    assert ray_error_reason(err) == ('The actor died, ray::A.__init__() ... '
                                     'ValueError: no')
    assert ray_error_reason(RuntimeError('one line')) == 'one line'


class FakeRay:
    """Just enough of Ray for `wait_until_ready`: every ping has come back,
    with its value or the error that killed its actor."""
    class exceptions:
        RayError = RuntimeError

    def __init__(self, answers):
        self.answers, self.killed = answers, []

    def wait(self, refs, num_returns, timeout):
        return list(refs), []

    def get(self, ref):
        if isinstance(self.answers[ref], Exception):
            raise self.answers[ref]
        return self.answers[ref]

    def kill(self, actor):
        self.killed.append(actor)


def test_actors_that_die_starting_up_are_a_warning_or_an_error():
    # without starting Ray: RayBackend's state around a fake `ray`
    from d2lhpo import RayBackend, WorkerBackend
    backend = object.__new__(RayBackend)
    WorkerBackend.__init__(backend, num_workers=2)
    backend.ray = FakeRay({'ping0': True, 'ping1': RuntimeError(
        'The actor died\n  File "x.py"\nOSError: \x1b[31mno disk\x1b[0m')})
    backend.actors, backend.pending = ['actor0', 'actor1'], {}
    backend.pings, backend.deaths = {'ping0': 0, 'ping1': 1}, {}
    backend.startup_timeout = None
    with pytest.warns(UserWarning, match=r'1 Ray actors died starting up: '
                      r'The actor died \.\.\. OSError: no disk; they are '
                      'replaced'):
        backend.wait_until_ready()
    assert backend.ready == {0} and backend.actors == ['actor0', None]
    assert backend.ray.killed == ['actor1'] and backend.pings == {}
    assert backend.deaths == {1: 'The actor died ... OSError: no disk'}
    # when every actor died, the run could only fail: an error
    backend.ray = FakeRay({'ping0': RuntimeError('died'),
                           'ping1': RuntimeError('died')})
    backend.actors, backend.ready = ['actor0', 'actor1'], set()
    backend.pings = {'ping0': 0, 'ping1': 1}
    with pytest.raises(RuntimeError, match='2 Ray actors died starting up'):
        backend.wait_until_ready()


def test_startup_timeout_is_checked():
    pytest.importorskip('ray')
    from d2lhpo import RayBackend
    for bad in (0, -1, 'soon', float('inf')):
        with pytest.raises(ValueError, match='startup_timeout must be'):
            RayBackend(lambda x: x, startup_timeout=bad)


@pytest.mark.xdist_group('ray')  # one Ray at a time
def test_ray_start_up_counts_against_neither_max_time_nor_trial_timeout(
        tmp_path):
    ray = pytest.importorskip('ray')
    from d2lhpo import RayBackend
    try:
        # start-up 0 fails: one actor dies, with its reason, a warning
        backend = RayBackend(slow_to_load(tmp_path, 1), num_workers=2,
                             trial_timeout=0.5, startup_timeout=0.1)
        assert backend.ready == set()  # starting: not ready yet
        with pytest.warns(UserWarning, match='2 Ray actors did not start '
                          r'within 0.1 s'):
            backend.wait_until_ready()
        backend.startup_timeout = None  # wait for ever
        with pytest.warns(UserWarning, match='1 Ray actors died starting '
                          'up: .*start-up 0 fails; they are replaced'):
            backend.wait_until_ready()
        assert len(backend.ready) == 1 and len(backend.deaths) == 1
        assert all('\x1b' not in why and why.endswith('start-up 0 fails')
                   for why in backend.deaths.values())
        # the run starts the dead one again and waits for it, then has its
        # whole half second: before, it went by while the actor started
        tuner = AsyncTuner(BasicScheduler(RandomSearcher(
            {'x': stats.uniform(0.2, 0.8)}, seed=0)), backend)
        tic = time.perf_counter()
        tuner.run(max_time=0.5, verbose=False)
        took = time.perf_counter() - tic
        completed = [r for r in tuner.records if r.status == 'completed']
        assert tuner.stop_reason == 'max_time'
        assert took >= LOAD_SECONDS and len(completed) >= 5, (took,
                                                              len(completed))
        assert max(r.end_time for r in completed) <= tuner.clock

        # replaced actors start up again: their next trials' time limit
        # (0.5 s, less than the start-up) starts when they are up
        tuner = AsyncTuner(BasicScheduler(GridSearcher(
            {'x': [0.1, 0.15, 0.5, 0.6]})), backend)
        tuner.run(number_of_trials=4, verbose=False)
        by_x = {r.config['x']: r for r in tuner.records}
        # a crash kills its actor; under load Ray may notice the death only
        # after the trial's 0.5 s ran out: either way the trial failed and
        # its actor is replaced
        assert all(by_x[x].status == 'failed' and (
            'died' in by_x[x].message or 'timed out' in by_x[x].message)
            for x in (0.1, 0.15)), [r.message for r in tuner.records]
        assert [by_x[x].status for x in (0.5, 0.6)] == ['completed'] * 2, [
            r.message for r in tuner.records]
        backend.close()
    finally:
        ray.shutdown()
