"""RayBackend waits for its actors to start up (a ping of each actor):
the time budget of a run, `max_time`, and a trial's `trial_timeout` both
start when the actors are up, as they do for LocalBackend's workers."""
import os
import time

import pytest

from d2lhpo import AsyncTuner, BasicScheduler, GridSearcher, RandomSearcher
from scipy import stats

LOAD_SECONDS = 2.0


def slow_to_load():
    """An objective whose unpickling on an actor takes LOAD_SECONDS, and
    whose trials with x < 0.2 kill their actor. A class made here, so that
    cloudpickle ships it by value (Ray's workers cannot import this
    module)."""
    class SlowToLoad:
        def __init__(self, delay):
            self.delay = delay

        def __setstate__(self, state):  # runs in the actor's constructor
            time.sleep(state['delay'])
            self.__dict__.update(state)

        def __call__(self, x):
            if x < 0.2:
                os._exit(3)
            return x
    return SlowToLoad(LOAD_SECONDS)


@pytest.mark.xdist_group('ray')  # one Ray at a time
def test_ray_start_up_counts_against_neither_max_time_nor_trial_timeout():
    ray = pytest.importorskip('ray')
    from d2lhpo import RayBackend
    try:
        backend = RayBackend(slow_to_load(), num_workers=2)
        assert backend.ready == set()  # starting: not ready yet
        with pytest.warns(UserWarning, match='2 Ray actors did not start'):
            backend.wait_until_ready(startup_timeout=0.1)
        tuner = AsyncTuner(BasicScheduler(RandomSearcher(
            {'x': stats.uniform(0.2, 0.8)}, seed=0)), backend)
        tic = time.perf_counter()
        tuner.run(max_time=1.0, verbose=False)
        took = time.perf_counter() - tic
        completed = [r for r in tuner.records if r.status == 'completed']
        # the run waited for the actors, then had its whole second: before,
        # the second went by while the actors started, and no trial ended
        assert tuner.stop_reason == 'max_time'
        assert took >= LOAD_SECONDS and len(completed) >= 10, (took,
                                                               len(completed))
        assert max(r.end_time for r in completed) <= tuner.clock
        print(f'run took {took:.1f} s, {len(completed)} trials completed')
        backend.close()  # frees the CPUs for the next actors

        # a replaced actor starts up again: its next trial's time limit
        # (1.5 s, less than the 2 s of start-up) starts when it is up
        backend = RayBackend(slow_to_load(), num_workers=1,
                             trial_timeout=1.5)
        tuner = AsyncTuner(BasicScheduler(GridSearcher(
            {'x': [0.1, 0.5, 0.6]})), backend)
        tuner.run(number_of_trials=3, verbose=False)
        by_x = {r.config['x']: r for r in tuner.records}
        assert 'died' in by_x[0.1].message
        assert [by_x[x].status for x in (0.5, 0.6)] == ['completed'] * 2, [
            r.message for r in tuner.records]
        backend.close()
    finally:
        ray.shutdown()
