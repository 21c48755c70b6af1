"""Sample efficiency and speed of the model-based searchers, side by side
with Optuna.

Runs every searcher on Branin (40 evaluations) and Hartmann6 (60
evaluations) for 20 seeds (0..19) and prints the median simple regret (the
best value found minus the known minimum), then times one suggestion of
`BayesOptSearcher` with 100 observations in 6 dimensions, and checks the
targets of the Bayesian optimization chapter:

* BayesOptSearcher: median regret <= 0.01 on Branin and on Hartmann6;
* TPESearcher: median regret <= that of Optuna's TPESampler (defaults, the
  same seeds) on both;
* at most 100 ms per suggestion with 100 observations in 6-D.

Optuna's GPSampler runs too, for reference (`--no-optuna-gp` skips it).

Usage (from the repository root; Optuna from `pip install -e '.[compare]'`)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_benchmark.py
"""
import argparse
import math
import os
import sys
import time

import numpy as np

import d2lhpo
from common import cpu_model  # noqa: E402

PROBLEMS = {'Branin': (d2lhpo.BRANIN, 40), 'Hartmann6': (d2lhpo.HARTMANN6, 60)}
TARGET_REGRET = 0.01
TARGET_MS = 100.0


def ours(make):
    """Regret of one of our searchers after `num_evals` evaluations
    (`regret_curves` drives the searcher directly, by trial id)."""
    def regret(function, num_evals, seed):
        curves = d2lhpo.regret_curves(
            lambda s: make(function.config_space, s), function, num_evals,
            [seed])
        return curves[0, -1]
    return regret


def optuna_sampler(make):
    """Regret of an Optuna sampler after `num_evals` evaluations."""
    def regret(function, num_evals, seed):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=make(seed))
        bounds = list(zip(function.names, function.bounds))
        study.optimize(lambda trial: function(**{
            name: trial.suggest_float(name, float(lo), float(hi))
            for name, (lo, hi) in bounds}), n_trials=num_evals)
        return study.best_value - function.min_value
    return regret


def methods(with_optuna_gp=True):
    found = {
        'random search': ours(lambda space, seed: d2lhpo.RandomSearcher(
            space, seed=seed)),
        'BayesOptSearcher': ours(lambda space, seed: d2lhpo.BayesOptSearcher(
            space, seed=seed)),
        'TPESearcher': ours(lambda space, seed: d2lhpo.TPESearcher(
            space, seed=seed)),
        'RFSearcher': ours(lambda space, seed: d2lhpo.RFSearcher(
            space, seed=seed)),
    }
    try:
        import optuna
    except ImportError:
        print('optuna is not installed: pip install -e ".[compare]"')
        return found
    print(f'optuna {optuna.__version__}')
    found['Optuna TPESampler'] = optuna_sampler(
        lambda seed: optuna.samplers.TPESampler(seed=seed))
    if with_optuna_gp:
        found['Optuna GPSampler'] = optuna_sampler(
            lambda seed: optuna.samplers.GPSampler(seed=seed))
    return found


def suggestion_time(num_obs=100, dim=6, repeats=20, seed=0):
    """Median seconds per suggestion of BayesOptSearcher with `num_obs`
    observations of Hartmann6 (random points) and one more per call."""
    function = d2lhpo.HARTMANN6
    assert len(function.bounds) == dim
    rng = np.random.default_rng(seed)
    searcher = d2lhpo.BayesOptSearcher(function.config_space, seed=seed)
    for trial_id in range(num_obs):  # observations it never suggested
        config = {name: float(v) for name, v in
                  zip(function.names, rng.uniform(size=dim))}
        searcher.update(trial_id, config, function(**config))
    searcher.num_suggested = searcher.num_init  # past the initial design
    times = []
    for trial_id in range(num_obs, num_obs + repeats):
        tic = time.perf_counter()
        config = searcher.sample_configuration(trial_id)
        times.append(time.perf_counter() - tic)
        searcher.update(trial_id, config, function(**config))
    return float(np.median(times)), float(np.max(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=20)
    parser.add_argument('--no-optuna-gp', action='store_true',
                        help='skip Optuna\'s GPSampler (the slowest)')
    args = parser.parse_args(argv)
    print('command: OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS", "(unset)")} python '
          + ' '.join(['benchmarks/bo_benchmark.py'] + sys.argv[1:]))
    print(f'machine: {cpu_model()}, {os.cpu_count()} cores')
    seeds = range(args.seeds)
    medians = {}
    for name, regret in methods(not args.no_optuna_gp).items():
        for problem, (function, num_evals) in PROBLEMS.items():
            tic = time.perf_counter()
            values = [regret(function, num_evals, seed) for seed in seeds]
            medians[name, problem] = float(np.median(values))
            q1, q3 = np.quantile(values, [0.25, 0.75])
            print(f'{name:>18} {problem:>9} ({num_evals} evaluations): '
                  f'median regret {medians[name, problem]:.2e} '
                  f'[quartiles {q1:.1e}, {q3:.1e}] '
                  f'({time.perf_counter() - tic:.0f} s for {args.seeds} '
                  'seeds)', flush=True)
    median_s, max_s = suggestion_time()
    print(f'BayesOptSearcher, 100 observations in 6-D: {1000 * median_s:.0f}'
          f' ms per suggestion (median of 20; max {1000 * max_s:.0f} ms)')

    checks = []
    for problem in PROBLEMS:
        value = medians['BayesOptSearcher', problem]
        checks.append((f'BayesOptSearcher {problem}: median regret '
                       f'{value:.2e} <= {TARGET_REGRET}',
                       value <= TARGET_REGRET))
        if ('Optuna TPESampler', problem) in medians:
            ours_, theirs = (medians['TPESearcher', problem],
                             medians['Optuna TPESampler', problem])
            checks.append((f'TPESearcher {problem}: median regret '
                           f'{ours_:.3f} <= Optuna TPE {theirs:.3f}',
                           ours_ <= theirs))
    checks.append((f'suggestion time {1000 * median_s:.0f} ms <= '
                   f'{TARGET_MS:.0f} ms', 1000 * median_s <= TARGET_MS))
    print()
    for text, ok in checks:
        print(f'{"PASS" if ok else "FAIL"}  {text}')
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
