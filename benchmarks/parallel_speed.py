"""Throughput and overhead of the real parallel backends.

Measures, on this machine:

1. Throughput: an objective that computes for about 1 s (a fixed amount of
   single-threaded work, calibrated once in this process) run as 10 trials on
   `LocalBackend` with 1 worker and with 2 workers (one thread each).
   Reports trials per minute and their ratio (target: at least 1.8 with 2
   workers on a 2-core machine).
2. Overhead per trial: an objective that returns at once, 300 trials on
   `LocalBackend` (1 and 2 workers) and 100 trials on `RayBackend` (2 actors
   on a local Ray instance started with `ray.init(num_cpus=2,
   include_dashboard=False)`). Reports wall-clock per trial (targets: at most
   20 ms local, at most 100 ms Ray).

Worker start-up (importing PyTorch in a new process) is excluded: the
backends are ready before the clock starts (`wait_until_ready`, one warm-up
trial on Ray). Run it on an otherwise idle machine:

    .venv/bin/python benchmarks/parallel_speed.py [--trials 10] [--skip-ray]
"""
import argparse
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch  # noqa: E402
from scipy import stats  # noqa: E402

import d2lhpo  # noqa: E402
from common import machine_line  # noqa: E402

SPACE = {'x': stats.uniform(0, 1)}


def work(iterations):
    """A fixed amount of single-threaded compute (matrix products)."""
    torch.set_num_threads(1)
    a = torch.ones(96, 96) / 96
    for _ in range(iterations):
        a = a @ a + 0.5
    return float(a[0, 0])


def calibrate(seconds=1.0):
    iterations, elapsed = 100, 0.0
    while elapsed < 0.2:
        iterations *= 2
        tic = time.perf_counter()
        work(iterations)
        elapsed = time.perf_counter() - tic
    return int(iterations * seconds / elapsed)


def compute_objective(iterations):
    def objective(x):
        work(iterations)
        return x
    return objective


def instant(x):
    return x


def timed_run(backend, trials, seed=0):
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(SPACE, seed=seed)), backend)
    tic = time.perf_counter()
    tuner.run(number_of_trials=trials)
    elapsed = time.perf_counter() - tic
    assert all(r.status == 'completed' for r in tuner.records)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--overhead-trials', type=int, default=300)
    parser.add_argument('--skip-ray', action='store_true')
    args = parser.parse_args()
    print('command:', ' '.join(['python'] + sys.argv))
    print(f'{machine_line()}; torch {torch.__version__}')

    iterations = calibrate()
    tic = time.perf_counter()
    work(iterations)
    print(f'\n1. throughput: objective of {iterations} matrix products '
          f'({time.perf_counter() - tic:.2f} s here), {args.trials} trials')
    rates = {}
    for num_workers in (1, 2):
        backend = d2lhpo.LocalBackend(compute_objective(iterations),
                                      num_workers=num_workers, num_threads=1)
        backend.wait_until_ready()
        elapsed = timed_run(backend, args.trials)
        backend.close()
        rates[num_workers] = args.trials / elapsed * 60
        print(f'   {num_workers} worker(s): {elapsed:6.2f} s, '
              f'{rates[num_workers]:5.1f} trials per minute')
    ratio = rates[2] / rates[1]
    print(f'   ratio 2 workers / 1 worker: {ratio:.2f} '
          f'({"PASS" if ratio >= 1.8 else "FAIL"}: target >= 1.8)')

    print(f'\n2. overhead per trial (objective returns at once)')
    for num_workers in (1, 2):
        backend = d2lhpo.LocalBackend(instant, num_workers=num_workers)
        backend.wait_until_ready()
        timed_run(backend, 20)  # warm-up
        elapsed = timed_run(backend, args.overhead_trials, seed=1)
        backend.close()
        ms = elapsed / args.overhead_trials * 1000
        print(f'   LocalBackend, {num_workers} worker(s): {ms:.2f} ms per trial '
              f'({"PASS" if ms <= 20 else "FAIL"}: target <= 20 ms)')
    if args.skip_ray:
        return
    try:
        import ray
    except ImportError:
        print("   Ray is not installed: pip install -e '.[ray]'")
        return
    tic = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    backend = d2lhpo.RayBackend(instant, num_workers=2)
    timed_run(backend, 4)  # warm-up: the actors start
    print(f'   (Ray started and actors ready in '
          f'{time.perf_counter() - tic:.1f} s, not counted)')
    trials = max(1, args.overhead_trials // 3)
    elapsed = timed_run(backend, trials, seed=1)
    backend.close()
    ray.shutdown()
    ms = elapsed / trials * 1000
    print(f'   RayBackend, 2 actors: {ms:.2f} ms per trial '
          f'({"PASS" if ms <= 100 else "FAIL"}: target <= 100 ms)')


if __name__ == '__main__':
    main()
