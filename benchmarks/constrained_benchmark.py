"""Constrained Bayesian optimization, side by side with Optuna's GPSampler.

The problem is Branin on its usual domain [-5, 10] x [0, 15] with the disk
constraint of Gardner et al. (ICML 2014),

    (x0 - 2.5)**2 + (x1 - 7.5)**2 <= 50,

reported as the constraint value (x0 - 2.5)**2 + (x1 - 7.5)**2 - 50 (feasible
when <= 0, Optuna's convention). Two of Branin's three global minima lie
outside the disk; the constrained optimum is computed here by a dense grid
(2,001 x 2,001 points) and a local polish (SLSQP from the best feasible grid
point), and printed. It is Branin's global minimum 0.397887 at (pi, 2.275),
inside the disk: the constraint removes two of the three minima but is
inactive at the optimum, so the comparison measures how well each library
avoids the infeasible minima and how precisely it then converges, not how
it follows a constraint boundary.

Each method gets 40 evaluations per seed (seeds 0..N-1, default 10):

* d2lhpo: `ConstrainedBayesOptSearcher` (constrained EI) in an `HPOTuner`
  with `constraints=['disk']`;
* Optuna 5.0: `GPSampler(seed=seed)`, constraints given with
  `trial.set_constraint` (which replaces the deprecated `constraints_func`).

Each library uses its own initial design: d2lhpo 4 Sobol points (its
default in 2-D), Optuna's GPSampler 10 random points (`n_startup_trials`).
Seed i of one library shares nothing with seed i of the other, so the
"paired" Wilcoxon test below pairs runs arbitrarily; the medians are the
comparison that the target uses.

Each library runs twice: with its defaults, and with its setting for a
deterministic objective (Branin and the disk are noise-free): d2lhpo with
`min_noise=1e-10` (the lower bound of the GPs' noise variance, 1e-6 by
default), Optuna with `GPSampler(deterministic_objective=True)`.

The score of a run is the regret of its best feasible evaluation (its
Branin value minus the constrained optimum; a run without a feasible
evaluation would score the largest value of Branin on the disk). Target: the median
regret of d2lhpo is at most Optuna's, with the defaults and with the
deterministic settings. `--check` exits 1 unless both hold.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/constrained_benchmark.py \
        [--seeds 10] [--evals 40] [--check]
"""
import argparse
import math
import os
import sys
import time
import warnings

import numpy as np
from scipy import optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import d2lhpo  # noqa: E402
from common import machine_line  # noqa: E402

BRANIN = d2lhpo.BRANIN
CENTER, RADIUS2 = np.array([2.5, 7.5]), 50.0


def disk(x):
    """The constraint value: <= 0 inside the disk."""
    return float(np.sum((np.asarray(x) - CENTER) ** 2) - RADIUS2)


def constrained_optimum():
    """Branin's minimum on the disk: a dense grid, then SLSQP."""
    lo, hi = BRANIN.bounds.T
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 2001),
                         np.linspace(lo[1], hi[1], 2001))
    X = np.column_stack([g0.ravel(), g1.ravel()])
    values = BRANIN.evaluate(X)
    inside = ((X - CENTER) ** 2).sum(axis=1) <= RADIUS2
    start = X[inside][np.argmin(values[inside])]
    polished = optimize.minimize(
        lambda x: BRANIN.evaluate(x[None])[0], start, method='SLSQP',
        bounds=list(zip(lo, hi)),
        constraints=[{'type': 'ineq', 'fun': lambda x: -disk(x)}])
    x = polished.x if polished.success and disk(polished.x) <= 1e-9 else start
    value = min(BRANIN.evaluate(x[None])[0], values[inside].min())
    worst = values[inside].max()
    return x, float(value), float(worst)


def d2lhpo_regret(seed, num_evals, optimum, worst, deterministic=False):
    def objective(x0, x1):
        return {'error': BRANIN(x0=x0, x1=x1), 'disk': disk([x0, x1])}
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        BRANIN.config_space, seed=seed,
        min_noise=1e-10 if deterministic else 1e-6)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective,
                            constraints=['disk'])
    tuner.run(number_of_trials=num_evals)
    best = min((r['error'] for r in tuner.results if r['feasible']),
               default=optimum + worst)
    return best - optimum


def optuna_regret(seed, num_evals, optimum, worst, deterministic=False):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    (lo0, lo1), (hi0, hi1) = BRANIN.bounds.T
    def objective(trial):
        x = [trial.suggest_float('x0', lo0, hi0),
             trial.suggest_float('x1', lo1, hi1)]
        trial.set_constraint('disk', disk(x))
        return BRANIN.evaluate(np.array([x]))[0]
    sampler = optuna.samplers.GPSampler(
        seed=seed, deterministic_objective=deterministic)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=num_evals)
    best = min((t.value for t in study.trials
                if all(c <= 0 for c in t.constraints.values())),
               default=optimum + worst)
    return best - optimum


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=10)
    parser.add_argument('--evals', type=int, default=40)
    parser.add_argument('--check', action='store_true',
                        help='exit 1 unless the target is met')
    args = parser.parse_args(argv)
    import optuna
    import torch
    print('command:', ' '.join([os.path.basename(sys.executable)] + sys.argv))
    print(machine_line())
    print(f'versions: d2lhpo (this checkout), numpy {np.__version__}, torch '
          f'{torch.__version__}, optuna {optuna.__version__}; '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
    x, optimum, worst = constrained_optimum()
    print(f'Branin on [-5, 10] x [0, 15] subject to (x0 - 2.5)^2 + (x1 - 7.5)^2'
          f' <= 50: constrained optimum {optimum:.6f} at ({x[0]:.4f}, '
          f'{x[1]:.4f}) (grid 2001 x 2001 + SLSQP); {args.evals} evaluations')
    runs = {'d2lhpo': (d2lhpo_regret, False), 'Optuna': (optuna_regret, False),
            'd2lhpo det.': (d2lhpo_regret, True),
            'Optuna det.': (optuna_regret, True)}
    rows, times = [], dict.fromkeys(runs, 0.0)
    print(f'{"seed":>4} ' + ' '.join(f'{name:>12}' for name in runs))
    for seed in range(args.seeds):
        row = []
        for name, (regret, deterministic) in runs.items():
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                row.append(regret(seed, args.evals, optimum, worst,
                                  deterministic))
            times[name] += time.perf_counter() - tic
        rows.append(row)
        print(f'{seed:>4} ' + ' '.join(f'{r:>12.3e}' for r in row), flush=True)
    columns = dict(zip(runs, np.array(rows).T))
    print('median regret: ' + ', '.join(
        f'{name} {np.median(c):.3e}' for name, c in columns.items()))
    print('time (s): ' + ', '.join(f'{name} {t:.1f}'
                                   for name, t in times.items()))
    passed = True
    for suffix, label in (('', 'defaults'), (' det.', 'deterministic')):
        ours, theirs = columns['d2lhpo' + suffix], columns['Optuna' + suffix]
        print(f'{label}:', d2lhpo.paired_comparison(
            ours, theirs, ('d2lhpo cEI', 'Optuna GPSampler')))
        ok = np.median(ours) <= np.median(theirs)
        passed &= ok
        print(f'target ({label}: median regret of d2lhpo <= Optuna '
              f'GPSampler\'s): {"PASS" if ok else "FAIL"}')
    print('PASS' if passed else 'FAIL')
    if args.check and not passed:
        sys.exit(1)


if __name__ == '__main__':
    main()
