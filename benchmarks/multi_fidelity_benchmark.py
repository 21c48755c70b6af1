"""ASHA against random search, and d2lhpo's ASHA against Syne Tune's.

Both parts run on the digits learning-curve table
(``d2lhpo/data/digits_mlp.npz``: 1,134 MLP configurations x 3 training seeds
x 30 epochs) with ``--workers`` simulated workers and seeds 0..``--seeds``-1.

Part 1, time to reach (d2lhpo only), for each budget T of ``--max-time``
(10, 20 and 60 simulated seconds by default: about 90, 180 and 530
full-length trials of random search). Per seed, random search runs for T;
its final incumbent validation error is the target. ASHA (eta=3, r_min=1,
r_max=30; stopping and promotion forms) runs for the same time with the same
seed, and we record the first simulated time at which its incumbent is at
most the target (inf if never). The fraction is ASHA's time divided by T,
random search's simulated time. Target: for every budget, the median
fraction over seeds of stopping-type ASHA is at most 1/4. For reference we
also print ASHA's time divided by the time random search itself first
reached its final error, a stricter ratio: on this table that happens early
(median about 0.2 to 0.4 T), because many configurations tie at the lowest
errors, which are multiples of 1/300 (300 validation images).

Part 2, side by side with Syne Tune 0.16 (skipped if it is not installed).
d2lhpo's stopping-type ``ASHAScheduler`` and Syne Tune's ``ASHA`` baseline
(stopping type, ``grace_period=1``, ``reduction_factor=3``, ``max_t=30``) run
on the same table (a ``BlackboxTabular`` built by
``simulator_speed.syne_tune_blackbox``) for the same budget of
``--epochs`` trial-epochs (reported results) and the same seeds, both inside
Syne Tune's simulator (d2lhpo's scheduler through a small adapter,
``syne_tune_adapter``), so that only the scheduler differs. The pair
also runs in d2lhpo's simulator (Syne Tune's scheduler through
``from_syne_tune``). In each simulator we compare the median any-time curves
by simulated time and by trial-epochs (the number of results), each
summarized by the mean of the median curve over a log-spaced grid from 50
results to the budget (lower is better).

Target: in d2lhpo's simulator, which is deterministic, by simulated time,
d2lhpo's curve is at least as good as Syne Tune's. The other three
comparisons are printed for reference. Syne Tune's simulator adds a latency
of 0.05 s to every result, start and stop (about three epochs of this
table, so a rule that stops fewer trials starts fewer and pays less of it)
and advances its clock by the tuner's real compute time (so runs differ
slightly from one run to the next). ``--compare-seeds`` (100 by default)
sets the number of seeds of this part.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/multi_fidelity_benchmark.py
        [--seeds 20] [--workers 4] [--max-time 10,20,60]
        [--compare-seeds 100] [--epochs 3000]
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


def run_d2lhpo(bench, scheduler, seed, num_workers, **budget):
    tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
        bench, num_workers=num_workers, seed=seed))
    tuner.run(**budget)
    return np.array(tuner.cumulative_runtime), np.array(
        tuner.incumbent_trajectory)


def time_to_reach_part(bench, seeds, num_workers, max_time):
    """Part 1 for one budget: per seed, the simulated time ASHA needs to
    reach random search's final incumbent error, as a fraction of random
    search's budget (the target) and of the time random search itself
    first reached that error (stricter, printed for reference)."""
    print(f'Part 1: time to reach random search\'s final incumbent; '
          f'{num_workers} workers, {max_time:g} simulated s per run')
    print(f'{"seed":>4} {"target":>7} {"RS time":>8} '
          f'{"ASHA-stop":>10} {"frac":>6} {"ASHA-prom":>10} {"frac":>6}'
          '   (frac: of the budget)')
    of_budget = {'stopping': [], 'promotion': []}
    of_rs_time = {'stopping': [], 'promotion': []}
    for seed in seeds:
        rs = d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
            bench.config_space, seed=seed))
        times, traj = run_d2lhpo(bench, rs, seed, num_workers,
                                 max_time=max_time)
        target = traj[-1]
        t_rs = d2lhpo.time_to_reach(times, traj, target)
        line = f'{seed:>4} {target:>7.4f} {t_rs:>8.2f}'
        for kind in ('stopping', 'promotion'):
            t, y = run_d2lhpo(bench, asha(bench, seed, kind), seed,
                              num_workers, max_time=max_time)
            t_asha = d2lhpo.time_to_reach(t, y, target)
            of_budget[kind].append(t_asha / max_time)
            of_rs_time[kind].append(t_asha / t_rs)
            line += f' {t_asha:>10.2f} {t_asha / max_time:>6.3f}'
        print(line)
    for kind in of_budget:
        frac = np.median(of_budget[kind])
        print(f'ASHA ({kind}): median {frac:.3f} of random search\'s '
              f'budget ({1 / frac:.1f}x sooner); '
              f'{np.median(of_rs_time[kind]):.3f} of the time random '
              f'search first reached its final error; reached it in '
              f'{np.sum(np.isfinite(of_budget[kind]))}/{len(seeds)} seeds')
    median = float(np.median(of_budget['stopping']))
    passed = median <= MAX_FRACTION
    print(f'{"PASS" if passed else "FAIL"}: stopping-type ASHA reaches '
          f'random search\'s final error after {median:.3f} of random '
          f'search\'s {max_time:g}-s budget (median over {len(seeds)} seeds;'
          f' target: at most {MAX_FRACTION})\n')
    return passed


def syne_tune_adapter(scheduler, metric='val_error', time_attr='epoch'):
    """Wrap a d2lhpo scheduler that never pauses (such as stopping-type
    ASHA) as a Syne Tune ``TrialScheduler``, so that it runs in Syne Tune's
    simulator exactly where Syne Tune's own ASHA runs."""
    from syne_tune.optimizer.scheduler import (
        SchedulerDecision, TrialScheduler, TrialSuggestion)

    class D2lhpoScheduler(TrialScheduler):
        def suggest(self):
            config = scheduler.suggest()
            return (None if config is None
                    else TrialSuggestion.start_suggestion(config))

        def on_trial_add(self, trial):
            scheduler.on_trial_start(trial)

        def on_trial_result(self, trial, result):
            decision = scheduler.on_trial_result(trial, as_d2lhpo(result))
            return (SchedulerDecision.CONTINUE
                    if decision == d2lhpo.CONTINUE
                    else SchedulerDecision.STOP)

        def on_trial_complete(self, trial, result):
            scheduler.on_trial_complete(trial, as_d2lhpo(result))

        def on_trial_error(self, trial):
            scheduler.on_trial_error(trial, 'failed in Syne Tune')

        def metric_names(self):
            return [metric]

        def metric_mode(self):
            return 'min'

    def as_d2lhpo(result):
        return {'epoch': int(result[time_attr]),
                'error': float(result[metric])}

    return D2lhpoScheduler()


def from_syne_tune(scheduler):
    """Wrap a Syne Tune scheduler that never pauses (such as its ASHA) as a
    d2lhpo scheduler, so that it runs in d2lhpo's simulator."""
    import datetime
    from syne_tune.backend.trial_status import Trial

    class SyneTuneScheduler(d2lhpo.HPOScheduler):
        def __init__(self):
            self.trials = {}  # d2lhpo trial_id -> Syne Tune Trial

        def suggest(self):
            suggestion = scheduler.suggest()
            return None if suggestion is None else dict(suggestion.config)

        def on_trial_start(self, trial):
            self.trials[trial.trial_id] = Trial(
                trial.trial_id, trial.config, datetime.datetime.now())
            scheduler.on_trial_add(self.trials[trial.trial_id])

        def on_trial_result(self, trial, result):
            decision = scheduler.on_trial_result(
                self.trials[trial.trial_id],
                {'epoch': result['epoch'], 'val_error': result['error']})
            return d2lhpo.CONTINUE if decision == 'CONTINUE' else d2lhpo.STOP

        def on_trial_complete(self, trial, result):
            pass  # the trial reached max_t, where Syne Tune stopped it

        def update(self, config, error, info=None):
            pass

    return SyneTuneScheduler()


def syne_tune_asha(blackbox, seed, max_t):
    """Syne Tune's ASHA baseline, stopping type, as configured here."""
    from syne_tune.optimizer.baselines import ASHA
    return ASHA(blackbox.configuration_space, metric='val_error',
                time_attr='epoch', max_t=max_t, do_minimize=True,
                random_seed=seed, grace_period=1, reduction_factor=3)


def run_syne_tune_asha(blackbox, seed, budget, num_workers, max_t,
                       sleep_time, scheduler=None):
    """ASHA in Syne Tune's simulator on the blackbox: Syne Tune's own ASHA,
    or the d2lhpo `scheduler` if one is given. Returns the simulated time
    of each result and the incumbent after it."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import (
        SimulatorCallback)
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.constants import ST_TUNER_TIME
    np.random.seed(seed)  # Syne Tune draws training seeds from numpy
    backend = UserBlackboxBackend(blackbox, elapsed_time_attr='elapsed_time',
                                  tuner_sleep_time=sleep_time)
    if scheduler is None:
        scheduler, name = syne_tune_asha(blackbox, seed, max_t), 'syne-tune'
    else:
        scheduler, name = syne_tune_adapter(scheduler), 'd2lhpo'
    callback = SimulatorCallback()
    tuner = Tuner(
        trial_backend=backend, scheduler=scheduler, n_workers=num_workers,
        # it counts metric records, which for ASHA here come to about two
        # per reported result; we ask for more and keep the first `budget`
        stop_criterion=StoppingCriterion(max_num_evaluations=3 * budget),
        sleep_time=0, callbacks=[callback], save_tuner=False,
        results_update_interval=1e9, print_update_interval=1e9,
        tuner_name=f'mf-benchmark-{name}-{seed}', suffix_tuner_name=False)
    with contextlib.redirect_stdout(io.StringIO()):
        tuner.run()
    results = callback.results[:budget]
    errors = np.array([r['val_error'] for r in results])
    return (np.array([r[ST_TUNER_TIME] for r in results]),
            np.minimum.accumulate(errors))


SIDES = {  # label: (scheduler, simulator)
    'A': ('Syne Tune ASHA', 'Syne Tune simulator'),
    'B': ('d2lhpo ASHA', 'Syne Tune simulator'),
    'C': ('d2lhpo ASHA', 'd2lhpo simulator'),
    'D': ('Syne Tune ASHA', 'd2lhpo simulator'),
}


def median_curve(runs, grid, by_epochs):
    """Median over seeds of the incumbent at each point of `grid`, which is
    in trial-epochs (the number of results) or in simulated seconds."""
    if by_epochs:
        curves = [y[grid - 1] for _, y in runs]
    else:
        curves = [d2lhpo.incumbent_at(t, y, grid) for t, y in runs]
    return np.median(np.array(curves), axis=0)


def syne_tune_part(bench, seeds, num_workers, budget, sleep_time):
    print(f'\nPart 2: stopping-type ASHA, d2lhpo vs Syne Tune; {num_workers} '
          f'workers, {budget} trial-epochs per run, {len(seeds)} seeds')
    for side, (scheduler, simulator) in SIDES.items():
        print(f'  {side}: {scheduler} in the {simulator}')
    blackbox = syne_tune_blackbox(bench)
    logging.getLogger('syne_tune').setLevel(logging.ERROR)
    runs = {side: [] for side in SIDES}
    walls = dict.fromkeys(SIDES, 0.0)
    with tempfile.TemporaryDirectory(prefix='syne-tune-') as folder:
        os.environ['SYNETUNE_FOLDER'] = folder
        for seed in seeds:
            for side in SIDES:
                tic = time.perf_counter()
                if side == 'C':
                    t, y = run_d2lhpo(bench, asha(bench, seed), seed,
                                      num_workers, max_epochs=budget)
                elif side == 'D':
                    np.random.seed(seed)  # Syne Tune's ASHA draws from it
                    t, y = run_d2lhpo(
                        bench, from_syne_tune(syne_tune_asha(
                            blackbox, seed, bench.max_epochs)),
                        seed, num_workers, max_epochs=budget)
                else:
                    t, y = run_syne_tune_asha(
                        blackbox, seed, budget, num_workers, bench.max_epochs,
                        sleep_time, None if side == 'A' else asha(bench, seed))
                walls[side] += time.perf_counter() - tic
                if len(y) < budget:
                    raise RuntimeError(f'{side} reported only {len(y)} '
                                       f'results for seed {seed}')
                runs[side].append((t, y))
    for side in SIDES:
        print(f'{side}: median simulated time for the budget '
              f'{np.median([t[-1] for t, _ in runs[side]]):.1f} s; '
              f'wall-clock {walls[side]:.1f} s for all seeds')
    by_epochs = np.unique(np.geomspace(50, budget, 60).astype(int))
    passed = True
    for ours, theirs, simulator in (('C', 'D', "d2lhpo's"),
                                    ('B', 'A', "Syne Tune's")):
        # any-time curves by simulated time, from the time by which every
        # run has 50 results to the time by which every run has used its
        # budget (as the trial-epochs axis: 50 to budget results)
        pair = runs[ours] + runs[theirs]
        by_time = np.geomspace(max(t[by_epochs[0] - 1] for t, _ in pair),
                               min(t[-1] for t, _ in pair), 60)
        print(f'\nIn {simulator} simulator: {ours} (d2lhpo) vs {theirs} '
              '(Syne Tune), median incumbent validation error over seeds')
        print(f'{"simulated s":>11} {ours:>7} {theirs:>7} '
              f'{"trial-epochs":>12} {ours:>7} {theirs:>7}')
        medians = {}
        for grid, axis in ((by_time, 'time'), (by_epochs, 'epochs')):
            medians[axis] = [median_curve(runs[side], grid,
                                          axis == 'epochs')
                             for side in (ours, theirs)]
        for i in np.linspace(0, 59, 7).astype(int):
            j = min(i, len(by_epochs) - 1)
            print(f'{by_time[i]:>11.3g} {medians["time"][0][i]:>7.4f} '
                  f'{medians["time"][1][i]:>7.4f} {by_epochs[j]:>12} '
                  f'{medians["epochs"][0][j]:>7.4f} '
                  f'{medians["epochs"][1][j]:>7.4f}')
        for axis, (mine, other) in medians.items():
            verdict = mine.mean() <= other.mean()
            target = simulator == "d2lhpo's" and axis == 'time'
            if target:
                passed = verdict
            print(('PASS: ' if verdict else 'FAIL: ') if target else
                  '(for reference) ', end='')
            print(f'by {"simulated time" if axis == "time" else axis}, '
                  f'd2lhpo\'s median any-time curve averages '
                  f'{mine.mean():.5f} vs Syne Tune\'s {other.mean():.5f}; '
                  f'at least as low at {np.mean(mine <= other):.0%} of '
                  'the grid points')
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=20)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--max-time', default='10,20,60',
                        help='simulated seconds per run in part 1, one '
                             'budget or several separated by commas')
    parser.add_argument('--compare-seeds', type=int, default=100,
                        help='seeds of part 2')
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
    passed = True
    for max_time in map(float, args.max_time.split(',')):
        passed &= time_to_reach_part(bench, seeds, args.workers, max_time)
    print(f'(part 1 took {time.perf_counter() - tic:.1f} s of wall-clock)')
    if st_version is not None:
        passed &= syne_tune_part(bench, range(args.compare_seeds),
                                 args.workers, args.epochs,
                                 args.syne_tune_sleep)
    else:
        print('SKIPPED: the comparison with Syne Tune (target: d2lhpo at '
              'least as good)')
    return 1 if args.check and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
