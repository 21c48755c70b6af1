"""Time a long simulated run with and without a trial log (issue 13).

Writing the log must be linear in the run's length: each event is one
JSON line written to a file that stays open, with no rescan of earlier
results. This script runs the same seeded search on
``d2lhpo.TabularBenchmark`` (``SimulatedBackend``, 4 workers) for
``--epochs`` trial-epochs twice per repeat, in one process, once without a
log and once with ``log_to`` (a fresh file in a temporary directory), and
prints the median wall-clock of each, their ratio, and PASS/FAIL for the
target (logged at most 1.5x the unlogged time). Repeats alternate the two
so that noise on the machine hits both alike.

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/log_speed.py [--epochs 40000]
        [--scheduler asha|random] [--repeats 3] [--check]

The script exits 0 (it is a report); with ``--check`` it exits 1 if the
target fails.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import d2lhpo


def make_tuner(bench, scheduler, seed=0):
    searcher = d2lhpo.RandomSearcher(bench.config_space, seed=seed)
    if scheduler == 'asha':
        scheduler = d2lhpo.ASHAScheduler(searcher, r_max=27,
                                         kind='promotion')
    else:
        scheduler = d2lhpo.BasicScheduler(searcher)
    backend = d2lhpo.SimulatedBackend(bench, num_workers=4, seed=seed)
    return d2lhpo.AsyncTuner(scheduler, backend)


def timed_run(bench, scheduler, epochs, log_dir=None):
    """Wall-clock of one run (log_to included), its results and lines."""
    tic = time.perf_counter()
    tuner = make_tuner(bench, scheduler)
    if log_dir is not None:
        tuner.log_to(os.path.join(log_dir, 'run.jsonl'))
    tuner.run(max_epochs=epochs)
    seconds = time.perf_counter() - tic
    lines = 0
    if log_dir is not None:
        with open(os.path.join(log_dir, 'run.jsonl'), 'rb') as f:
            lines = sum(1 for _ in f)
    return seconds, len(tuner.results), len(tuner.records), lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=40000)
    parser.add_argument('--scheduler', choices=['asha', 'random'],
                        default='asha')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    bench = d2lhpo.TabularBenchmark()
    timed_run(bench, args.scheduler, 1000)  # warm-up: imports, caches
    plain, logged = [], []
    for _ in range(args.repeats):
        seconds, results, trials, _ = timed_run(bench, args.scheduler,
                                                args.epochs)
        plain.append(seconds)
        with tempfile.TemporaryDirectory() as log_dir:
            seconds, logged_results, _, lines = timed_run(
                bench, args.scheduler, args.epochs, log_dir)
        logged.append(seconds)
        assert logged_results == results
    without, with_log = statistics.median(plain), statistics.median(logged)
    ratio = with_log / without
    print(f'{args.scheduler} on {bench!r}, 4 simulated workers: {results} '
          f'trial-epochs, {trials} trials, {lines} log lines')
    print(f'without a log: {without:.2f} s   with a log: {with_log:.2f} s   '
          f'ratio {ratio:.2f}x (median of {args.repeats})')
    ok = ratio <= 1.5
    print(f'{"PASS" if ok else "FAIL"}: the log costs at most 1.5x')
    return 0 if ok or not args.check else 1


if __name__ == '__main__':
    sys.exit(main())
