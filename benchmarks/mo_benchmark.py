"""Multi-objective searchers side by side with Optuna, the suggestion time
of ParEGO with a Gaussian process, and MO-ASHA's speed-up on MNIST-1D.

Part ``zdt`` runs every multi-objective searcher on ZDT1 and ZDT2 (Zitzler,
Deb and Thiele 2000) with 6 inputs in [0, 1] and 2 objectives, both
minimized, for 100 evaluations and seeds 0..``--seeds``-1, and scores a run
by the hypervolume of the objective vectors it evaluated, as they are (f1
in [0, 1], f2 in [0, ~10]), up to the reference point (1.1, 11); the true
fronts' hypervolumes are 11.767 (ZDT1) and 11.433 (ZDT2). d2lhpo's methods:
multi-objective random search, ParEGO on TPE (``RandomScalarization``
around ``TPESearcher``), ParEGO on BO (around ``BayesOptSearcher``) and
``MOTPESearcher``, all with their defaults; Optuna's: ``TPESampler``,
``NSGAIISampler`` and ``GPSampler`` (log EHVI for several objectives), all
with their defaults and the same seeds. Targets, on each problem, for the
best d2lhpo searcher by median hypervolume (chosen per problem):

* its median hypervolume >= that of Optuna's TPESampler and NSGAIISampler;
* its median hypervolume >= 0.95 x that of Optuna's GPSampler.

The paired comparison (same seeds, ``d2lhpo.paired_comparison`` on the
hypervolume gap to the true front) of the best d2lhpo searcher with each
Optuna sampler is printed too. Then the time of one suggestion with 100
observations (random points of ZDT1): ParEGO on BO against the
single-objective ``BayesOptSearcher`` on the same points. A single-objective
searcher's time depends on its target (its fit and its polish take more or
fewer iterations), so it is timed on three targets of the same problem: f1,
f2, and one fixed scalarization of (f1, f2) (ParEGO's own code with the
weights held at (0.5, 0.5)); target: ParEGO's median of 20 suggestions at
most 2x the median of the three single-objective times (each ratio is
printed).

Part ``asha``: on the MNIST-1D table with 4 simulated workers, budgets of
``--budgets`` simulated seconds and ``--asha-seeds`` seeds, MO-ASHA (random
configurations, eta=3, r_min=1, r_max=27, stopping form; variants with
``--eta``, ``--r-min``, ``--kind promotion`` and ``--searcher motpe`` or
``parego-tpe``, a model-based searcher inside MO-ASHA) against
multi-objective random search, scored as in the book's multi-objective
comparison (sec_multi_objective): the
hypervolume of the true objectives (error averaged over the table's seeds
after the last epoch, log10 of the number of parameters) of the trials on
the run's observed front, reference point (0.5, log10 200,000), on a grid
of 1-s steps. Per seed, the target is random search's final hypervolume;
a run that never reaches it counts as twice the budget. Target (the
issue's): MO-ASHA's median time to reach it <= 1/3 of the budget. To show
where MO-ASHA's time goes, the part also prints when the true objective
vectors of MO-ASHA's trials (all trials started, then those with at least
3, 9 and 27 results) first span that hypervolume, the front it would
report aside.

Usage (from the repository root; Optuna from ``pip install -e '.[compare]'``)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mo_benchmark.py
        [--part zdt,time,asha] [--seeds 10] [--asha-seeds 20] [--budgets 100,300]
        [--methods NAME,...] [--jobs 1] [--eta 3] [--r-min 1]
        [--kind stopping] [--searcher random] [--first-seed 0] [--check]

Always exits 0 (a report); with ``--check`` it exits 1 if a target fails.
"""
import argparse
import math
import multiprocessing
import os
import sys
import time
import warnings

import numpy as np
from scipy import stats

import d2lhpo
from common import (machine_line, report_checks,  # noqa: E402
                    suggestion_seconds)

DIM, NUM_EVALS = 6, 100
REFERENCE = np.array([1.1, 11.0])
TRUE_HV = {'ZDT1': 1.1 * 11 - 1 / 3, 'ZDT2': 1.1 * 11 - 2 / 3}
NAMES = [f'x{i}' for i in range(DIM)]
SPACE = {name: stats.uniform(0, 1) for name in NAMES}


def zdt(problem, x):
    """The two objectives of ZDT1 or ZDT2 at x in [0, 1]^DIM."""
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    ratio = x[0] / g
    return [x[0], g * (1 - (math.sqrt(ratio) if problem == 'ZDT1'
                            else ratio ** 2))]


def ours(make):
    def run(problem, seed):
        def objective(**config):
            f1, f2 = zdt(problem, [config[n] for n in NAMES])
            return {'error': f1, 'f2': f2}
        tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(make(seed)), objective,
                                metric=['error', 'f2'])
        tuner.run(NUM_EVALS)
        return [r['objectives'] for r in tuner.results]
    return run


def optuna_sampler(make):
    def run(problem, seed):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(directions=['minimize', 'minimize'],
                                    sampler=make(optuna, seed))
        study.optimize(lambda trial: zdt(problem, [
            trial.suggest_float(n, 0, 1) for n in NAMES]),
            n_trials=NUM_EVALS)
        return [t.values for t in study.trials]
    return run


METHODS = {
    'MO random search': ours(lambda s: d2lhpo.RandomSearcher(SPACE, seed=s)),
    'ParEGO-TPE': ours(lambda s: d2lhpo.RandomScalarization(
        d2lhpo.TPESearcher(SPACE, seed=s), seed=s)),
    'ParEGO-BO': ours(lambda s: d2lhpo.RandomScalarization(
        d2lhpo.BayesOptSearcher(SPACE, seed=s), seed=s)),
    'MOTPE': ours(lambda s: d2lhpo.MOTPESearcher(SPACE, seed=s)),
    'Optuna TPESampler': optuna_sampler(
        lambda o, s: o.samplers.TPESampler(seed=s)),
    'Optuna NSGAIISampler': optuna_sampler(
        lambda o, s: o.samplers.NSGAIISampler(seed=s)),
    'Optuna GPSampler': optuna_sampler(
        lambda o, s: o.samplers.GPSampler(seed=s)),
}
D2LHPO = ['MO random search', 'ParEGO-TPE', 'ParEGO-BO', 'MOTPE']


def one_run(job):
    """(hypervolume, seconds) of one method on one problem and seed."""
    name, problem, seed = job
    warnings.simplefilter('ignore')
    tic = time.perf_counter()
    Y = METHODS[name](problem, seed)
    return (d2lhpo.hypervolume(np.array(Y, dtype=float), REFERENCE),
            time.perf_counter() - tic)


def zdt_part(seeds, names, jobs):
    jobs_list = [(n, p, s) for p in TRUE_HV for n in names for s in seeds]
    if jobs > 1:
        with multiprocessing.Pool(jobs) as pool:
            out = pool.map(one_run, jobs_list, chunksize=1)
    else:
        out = [one_run(job) for job in jobs_list]
    hv = {}
    for (n, p, s), (value, seconds) in zip(jobs_list, out):
        hv.setdefault((n, p), []).append((value, seconds))
    checks = []
    for problem in TRUE_HV:
        print(f'\n{problem} ({DIM} inputs, {NUM_EVALS} evaluations): '
              f'hypervolume up to {tuple(REFERENCE.tolist())}, true front '
              f'{TRUE_HV[problem]:.3f}')
        print(f'{"method":>21} ' + ' '.join(f'{s:>6}' for s in seeds)
              + '  median  s/run')
        medians, values = {}, {}
        for name in names:
            v = np.array([x[0] for x in hv[name, problem]])
            values[name], medians[name] = v, float(np.median(v))
            seconds = np.median([x[1] for x in hv[name, problem]])
            print(f'{name:>21} ' + ' '.join(f'{x:6.3f}' for x in v)
                  + f'  {medians[name]:6.3f} {seconds:6.1f}')
        mine = [n for n in D2LHPO if n in medians]
        if not mine:
            continue
        best = max(mine, key=medians.get)
        print(f'best d2lhpo searcher: {best}')
        for other in [n for n in names if n.startswith('Optuna')
                      and len(seeds) > 1]:
            print(d2lhpo.paired_comparison(
                TRUE_HV[problem] - values[best],
                TRUE_HV[problem] - values[other],
                (f'{best} (gap)', f'{other} (gap)')))
        for other, factor in (('Optuna TPESampler', 1.0),
                              ('Optuna NSGAIISampler', 1.0),
                              ('Optuna GPSampler', 0.95)):
            if other in medians:
                checks.append((medians[best] >= factor * medians[other],
                               f'{problem}: {best} median hypervolume '
                               f'{medians[best]:.3f} >= '
                               f'{factor:g} x {other} {medians[other]:.3f}'))
    return checks


class FixedWeights:
    """Stands in for RandomScalarization's generator: the same weights on
    every draw, which makes ParEGO a single-objective BO on one fixed
    scalarization of the objectives."""
    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=float)

    def dirichlet(self, alpha):
        return self.weights


def suggestion_times(num_obs=100, repeats=20, seed=0):
    """Median seconds per suggestion, with `num_obs` random observations of
    ZDT1 and one more per call, of ParEGO-BO and of BayesOptSearcher on f1,
    on f2 and on the scalarization with weights (0.5, 0.5)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(num_obs + repeats, DIM))
    configs = [dict(zip(NAMES, map(float, x))) for x in X[:num_obs]]

    def run(name):
        searcher = base = d2lhpo.BayesOptSearcher(SPACE, seed=seed)
        if name in ('ParEGO-BO', 'BO on 0.5/0.5'):
            searcher = d2lhpo.RandomScalarization(base, seed=seed)
            if name == 'BO on 0.5/0.5':
                searcher.rng = FixedWeights([0.5, 0.5])

        def tell(trial_id, config):
            f1, f2 = zdt('ZDT1', [config[n] for n in NAMES])
            searcher.update(trial_id, config, f2 if name == 'BO on f2'
                            else f1, {'error': f1, 'objectives': [f1, f2]})
        return searcher, tell, base
    names = ('BO on f1', 'BO on f2', 'BO on 0.5/0.5', 'ParEGO-BO')
    measured = suggestion_seconds({n: run(n) for n in names}, configs,
                                  repeats)
    times = {}
    for name, (times[name], longest) in measured.items():
        print(f'{name:>16}, {num_obs} observations in {DIM}-D: '
              f'{1000 * times[name]:.0f} ms per suggestion (median of '
              f'{repeats}, alternating; max {1000 * longest:.0f} ms)')
    single = [times[k] for k in ('BO on f1', 'BO on f2', 'BO on 0.5/0.5')]
    for name, value in zip(('f1', 'f2', '0.5/0.5'), single):
        print(f'ParEGO-BO / BO on {name}: '
              f'{times["ParEGO-BO"] / value:.2f}x')
    ratio = times['ParEGO-BO'] / np.median(single)
    return [(ratio <= 2, f'ParEGO-BO suggestion time {ratio:.2f} x the '
             'median of BayesOptSearcher on f1, f2 and 0.5/0.5 <= 2 x')]


SEARCHERS = {  # part asha: the searcher inside MO-ASHA (--searcher)
    'random': lambda space, seed: d2lhpo.RandomSearcher(space, seed=seed),
    'motpe': lambda space, seed: d2lhpo.MOTPESearcher(space, seed=seed),
    'parego-tpe': lambda space, seed: d2lhpo.RandomScalarization(
        d2lhpo.TPESearcher(space, seed=seed), seed=seed),
}


SPAN_EPOCHS = (1, 3, 9, 27)  # part asha: trials with this many results


def time_trials_span(tuner, true_objectives, reference, target,
                     min_epoch=1):
    """The simulated time from which the true objective vectors of the
    trials that have reported their `min_epoch`-th result span the
    hypervolume `target` (up to `reference`); inf if they never do."""
    ids, front = set(), np.zeros((0, len(reference)))  # non-dominated
    for result in tuner.results:
        trial_id = result['trial_id']
        if result['epoch'] < min_epoch or trial_id in ids:
            continue
        ids.add(trial_id)
        point = np.asarray(true_objectives(tuner.records[trial_id].config))
        if np.any(np.all(front <= point, axis=1)):
            continue  # weakly dominated: the hypervolume stays
        front = np.vstack([front[~np.all(point <= front, axis=1)], point])
        if d2lhpo.hypervolume(front, reference) >= target:
            return result['time']
    return math.inf


def asha_part(seeds, budgets, eta=3, r_min=1, searcher='random',
              kind='stopping'):
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    costs = {'log_params': np.log10(bench.num_params)}
    metric = ['error', 'log_params']
    reference = np.array([0.5, np.log10(200_000)])
    error = bench.val_error[:, :, -1].mean(axis=1)
    true_hv = d2lhpo.hypervolume(np.column_stack(
        [error, costs['log_params']]), reference)

    def true_objectives(config):
        return [bench.true_error(config),
                costs['log_params'][bench.index(config)]]
    space = bench.config_space
    methods = {
        'MO random search': lambda seed: d2lhpo.BasicScheduler(
            d2lhpo.RandomSearcher(space, seed=seed)),
        'MO-ASHA': lambda seed: d2lhpo.MOASHAScheduler(
            SEARCHERS[searcher](space, seed), eta=eta, r_min=r_min,
            r_max=27, kind=kind),
    }
    print(f'\nMO-ASHA ({kind}): eta={eta}, r_min={r_min}, r_max=27, '
          f'searcher {searcher}, seeds {seeds[0]} to {seeds[-1]}')
    checks = []
    for budget in budgets:
        grid = np.linspace(1, budget, int(budget))
        tic = time.perf_counter()
        curves, counts, tuners, finals = {}, {}, {}, {}
        for name, make in methods.items():
            rows = []
            for seed in seeds:  # simulate_hypervolume, keeping the tuner
                tuner = d2lhpo.AsyncTuner(
                    make(seed), d2lhpo.SimulatedCostsBackend(
                        bench, costs, 4, seed=seed), metric=metric)
                tuner.run(max_time=budget)
                curve = d2lhpo.hypervolume_trajectory(
                    tuner, true_objectives, reference, grid)
                rows.append(curve / true_hv)
                finals.setdefault(name, []).append(curve[-1])
                tuners.setdefault(name, []).append(tuner)
                done = {r['trial_id'] for r in tuner.results
                        if r['epoch'] >= bench.max_epochs}
                tried = [true_objectives(r.config) for r in tuner.records]
                counts.setdefault(name, []).append((
                    len(tuner.records), len(done),
                    d2lhpo.hypervolume(tried, reference) / true_hv))
            curves[name] = np.array(rows)
        targets = curves['MO random search'][:, -1]
        reach = {name: np.array([min(d2lhpo.time_to_hypervolume(
            c, grid, t), 2 * budget) for c, t in zip(C, targets)])
            for name, C in curves.items()}
        print(f'\nMNIST-1D, 4 workers, budget {budget:g} s, {len(seeds)} '
              f'seeds ({time.perf_counter() - tic:.0f} s): share of the '
              f"true front's hypervolume {true_hv:.3f}; time (s) to random "
              "search's final share (2 x budget: never)")
        print(f'{"seed":>4} {"RS share":>8} {"ASHA share":>10} '
              f'{"ASHA s":>7} {"RS s":>6}')
        for k, seed in enumerate(seeds):
            print(f'{seed:>4} {targets[k]:8.3f} '
                  f'{curves["MO-ASHA"][k, -1]:10.3f} '
                  f'{reach["MO-ASHA"][k]:7.0f} '
                  f'{reach["MO random search"][k]:6.0f}')
        for name, rows in counts.items():
            trials, done, oracle = np.median(rows, axis=0)
            print(f'{name}: median {trials:.0f} trials, {done:.0f} trained '
                  f'to the last epoch; the true objectives of all trials '
                  f"tried span {oracle:.3f} of the true front's hypervolume")
        spans = np.array([[time_trials_span(
            tuner, true_objectives, reference, target, epoch)
            for epoch in SPAN_EPOCHS] for tuner, target in zip(
                tuners['MO-ASHA'], finals['MO random search'])])
        print("where MO-ASHA's time goes (medians, fractions of the "
              "budget): the true objectives of its trials span random "
              "search's final hypervolume after "
              + ', '.join(f'{np.median(spans[:, k]) / budget:.3f} (trials '
                          f'with {epoch}+ epochs)'
                          for k, epoch in enumerate(SPAN_EPOCHS))
              + f"; its front's after "
              f'{np.median(reach["MO-ASHA"]) / budget:.3f}')
        ratio = np.median(reach['MO-ASHA']) / budget
        print(f'median: MO-ASHA {np.median(reach["MO-ASHA"]):.0f} s '
              f'({ratio:.2f} of the budget), random search '
              f'{np.median(reach["MO random search"]):.0f} s; MO-ASHA never '
              f'gets there on {int(np.sum(reach["MO-ASHA"] >= 2 * budget))}'
              ' seeds')
        print(d2lhpo.paired_comparison(
            reach['MO-ASHA'], reach['MO random search'],
            ('MO-ASHA (s)', 'random search (s)')))
        print(d2lhpo.paired_comparison(
            1 - curves['MO-ASHA'][:, -1], 1 - targets,
            ('MO-ASHA final (1 - share)', 'random search')))
        checks.append((ratio <= 1 / 3, f'budget {budget:g} s: MO-ASHA '
                       f'({kind}, eta={eta}, r_min={r_min}, {searcher}) '
                       f"median time to random search's final hypervolume "
                       f'{ratio:.2f} x budget <= 1/3'))
    return checks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--part', default='zdt,time,asha',
                        help='parts, separated by commas: zdt, time, asha')
    parser.add_argument('--seeds', type=int, default=10)
    parser.add_argument('--asha-seeds', type=int, default=20)
    parser.add_argument('--budgets', default='100,300')
    parser.add_argument('--methods', default=','.join(METHODS),
                        help='methods of part zdt, separated by commas')
    parser.add_argument('--jobs', type=int, default=1,
                        help='processes for the runs of part zdt')
    parser.add_argument('--eta', type=int, default=3,
                        help="MO-ASHA's eta in part asha")
    parser.add_argument('--r-min', type=int, default=1,
                        help="MO-ASHA's first rung in part asha")
    parser.add_argument('--searcher', default='random', choices=SEARCHERS,
                        help='the searcher inside MO-ASHA in part asha')
    parser.add_argument('--kind', default='stopping',
                        choices=('stopping', 'promotion'),
                        help="MO-ASHA's form in part asha")
    parser.add_argument('--first-seed', type=int, default=0,
                        help='the first seed of part asha')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    parts = args.part.split(',')
    names = args.methods.split(',')
    unknown = set(names) - set(METHODS) | set(parts) - {'zdt', 'time', 'asha'}
    if unknown:
        parser.error(f'unknown methods or parts: {sorted(unknown)}')
    print('command: OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS", "(unset)")} python '
          + ' '.join(['benchmarks/mo_benchmark.py'] + sys.argv[1:]))
    print(machine_line())
    try:
        import optuna
        optuna_version = optuna.__version__
    except ImportError:
        optuna_version = 'not installed (pip install -e ".[compare]")'
        names = [n for n in names if not n.startswith('Optuna')]
    print(f'versions: d2lhpo {d2lhpo.__version__}, numpy {np.__version__}, '
          f'optuna {optuna_version}')
    tic = time.perf_counter()
    checks = []
    if 'zdt' in parts:
        checks += zdt_part(list(range(args.seeds)), names, args.jobs)
    if 'time' in parts:
        print()
        checks += suggestion_times()
    if 'asha' in parts:
        checks += asha_part(
            list(range(args.first_seed, args.first_seed + args.asha_seeds)),
            [float(b) for b in args.budgets.split(',')], args.eta,
            args.r_min, args.searcher, args.kind)
    return report_checks(checks, args.check, tic)


if __name__ == '__main__':
    sys.exit(main())
