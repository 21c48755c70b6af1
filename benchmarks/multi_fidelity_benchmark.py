"""ASHA against random search, and d2lhpo's ASHA against Syne Tune's.

Both parts run on the digits learning-curve table
(``d2lhpo/data/digits_mlp.npz``: 1,134 MLP configurations x 3 training seeds
x 30 epochs) with ``--workers`` simulated workers and seeds 0..``--seeds``-1.

Part 1, time to reach (d2lhpo only). Per seed, random search runs for
``--max-time`` simulated seconds; its final incumbent validation error is the
target. ASHA (eta=3, r_min=1, r_max=30; stopping and promotion forms) runs
for the same time with the same seed, and we record the first simulated time
at which its incumbent is at most the target (inf if never). The fraction is
ASHA's time divided by the time random search itself took to first reach its
final incumbent (the stricter reference; the fraction of the whole budget is
printed too). Target: the median fraction over seeds of stopping-type ASHA
is at most 1/4.

Part 2, side by side with Syne Tune 0.16 (skipped if it is not installed).
d2lhpo's stopping-type ``ASHAScheduler`` and Syne Tune's ``ASHA`` baseline
(stopping type, ``grace_period=1``, ``reduction_factor=3``, ``max_t=30``) run
on the same table (a ``BlackboxTabular`` built by
``simulator_speed.syne_tune_blackbox``) for the same budget of
``--epochs`` trial-epochs (reported results) and the same seeds. The x-axis of
the any-time curve is the number of trial-epochs, not simulated time: Syne
Tune's simulator adds its own delays (a tuner "sleep" between looks for
results and 0.05 s per start or report), which are large against the ~0.015
s epochs of this table and would favour d2lhpo unfairly. Syne Tune's
simulated time is printed for reference, with ``tuner_sleep_time`` set by
``--syne-tune-sleep``. Target: d2lhpo's median any-time curve is at least as
good as Syne Tune's, measured as the mean of the median curve over a
log-spaced grid of 50..budget trial-epochs (lower is better); the median
incumbent at a few budgets is printed as well.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/multi_fidelity_benchmark.py
        [--seeds 20] [--workers 4] [--max-time 60] [--epochs 3000]
        [--skip-syne-tune] [--check]

Always exits 0 (a report); with ``--check`` it exits 1 if a target fails.
"""
import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import time

import numpy as np

import d2lhpo
from common import machine_line  # noqa: E402
from simulator_speed import syne_tune_blackbox, syne_tune_version  # noqa

MAX_FRACTION = 0.25  # target for part 1


def asha(bench, seed, type='stopping'):
    return d2lhpo.ASHAScheduler(
        d2lhpo.RandomSearcher(bench.config_space, seed=seed), eta=3,
        r_min=1, r_max=bench.max_epochs, type=type)


def run_d2lhpo(bench, scheduler, seed, n_workers, **budget):
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        bench, n_workers=n_workers, seed=seed))
    tuner.run(**budget)
    return np.array(tuner.cumulative_runtime), np.array(
        tuner.incumbent_trajectory)


def time_to_reach_part(bench, seeds, n_workers, max_time):
    print(f'Part 1: time to reach random search\'s final incumbent; '
          f'{n_workers} workers, {max_time} simulated s per run')
    print(f'{"seed":>4} {"target":>7} {"RS time":>8} '
          f'{"ASHA-stop":>10} {"frac":>6} {"ASHA-prom":>10} {"frac":>6}')
    fractions = {'stopping': [], 'promotion': []}
    of_budget = {'stopping': [], 'promotion': []}
    for seed in seeds:
        rs = d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
            bench.config_space, seed=seed))
        times, traj = run_d2lhpo(bench, rs, seed, n_workers,
                                 max_time=max_time)
        target = traj[-1]
        t_rs = d2lhpo.time_to_reach(times, traj, target)
        line = f'{seed:>4} {target:>7.4f} {t_rs:>8.2f}'
        for kind in ('stopping', 'promotion'):
            t, y = run_d2lhpo(bench, asha(bench, seed, kind), seed,
                              n_workers, max_time=max_time)
            t_asha = d2lhpo.time_to_reach(t, y, target)
            fractions[kind].append(t_asha / t_rs)
            of_budget[kind].append(t_asha / max_time)
            line += f' {t_asha:>10.2f} {t_asha / t_rs:>6.3f}'
        print(line)
    for kind in fractions:
        print(f'ASHA ({kind}): median fraction of random search\'s time '
              f'{np.median(fractions[kind]):.3f} (1/'
              f'{1 / np.median(fractions[kind]):.1f}); of its budget '
              f'{np.median(of_budget[kind]):.3f}; reached the target in '
              f'{np.sum(np.isfinite(fractions[kind]))}/{len(seeds)} seeds')
    median = float(np.median(fractions['stopping']))
    passed = median <= MAX_FRACTION
    print(f'{"PASS" if passed else "FAIL"}: stopping-type ASHA needs '
          f'{median:.3f} of random search\'s time (median over '
          f'{len(seeds)} seeds; target: at most {MAX_FRACTION})')
    return passed


def run_syne_tune_asha(blackbox, seed, budget, n_workers, max_t,
                       sleep_time):
    """Syne Tune's ASHA on the blackbox; the incumbent after each result
    and the simulated time of each result."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import (
        SimulatorCallback)
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.constants import ST_TUNER_TIME
    from syne_tune.optimizer.baselines import ASHA
    np.random.seed(seed)  # Syne Tune draws training seeds from numpy
    backend = UserBlackboxBackend(blackbox, elapsed_time_attr='elapsed_time',
                                  tuner_sleep_time=sleep_time)
    scheduler = ASHA(blackbox.configuration_space, metric='val_error',
                     time_attr='epoch', max_t=max_t, do_minimize=True,
                     random_seed=seed, grace_period=1, reduction_factor=3)
    callback = SimulatorCallback()
    tuner = Tuner(
        trial_backend=backend, scheduler=scheduler, n_workers=n_workers,
        # it counts metric records, which for ASHA here come to about two
        # per reported result; we ask for more and keep the first `budget`
        stop_criterion=StoppingCriterion(max_num_evaluations=3 * budget),
        sleep_time=0, callbacks=[callback], save_tuner=False,
        results_update_interval=1e9, print_update_interval=1e9,
        tuner_name=f'mf-benchmark-{seed}', suffix_tuner_name=False)
    with contextlib.redirect_stdout(io.StringIO()):
        tuner.run()
    results = callback.results[:budget]
    errors = np.array([r['val_error'] for r in results])
    return (np.array([r[ST_TUNER_TIME] for r in results]),
            np.minimum.accumulate(errors))


def syne_tune_part(bench, seeds, n_workers, budget, sleep_time):
    print(f'\nPart 2: stopping-type ASHA, d2lhpo vs Syne Tune; {n_workers} '
          f'workers, {budget} trial-epochs per run, {len(seeds)} seeds')
    blackbox = syne_tune_blackbox(bench)
    logging.getLogger('syne_tune').setLevel(logging.ERROR)
    grid = np.unique(np.geomspace(50, budget, 60).astype(int))
    curves = {'d2lhpo': [], 'syne-tune': []}
    sim_times = {'d2lhpo': [], 'syne-tune': []}
    walls = {'d2lhpo': 0.0, 'syne-tune': 0.0}
    with tempfile.TemporaryDirectory(prefix='syne-tune-') as folder:
        os.environ['SYNETUNE_FOLDER'] = folder
        for seed in seeds:
            tic = time.perf_counter()
            t, y = run_d2lhpo(bench, asha(bench, seed), seed, n_workers,
                              max_epochs=budget)
            walls['d2lhpo'] += time.perf_counter() - tic
            tic = time.perf_counter()
            t_st, y_st = run_syne_tune_asha(blackbox, seed, budget,
                                            n_workers, bench.max_epochs,
                                            sleep_time)
            walls['syne-tune'] += time.perf_counter() - tic
            for side, (tt, yy) in (('d2lhpo', (t, y)),
                                   ('syne-tune', (t_st, y_st))):
                if len(yy) < budget:
                    raise RuntimeError(f'{side} reported only {len(yy)} '
                                       f'results for seed {seed}')
                curves[side].append(yy[grid - 1])
                sim_times[side].append(tt[-1])
    print(f'{"trial-epochs":>12} {"d2lhpo":>8} {"syne-tune":>10}  '
          '(median incumbent validation error over seeds)')
    medians = {side: np.median(np.array(c), axis=0)
               for side, c in curves.items()}
    for k in (50, 100, 300, 1000, budget):
        i = np.searchsorted(grid, k)
        if i < len(grid):
            print(f'{grid[i]:>12} {medians["d2lhpo"][i]:>8.4f} '
                  f'{medians["syne-tune"][i]:>10.4f}')
    for side in curves:
        print(f'{side}: mean of the median curve {medians[side].mean():.5f};'
              f' median simulated time for the budget '
              f'{np.median(sim_times[side]):.1f} s; wall-clock '
              f'{walls[side]:.1f} s for all seeds')
    passed = medians['d2lhpo'].mean() <= medians['syne-tune'].mean()
    better = np.mean(medians['d2lhpo'] <= medians['syne-tune'])
    print(f'{"PASS" if passed else "FAIL"}: d2lhpo\'s median any-time curve '
          f'averages {medians["d2lhpo"].mean():.5f} vs Syne Tune\'s '
          f'{medians["syne-tune"].mean():.5f} (target: at most); it is at '
          f'least as low at {better:.0%} of the grid points')
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=20)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--max-time', type=float, default=60.0,
                        help='simulated seconds per run in part 1')
    parser.add_argument('--epochs', type=int, default=3000,
                        help='trial-epochs per run in part 2')
    parser.add_argument('--syne-tune-sleep', type=float, default=0.01,
                        help="Syne Tune's tuner_sleep_time (simulated s)")
    parser.add_argument('--skip-syne-tune', action='store_true')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    print('command: ' + ' '.join([os.path.basename(sys.executable)]
                                 + sys.argv))
    print(machine_line())
    st_version, st_missing = ((None, '--skip-syne-tune')
                              if args.skip_syne_tune else syne_tune_version())
    print(f'versions: d2lhpo {d2lhpo.__version__}, numpy {np.__version__}, '
          f'syne-tune {st_version or "not used (" + st_missing + ")"}')
    bench = d2lhpo.TabularBenchmark()
    print(f'table: {bench}\n')
    seeds = range(args.seeds)
    tic = time.perf_counter()
    passed = time_to_reach_part(bench, seeds, args.workers, args.max_time)
    print(f'(part 1 took {time.perf_counter() - tic:.1f} s of wall-clock)')
    if st_version is not None:
        passed &= syne_tune_part(bench, seeds, args.workers, args.epochs,
                                 args.syne_tune_sleep)
    else:
        print('SKIPPED: the comparison with Syne Tune (target: d2lhpo at '
              'least as good)')
    return 1 if args.check and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
