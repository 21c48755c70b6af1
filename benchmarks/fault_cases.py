#!/usr/bin/env python
"""Fault-injection cases of issue 13 ("Nothing lost, nothing hangs").

A registry of small cases, one function each, that feed `d2lhpo` a bad
argument, a forged log line or a fault (a kill, a timeout, a torn file) and
classify what happens, by behaviour rather than by the text of a message:

* 'clear error': an exception (ValueError, TypeError, RuntimeError or
  OSError) whose message names the offending argument, value, file or line;
* 'handled': the run goes on and its outcome is right;
* 'silent wrong': no error, but a wrong or misleading result;
* 'crash/hang': an unrelated exception, a dead worker, an orphaned process,
  a stall or a timeout;
* 'data lost': finished results lost, or epochs booked that were not trained.

Each case gets a fresh temporary directory (`ctx.tmp`) and `ctx.full` (the
full size of the heavy cases; the unit tests use a reduced one). Run

    python benchmarks/fault_cases.py [--repo PATH] [--only SUBSTR] \
        [--json OUT] [-j N] [--quick]

to run every case in a fresh subprocess with a timeout (a timeout counts as
'crash/hang') against the `d2lhpo` of the checkout `--repo` (default: this
one), print one row per case and the totals. `tests/test_faults.py` runs the
same cases in CI.
"""
import argparse
import concurrent.futures
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

OUTCOMES = ('clear error', 'handled', 'silent wrong', 'crash/hang',
            'data lost')
GOOD = ('clear error', 'handled')
SKIPPED = 'n/a'  # a case whose tool (Ray) is not installed
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
CLEAR_TYPES = (ValueError, TypeError, RuntimeError, OSError)


class Case:
    def __init__(self, fn, group, isolated, timeout):
        self.fn, self.name, self.group = fn, fn.__name__, group
        self.isolated, self.timeout = isolated, timeout
        self.doc = (fn.__doc__ or '').strip().splitlines()[0] if fn.__doc__ \
            else ''


CASES = {}


def case(group, isolated=False, timeout=60):
    """Register a case. `isolated`: it needs a process of its own (it kills
    processes, runs scripts, may hang or may exhaust memory)."""
    def register(fn):
        CASES[fn.__name__] = Case(fn, group, isolated, timeout)
        return fn
    return register


class Ctx:
    def __init__(self, tmp, full=True):
        self.tmp, self.full = tmp, full

    def path(self, name):
        return os.path.join(self.tmp, name)


# --------------------------------------------------------------- helpers

def _msg(err):
    return f'{type(err).__name__}: {err}'.replace('\n', ' ')[:300]


def classify_error(err, names):
    """'clear error' if `err` is a clear type whose message names one of
    `names` (case-insensitive), else 'crash/hang'."""
    text = str(err).lower()
    if isinstance(err, CLEAR_TYPES) and any(
            re.search(r'(?<![a-z0-9_])' + re.escape(str(n).lower())
                      + r'(?![a-z0-9_])', text) for n in names):
        return 'clear error', _msg(err)
    return 'crash/hang', _msg(err)


def expect_error(build, names, use=None):
    """A bad argument: `build()` should raise a clear error naming one of
    `names`. If it does not, `use(obj)` exercises the object: an error
    there is 'crash/hang' (too late, mid-run), else the outcome `use`
    returns, by default 'silent wrong' (the bad value was accepted)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            obj = build()
    except Exception as err:
        return classify_error(err, names)
    if use is None:
        return 'silent wrong', 'accepted'
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            out = use(obj)
    except Exception as err:
        return 'crash/hang', 'accepted, then mid-run ' + _msg(err)
    if isinstance(out, tuple):
        return out
    return 'silent wrong', 'accepted; the run went on'


def d2l():
    import d2lhpo
    return d2lhpo


def uniform_space(names=('x', 'y')):
    from scipy import stats
    return {n: stats.uniform(0, 1) for n in names}


def mf_bench(max_epochs=9):
    d = d2l()
    return d.MultiFidelityFunction(d.BRANIN, max_epochs=max_epochs)


def sim_tuner(scheduler, max_epochs=9, workers=2, seed=0):
    d = d2l()
    backend = d.SimulatedBackend(mf_bench(max_epochs), workers, seed=seed)
    return d.AsyncTuner(scheduler, backend)


def basic(space=None, seed=0):
    d = d2l()
    return d.BasicScheduler(d.RandomSearcher(space or mf_bench().config_space,
                                             seed=seed))


def quick_sim_run(scheduler):
    """Run `scheduler` for a few trials on the simulator."""
    tuner = sim_tuner(scheduler)
    tuner.run(number_of_trials=6, max_epochs=60)
    return tuner


def quick_searcher_run(searcher, n=8):
    """Feed a searcher n evaluations of a smooth function."""
    for i in range(n):
        config = searcher.sample_configuration(i)
        if config is None:
            break
        error = sum(float(v) for v in config.values()
                    if isinstance(v, (int, float)) and not isinstance(v, bool))
        searcher.update(i, config, error, {'error': error, 'epoch': 1})


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fn(*args, **kwargs)


def repo_env():
    """The environment for scripts: the same d2lhpo and this directory."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(d2l().__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, BENCH_DIR]),
               OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    return env


def run_script(ctx, name, body, timeout=120, **popen):
    path = ctx.path(name)
    with open(path, 'w') as f:
        f.write(textwrap.dedent(body))
    return subprocess.run([sys.executable, path], cwd=ctx.tmp, env=repo_env(),
                          capture_output=True, text=True, timeout=timeout,
                          **popen)


def process_table():
    """pid -> (ppid, state) of every process, from /proc."""
    table = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(')') + 2:].split()
        table[int(entry)] = (int(rest[1]), rest[0])
    return table


def descendants(pid):
    table, found, todo = process_table(), [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, (pp, _) in table.items() if pp == parent]
        found += kids
        todo += kids
    return found


def alive(pid):
    state = process_table().get(pid)
    return state is not None and state[1] not in ('Z', 'X')


def wait_gone(pids, seconds):
    """The pids still alive after up to `seconds`."""
    deadline = time.time() + seconds
    left = [p for p in pids if alive(p)]
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left


def kill_pids(pids):
    for pid in pids:  # processes this case started, by id
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def line_named(err, lineno, path):
    text = str(err).lower()
    return (f'line {lineno}' in text or f':{lineno}' in text
            or (os.path.basename(path).lower() in text
                and str(lineno) in text))


# ------------------------------------------------- objectives for workers
# Defined at module level: a worker imports them (or cloudpickle copies
# them by value when this file runs as a script).

def ckpt_objective(x, num_epochs=3, checkpoint=None):
    """Reports 'trained': the epochs trained in this trial's lineage, kept
    in its checkpoint file; equal to the booked epoch unless a checkpoint
    was lost."""
    done = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = json.load(f)['epoch']
    for epoch in range(done + 1, num_epochs + 1):
        if checkpoint is not None:
            with open(checkpoint + '.tmp', 'w') as f:
                json.dump({'epoch': epoch}, f)
            os.replace(checkpoint + '.tmp', checkpoint)
        yield {'error': x + 1.0 / epoch, 'trained': epoch}


def slow_objective(x):
    """One quick result, then an epoch of a minute (the worker is busy
    computing when its tuner dies)."""
    yield x
    time.sleep(60)
    yield x


def child_objective(x, pidfile):
    child = subprocess.Popen(['sleep', '120'])
    with open(pidfile, 'a') as f:
        f.write(f'{child.pid}\n')
    time.sleep(60)
    yield x


def unpicklable_objective(x):
    yield {'error': x, 'callback': lambda: None}


def chdir_objective(x, target):
    start = os.getcwd()
    os.chdir(target)
    yield {'error': x, 'cwd': start}


def tensor_objective(x, kind):
    import torch
    extra = {'scalar': torch.tensor(0.5), 'vector': torch.tensor([1.0, 2.0]),
             'set': {1, 2}}[kind]
    yield {'error': x, 'extra': extra}


def local_backend(objective, **kwargs):
    d = d2l()
    if __name__ != '__main__' and __name__ in sys.modules:
        import cloudpickle  # workers need not import this file
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return d.LocalBackend(objective, **kwargs)


# ====================================================== 1. arguments

def _bo(**kw):
    return lambda: d2l().BayesOptSearcher(uniform_space(), seed=0, **kw)


def _tpe(**kw):
    return lambda: d2l().TPESearcher(uniform_space(), seed=0, **kw)


def _rf(**kw):
    return lambda: d2l().RFSearcher(uniform_space(), seed=0, **kw)


def _searcher_use(s):
    quick_searcher_run(s, 14)


@case('arguments')
def arg_median_min_trials_0(ctx):
    """MedianStoppingRule(min_trials=0)"""
    d = d2l()
    return expect_error(lambda: d.MedianStoppingRule(basic(), min_trials=0),
                        ['min_trials'], quick_sim_run)


@case('arguments')
def arg_median_r_min_0(ctx):
    """MedianStoppingRule(r_min=0)"""
    d = d2l()
    return expect_error(lambda: d.MedianStoppingRule(basic(), r_min=0),
                        ['r_min'], quick_sim_run)


@case('arguments')
def arg_sync_batch_size_0(ctx):
    """SynchronousScheduler(batch_size=0)"""
    d = d2l()
    return expect_error(lambda: d.SynchronousScheduler(basic(), 0),
                        ['batch_size'], quick_sim_run)


@case('arguments')
def arg_sync_batch_size_float(ctx):
    """SynchronousScheduler(batch_size=2.5)"""
    d = d2l()
    return expect_error(lambda: d.SynchronousScheduler(basic(), 2.5),
                        ['batch_size'], quick_sim_run)


@case('arguments')
def arg_bo_kappa_nan(ctx):
    """BayesOptSearcher(kappa=nan, acquisition='lcb')"""
    return expect_error(_bo(kappa=math.nan, acquisition='lcb'), ['kappa'],
                        _searcher_use)


@case('arguments')
def arg_bo_kappa_negative(ctx):
    """BayesOptSearcher(kappa=-1, acquisition='lcb')"""
    return expect_error(_bo(kappa=-1.0, acquisition='lcb'), ['kappa'],
                        _searcher_use)


@case('arguments')
def arg_bo_num_random_0(ctx):
    """BayesOptSearcher(num_random=0)"""
    return expect_error(_bo(num_random=0), ['num_random'], _searcher_use)


@case('arguments')
def arg_bo_num_starts_0(ctx):
    """BayesOptSearcher(num_starts=0)"""
    return expect_error(_bo(num_starts=0), ['num_starts'], _searcher_use)


@case('arguments')
def arg_bo_num_init_0(ctx):
    """BayesOptSearcher(num_init=0)"""
    return expect_error(_bo(num_init=0), ['num_init'], _searcher_use)


@case('arguments')
def arg_bo_acquisition_typo(ctx):
    """BayesOptSearcher(acquisition='EI ')"""
    return expect_error(_bo(acquisition='EI '), ['acquisition'],
                        _searcher_use)


@case('arguments')
def arg_bo_kernel_typo(ctx):
    """BayesOptSearcher(kernel='matern')"""
    return expect_error(_bo(kernel='matern'), ['kernel'], _searcher_use)


@case('arguments')
def arg_bo_keyword_typo(ctx):
    """BayesOptSearcher(kapa=1.0): a misspelt keyword"""
    return expect_error(_bo(kapa=1.0), ['kapa'], _searcher_use)


@case('arguments')
def arg_tpe_gamma_0(ctx):
    """TPESearcher(gamma=0)"""
    return expect_error(_tpe(gamma=0.0), ['gamma'], _searcher_use)


@case('arguments')
def arg_tpe_gamma_1_5(ctx):
    """TPESearcher(gamma=1.5)"""
    return expect_error(_tpe(gamma=1.5), ['gamma'], _searcher_use)


@case('arguments')
def arg_tpe_num_candidates_0(ctx):
    """TPESearcher(num_candidates=0)"""
    return expect_error(_tpe(num_candidates=0), ['num_candidates'],
                        _searcher_use)


@case('arguments')
def arg_tpe_prior_weight_negative(ctx):
    """TPESearcher(prior_weight=-1)"""
    return expect_error(_tpe(prior_weight=-1.0), ['prior_weight'],
                        _searcher_use)


@case('arguments')
def arg_tpe_keyword_typo(ctx):
    """TPESearcher(gama=0.2): a misspelt keyword"""
    return expect_error(_tpe(gama=0.2), ['gama'], _searcher_use)


@case('arguments')
def arg_rf_num_trees_0(ctx):
    """RFSearcher(num_trees=0)"""
    return expect_error(_rf(num_trees=0), ['num_trees'], _searcher_use)


@case('arguments')
def arg_rf_random_fraction_2(ctx):
    """RFSearcher(random_fraction=2)"""
    return expect_error(_rf(random_fraction=2.0), ['random_fraction'],
                        _searcher_use)


@case('arguments')
def arg_mftpe_keyword_typo(ctx):
    """MultiFidelityTPESearcher(gama=0.2): a misspelt TPE keyword"""
    d = d2l()
    return expect_error(
        lambda: d.MultiFidelityTPESearcher(mf_bench().config_space, seed=0,
                                           gama=0.2),
        ['gama'], lambda s: quick_sim_run(d.ASHAScheduler(s, r_max=9)))


@case('arguments')
def arg_mftpe_random_fraction_2(ctx):
    """MultiFidelityTPESearcher(random_fraction=2)"""
    d = d2l()
    return expect_error(
        lambda: d.MultiFidelityTPESearcher(mf_bench().config_space, seed=0,
                                           random_fraction=2.0),
        ['random_fraction'],
        lambda s: quick_sim_run(d.ASHAScheduler(s, r_max=9)))


@case('arguments')
def arg_asha_eta_1(ctx):
    """ASHAScheduler(eta=1)"""
    d = d2l()
    return expect_error(lambda: d.ASHAScheduler(basic().searcher, eta=1),
                        ['eta'], quick_sim_run)


@case('arguments')
def arg_asha_kind_typo(ctx):
    """ASHAScheduler(kind='stop')"""
    d = d2l()
    return expect_error(lambda: d.ASHAScheduler(basic().searcher,
                                                kind='stop'),
                        ['kind'], quick_sim_run)


@case('arguments')
def arg_sh_num_configs_0(ctx):
    """SuccessiveHalvingScheduler(num_configs=0)"""
    d = d2l()
    return expect_error(
        lambda: d.SuccessiveHalvingScheduler(basic().searcher, num_configs=0),
        ['num_configs'], quick_sim_run)


@case('arguments')
def arg_grid_num_points_0(ctx):
    """GridSearcher(num_points=0)"""
    d = d2l()
    return expect_error(lambda: d.GridSearcher(uniform_space(), num_points=0),
                        ['num_points'], _searcher_use)


@case('arguments')
def arg_trial_timeout_true(ctx):
    """LocalBackend(trial_timeout=True)"""
    return expect_error(lambda: local_backend(slow_objective, num_workers=1,
                                              trial_timeout=True),
                        ['trial_timeout'], lambda b: b.close())


@case('arguments')
def arg_num_workers_0(ctx):
    """SimulatedBackend(num_workers=0)"""
    d = d2l()
    return expect_error(lambda: d.SimulatedBackend(mf_bench(), 0),
                        ['num_workers'])


@case('arguments')
def arg_number_of_trials_fraction_hpotuner(ctx):
    """HPOTuner.run(number_of_trials=2.5)"""
    d = d2l()
    tuner = d.HPOTuner(basic(uniform_space()), lambda x, y: x + y)
    return expect_error(lambda: tuner.run(number_of_trials=2.5),
                        ['number_of_trials'])


@case('arguments')
def arg_number_of_trials_fraction_async(ctx):
    """AsyncTuner.run(number_of_trials=2.5)"""
    tuner = sim_tuner(basic())
    return expect_error(lambda: tuner.run(number_of_trials=2.5),
                        ['number_of_trials'])


@case('arguments')
def arg_max_time_negative(ctx):
    """AsyncTuner.run(max_time=-1)"""
    tuner = sim_tuner(basic())
    return expect_error(lambda: tuner.run(max_time=-1), ['max_time'])


@case('arguments')
def arg_seed_true_random(ctx):
    """RandomSearcher(seed=True)"""
    d = d2l()
    return expect_error(lambda: d.RandomSearcher(uniform_space(), seed=True),
                        ['seed'], _searcher_use)


@case('arguments')
def arg_seed_true_bo(ctx):
    """BayesOptSearcher(seed=True)"""
    d = d2l()
    return expect_error(
        lambda: d.BayesOptSearcher(uniform_space(), seed=True), ['seed'],
        _searcher_use)


@case('arguments')
def arg_seed_true_simulator(ctx):
    """SimulatedBackend(seed=True)"""
    d = d2l()
    return expect_error(lambda: d.SimulatedBackend(mf_bench(), 2, seed=True),
                        ['seed'])


# ======================================================== 2. domains

def _space_use(space):
    """Build a random and a BO searcher on `space` and use them."""
    d = d2l()
    quick_searcher_run(d.RandomSearcher(space, seed=0), 4)
    bo = d.BayesOptSearcher(space, seed=0, num_init=2)
    quick_searcher_run(bo, 4)
    for u in bo.X:
        import numpy as np
        if not np.all(np.isfinite(u)):
            return 'silent wrong', f'encoded as {u}'
    return None


def _domain_case(space, name):
    d = d2l()
    return expect_error(lambda: d.parse_config_space(space) and space,
                        [repr(name)], _space_use)


@case('domains')
def dom_randint_huge(ctx):
    """stats.randint(0, 10**30)"""
    from scipy import stats
    return _domain_case({'n': stats.randint(0, 10 ** 30),
                         'x': stats.uniform(0, 1)}, 'n')


@case('domains')
def dom_array_bounds(ctx):
    """stats.uniform([0, 1], 1): array-valued bounds"""
    import numpy as np
    from scipy import stats
    return _domain_case({'v': stats.uniform(np.array([0.0, 1.0]), 1.0),
                         'x': stats.uniform(0, 1)}, 'v')


@case('domains')
def dom_nan_constant(ctx):
    """a NaN constant"""
    from scipy import stats
    return _domain_case({'c': math.nan, 'x': stats.uniform(0, 1)}, 'c')


@case('domains')
def dom_complex_constant(ctx):
    """a complex constant"""
    from scipy import stats
    return _domain_case({'c': 1 + 2j, 'x': stats.uniform(0, 1)}, 'c')


@case('domains')
def dom_empty_name(ctx):
    """a hyperparameter named ''"""
    from scipy import stats
    d = d2l()
    space = {'': stats.uniform(0, 1), 'x': stats.uniform(0, 1)}
    return expect_error(lambda: d.parse_config_space(space) and space,
                        ["''", 'empty'], _space_use)


@case('domains')
def dom_loguniform_denormal(ctx):
    """stats.loguniform(5e-324, 1): log range not finite in float64"""
    from scipy import stats
    return _domain_case({'lr': stats.loguniform(5e-324, 1.0),
                         'x': stats.uniform(0, 1)}, 'lr')


@case('domains')
def dom_loguniform_wide(ctx):
    """stats.loguniform(1e-200, 1e200)"""
    from scipy import stats
    return _domain_case({'lr': stats.loguniform(1e-200, 1e200),
                         'x': stats.uniform(0, 1)}, 'lr')


@case('domains')
def dom_uniform_infinite(ctx):
    """stats.uniform(0, inf)"""
    from scipy import stats
    return _domain_case({'w': stats.uniform(0, math.inf)}, 'w')


@case('domains')
def dom_randint_reversed(ctx):
    """stats.randint(5, 5): an empty range"""
    from scipy import stats
    return _domain_case({'k': stats.randint(5, 5)}, 'k')


@case('domains')
def dom_empty_choices(ctx):
    """an empty list of choices"""
    return _domain_case({'act': [], 'x': uniform_space()['x']}, 'act')


@case('domains')
def dom_unsupported_distribution(ctx):
    """stats.norm(0, 1): an unsupported distribution"""
    from scipy import stats
    return _domain_case({'z': stats.norm(0, 1)}, 'z')


@case('domains')
def dom_class_constant(ctx):
    """a class (nn.ReLU) as a constant"""
    from torch import nn
    return _domain_case({'act': nn.ReLU, 'x': uniform_space()['x']}, 'act')


def _reserved(name):
    from scipy import stats
    d = d2l()
    space = {name: [1, 2], 'x': stats.uniform(0, 1)}

    def use(space):
        tuner = d.HPOTuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)),
                           lambda x, **kw: x)
        tuner.run(number_of_trials=2)
        table = tuner.records_table()
        return 'silent wrong', f'accepted; records_table()[{name!r}] = ' \
            f'{list(table[name]) if name in table else "missing"}'
    return expect_error(lambda: d.RandomSearcher(space, seed=0) and space,
                        [repr(name), name], use)


@case('reserved names')
def reserved_checkpoint(ctx):
    """a hyperparameter named 'checkpoint'"""
    return _reserved('checkpoint')


@case('reserved names')
def reserved_error(ctx):
    """a hyperparameter named 'error'"""
    return _reserved('error')


@case('reserved names')
def reserved_status(ctx):
    """a hyperparameter named 'status'"""
    return _reserved('status')


@case('reserved names')
def reserved_runtime(ctx):
    """a hyperparameter named 'runtime'"""
    return _reserved('runtime')


@case('reserved names')
def reserved_trial_id(ctx):
    """a hyperparameter named 'trial_id'"""
    return _reserved('trial_id')


# ================================================ 3. surrogate values

def _extreme(make, values):
    """A searcher told errors from `values` (cycled) for 14 trials."""
    searcher = make()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            for i in range(14):
                config = searcher.sample_configuration(i)
                searcher.update(i, config, values[i % len(values)],
                                {'error': values[i % len(values)],
                                 'epoch': 1})
    except Exception as err:
        return 'crash/hang', f'at trial {i}: ' + _msg(err)
    return 'handled', '14 suggestions'


@case('surrogate values')
def huge_errors_bo(ctx):
    """BayesOptSearcher told errors of 1e308"""
    return _extreme(_bo(num_init=3), [1e308, 0.5, 0.2, 1e308, 0.1])


@case('surrogate values')
def huge_errors_bo_both_signs(ctx):
    """BayesOptSearcher told errors of 1e308 and -1e308"""
    return _extreme(_bo(num_init=3), [1e308, 0.5, -1e308, 0.2])


@case('surrogate values')
def huge_errors_bo_lcb(ctx):
    """BayesOptSearcher(acquisition='lcb') told errors of 1e308"""
    return _extreme(_bo(num_init=3, acquisition='lcb'), [1e308, 0.5, 0.1])


@case('surrogate values')
def huge_errors_tpe(ctx):
    """TPESearcher told errors of 1e308"""
    return _extreme(_tpe(num_init=3), [1e308, 0.5, 0.2, 1e308, 0.1])


@case('surrogate values')
def huge_errors_rf(ctx):
    """RFSearcher told errors of 1e308"""
    return _extreme(_rf(num_init=3), [1e308, 0.5, 0.2, 1e308, 0.1])


@case('surrogate values')
def huge_errors_tuner_run(ctx):
    """HPOTuner + BayesOptSearcher, objective returns 1e308 half the time"""
    d = d2l()
    tuner = d.HPOTuner(d.BasicScheduler(d.BayesOptSearcher(
        uniform_space(), seed=0, num_init=3)),
        lambda x, y: 1e308 if x > 0.5 else x + y)
    try:
        quiet(tuner.run, number_of_trials=12)
    except Exception as err:
        return 'crash/hang', _msg(err)
    done = sum(r.status == 'completed' for r in tuner.records)
    if len(tuner.records) < 12:
        return 'crash/hang', f'only {len(tuner.records)} trials'
    return 'handled', f'{done} of 12 completed'


# ============================================================ 4. tables

def _table_case(ctx, change, names):
    import numpy as np
    d = d2l()
    with np.load(d.DIGITS_MLP_TABLE) as t:
        arrays = {k: t[k] for k in t.files}
    change(arrays)
    path = ctx.path('bad_table.npz')
    np.savez(path, **arrays)

    def use(bench):
        tuner = d.AsyncTuner(
            d.BasicScheduler(d.RandomSearcher(bench.config_space, seed=0)),
            d.SimulatedBackend(bench, 4, seed=0))
        tuner.run(max_epochs=300)
        return None
    return expect_error(lambda: d.TabularBenchmark(path),
                        names + ['bad_table.npz'], use)


@case('tables')
def table_nan_error(ctx):
    """a benchmark table with NaN validation errors"""
    def change(a):
        a['val_error'] = a['val_error'].copy()
        a['val_error'][::7, :, 3] = float('nan')
    return _table_case(ctx, change, ['val_error'])


@case('tables')
def table_inf_error(ctx):
    """a benchmark table with an infinite validation error"""
    def change(a):
        a['val_error'] = a['val_error'].copy()
        a['val_error'][::5, 0, 0] = float('inf')
    return _table_case(ctx, change, ['val_error'])


@case('tables')
def table_duplicate_seeds(ctx):
    """a benchmark table with duplicate seeds"""
    def change(a):
        a['seeds'] = a['seeds'].copy()
        a['seeds'][1] = a['seeds'][0]
    return _table_case(ctx, change, ['seeds'])


@case('tables')
def table_negative_times(ctx):
    """a benchmark table with negative epoch times"""
    def change(a):
        a['epoch_time'] = -a['epoch_time']
    return _table_case(ctx, change, ['epoch_time'])


@case('tables')
def table_nan_times(ctx):
    """a benchmark table with NaN epoch times"""
    def change(a):
        a['epoch_time'] = a['epoch_time'].copy()
        a['epoch_time'][:, :, 2] = float('nan')
    return _table_case(ctx, change, ['epoch_time'])


@case('tables')
def table_index_out_of_range(ctx):
    """a benchmark table whose config indices exceed the space"""
    def change(a):
        a['configs'] = a['configs'].copy()
        a['configs'][3, 0] = 999
    return _table_case(ctx, change, ['configs'])


@case('tables')
def table_negative_index(ctx):
    """a benchmark table with a negative config index"""
    def change(a):
        a['configs'] = a['configs'].copy()
        a['configs'][3, 0] = -1
    return _table_case(ctx, change, ['configs'])


@case('tables')
def table_duplicate_configs(ctx):
    """a benchmark table that lists one configuration twice"""
    def change(a):
        a['configs'] = a['configs'].copy()
        a['configs'][1] = a['configs'][0]
    return _table_case(ctx, change, ['configs'])


# ============================================================= 5. logs

def small_log(ctx, trials=3, name='run.jsonl'):
    """A log of a finished simulated run of `trials` trials of 4 epochs."""
    path = ctx.path(name)
    tuner = sim_tuner(basic(), max_epochs=4)
    tuner.log_to(path)
    tuner.run(number_of_trials=trials)
    return path, tuner


def read_events(path):
    with open(path) as f:
        return [json.loads(line) for line in f.read().splitlines()]


def fresh_tuner(max_epochs=4):
    return sim_tuner(basic(), max_epochs=max_epochs)


def _forged(ctx, forge):
    """Append or change lines of a good log with `forge(events)`, which
    returns (lines, the 1-based number of the bad line); then resume."""
    path, _ = small_log(ctx)
    lines, bad = forge(read_events(path))
    with open(path, 'w') as f:
        f.write(''.join(line if isinstance(line, str) else
                        json.dumps(line) + '\n' for line in lines))
    tuner = fresh_tuner()
    try:
        quiet(tuner.log_to, path)
    except AssertionError as err:
        return 'crash/hang', 'AssertionError (gone under python -O): ' + \
            _msg(err)
    except Exception as err:
        if isinstance(err, CLEAR_TYPES) and line_named(err, bad, path):
            return 'clear error', _msg(err)
        return 'crash/hang', _msg(err)
    return 'silent wrong', f'line {bad} accepted'


def _append(event):
    def forge(events):
        return events + [event], len(events) + 1
    return forge


@case('log replay')
def log_unknown_event(ctx):
    """a log line with an unknown event kind"""
    return _forged(ctx, _append({'event': 'teleported', 'trial_id': 0,
                                 'time': 1.0, 'message': ''}))


@case('log replay')
def log_result_unknown_trial(ctx):
    """a result line for trial 99, never started"""
    return _forged(ctx, _append({'event': 'result', 'trial_id': 99,
                                 'result': {'error': 0.0, 'time': 9.0,
                                            'trial_id': 99, 'epoch': 1}}))


@case('log replay')
def log_end_unknown_trial(ctx):
    """a 'completed' line for trial 99, never started"""
    return _forged(ctx, _append({'event': 'completed', 'trial_id': 99,
                                 'time': 9.0, 'message': ''}))


@case('log replay')
def log_negative_trial_id(ctx):
    """a 'failed' line for trial -1"""
    return _forged(ctx, _append({'event': 'failed', 'trial_id': -1,
                                 'time': 9.0, 'message': 'forged'}))


@case('log replay')
def log_string_trial_id(ctx):
    """a start line whose trial_id is the string '3'"""
    return _forged(ctx, _append({'event': 'start', 'trial_id': '3',
                                 'config': {'x0': 0.0, 'x1': 0.0},
                                 'time': 9.0, 'worker': 0, 'resume': False}))


@case('log replay')
def log_trial_id_gap(ctx):
    """a start line for trial 7 after trial 2"""
    return _forged(ctx, _append({'event': 'start', 'trial_id': 7,
                                 'config': {'x0': 0.0, 'x1': 0.0},
                                 'time': 9.0, 'worker': 0, 'resume': False}))


@case('log replay')
def log_config_outside_space(ctx):
    """a start line with a configuration outside the space"""
    return _forged(ctx, _append({'event': 'start', 'trial_id': 3,
                                 'config': {'x0': 100.0, 'x1': 0.0},
                                 'time': 9.0, 'worker': 0, 'resume': False}))


@case('log replay')
def log_config_unknown_key(ctx):
    """a start line with an unknown hyperparameter"""
    return _forged(ctx, _append({'event': 'start', 'trial_id': 3,
                                 'config': {'x0': 0.0, 'x1': 0.0, 'lr': 1},
                                 'time': 9.0, 'worker': 0, 'resume': False}))


@case('log replay')
def log_start_missing_config(ctx):
    """a start line without a configuration"""
    return _forged(ctx, _append({'event': 'start', 'trial_id': 3,
                                 'time': 9.0, 'worker': 0, 'resume': False}))


@case('log replay')
def log_error_is_string(ctx):
    """a result whose error is the string 'low'"""
    def forge(events):
        i = next(i for i, e in enumerate(events) if e['event'] == 'result')
        events[i]['result']['error'] = 'low'
        return events, i + 1
    return _forged(ctx, forge)


@case('log replay')
def log_error_is_nan(ctx):
    """a result whose error is NaN"""
    def forge(events):
        i = next(i for i, e in enumerate(events) if e['event'] == 'result')
        events[i]['result']['error'] = math.nan
        return events, i + 1
    return _forged(ctx, forge)


@case('log replay')
def log_result_missing_error(ctx):
    """a result without an error"""
    def forge(events):
        i = next(i for i, e in enumerate(events) if e['event'] == 'result')
        del events[i]['result']['error']
        return events, i + 1
    return _forged(ctx, forge)


@case('log replay')
def log_result_after_end(ctx):
    """a forged better result after its trial completed"""
    def forge(events):
        last = max(e['result']['time'] for e in events
                   if e['event'] == 'result')
        return events + [{'event': 'result', 'trial_id': 0, 'result': {
            'error': -100.0, 'time': last + 1, 'trial_id': 0,
            'epoch': 5}}], len(events) + 1
    return _forged(ctx, forge)


@case('log replay')
def log_line_not_object(ctx):
    """a log line that is a JSON list"""
    def forge(events):
        return events + ['[1, 2, 3]\n', events[-1]], len(events) + 1
    return _forged(ctx, forge)


@case('log replay')
def log_torn_middle_line(ctx):
    """a torn line in the middle of the log"""
    def forge(events):
        lines = [json.dumps(e) + '\n' for e in events]
        lines[2] = lines[2][:10] + '\n'
        return lines, 3
    return _forged(ctx, forge)


@case('log replay')
def log_time_is_string(ctx):
    """an end line whose time is a string"""
    def forge(events):
        i = next(i for i, e in enumerate(events)
                 if e['event'] == 'completed')
        events[i]['time'] = 'noon'
        return events, i + 1
    return _forged(ctx, forge)


def _records(tuner):
    return [(r.trial_id, r.status, r.epochs) for r in tuner.records]


def _curves_ok(tuner):
    """Every trial's results have epochs 1, 2, ... and match its record."""
    by_trial = {}
    for r in tuner.results:
        by_trial.setdefault(r['trial_id'], []).append(r['epoch'])
    for trial in tuner.records:
        epochs = by_trial.get(trial.trial_id, [])
        if epochs != list(range(1, len(epochs) + 1)) or \
                len(epochs) != trial.epochs:
            return f'trial {trial.trial_id}: epochs {epochs}, ' \
                f'record says {trial.epochs}'
    return None


@case('logs')
def log_torn_tail_resume_twice(ctx):
    """torn last line, resume, append, resume again"""
    path, _ = small_log(ctx, trials=2)
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(text[:-15])  # a kill in the middle of the last write
    tuner = fresh_tuner()
    try:
        quiet(tuner.log_to, path)
        tuner.run(number_of_trials=2)
    except Exception as err:
        return 'crash/hang', 'first resume: ' + _msg(err)
    again = fresh_tuner()
    try:
        quiet(again.log_to, path)
    except Exception as err:
        return 'data lost', 'the log no longer loads: ' + _msg(err)
    if _records(again) != _records(tuner):
        return 'silent wrong', f'{_records(again)} != {_records(tuner)}'
    return 'handled', f'{len(again.records)} trials replayed'


@case('logs')
def log_kill_resume_cycles(ctx):
    """the log cut at 8 random bytes, resumed and run on after each cut"""
    import random
    rng = random.Random(0)
    path, _ = small_log(ctx, trials=2)
    for cycle in range(8):
        size = os.path.getsize(path)
        with open(path, 'r+b') as f:
            f.truncate(rng.randrange(size // 2, size))
        tuner = fresh_tuner()
        try:
            quiet(tuner.log_to, path)
            tuner.run(number_of_trials=1)
        except Exception as err:
            return 'data lost', f'cycle {cycle}: ' + _msg(err)
        problem = _curves_ok(tuner)
        if problem:
            return 'silent wrong', f'cycle {cycle}: {problem}'
    return 'handled', '8 cycles'


@case('logs')
def log_two_writers_same_process(ctx):
    """two tuners of one process log to one file"""
    path = ctx.path('shared.jsonl')
    first, second = fresh_tuner(), fresh_tuner()
    first.log_to(path)
    try:
        quiet(second.log_to, path)
    except Exception as err:
        return classify_error(err, [os.path.basename(path), 'lock',
                                    'another'])
    first.run(number_of_trials=2)
    second.run(number_of_trials=2)
    third = fresh_tuner()
    try:
        quiet(third.log_to, path)
    except Exception as err:
        return 'crash/hang', 'both wrote; replay fails: ' + _msg(err)
    return 'silent wrong', f'both wrote; replay gives {_records(third)}'


@case('logs', isolated=True, timeout=90)
def log_two_writers_two_processes(ctx):
    """a second process logs to the file of another process's tuner; the
    lock is held while a tuner runs, so the second may take over an idle
    log, but the first must then be refused when it runs again"""
    path = ctx.path('shared.jsonl')
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f'''
        import sys, time
        sys.path.insert(0, {BENCH_DIR!r})
        import fault_cases as fc
        tuner = fc.fresh_tuner()
        tuner.log_to({path!r})
        tuner.run(number_of_trials=2)
        print('READY', flush=True)
        sys.stdin.readline()
        try:
            tuner.run(number_of_trials=2)
            print('ACCEPTED', flush=True)
        except RuntimeError as err:
            print('REFUSED', err, flush=True)
        ''')], env=repo_env(), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        if 'READY' not in line:
            return 'crash/hang', 'the first writer did not start'
        second = fresh_tuner()
        try:
            quiet(second.log_to, path)
        except Exception as err:
            return classify_error(err, [os.path.basename(path), 'lock',
                                        'another'])
        second.run(number_of_trials=2)
        out, _ = holder.communicate('go\n', timeout=60)
        if out.startswith('REFUSED') and os.path.basename(path) in out:
            return 'handled', ('the idle log was taken over; the first '
                               'tuner is refused: ' + out.strip()[:80])
        return 'silent wrong', 'both tuners wrote the log: ' + out.strip()
    finally:
        holder.kill()
        holder.wait()


def _roundtrip(ctx, space, objective_config_check):
    """Run a logged simulated run on `space`, resume it in a fresh tuner,
    and compare the configurations."""
    d = d2l()

    class Bench:  # any configuration: error from the float 'x'
        seeds = [0]

        def learning_curve(self, config, seed):
            return {'error': [config['x'] + 1 / e for e in (1, 2)],
                    'epoch_time': [1.0, 1.0]}

    def tuner():
        return d.AsyncTuner(
            d.BasicScheduler(d.RandomSearcher(space, seed=0)),
            d.SimulatedBackend(Bench(), 2, seed=0))
    path = ctx.path('run.jsonl')
    first = tuner()
    try:
        first.log_to(path)
        first.run(number_of_trials=4)
    except Exception as err:
        name = [n for n in space if n != 'x'][0]
        out = classify_error(err, [name])
        if out[0] == 'clear error' and not first.results:
            return out  # refused before the run
        return 'crash/hang', 'the logged run aborted: ' + _msg(err)
    second = tuner()
    try:
        quiet(second.log_to, path)
    except Exception as err:
        return 'crash/hang', 'resume fails: ' + _msg(err)
    if len(second.records) != len(first.records) or any(
            not objective_config_check(a.config, b.config)
            for a, b in zip(first.records, second.records)):
        return 'silent wrong', 'resumed configurations differ: ' + repr(
            [r.config for r in second.records][:2])
    return 'handled', 'the resumed configurations are the logged ones'


def _same(a, b):
    return all(type(a[k]) is type(b[k]) and a[k] == b[k] for k in a) and \
        set(a) == set(b)


@case('logs')
def log_class_choice(ctx):
    """a categorical choice of classes (nn.ReLU, nn.Tanh) in a logged run"""
    from torch import nn
    space = dict(uniform_space(['x']), act=[nn.ReLU, nn.Tanh])
    return _roundtrip(ctx, space, _same)


@case('logs')
def log_tuple_choice(ctx):
    """a categorical choice of tuples ((16, 16), (32,)) in a logged run"""
    space = dict(uniform_space(['x']), layers=[(16, 16), (32,)])
    return _roundtrip(ctx, space, _same)


@case('logs')
def log_numpy_choice(ctx):
    """a categorical choice of numpy float32 values in a logged run"""
    import numpy as np
    space = dict(uniform_space(['x']),
                 wd=[np.float32(0.1), np.float32(0.3)])
    return _roundtrip(ctx, space, lambda a, b: a == b)


def _tensor_result(ctx, kind):
    d = d2l()
    from scipy import stats
    space = {'x': stats.uniform(0, 1), 'kind': kind}
    backend = local_backend(tensor_objective, num_workers=1)
    tuner = d.AsyncTuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)),
                         backend)
    path = ctx.path('run.jsonl')
    try:
        tuner.log_to(path)
        tuner.run(number_of_trials=2)
    except Exception as err:
        return 'crash/hang', 'the logged run aborted: ' + _msg(err)
    finally:
        backend.close()
    statuses = [r.status for r in tuner.records]
    if len(statuses) != 2:
        return 'crash/hang', f'statuses {statuses}'
    again = sim_tuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)))
    try:
        quiet(again.log_to, path)
    except Exception as err:
        return 'crash/hang', 'resume fails: ' + _msg(err)
    if statuses == ['completed'] * 2:
        return 'handled', 'run and log go on'
    messages = [r.message for r in tuner.records]
    if all('extra' in m for m in messages):
        return 'clear error', messages[0][:200]
    return 'crash/hang', f'statuses {statuses}, {messages[0][:200]}'


@case('logs', isolated=True)
def log_result_tensor_scalar(ctx):
    """a 0-d tensor in a reported result, logged run"""
    return _tensor_result(ctx, 'scalar')


@case('logs', isolated=True)
def log_result_tensor_vector(ctx):
    """a vector tensor in a reported result, logged run"""
    return _tensor_result(ctx, 'vector')


@case('logs', isolated=True)
def log_result_set(ctx):
    """a set in a reported result, logged run"""
    return _tensor_result(ctx, 'set')


# ================================================= 6. budgets, second run

def _second_run(make, first):
    d = d2l()
    tuner = sim_tuner(make(d, basic().searcher), max_epochs=9)
    tuner.run(**first)
    before = len(tuner.results)
    tuner.run(number_of_trials=3, max_epochs=60)
    again = len(tuner.results) - before
    if again == 0:
        return 'crash/hang', ('stall: the second run() booked no result '
                              f'(first: {before})')
    tuner.run(number_of_trials=3, max_epochs=60)
    third = len(tuner.results) - before - again
    if third == 0:
        return 'crash/hang', 'stall: the third run() booked no result'
    return 'handled', f'{before} + {again} + {third} results'


@case('budget stops')
def second_run_successive_halving(ctx):
    """run() again after a budget stop: SuccessiveHalvingScheduler"""
    return _second_run(lambda d, s: d.SuccessiveHalvingScheduler(
        s, eta=3, r_min=1, r_max=9), dict(max_epochs=5))


@case('budget stops')
def second_run_hyperband(ctx):
    """run() again after a budget stop: HyperbandScheduler"""
    return _second_run(lambda d, s: d.HyperbandScheduler(
        s, eta=3, r_min=1, r_max=9), dict(max_epochs=5))


@case('budget stops')
def second_run_synchronous(ctx):
    """run() again after a budget stop: SynchronousScheduler"""
    return _second_run(lambda d, s: d.SynchronousScheduler(
        d.BasicScheduler(s), 2), dict(max_epochs=3))


@case('budget stops')
def second_run_synchronous_max_time(ctx):
    """run() again after a max_time stop: SynchronousScheduler"""
    return _second_run(lambda d, s: d.SynchronousScheduler(
        d.BasicScheduler(s), 2), dict(max_time=2.0))


@case('budget stops')
def second_run_sh_number_of_trials(ctx):
    """run() again after number_of_trials: SuccessiveHalvingScheduler"""
    return _second_run(lambda d, s: d.SuccessiveHalvingScheduler(
        s, eta=3, r_min=1, r_max=9), dict(number_of_trials=2))


@case('budget stops')
def second_run_asha_stopping(ctx):
    """run() again after a budget stop: ASHAScheduler (stopping)"""
    return _second_run(lambda d, s: d.ASHAScheduler(s, r_max=9),
                       dict(max_epochs=5))


@case('budget stops')
def second_run_asha_promotion(ctx):
    """run() again after a budget stop: ASHAScheduler (promotion)"""
    return _second_run(lambda d, s: d.ASHAScheduler(
        s, r_max=9, kind='promotion'), dict(max_epochs=5))


@case('budget stops')
def second_run_basic(ctx):
    """run() again after a budget stop: BasicScheduler"""
    return _second_run(lambda d, s: d.BasicScheduler(s), dict(max_epochs=5))


@case('budget stops')
def second_run_median_rule(ctx):
    """run() again after a budget stop: MedianStoppingRule"""
    return _second_run(lambda d, s: d.MedianStoppingRule(
        d.BasicScheduler(s)), dict(max_epochs=5))


# ====================================================== 7. stalls

def _limit_memory(extra_gb=1):
    import resource
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[0])
    limit = pages * os.sysconf('SC_PAGE_SIZE') + extra_gb * 2 ** 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _grid(space, num_points):
    d = d2l()
    _limit_memory()
    tic = time.perf_counter()
    try:
        searcher = d.GridSearcher(space, num_points=num_points)
        configs = [searcher.sample_configuration(i) for i in range(3)]
    except MemoryError:
        return 'crash/hang', 'MemoryError'
    except Exception as err:
        return classify_error(err, ['num_points', 'grid', 'points'])
    took = time.perf_counter() - tic
    if took > 5 or any(c is None for c in configs):
        return 'crash/hang', f'{took:.1f} s for 3 configurations'
    return 'handled', f'lazy: 3 configurations in {took:.2f} s'


@case('stalls', isolated=True, timeout=60)
def huge_grid_three_floats(ctx):
    """GridSearcher(num_points=10**6) on three floats: 10**18 points"""
    return _grid(uniform_space(['a', 'b', 'c']), 10 ** 6)


@case('stalls', isolated=True, timeout=60)
def huge_grid_one_float(ctx):
    """GridSearcher(num_points=10**10) on one float"""
    return _grid(uniform_space(['a']), 10 ** 10)


@case('stalls', timeout=240)
def bo_suggestion_time(ctx):
    """BayesOptSearcher suggestion time at ~600 observations (6-D)"""
    d = d2l()
    import numpy as np
    # the unit test: fewer observations, and a limit that a shared CI
    # machine keeps; the benchmark: the size and 1 s
    n, limit = (600, 1.0) if ctx.full else (100, 3.0)
    fn = d.HARTMANN6
    searcher = d.BayesOptSearcher(fn.config_space, seed=0)
    rng = np.random.default_rng(0)
    for i in range(n):  # observations without suggestions (random design)
        config = {k: float(v) for k, v in zip(fn.names, rng.uniform(size=6))}
        searcher.update(i, config, fn(**config))
    searcher.num_suggested = n
    times = []
    for i in range(n, n + 3):
        tic = time.perf_counter()
        config = quiet(searcher.sample_configuration, i)
        times.append(time.perf_counter() - tic)
        searcher.update(i, config, fn(**config))
    worst = max(times)
    detail = f'{n} obs: {", ".join(f"{t:.2f}" for t in times)} s ' \
        '(target <= 0.2 s)'
    return ('crash/hang', 'stall: ' + detail) if worst > limit else \
        ('handled', detail)


@case('stalls', timeout=240)
def log_speed_ratio(ctx):
    """simulator with a log vs without (target <= 1.5x)"""
    d = d2l()
    epochs = 20000 if ctx.full else 8000
    bench = d.TabularBenchmark()

    def run(log):
        tuner = d.AsyncTuner(
            d.BasicScheduler(d.RandomSearcher(bench.config_space, seed=0)),
            d.SimulatedBackend(bench, 4, seed=0))
        if log:
            tuner.log_to(ctx.path(f'speed{time.perf_counter()}.jsonl'))
        tic = time.perf_counter()
        tuner.run(max_epochs=epochs)
        return time.perf_counter() - tic
    without = min(run(False) for _ in range(2))
    with_log = run(True)
    ratio = with_log / without
    detail = (f'{epochs} trial-epochs: {with_log:.2f} s with a log, '
              f'{without:.2f} s without ({ratio:.1f}x)')
    # the log costs a file write per event: allow a floor of 20 us/epoch
    if with_log > 1.5 * without + 2e-5 * epochs:
        return 'crash/hang', 'stall: ' + detail
    return 'handled', detail


# ====================================================== 8. processes

README_BODY = '''
from scipy import stats
import d2lhpo
space = {'lr': stats.loguniform(1e-3, 1), 'batch_size': stats.randint(16, 129),
         'channels': [8, 16, 32]}
scheduler = d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(space, seed=0))
backend = d2lhpo.LocalBackend(d2lhpo.cnn_curve, num_workers=2, trial_timeout=600)
tuner = d2lhpo.AsyncTuner(scheduler, backend)
tuner.log_to('run.jsonl')        # resume later by pointing a new tuner here
tuner.run(number_of_trials=2)    # or max_time=... (s), max_epochs=...
print('STATUS', [r.status for r in tuner.records])
print('MESSAGES', [r.message for r in tuner.records])
'''


def _readme(ctx, body):
    try:
        proc = run_script(ctx, 'example.py', body, timeout=150)
    except subprocess.TimeoutExpired:
        return 'crash/hang', 'timed out'
    out = proc.stdout + proc.stderr
    if proc.returncode == 0 and "STATUS ['completed', 'completed']" in out:
        return 'handled', 'both trials completed'
    # d2lhpo's own message, not Python's from a dying worker: in the
    # trials' messages, or the tuner's exception (the last line)
    messages = [l for l in proc.stdout.splitlines()
                if l.startswith('MESSAGES')]
    last = (proc.stderr.strip().splitlines() or [''])[-1]
    if (messages and '__main__' in messages[0]) or (
            proc.returncode != 0 and '__main__' in last):
        return 'clear error', (messages or [last])[0][:200]
    status = [l for l in out.splitlines() if l.startswith(('STATUS',
                                                           'MESSAGES'))]
    return 'crash/hang', f'rc {proc.returncode}: ' + (
        ' '.join(status) or out.strip()[-200:])


@case('processes', isolated=True, timeout=180)
def readme_parallel_script_no_guard(ctx):
    """the README's parallel example as a plain script (no __main__ guard)"""
    return _readme(ctx, README_BODY)


@case('processes', isolated=True, timeout=180)
def readme_parallel_script_with_guard(ctx):
    """the README's parallel example as a script with the guard"""
    body = 'def main():\n' + textwrap.indent(textwrap.dedent(README_BODY),
                                             '    ')
    return _readme(ctx, body + "\nif __name__ == '__main__':\n    main()\n")


TUNER_SCRIPT = '''
import signal, sys
# Ctrl-C as a terminal gives it: a shell that runs this in the background
# without job control (as CI may) has set SIGINT to be ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {bench!r})
import d2lhpo
import fault_cases as fc
if __name__ == '__main__':
    backend = fc.local_backend(fc.slow_objective, num_workers={workers})
    tuner = d2lhpo.AsyncTuner(fc.basic(fc.uniform_space(['x'])), backend)
    tuner.log_to({log!r})
    tuner.run(max_time=600)
'''


def _orphans(ctx, sig):
    workers = 2 if ctx.full else 1
    log = ctx.path('run.jsonl')
    script = ctx.path('tuner.py')
    with open(script, 'w') as f:
        f.write(TUNER_SCRIPT.format(bench=BENCH_DIR, log=log,
                                    workers=workers))
    proc = subprocess.Popen([sys.executable, script], cwd=ctx.tmp,
                            env=repo_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    kids = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # both workers report results
            time.sleep(0.2)
            if os.path.exists(log):
                with open(log) as f:
                    ids = {json.loads(l)['trial_id'] for l in f
                           if '"result"' in l and l.endswith('\n')}
                if len(ids) >= workers:
                    break
        else:
            return 'crash/hang', 'the workers never reported'
        kids = descendants(proc.pid)
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return 'crash/hang', f'the tuner ignores {sig.name} for 10 s'
        left = wait_gone(kids, 5)
        if left:
            return 'crash/hang', (f'{len(left)} of {len(kids)} child '
                                  f'processes alive 5 s after {sig.name}')
        return 'handled', f'{len(kids)} child processes ended'
    finally:
        proc.kill()
        proc.wait()
        kill_pids([p for p in kids if alive(p)])


@case('processes', isolated=True, timeout=120)
def orphans_after_sigterm(ctx):
    """workers after SIGTERM of the tuner"""
    return _orphans(ctx, signal.SIGTERM)


@case('processes', isolated=True, timeout=120)
def orphans_after_sigkill(ctx):
    """workers after SIGKILL of the tuner"""
    return _orphans(ctx, signal.SIGKILL)


@case('processes', isolated=True, timeout=120)
def orphans_after_sigint(ctx):
    """workers after Ctrl-C (SIGINT) of the tuner"""
    return _orphans(ctx, signal.SIGINT)


def _objective_child(ctx, timeout):
    """`timeout`: a trial timeout, or None: start a trial on the backend and
    close() it as soon as the objective's child runs."""
    d = d2l()
    pidfile = ctx.path('pids.txt')
    space = dict(uniform_space(['x']), pidfile=pidfile)
    backend = local_backend(child_objective, num_workers=1,
                            trial_timeout=timeout)
    tuner = d.AsyncTuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)),
                         backend)
    pids = []
    try:
        if timeout is not None:
            tuner.run(number_of_trials=1)
        else:
            trial = d.TrialRecord(0, d.RandomSearcher(
                space, seed=0).sample_configuration(0))
            tuner.records.append(trial)
            backend.start_trial(trial)
            deadline = time.time() + 60
            while not os.path.exists(pidfile) and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(0.2)
            trial.status, trial.message = 'closed', 'close()'
        backend.close()
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pids = [int(l) for l in f.read().split()]
        if not pids:
            return 'crash/hang', 'the objective never started its child'
        left = wait_gone(pids, 3)
        if left:
            return 'crash/hang', f'the objective\'s child {left} outlives ' \
                'the trial'
        return 'handled', f'{tuner.records[0].status}: ' \
            f'{tuner.records[0].message}; its child ended'
    finally:
        backend.close()
        kill_pids([p for p in pids if alive(p)])


@case('processes', isolated=True, timeout=120)
def objective_child_after_timeout(ctx):
    """a process started by the objective, after the trial times out"""
    return _objective_child(ctx, 2)


@case('processes', isolated=True, timeout=120)
def objective_child_after_close(ctx):
    """a process started by the objective, after the backend's close()"""
    return _objective_child(ctx, None)


def long_epoch(x):
    """One epoch of 60 s."""
    time.sleep(60)
    yield x


@case('processes', isolated=True, timeout=120)
def max_time_long_epoch(ctx):
    """run(max_time=...) while every epoch takes 60 s: the run must end at
    its time budget, not after the epoch"""
    d = d2l()
    backend = local_backend(long_epoch, num_workers=1)
    tuner = d.AsyncTuner(basic(uniform_space(['x'])), backend)
    try:
        backend.wait_until_ready()
        budget = 3  # s from the start of the run (workers ready)
        tic = time.time()
        tuner.run(max_time=budget)
        took = time.time() - tic
    except Exception as err:
        return 'crash/hang', _msg(err)
    finally:
        backend.close()
    if took > 15:
        return 'crash/hang', f'the run took {took:.0f} s for a 3-s budget'
    return 'handled', (f'the run ended after {took:.1f} s; the trial: '
                       f'{tuner.records[0].status}, {tuner.records[0].message}')


@case('processes', isolated=True, timeout=120)
def unpicklable_result(ctx):
    """a result that cannot be pickled (a lambda) from a worker"""
    d = d2l()
    backend = local_backend(unpicklable_objective, num_workers=1)
    tuner = d.AsyncTuner(basic(uniform_space(['x'])), backend)
    try:
        tuner.run(number_of_trials=1)
    except Exception as err:
        return 'crash/hang', _msg(err)
    finally:
        backend.close()
    trial = tuner.records[0]
    if trial.status == 'completed':
        return 'handled', 'the trial completed'
    message = trial.message.lower()
    if 'pickl' in message or 'callback' in message:
        return 'clear error', trial.message[:200]
    return 'crash/hang', f'{trial.status}: {trial.message}'


@case('processes', isolated=True, timeout=120)
def chdir_leak_worker(ctx):
    """os.chdir in an objective, on a worker process"""
    d = d2l()
    target = ctx.path('elsewhere')
    os.makedirs(target)
    space = dict(uniform_space(['x']), target=target)
    backend = local_backend(chdir_objective, num_workers=1)
    tuner = d.AsyncTuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)),
                         backend)
    try:
        tuner.run(number_of_trials=3)
    finally:
        backend.close()
    cwds = [r['cwd'] for r in tuner.results]
    if len(cwds) != 3:
        return 'crash/hang', f'{len(cwds)} results'
    if cwds[1:] != cwds[:1] * 2:
        return 'silent wrong', 'later trials start in the directory the ' \
            'first one changed to'
    return 'handled', 'every trial starts in the same directory'


@case('processes', isolated=True)
def chdir_leak_hpotuner(ctx):
    """os.chdir in an objective, sequential HPOTuner (in the tuner's
    process)"""
    d = d2l()
    target = ctx.path('elsewhere')
    os.makedirs(target)
    space = dict(uniform_space(['x']), target=target)
    cwd = os.getcwd()
    tuner = d.HPOTuner(d.BasicScheduler(d.RandomSearcher(space, seed=0)),
                       chdir_objective)
    try:
        tuner.run(number_of_trials=2)
        after = os.getcwd()
    finally:
        os.chdir(cwd)
    cwds = [r['cwd'] for r in tuner.results]
    if cwds[1] != cwds[0] or after != cwd:
        return 'silent wrong', 'the objective\'s chdir outlives its trial'
    return 'handled', 'the working directory is restored'


RESUME_SCRIPT = '''
import sys
sys.path.insert(0, {bench!r})
import d2lhpo
import fault_cases as fc
if __name__ == '__main__':
    tuner = fc.ckpt_tuner()
    tuner.log_to({log!r})
    tuner.run(number_of_trials=3)
    tuner.backend.close()
    print('PAUSED', sorted(r.status for r in tuner.records))
'''


def ckpt_tuner():
    d = d2l()
    scheduler = d.ASHAScheduler(
        d.RandomSearcher(uniform_space(['x']), seed=0), eta=3, r_min=1,
        r_max=3, kind='promotion')
    return d.AsyncTuner(scheduler,
                        local_backend(ckpt_objective, num_workers=1))


@case('processes', isolated=True, timeout=150)
def checkpoint_missing_on_resume(ctx):
    """a paused trial resumed by a new process (checkpoints of the old
    one)"""
    log = ctx.path('run.jsonl')
    try:
        first = run_script(ctx, 'first.py', RESUME_SCRIPT.format(
            bench=BENCH_DIR, log=log))
    except subprocess.TimeoutExpired:
        return 'crash/hang', 'the first run timed out'
    if 'PAUSED' not in first.stdout:
        return 'crash/hang', 'first run: ' + first.stderr.strip()[-200:]
    tuner = ckpt_tuner()
    try:
        quiet(tuner.log_to, log)
        tuner.run(number_of_trials=1, max_epochs=10)
    except Exception as err:
        return classify_error(err, ['checkpoint', '.pt', 'trial_'])
    finally:
        tuner.backend.close()
    wrong = [(r['trial_id'], r['epoch'], r['trained']) for r in tuner.results
             if 'trained' in r and r['trained'] != r['epoch']]
    if wrong:
        return 'data lost', ('booked epochs that were not trained '
                             f'(trial, booked, trained): {wrong[:3]}')
    failed = [r.message for r in tuner.records if r.status == 'failed']
    if any('checkpoint' in m or '.pt' in m for m in failed):
        return 'clear error', failed[0][:200]
    resumed = [r for r in tuner.results if r['epoch'] > 1]
    if not resumed:
        return 'crash/hang', 'nothing was resumed: ' + repr(failed[:1])
    return 'handled', f'{len(resumed)} epochs after the pause, all trained'


# ====================================================== 9. security

@case('security')
def torch_load_refuses_pickle(ctx):
    """cnn_checkpointed given a checkpoint file that carries a pickle
    payload"""
    import torch
    d = d2l()
    marker = ctx.path('owned')
    path = ctx.path('trial_0.pt')

    class Payload:
        def __reduce__(self):
            return (open, (marker, 'w'))
    torch.save({'model': Payload(), 'epoch': 1}, path)
    try:
        next(d.cnn_checkpointed(0.1, num_epochs=2, checkpoint=path))
    except Exception as err:
        if os.path.exists(marker):
            return 'silent wrong', 'the pickle payload ran'
        return 'clear error', _msg(err)[:200]
    if os.path.exists(marker):
        return 'silent wrong', 'the pickle payload ran'
    return 'handled', 'the payload did not run'


@case('security')
def torch_load_explicit_weights_only(ctx):
    """every torch.load in d2lhpo passes weights_only=True; setup.py pins
    torch>=2.6"""
    import re
    d = d2l()
    root = os.path.dirname(d.__file__)
    calls = []
    for name in os.listdir(root):
        if name.endswith('.py'):
            with open(os.path.join(root, name)) as f:
                calls += re.findall(r'torch\.load\([^)]*\)', f.read())
    implicit = [c for c in calls if 'weights_only=True' not in c]
    setup = os.path.join(os.path.dirname(root), 'setup.py')
    pinned = True
    if os.path.exists(setup):
        with open(setup) as f:
            pinned = re.search(r"torch>=2\.([6-9]|1\d)", f.read()) is not None
    if implicit or not pinned:
        return 'silent wrong', (f'{len(implicit)} torch.load calls rely on '
                                f'the default; torch pinned >= 2.6: {pinned}')
    return 'handled', f'{len(calls)} calls with weights_only=True'


@case('security', isolated=True, timeout=120)
def ray_binds_localhost(ctx):
    """the local Ray instance that RayBackend starts binds to localhost"""
    try:
        import ray
    except ImportError:
        return SKIPPED, 'ray is not installed'
    d = d2l()
    os.environ.pop('RAY_ADDRESS', None)
    backend = None
    try:
        backend = d.RayBackend(lambda x: x, num_workers=1)
        address = ray.get_runtime_context().gcs_address
        node = ray.util.get_node_ip_address()
    except Exception as err:
        return 'crash/hang', _msg(err)
    finally:
        if backend is not None:
            backend.close()
        ray.shutdown()
    host = address.rsplit(':', 1)[0]
    if host in ('127.0.0.1', 'localhost') and node in ('127.0.0.1',
                                                        'localhost'):
        return 'handled', f'GCS at {address}'
    return 'silent wrong', f'GCS at {address}, node {node}'


# ======================================================== the runner

def run_case(name, full=True):
    """Run one case here, in this process; return (outcome, detail,
    seconds)."""
    c = CASES[name]
    tmp = tempfile.mkdtemp(prefix=f'fault-{name}-')
    tic = time.perf_counter()
    cwd = os.getcwd()
    try:
        outcome, detail = c.fn(Ctx(tmp, full))
    except Exception as err:  # the case itself broke: an unexpected error
        outcome, detail = 'crash/hang', 'unexpected ' + _msg(err)
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)
    assert outcome in OUTCOMES + (SKIPPED,), outcome
    return outcome, str(detail), time.perf_counter() - tic


def run_case_subprocess(name, repo=None, full=True, timeout=None):
    """Run one case in a fresh Python with a timeout."""
    c = CASES[name]
    env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg',
               PYTHONHASHSEED='0')
    paths = [repo] if repo else []
    env['PYTHONPATH'] = os.pathsep.join(paths + [BENCH_DIR] + [
        p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    cmd = [sys.executable, os.path.abspath(__file__), '--run-one', name]
    if not full:
        cmd.append('--quick')
    tic = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout or c.timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # the case's own group
        proc.communicate()
        return ('crash/hang', f'timed out after {timeout or c.timeout} s',
                time.perf_counter() - tic)
    for line in reversed(out.splitlines()):
        if line.startswith('FAULT-RESULT '):
            outcome, detail, _ = json.loads(line[len('FAULT-RESULT '):])
            return outcome, detail, time.perf_counter() - tic
    return ('crash/hang', f'the case process died (rc {proc.returncode}): '
            + err.strip()[-200:].replace('\n', ' '),
            time.perf_counter() - tic)


def totals(results):
    counts = {o: 0 for o in OUTCOMES}
    for outcome, _, _ in results.values():
        if outcome in counts:
            counts[outcome] += 1
    counts['cases tried'] = sum(counts.values())
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repo', help='checkout whose d2lhpo is imported')
    parser.add_argument('--only', help='run the cases whose name has this')
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument('-j', type=int, default=1, help='cases at a time')
    parser.add_argument('--quick', action='store_true',
                        help='the reduced sizes of the unit tests')
    parser.add_argument('--run-one', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        outcome, detail, secs = run_case(args.run_one, not args.quick)
        print('FAULT-RESULT ' + json.dumps([outcome, detail, secs]),
              flush=True)
        os._exit(0)  # do not wait for stray threads of the case
    repo = os.path.abspath(args.repo) if args.repo else os.path.dirname(
        BENCH_DIR)
    names = [n for n in CASES if not args.only or args.only in n]
    head = subprocess.run(['git', '-C', repo, 'rev-parse', '--short', 'HEAD'],
                          capture_output=True, text=True).stdout.strip()
    print(f'# d2lhpo of {repo} ({head or "no git"}), {len(names)} cases, '
          f'-j {args.j}', flush=True)
    results, tic = {}, time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.j) as pool:
        futures = {pool.submit(run_case_subprocess, n, repo,
                               not args.quick): n for n in names}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            results[name] = future.result()
            outcome, detail, secs = results[name]
            print(f'{outcome:13s} {secs:6.1f}s  {name:40s} {detail[:150]}',
                  flush=True)
    counts = totals(results)
    print(f'\n{"":-<60}\ncommit {head}, {time.perf_counter() - tic:.0f} s')
    for key in ('cases tried',) + OUTCOMES:
        print(f'{key:15s} {counts[key]:4d}')
    skipped = [n for n, r in results.items() if r[0] == SKIPPED]
    if skipped:
        print(f'{"n/a":15s} {len(skipped):4d}  ({", ".join(skipped)})')
    for outcome in OUTCOMES[2:]:
        bad = sorted(n for n, r in results.items() if r[0] == outcome)
        if bad:
            print(f'\n{outcome}:\n  ' + '\n  '.join(bad))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'repo': repo, 'commit': head, 'totals': counts,
                       'cases': {n: {'group': CASES[n].group,
                                     'what': CASES[n].doc, 'outcome': r[0],
                                     'detail': r[1], 'seconds': round(r[2], 2)}
                                 for n, r in sorted(results.items())}},
                      f, indent=1)


if __name__ == '__main__':
    main()
