"""Time d2lhpo's simulated backend against Syne Tune's simulator, side by side.

Both sides run random search with ``--workers`` simulated workers on the
same learning-curve table (``d2lhpo/data/digits_mlp.npz``), for the same
budget of ``--budget`` trial-epochs (reported results) and the same seeds:

* d2lhpo: ``RandomSearcher`` + ``BasicScheduler`` + ``SimulatedBackend`` +
  ``AsyncTuner.run(max_epochs=budget)``.
* Syne Tune 0.16: ``RandomSearch`` + ``UserBlackboxBackend`` over a
  ``BlackboxTabular`` built from the very same arrays (no surrogate: every
  result is a table value) + ``Tuner`` with a ``SimulatorCallback``, stopped
  by ``StoppingCriterion(max_num_evaluations=budget - 1)``.

What is timed is the wall-clock of one ``run()`` call (``time.perf_counter``),
which includes the scheduler and the searcher; loading the table (and, for
Syne Tune, building the blackbox from it) happens once and is timed and
printed separately. After one untimed warm-up run of each side, the seeds are
run interleaved (d2lhpo seed 0, Syne Tune seed 0, d2lhpo seed 1, ...) so
that noise on the machine hits both sides alike. The report gives, per seed,
the wall-clock of each side, how many trial-epochs were reported, how many
trials were started, the final simulated time and the final incumbent
validation error; then the medians, the ratio of the medians, and PASS/FAIL
for the project's two targets:

* d2lhpo simulates the budget (10,000 trial-epochs) in at most 2 s;
* it is at least 10 times faster than Syne Tune.

Syne Tune's loop checks its stopping criterion only between batches of
results, so it may report a few more results than the budget; wall-clock
figures are then also given per 10,000 trial-epochs, and the ratio uses
those. Syne Tune's simulated clock also differs from d2lhpo's: while all
workers are busy, its tuner "sleeps" ``tuner_sleep_time`` simulated seconds
(5 s by default, ``--syne-tune-sleep``) before it looks for results again, so
a worker whose trial has ended idles until the next look, and starting a
trial or reporting a result costs 0.05 s of simulated delay. Syne Tune's
final simulated times are therefore longer; the validation errors are the
same table values.

Syne Tune is an optional extra, needed for this benchmark only::

    pip install -e '.[compare]'

Usage (from the repository root)::

    .venv/bin/python benchmarks/simulator_speed.py [--seeds 5] [--budget 10000]
        [--workers 4] [--skip-syne-tune] [--syne-tune-sleep 5.0]
        [--check] [--profile]

The script always exits 0 (it is a report); with ``--check`` it exits 1 if
a target fails. ``--profile`` adds a cProfile of one d2lhpo run.
"""
import argparse
import contextlib
import cProfile
import dataclasses
import io
import logging
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time

import numpy as np

import d2lhpo
from common import cpu_model  # noqa: E402

MAX_SECONDS = 2.0   # target: d2lhpo's time for the budget
MIN_SPEEDUP = 10.0  # target: Syne Tune's time / d2lhpo's time
PER = 10_000        # trial-epochs that the per-budget figures refer to


@dataclasses.dataclass
class Run:
    """What one simulated random search did, and how long it took."""
    seconds: float        # wall-clock of the run() call
    results: int          # trial-epochs reported
    trials: int           # trials started
    sim_time: float       # simulated clock at the last result (s)
    incumbent: float      # lowest validation error reported

    @property
    def seconds_per_budget(self):
        return self.seconds * PER / self.results


# ---------------------------------------------------------------- d2lhpo ---

def run_d2lhpo(bench, seed, budget, num_workers):
    searcher = d2lhpo.RandomSearcher(bench.config_space, seed=seed)
    scheduler = d2lhpo.BasicScheduler(searcher)
    backend = d2lhpo.SimulatedBackend(bench, num_workers=num_workers, seed=seed)
    tuner = d2lhpo.AsyncTuner(scheduler, backend)
    tic = time.perf_counter()
    tuner.run(max_epochs=budget)
    seconds = time.perf_counter() - tic
    return Run(seconds, len(tuner.results), len(tuner.records),
               tuner.cumulative_runtime[-1], tuner.incumbent_error)


# ------------------------------------------------------------- Syne Tune ---

def syne_tune_blackbox(bench):
    """A Syne Tune tabular blackbox holding the arrays of `bench`.

    Rows are the configurations of `bench.grid` (same order); the objectives
    are the validation error and the elapsed time since the trial started
    (the cumulative sum of the epoch times), for fidelities 1..max_epochs.
    """
    import pandas as pd
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint
    hyperparameters = pd.DataFrame(bench.grid, columns=bench.names)
    elapsed_time = np.cumsum(bench.epoch_time, axis=2)
    objectives = np.stack([bench.val_error, elapsed_time], axis=-1)
    return BlackboxTabular(
        hyperparameters=hyperparameters,
        # choices over the grid values: random search samples grid points
        configuration_space={name: choice(bench.config_space[name])
                             for name in bench.names},
        fidelity_space={'epoch': randint(1, bench.max_epochs)},
        objectives_evaluations=objectives,  # (configs, seeds, epochs, 2)
        fidelity_values=np.arange(1, bench.max_epochs + 1),
        objectives_names=['val_error', 'elapsed_time'])


def run_syne_tune(blackbox, seed, budget, num_workers, sleep_time=None):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import (
        SimulatorCallback)
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.constants import ST_TUNER_TIME
    from syne_tune.optimizer.baselines import RandomSearch
    # Syne Tune samples configurations, and the training seed of each trial,
    # from numpy's global generator.
    np.random.seed(seed)
    backend = UserBlackboxBackend(
        blackbox, elapsed_time_attr='elapsed_time',
        **({} if sleep_time is None else {'tuner_sleep_time': sleep_time}))
    scheduler = RandomSearch(blackbox.configuration_space,
                             metrics=['val_error'], random_seed=seed)
    callback = SimulatorCallback()
    tuner = Tuner(
        trial_backend=backend, scheduler=scheduler, n_workers=num_workers,
        # stops once *more than* max_num_evaluations results were reported
        stop_criterion=StoppingCriterion(max_num_evaluations=budget - 1),
        sleep_time=0, callbacks=[callback], save_tuner=False,
        results_update_interval=1e9, print_update_interval=1e9,
        tuner_name=f'simulator-speed-{seed}', suffix_tuner_name=False)
    with contextlib.redirect_stdout(io.StringIO()):  # its progress report
        tic = time.perf_counter()
        tuner.run()
        seconds = time.perf_counter() - tic
    results = callback.results
    return Run(seconds, len(results), tuner.tuning_status.num_trials_started,
               max(r[ST_TUNER_TIME] for r in results),
               min(r['val_error'] for r in results))


def syne_tune_version():
    """Syne Tune's version, or why it cannot be imported."""
    try:
        import syne_tune
        from syne_tune.blackbox_repository import UserBlackboxBackend  # noqa
    except ImportError as err:
        return None, str(err)
    return syne_tune.__version__, None


# ---------------------------------------------------------------- report ---


def print_header(st_version, st_missing):
    import torch
    print('command: ' + ' '.join([os.path.basename(sys.executable)]
                                 + sys.argv))
    print(f'machine: {platform.platform()}, {cpu_model()}, '
          f'{os.cpu_count()} CPUs, Python {platform.python_version()}')
    print(f'versions: d2lhpo {d2lhpo.__version__}, torch {torch.__version__}, '
          f'numpy {np.__version__}, syne-tune '
          + (st_version or f'not used ({st_missing})'))


def print_runs(runs):
    print(f'{"seed":>4} {"side":<10} {"wall (s)":>9} {"per 10k (s)":>11} '
          f'{"results":>8} {"trials":>7} {"sim time (s)":>13} '
          f'{"incumbent":>10}')
    for seed in sorted(runs):
        for side, run in runs[seed].items():
            print(f'{seed:>4} {side:<10} {run.seconds:>9.3f} '
                  f'{run.seconds_per_budget:>11.3f} {run.results:>8} '
                  f'{run.trials:>7} {run.sim_time:>13.1f} '
                  f'{run.incumbent:>10.4f}')


def summarize(runs, side, num_workers):
    """Print the medians of `side`; return its median seconds per budget."""
    side_runs = [r[side] for r in runs.values()]
    median = lambda values: statistics.median(values)  # noqa: E731
    seconds = median([r.seconds for r in side_runs])
    per_budget = median([r.seconds_per_budget for r in side_runs])
    per_epoch = median([r.sim_time / r.results for r in side_runs])
    print(f'{side}: median wall-clock {seconds:.3f} s '
          f'({per_budget:.3f} s per {PER:,} trial-epochs); '
          f'median final incumbent error '
          f'{median([r.incumbent for r in side_runs]):.4f}; '
          f'{median([r.results for r in side_runs]):.0f} trial-epochs, '
          f'{median([r.trials for r in side_runs]):.0f} trials; '
          f'{per_epoch:.4f} simulated s per trial-epoch '
          f'(x {num_workers} workers = {per_epoch * num_workers:.4f})')
    return per_budget


def profile_d2lhpo(bench, budget, num_workers, top=10):
    profiler = cProfile.Profile()
    profiler.enable()
    run_d2lhpo(bench, 0, budget, num_workers)
    profiler.disable()
    print(f'\ncProfile of one d2lhpo run (seed 0), top {top} by tottime:')
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats('tottime').print_stats(top)
    print(out.getvalue().split('\n', 4)[-1].rstrip())  # skip the preamble


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=5,
                        help='number of seeds (0, 1, ...) per side')
    parser.add_argument('--budget', type=int, default=10_000,
                        help='trial-epochs (reported results) per run')
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--table', default=d2lhpo.DIGITS_MLP_TABLE,
                        help='learning-curve table (.npz)')
    parser.add_argument('--skip-syne-tune', action='store_true',
                        help="time d2lhpo only")
    parser.add_argument('--syne-tune-sleep', type=float, default=None,
                        help="Syne Tune's tuner_sleep_time: simulated seconds "
                        'between two looks for results (default: its own, '
                        '5 s)')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 if a target fails')
    parser.add_argument('--profile', action='store_true',
                        help='also print a cProfile of one d2lhpo run')
    args = parser.parse_args()

    st_version, st_missing = ((None, '--skip-syne-tune')
                              if args.skip_syne_tune else syne_tune_version())
    print_header(st_version, st_missing)
    if st_version is None and not args.skip_syne_tune:
        print(f'Syne Tune is not available ({st_missing}); install the extra '
              "with `pip install -e '.[compare]'` to compare with it. "
              "Reporting d2lhpo's time only.")

    tic = time.perf_counter()
    bench = d2lhpo.TabularBenchmark(args.table)
    print(f'table: {args.table}: {bench}; loaded in '
          f'{time.perf_counter() - tic:.3f} s (not timed below)')
    mean_epoch = float(np.mean(bench.epoch_time))
    print(f'mean epoch time in the table: {mean_epoch:.4f} s '
          f'(/ {args.workers} workers = {mean_epoch / args.workers:.4f} s)')
    sides = {'d2lhpo': lambda seed: run_d2lhpo(
        bench, seed, args.budget, args.workers)}
    if st_version is not None:
        logging.getLogger('syne_tune').setLevel(logging.WARNING)
        tic = time.perf_counter()
        blackbox = syne_tune_blackbox(bench)
        print(f'Syne Tune blackbox built in {time.perf_counter() - tic:.3f} s '
              '(not timed below)')
        from syne_tune.constants import TUNER_DEFAULT_SLEEP_TIME
        sleep = args.syne_tune_sleep
        print(f"Syne Tune's tuner_sleep_time: "
              f'{TUNER_DEFAULT_SLEEP_TIME if sleep is None else sleep} s'
              f'{" (its default)" if sleep is None else ""}')
        sides['syne-tune'] = lambda seed: run_syne_tune(
            blackbox, seed, args.budget, args.workers, args.syne_tune_sleep)
    print(f'random search, {args.workers} workers, budget {args.budget:,} '
          f'trial-epochs, seeds 0..{args.seeds - 1}\n')

    # Syne Tune writes its results under $SYNETUNE_FOLDER: a temporary one.
    with tempfile.TemporaryDirectory(prefix='syne-tune-') as folder:
        os.environ['SYNETUNE_FOLDER'] = folder
        for run in sides.values():  # untimed warm-up, with another seed
            run(10_000)
        runs = {seed: {side: run(seed) for side, run in sides.items()}
                for seed in range(args.seeds)}

    print_runs(runs)
    print()
    ours = summarize(runs, 'd2lhpo', args.workers)
    passed = ours <= MAX_SECONDS
    print(f'{"PASS" if passed else "FAIL"}: d2lhpo takes {ours:.3f} s per '
          f'{PER:,} trial-epochs (target: at most {MAX_SECONDS} s)')
    if st_version is not None:
        theirs = summarize(runs, 'syne-tune', args.workers)
        ratio = theirs / ours
        passed &= ratio >= MIN_SPEEDUP
        print(f'{"PASS" if ratio >= MIN_SPEEDUP else "FAIL"}: d2lhpo is '
              f'{ratio:.1f}x faster than Syne Tune {st_version} (ratio of '
              f'the medians per {PER:,} trial-epochs; target: at least '
              f'{MIN_SPEEDUP:.0f}x)')
    else:
        print(f'SKIPPED: the comparison with Syne Tune (target: at least '
              f'{MIN_SPEEDUP:.0f}x faster)')

    if args.profile:
        profile_d2lhpo(bench, args.budget, args.workers)
    return 1 if args.check and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
