"""Constrained Bayesian optimization, side by side with Optuna's GPSampler.

Two problems from the literature, each constraint feasible when <= 0
(Optuna's convention), each with its constrained optimum computed here by
a dense grid (2,001 x 2,001 points) and a local polish (SLSQP from the
best feasible grid point), and printed with the constraints active there:

* branin-disk: Branin on [-5, 10] x [0, 15] with the disk constraint of
  Gardner et al. (ICML 2014), (x0 - 2.5)**2 + (x1 - 7.5)**2 - 50 <= 0.
  Two of Branin's three global minima lie outside the disk; the optimum is
  the third, 0.397887 at (pi, 2.275), inside: the constraint is inactive
  there, so this measures how well each library avoids the infeasible
  minima and how precisely it then converges.
* gramacy-toy: Gramacy et al.'s toy problem (Technometrics 2016, "Modeling
  an augmented Lagrangian for blackbox constrained optimization"): minimize
  x0 + x1 on [0, 1]^2 subject to
  c0 = 1.5 - x0 - 2 x1 - 0.5 sin(2 pi (x0**2 - 2 x1)) <= 0 and
  c1 = x0**2 + x1**2 - 1.5 <= 0. The optimum, about 0.5998 at (0.195,
  0.405), lies on the boundary c0 = 0: this measures how closely each
  library follows an active, wiggly constraint.

Each method gets 40 evaluations per seed (seeds 0..N-1, default 10):

* d2lhpo: `ConstrainedBayesOptSearcher` (constrained EI) in an `HPOTuner`
  with the constraint keys;
* Optuna 5.0: `GPSampler(seed=seed)`, constraints given with
  `trial.set_constraint` (which replaces the deprecated `constraints_func`).

Each library uses its own initial design: d2lhpo 4 Sobol points (its
default in 2-D), Optuna's GPSampler 10 random points (`n_startup_trials`).
Seed i of one library shares nothing with seed i of the other, so the
"paired" Wilcoxon test below pairs runs arbitrarily; the medians are the
comparison that the target uses.

Each library runs twice: with its defaults, and with its setting for a
deterministic objective (both problems are noise-free): d2lhpo with
`min_noise=1e-10` (the lower bound of the GPs' noise variance, 1e-8 by
default), Optuna with `GPSampler(deterministic_objective=True)`.

The score of a run is the regret of its best feasible evaluation (its
objective value minus the constrained optimum; a run without a feasible
evaluation scores the largest feasible value of the grid). Target, per
problem: the median regret of d2lhpo is at most Optuna's, with the
defaults and with the deterministic settings.

The part `time` measures the median seconds per suggestion (of 20) of
`ConstrainedBayesOptSearcher` with one constraint (Branin's disk) and of
`BayesOptSearcher` (Branin alone), both first told the same 100 uniformly
random observations (`common.suggestion_seconds`, the two searchers'
suggestions alternating). Target: at most 2x.

`--check` exits 1 unless every target of the parts run is met.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/constrained_benchmark.py \
        [--seeds 10] [--evals 40] [--parts branin-disk,gramacy-toy,time] \
        [--check]
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
from scipy import optimize, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import d2lhpo  # noqa: E402
from common import (machine_line, report_checks,  # noqa: E402
                    suggestion_seconds)

BRANIN = d2lhpo.BRANIN
CENTER, RADIUS2 = np.array([2.5, 7.5]), 50.0


class Problem:
    """An objective on a box with constraints (feasible when <= 0); each
    function maps an (n, d) array to n values."""
    def __init__(self, name, objective, constraints, bounds):
        self.name, self.objective = name, objective
        self.constraints, self.bounds = constraints, np.asarray(bounds, float)
        self.names = [f'x{i}' for i in range(len(self.bounds))]
        self.keys = [f'c{j}' for j in range(len(constraints))]

    def constraint_values(self, X):
        return np.column_stack([c(np.atleast_2d(X)) for c in self.constraints])

    def optimum(self, points=2001):
        """The constrained minimum: a dense grid (2-D), then SLSQP from its
        best feasible point; also the largest feasible value of the grid."""
        lo, hi = self.bounds.T
        axes = [np.linspace(a, b, points) for a, b in zip(lo, hi)]
        X = np.column_stack([g.ravel() for g in np.meshgrid(*axes)])
        values = self.objective(X)
        inside = np.all(self.constraint_values(X) <= 0, axis=1)
        start = X[inside][np.argmin(values[inside])]
        polished = optimize.minimize(
            lambda x: self.objective(x[None])[0], start, method='SLSQP',
            bounds=list(zip(lo, hi)), options={'ftol': 1e-12},
            constraints=[{'type': 'ineq', 'fun': lambda x, c=c: -c(x[None])[0]}
                         for c in self.constraints])
        x = (polished.x if polished.success
             and np.all(self.constraint_values(polished.x) <= 1e-9) else start)
        value = min(self.objective(x[None])[0], values[inside].min())
        return x, float(value), float(values[inside].max())


def disk(X):
    """Gardner et al.'s constraint value: <= 0 inside the disk."""
    return np.sum((np.atleast_2d(X) - CENTER) ** 2, axis=1) - RADIUS2


def toy_c1(X):
    x0, x1 = np.atleast_2d(X).T
    return 1.5 - x0 - 2 * x1 - 0.5 * np.sin(2 * np.pi * (x0 ** 2 - 2 * x1))


def toy_c2(X):
    x0, x1 = np.atleast_2d(X).T
    return x0 ** 2 + x1 ** 2 - 1.5


PROBLEMS = {
    'branin-disk': Problem('Branin with the disk constraint', BRANIN.evaluate,
                           [disk], BRANIN.bounds),
    'gramacy-toy': Problem('Gramacy et al.\'s toy problem',
                           lambda X: np.atleast_2d(X).sum(axis=1),
                           [toy_c1, toy_c2], [(0, 1), (0, 1)])}


def d2lhpo_regret(problem, seed, num_evals, optimum, worst,
                  deterministic=False):
    def objective(**config):
        x = np.array([[config[n] for n in problem.names]])
        return {'error': float(problem.objective(x)[0]),
                **dict(zip(problem.keys,
                           map(float, problem.constraint_values(x)[0])))}
    space = {n: stats.uniform(lo, hi - lo)
             for n, (lo, hi) in zip(problem.names, problem.bounds)}
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        space, seed=seed, **({'min_noise': 1e-10} if deterministic else {}))
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective,
                            constraints=problem.keys)
    tuner.run(number_of_trials=num_evals)
    best = min((r['error'] for r in tuner.results if r['feasible']),
               default=optimum + worst)
    return best - optimum


def optuna_regret(problem, seed, num_evals, optimum, worst,
                  deterministic=False):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    def objective(trial):
        x = np.array([[trial.suggest_float(n, lo, hi) for n, (lo, hi)
                       in zip(problem.names, problem.bounds)]])
        for key, value in zip(problem.keys, problem.constraint_values(x)[0]):
            trial.set_constraint(key, float(value))
        return float(problem.objective(x)[0])
    sampler = optuna.samplers.GPSampler(
        seed=seed, deterministic_objective=deterministic)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=num_evals)
    best = min((t.value for t in study.trials
                if all(c <= 0 for c in t.constraints.values())),
               default=optimum + worst)
    return best - optimum


def regret_part(key, seeds, num_evals):
    """The regrets of both libraries, defaults and deterministic settings,
    on one problem; returns the checks (passed, text)."""
    problem = PROBLEMS[key]
    x, optimum, worst = problem.optimum()
    print(f'\n{problem.name} ({key}): constrained optimum {optimum:.6f} at '
          f'({x[0]:.4f}, {x[1]:.4f}) (grid 2001 x 2001 + SLSQP); active '
          'constraints there: ' + (', '.join(
              k for k, c in zip(problem.keys, problem.constraint_values(x)[0])
              if abs(c) < 1e-6) or 'none') + f'; {num_evals} evaluations')
    runs = {'d2lhpo': (d2lhpo_regret, False), 'Optuna': (optuna_regret, False),
            'd2lhpo det.': (d2lhpo_regret, True),
            'Optuna det.': (optuna_regret, True)}
    rows, times = [], dict.fromkeys(runs, 0.0)
    print(f'{"seed":>4} ' + ' '.join(f'{name:>12}' for name in runs))
    for seed in seeds:
        row = []
        for name, (regret, deterministic) in runs.items():
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                row.append(regret(problem, seed, num_evals, optimum, worst,
                                  deterministic))
            times[name] += time.perf_counter() - tic
        rows.append(row)
        print(f'{seed:>4} ' + ' '.join(f'{r:>12.3e}' for r in row), flush=True)
    columns = dict(zip(runs, np.array(rows).T))
    print('median regret: ' + ', '.join(
        f'{name} {np.median(c):.3e}' for name, c in columns.items()))
    print('time (s): ' + ', '.join(f'{name} {t:.1f}'
                                   for name, t in times.items()))
    checks = []
    for suffix, label in (('', 'defaults'), (' det.', 'deterministic')):
        ours, theirs = columns['d2lhpo' + suffix], columns['Optuna' + suffix]
        print(f'{label}:', d2lhpo.paired_comparison(
            ours, theirs, ('d2lhpo cEI', 'Optuna GPSampler')))
        checks.append((np.median(ours) <= np.median(theirs),
                        f'{key}, {label}: median regret of d2lhpo '
                        f'{np.median(ours):.3e} <= Optuna GPSampler\'s '
                        f'{np.median(theirs):.3e}'))
    return checks


def suggestion_times(num_obs=100, repeats=20, seed=0):
    """Median seconds per suggestion of ConstrainedBayesOptSearcher (Branin
    with the disk: one constraint) and of BayesOptSearcher (Branin alone),
    both told the same `num_obs` uniformly random observations first."""
    problem = PROBLEMS['branin-disk']
    lo, hi = problem.bounds.T
    X = lo + (hi - lo) * np.random.default_rng(seed).uniform(
        size=(num_obs, len(lo)))
    configs = [dict(zip(problem.names, map(float, x))) for x in X]

    def run(name):
        searcher = getattr(d2lhpo, name)(BRANIN.config_space, seed=seed)

        def tell(trial_id, config):
            x = np.array([[config[n] for n in problem.names]])
            error = float(problem.objective(x)[0])
            searcher.update(trial_id, config, error, {
                'error': error,
                'constraints': list(problem.constraint_values(x)[0])})
        return searcher, tell, None
    names = ('BayesOptSearcher', 'ConstrainedBayesOptSearcher')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        measured = suggestion_seconds({n: run(n) for n in names}, configs,
                                      repeats)
    times = {}
    for name, (times[name], longest) in measured.items():
        print(f'{name:>28}, {num_obs} observations in 2-D: '
              f'{1000 * times[name]:.0f} ms per suggestion (median of '
              f'{repeats}, alternating; max {1000 * longest:.0f} ms)')
    ratio = times['ConstrainedBayesOptSearcher'] / times['BayesOptSearcher']
    return [(ratio <= 2, 'ConstrainedBayesOptSearcher (1 constraint) '
             f'suggestion time {ratio:.2f} x BayesOptSearcher <= 2 x')]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=10)
    parser.add_argument('--evals', type=int, default=40)
    parser.add_argument('--parts', default='branin-disk,gramacy-toy,time',
                        help='comma-separated: branin-disk, gramacy-toy, time')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 unless every target is met')
    args = parser.parse_args(argv)
    import optuna
    import torch
    print('command:', ' '.join([os.path.basename(sys.executable)] + sys.argv))
    print(machine_line())
    print(f'versions: d2lhpo (this checkout), numpy {np.__version__}, torch '
          f'{torch.__version__}, optuna {optuna.__version__}; '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
    tic, checks = time.perf_counter(), []
    parts = args.parts.split(',')
    for key in PROBLEMS:
        if key in parts:
            checks += regret_part(key, range(args.seeds), args.evals)
    if 'time' in parts:
        print()
        checks += suggestion_times()
    return report_checks(checks, args.check, tic)


if __name__ == '__main__':
    sys.exit(main())
