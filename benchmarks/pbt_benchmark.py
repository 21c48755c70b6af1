"""Population based training: side by side with Ray Tune on the PBT paper's
toy problem, and against ASHA and random search on MNIST-1D.

Part ``toy``: the toy problem of Jaderberg et al. (2017), as in the book's
PBT section (sec_pbt): maximize Q(theta) = 1.2 - (theta0^2 + theta1^2) by 40
gradient steps of size 0.02 on the surrogate 1.2 - (h0 theta0^2 + h1
theta1^2), from theta = (0.9, 0.9); the weights h0, h1 in [0, 1] are the
hyperparameters. Both libraries run PBT with the paper's population of two,
h = (1, 0) and h = (0, 1), a perturbation interval of 4 steps,
quantile_fraction 0.25 (one member of two), resample_probability 0.25,
perturbation factors 0.8 and 1.2, and a budget of 40 steps per member (80
in all), for seeds 0..``--seeds``-1; a run scores the best Q that any of its
results reported. d2lhpo: ``PBTScheduler`` on the sequential ``HPOTuner``
(which runs PBT in generations). Ray Tune: ``PopulationBasedTraining`` with
``synch=True`` (also generations), ``time_attr`` the step, a function
trainable that reports every step and saves a ``ray.tune.Checkpoint`` at
every perturbation step, two trials of one CPU each on a local Ray of 2
CPUs, ``random`` and ``numpy.random`` seeded with the run's seed. The
differences that remain: Ray Tune multiplies a weight by a factor without
clipping it to its domain, so a ``custom_explore_fn`` clips to [0, 1] as
d2lhpo does; ties in the ranking (the two starts have equal Q) go to the
older trial in d2lhpo and by Ray Tune's sort in Ray Tune; Ray Tune runs the
two members in parallel, so its runs are not reproducible to the bit.
Target (the issue's): d2lhpo's median best Q >= Ray Tune's.

Part ``mnist1d``: real training on ``d2lhpo.load_mnist1d``: an MLP (two
hidden layers of 128 ReLU units) trained by minibatch SGD (batch 64) whose
learning rate (log-uniform in [0.003, 0.5]), momentum (uniform in [0,
0.95]) and weight decay (log-uniform in [1e-5, 1e-2]) may change between
epochs: the objective saves model, optimizer and data order to its
checkpoint after every epoch and, when it continues from one, sets the
optimizer to its (possibly explored) configuration. Three methods, each
with ``--population`` x ``--epochs`` epochs of training in all: PBT
(population ``--population``, ``max_t`` = ``--epochs``, perturbation
interval ``--interval``, the toy part's other settings), ASHA (stopping,
eta 3, r_min 1, r_max ``--epochs``, ``max_epochs`` = the same total) and
random search with fixed hyperparameters (``--population`` trials of
``--epochs`` epochs), all three on ``AsyncTuner`` with ``LocalBackend``
and 2 worker processes of one thread each. By default
(``--pbt-tuner local-sync``) PBT runs in generations (``synchronous=True``):
every member trains ``--interval`` epochs, then the bottom quantile copies
the top, so it spends exactly the budget. With ``--pbt-tuner local`` it
runs in its asynchronous mode (``synchronous=False``) on a worker per
member (the ``--population`` workers share the machine's cores) until
every member has trained ``--epochs`` epochs: a child continues from its
source's epoch, which may differ from its own member's, so its total is
close to the others' but not exactly equal (a check requires PBT's
median within 5% of the budget). With ``--pbt-tuner sequential``, PBT runs
in generations on the sequential ``HPOTuner`` (one thread). A run scores
its final validation error: the lowest validation error at the last
epoch (``--epochs``) among its trials that reached it. The test error of
that trial (MNIST-1D's 1,000 test signals, which no method sees) is
reported beside it, with its own paired comparisons: the validation error
also made every decision, and picking the lowest of several noisy errors
flatters the method that picks among more trials. Seeds
0..``--mnist-seeds``-1 (the seed of the searchers, of PBT's generator, and
of the models' initialization and data order, the same for every trial of
a run: trials differ only in their hyperparameters). Targets
(the issue's): PBT's median final error <= ASHA's and <= random search's;
the paired comparisons (``d2lhpo.paired_comparison``) are printed. The
report also gives each method's wall-clock and PBT's overhead per exploit:
the scheduler's own seconds (selection and the checkpoint copy), and the
run's wall-clock minus the seconds spent inside training epochs (divided by
the 2 cores on worker processes), divided by the exploits (an upper bound:
worker start-up, pauses and resumes without exploit count too).
The wall-clock on ``LocalBackend`` includes starting the 2 worker
processes, each of which generates MNIST-1D (about 2 s) once.

Usage (from the repository root; Ray Tune from ``pip install -e
'.[compare]'``)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pbt_benchmark.py
        [--parts toy mnist1d] [--seeds 20] [--mnist-seeds 10]
        [--population 8] [--epochs 30] [--interval 3]
        [--pbt-tuner local-sync|local|sequential] [--skip-ray]
        [--save benchmarks/results/pbt.json] [--check]

``--save`` writes the numbers the book's PBT section shows (the parts that
ran; the file's other parts are kept). Always exits 0
(a report); with ``--check`` it exits 1 if a target fails.
"""
import argparse
import contextlib
import functools
import json
import logging
import math
import os
import random
import sys
import tempfile
import time

import numpy as np
import torch
from scipy import stats

import d2lhpo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_line, report_checks  # noqa: E402

# ------------------------------------------------------------ the toy problem
TOY_STEPS, TOY_LR, TOY_INTERVAL = 40, 0.02, 4
TOY_SPACE = {'h0': stats.uniform(0, 1), 'h1': stats.uniform(0, 1)}
TOY_STARTS = [{'h0': 1.0, 'h1': 0.0}, {'h0': 0.0, 'h1': 1.0}]
PBT_SETTINGS = dict(quantile_fraction=0.25, resample_probability=0.25,
                    perturbation_factors=(0.8, 1.2))


def toy_step(theta, h0, h1, lr=TOY_LR):
    """One gradient step on the surrogate; theta and its Q."""
    theta = [theta[0] * (1 - 2 * lr * h0), theta[1] * (1 - 2 * lr * h1)]
    return theta, 1.2 - theta[0] ** 2 - theta[1] ** 2


def toy_pbt(h0, h1, num_steps=TOY_STEPS, checkpoint=None):
    """The book's toy objective (sec_pbt): Q after each step; the state
    (theta and the step) in the JSON file `checkpoint`."""
    theta, done = [0.9, 0.9], 0
    if checkpoint is not None and os.path.exists(checkpoint):
        with open(checkpoint) as f:
            theta, done = json.load(f)
    for step in range(done + 1, num_steps + 1):
        theta, q = toy_step(theta, h0, h1)
        if checkpoint is not None:
            with open(checkpoint + '.tmp', 'w') as f:
                json.dump([theta, step], f)
            os.replace(checkpoint + '.tmp', checkpoint)
        yield {'Q': q, 'theta0': theta[0], 'theta1': theta[1]}


def d2lhpo_toy(seed):
    """d2lhpo's PBT on the toy problem: (best Q, number of exploits)."""
    searcher = d2lhpo.RandomSearcher(TOY_SPACE, seed=seed,
                                     points_to_evaluate=TOY_STARTS)
    scheduler = d2lhpo.PBTScheduler(searcher, len(TOY_STARTS), TOY_INTERVAL,
                                    max_t=TOY_STEPS, seed=seed,
                                    **PBT_SETTINGS)
    tuner = d2lhpo.HPOTuner(scheduler, toy_pbt, metric='Q', mode='max')
    tuner.run(max_epochs=len(TOY_STARTS) * TOY_STEPS, verbose=False)
    assert len(tuner.results) == len(TOY_STARTS) * TOY_STEPS
    return -tuner.incumbent_error, len(scheduler.retired)


def ray_toy_trainable(config):
    """The toy objective as a Ray Tune function trainable."""
    from ray import tune
    theta, done = [0.9, 0.9], 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            with open(os.path.join(folder, 'state.json')) as f:
                theta, done = json.load(f)
    for step in range(done + 1, TOY_STEPS + 1):
        theta, q = toy_step(theta, config['h0'], config['h1'])
        metrics = {'Q': q, 'step': step}
        if step % TOY_INTERVAL:
            tune.report(metrics)
            continue
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, 'state.json'), 'w') as f:
                json.dump([theta, step], f)
            tune.report(metrics,
                        checkpoint=tune.Checkpoint.from_directory(folder))


def clip_weights(config):
    """Ray Tune's custom explore: clip h to [0, 1], as d2lhpo's explore does."""
    for name in ('h0', 'h1'):
        config[name] = min(max(config[name], 0.0), 1.0)
    return config


def ray_toy(seed, storage):
    """Ray Tune's PBT on the toy problem: (best Q, number of exploits)."""
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.search import BasicVariantGenerator
    random.seed(seed)
    np.random.seed(seed)
    space = {'h0': tune.uniform(0, 1), 'h1': tune.uniform(0, 1)}
    qs = []  # every result's Q

    class Collect(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            qs.append(result['Q'])

    scheduler = PopulationBasedTraining(
        time_attr='step', perturbation_interval=TOY_INTERVAL,
        hyperparam_mutations=space, synch=True, log_config=False,
        custom_explore_fn=clip_weights, **PBT_SETTINGS)
    tuner = tune.Tuner(
        tune.with_resources(ray_toy_trainable, {'cpu': 1}),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric='Q', mode='max', scheduler=scheduler, reuse_actors=True,
            num_samples=len(TOY_STARTS),
            search_alg=BasicVariantGenerator(points_to_evaluate=TOY_STARTS,
                                             random_state=seed)),
        run_config=tune.RunConfig(
            name=f'toy_{seed}', storage_path=storage, verbose=0,
            callbacks=[Collect()],
            stop={'step': TOY_STEPS},
            checkpoint_config=tune.CheckpointConfig(num_to_keep=4)))
    grid = tuner.fit()
    if grid.errors:
        raise RuntimeError(f'Ray Tune trials failed: {grid.errors}')
    assert len(qs) >= len(TOY_STARTS) * TOY_STEPS, len(qs)
    return max(qs), scheduler._num_perturbations


@contextlib.contextmanager
def local_ray():
    """A quiet local Ray of 2 CPUs, shut down at the end."""
    os.environ.setdefault('TUNE_DISABLE_AUTO_CALLBACK_LOGGERS', '1')
    os.environ.setdefault('RAY_AIR_NEW_OUTPUT', '0')
    os.environ.setdefault('TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_'
                          'THRESHOLD_S', '100')
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR, configure_logging=True)
    for name in ('ray', 'ray.tune', 'ray.train'):
        logging.getLogger(name).setLevel(logging.ERROR)
    if __name__ != '__main__':  # imported: the workers cannot import it
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with tempfile.TemporaryDirectory(prefix='pbt-ray-') as storage:
            yield storage
    finally:
        ray.shutdown()


def toy_part(seeds, skip_ray):
    """Run both libraries on the toy problem; (checks, results)."""
    print(f'\n== Toy problem: population {len(TOY_STARTS)}, interval '
          f'{TOY_INTERVAL}, {TOY_STEPS} steps per member, seeds '
          f'0..{len(seeds) - 1}')
    out = {'d2lhpo': [], 'Ray Tune': []}
    exploits = {'d2lhpo': [], 'Ray Tune': []}
    seconds = {}
    tic = time.perf_counter()
    for seed in seeds:
        q, n = d2lhpo_toy(seed)
        out['d2lhpo'].append(q)
        exploits['d2lhpo'].append(n)
    seconds['d2lhpo'] = time.perf_counter() - tic
    if not skip_ray:
        with local_ray() as storage:
            tic = time.perf_counter()
            for seed in seeds:
                q, n = ray_toy(seed, storage)
                out['Ray Tune'].append(q)
                exploits['Ray Tune'].append(n)
            seconds['Ray Tune'] = time.perf_counter() - tic
    print(f'{"library":10s} {"median best Q":>14s} {"min":>7s} {"max":>7s} '
          f'{"exploits/run":>13s} {"seconds/run":>12s}')
    for name, qs in out.items():
        if qs:
            print(f'{name:10s} {np.median(qs):14.4f} {min(qs):7.4f} '
                  f'{max(qs):7.4f} {np.mean(exploits[name]):13.1f} '
                  f'{seconds[name] / len(seeds):12.2f}')
    best_fixed = list(toy_pbt(1.0, 1.0))[-1]['Q']
    start = list(toy_pbt(**TOY_STARTS[0]))[-1]['Q']
    ours = float(np.median(out['d2lhpo']))
    checks = [(start < ours < best_fixed, f'toy: d2lhpo median best Q '
               f'{ours:.4f} beats a start kept fixed ({start:.4f}) and stays '
               f'below the best fixed weights ({best_fixed:.4f})')]
    if out['Ray Tune'] and len(seeds) >= 2:
        theirs = float(np.median(out['Ray Tune']))
        print(d2lhpo.paired_comparison(
            -np.array(out['d2lhpo']), -np.array(out['Ray Tune']),
            ('d2lhpo (-Q)', 'Ray Tune (-Q)')))
        checks.append((ours >= theirs, f'toy: d2lhpo median best Q '
                       f'{ours:.4f} >= Ray Tune\'s {theirs:.4f}'))
    results = {'seeds': list(seeds), 'best_q': out, 'exploits': exploits,
               'seconds': seconds, 'best_fixed_q': best_fixed,
               'start_fixed_q': start}
    return checks, results


# ------------------------------------------------------------------ MNIST-1D
MNIST_SPACE = {'lr': stats.loguniform(0.003, 0.5),
               'momentum': stats.uniform(0, 0.95),
               'weight_decay': stats.loguniform(1e-5, 1e-2)}
HYPERPARAMETERS = tuple(MNIST_SPACE)
PBT_TUNERS = {'local-sync': 'AsyncTuner, LocalBackend (2 workers, '
                            'synchronous generations)',
              'local': 'AsyncTuner, LocalBackend (a worker per member, '
                       'synchronous=False)',
              'sequential': 'HPOTuner (sequential, one thread)'}


def mnist1d_sgd(lr, momentum, weight_decay, num_epochs=30, seed=0,
                checkpoint=None, data=None):
    """Train an MLP on MNIST-1D by SGD; the validation error after each
    epoch. Continues from `checkpoint` with this call's lr, momentum and
    weight decay (those of the checkpoint's optimizer are replaced)."""
    data = d2lhpo.load_mnist1d() if data is None else data
    torch.manual_seed(seed)
    model = d2lhpo.MLP(128, 2, num_inputs=40)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    done = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        generator.set_state(state['generator'])
        done = state['epoch']
        for group in optimizer.param_groups:  # the explored configuration
            group.update(lr=lr, momentum=momentum, weight_decay=weight_decay)
    for epoch in range(done + 1, num_epochs + 1):
        tic = time.process_time()  # CPU seconds: workers may share a core
        d2lhpo.train_epoch(model, optimizer, *data.train, 64, generator)
        error = d2lhpo.error_rate(model, *data.val)
        if checkpoint is not None:
            state = {'model': model.state_dict(), 'epoch': epoch,
                     'optimizer': optimizer.state_dict(),
                     'generator': generator.get_state()}
            torch.save(state, checkpoint + '.tmp')
            os.replace(checkpoint + '.tmp', checkpoint)
        result = {'error': error, 'train_seconds': time.process_time() - tic}
        if epoch == num_epochs:  # held out: never seen by any method
            result['test_error'] = d2lhpo.error_rate(model, *data.test)
        yield result


class TimedPBT(d2lhpo.PBTScheduler):
    """`PBTScheduler` that times its selections and the checkpoint copies."""
    seconds = 0.0

    def select(self, live, epoch):
        tic = time.perf_counter()
        super().select(live, epoch)
        self.seconds += time.perf_counter() - tic

    def on_trial_start(self, trial):
        tic = time.perf_counter()
        super().on_trial_start(trial)
        self.seconds += time.perf_counter() - tic


def final_error(tuner, epochs):
    """The lowest validation error at epoch `epochs` among the trials that
    reached it, and the test error of that trial (the method's pick)."""
    last = [r for r in tuner.results if r['epoch'] == epochs]
    if not last:
        return math.inf, math.inf
    pick = min(last, key=lambda r: r['error'])  # the first on ties
    return pick['error'], pick['test_error']


def mnist1d_run(method, seed, population, epochs, interval,
                pbt_tuner='local-sync'):
    """One run of `method`; a dict of its numbers."""
    space = dict(MNIST_SPACE, num_epochs=epochs, seed=seed)
    searcher = d2lhpo.RandomSearcher(space, seed=seed)
    budget = population * epochs
    tic = time.perf_counter()
    scheduler = None
    if method == 'PBT' and pbt_tuner == 'sequential':
        scheduler = TimedPBT(searcher, population, interval, max_t=epochs,
                             seed=seed, **PBT_SETTINGS)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as one worker of the other methods
        try:
            tuner = d2lhpo.HPOTuner(scheduler, mnist1d_sgd)
            tuner.run(max_epochs=budget, verbose=False)
        finally:
            torch.set_num_threads(threads)
        workers = 1
    else:  # a worker per member for PBT's asynchronous mode
        workers = population if (method, pbt_tuner) == ('PBT', 'local') else 2
        objective = functools.partial(  # the data travel with it
            mnist1d_sgd, data=d2lhpo.load_mnist1d())
        backend = d2lhpo.LocalBackend(objective, num_workers=workers,
                                      num_threads=1)
        if method == 'PBT' and pbt_tuner == 'local-sync':  # generations
            scheduler = TimedPBT(searcher, population, interval,
                                 max_t=epochs, seed=seed, **PBT_SETTINGS)
            tuner = d2lhpo.AsyncTuner(scheduler, backend)
            tuner.run(max_epochs=budget, verbose=False)
        elif method == 'PBT':
            scheduler = TimedPBT(searcher, population, interval,
                                 max_t=epochs, synchronous=False, seed=seed,
                                 **PBT_SETTINGS)
            tuner = d2lhpo.AsyncTuner(scheduler, backend)
            # until every member has reached max_t: a child continues from
            # its source's latest epoch, which may be ahead or behind its
            # own, so the epochs add up to about, not exactly, the budget
            tuner.run(max_epochs=2 * budget, verbose=False)
        elif method == 'ASHA':
            tuner = d2lhpo.AsyncTuner(d2lhpo.ASHAScheduler(
                searcher, eta=3, r_min=1, r_max=epochs), backend)
            tuner.run(max_epochs=budget, verbose=False)
        else:
            tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(searcher),
                                      backend)
            tuner.run(number_of_trials=population, verbose=False)
        backend.close()
    wall = time.perf_counter() - tic
    run = tuner.clock - tuner.budget.start_time  # after the workers' start
    train = sum(r['train_seconds'] for r in tuner.results)
    error, test_error = final_error(tuner, epochs)
    out = {'final_error': error, 'test_error': test_error, 'seconds': wall,
           'run_seconds': run, 'epochs': len(tuner.results),
           'trials': len(tuner.records),
           'overhead': run - train / min(workers, 2)}  # 2 cores at most
    if scheduler is not None:
        best = min((t for t in scheduler.members.values()
                    if t.epochs == epochs), key=lambda t: t.error)
        out.update(exploits=len(scheduler.retired),
                   scheduler_seconds=scheduler.seconds,
                   schedule=[{k: c[k] for k in HYPERPARAMETERS}
                             for c in scheduler.schedule(best.trial_id)])
    return out


def mnist1d_part(seeds, population, epochs, interval,
                 pbt_tuner='local-sync'):
    """PBT, ASHA and random search on MNIST-1D; (checks, results)."""
    print(f'\n== MNIST-1D: SGD-trained MLP, {population} x {epochs} = '
          f'{population * epochs} epochs per run, PBT interval {interval}, '
          f'seeds 0..{len(seeds) - 1}')
    methods = ('PBT', 'ASHA', 'random search')
    runs = {m: [] for m in methods}
    d2lhpo.load_mnist1d()  # generate the data before PBT's clock starts
    for seed in seeds:
        for method in methods:
            runs[method].append(mnist1d_run(method, seed, population, epochs,
                                            interval, pbt_tuner))
        print(f'seed {seed}: final validation error ' + ', '.join(
            f'{m} {runs[m][-1]["final_error"]:.3f}' for m in methods)
            + ' (' + ', '.join(f'{runs[m][-1]["seconds"]:.0f}'
                               for m in methods) + ' s)', flush=True)
    errors = {m: np.array([r['final_error'] for r in runs[m]])
              for m in methods}
    tests = {m: np.array([r['test_error'] for r in runs[m]])
             for m in methods}
    print(f'{"method":14s} {"median error":>12s} {"min":>6s} {"max":>6s} '
          f'{"test":>6s} {"epochs":>7s} {"trials":>7s} {"median s":>9s} '
          f'{"after start-up":>15s}')
    for m in methods:
        print(f'{m:14s} {np.median(errors[m]):12.4f} {errors[m].min():6.3f} '
              f'{errors[m].max():6.3f} {np.median(tests[m]):6.3f} '
              f'{np.median([r["epochs"] for r in runs[m]]):7.0f} '
              f'{np.median([r["trials"] for r in runs[m]]):7.0f} '
              f'{np.median([r["seconds"] for r in runs[m]]):9.1f} '
              f'{np.median([r["run_seconds"] for r in runs[m]]):15.1f}')
    pbt = runs['PBT']
    exploits = sum(r['exploits'] for r in pbt)
    per_exploit = sum(r['scheduler_seconds'] for r in pbt) / max(exploits, 1)
    overhead = sum(r['overhead'] for r in pbt) / max(exploits, 1)
    print(f'PBT: {exploits / len(pbt):.1f} exploits per run; scheduler '
          f'{1000 * per_exploit:.2f} ms per exploit; wall-clock minus '
          f'training {overhead:.3f} s per exploit')
    pbt_epochs = np.median([r['epochs'] for r in pbt])
    checks = [(abs(pbt_epochs / (population * epochs) - 1) <= 0.05,
               f'MNIST-1D: PBT\'s median total epochs {pbt_epochs:.0f} '
               f'within 5% of the budget {population * epochs}')]
    for other in methods[1:]:
        if len(seeds) >= 2:  # (a paired comparison needs two seeds)
            print(d2lhpo.paired_comparison(errors['PBT'], errors[other],
                                           ('PBT', other)))
            print(d2lhpo.paired_comparison(tests['PBT'], tests[other],
                                           ('PBT (test)', f'{other} (test)')))
        ours, theirs = np.median(errors['PBT']), np.median(errors[other])
        checks.append((ours <= theirs, f'MNIST-1D: PBT median final error '
                       f'{ours:.4f} <= {other}\'s {theirs:.4f}'))
    results = {'seeds': list(seeds), 'population': population,
               'epochs': epochs, 'interval': interval,
               'final_error': {m: errors[m].tolist() for m in methods},
               'test_error': {m: tests[m].tolist() for m in methods},
               'seconds': {m: [r['seconds'] for r in runs[m]]
                           for m in methods},
               'exploits': [r['exploits'] for r in pbt],
               'epochs_trained': {m: [r['epochs'] for r in runs[m]]
                                  for m in methods},
               'run_seconds': {m: [r['run_seconds'] for r in runs[m]]
                               for m in methods},
               'scheduler_seconds_per_exploit': per_exploit,
               'overhead_seconds_per_exploit': overhead,
               'schedules': [r['schedule'] for r in pbt],
               'pbt_tuner': PBT_TUNERS[pbt_tuner]}
    return checks, results


PARTS = ('toy', 'mnist1d')


def save(path, results):
    """Write `results` (a dict by part) to the JSON file `path`, keeping
    the parts that the file holds and this run did not run."""
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = {part: numbers for part, numbers in json.load(f).items()
                   if part in PARTS}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(dict(old, **results), f, indent=1)
        f.write('\n')
    os.replace(path + '.tmp', path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--parts', nargs='+', default=list(PARTS),
                        choices=PARTS)
    parser.add_argument('--seeds', type=int, default=20,
                        help='seeds of the toy part')
    parser.add_argument('--mnist-seeds', type=int, default=10)
    parser.add_argument('--population', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--interval', type=int, default=3)
    parser.add_argument('--pbt-tuner', choices=PBT_TUNERS,
                        default='local-sync',
                        help='where PBT runs in part mnist1d')
    parser.add_argument('--skip-ray', action='store_true',
                        help='run the toy part without Ray Tune')
    parser.add_argument('--save', metavar='JSON',
                        help='write the results to this file')
    parser.add_argument('--check', action='store_true')
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    for name in ('seeds', 'mnist_seeds', 'population', 'epochs', 'interval'):
        if getattr(args, name) < (2 if name == 'population' else 1):
            parser.error(f'--{name.replace("_", "-")} is too small: '
                         f'{getattr(args, name)}')
    print('command: OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS", "(unset)")} python '
          + ' '.join(['benchmarks/pbt_benchmark.py'] + argv))
    print(machine_line())
    ray_version = 'skipped'
    if not args.skip_ray and 'toy' in args.parts:
        try:
            import ray.tune  # noqa: F401  (needs pydantic)
            ray_version = sys.modules['ray'].__version__
        except ImportError as err:
            parser.error(f'Ray Tune is not installed ({err}): pip install -e '
                         '".[compare]", or pass --skip-ray')
    print(f'versions: d2lhpo {d2lhpo.__version__}, torch {torch.__version__}'
          f', ray {ray_version}')
    tic = time.perf_counter()
    checks, results = [], {}
    if 'toy' in args.parts:
        part_checks, results['toy'] = toy_part(range(args.seeds),
                                               args.skip_ray)
        checks += part_checks
    if 'mnist1d' in args.parts:
        part_checks, results['mnist1d'] = mnist1d_part(
            range(args.mnist_seeds), args.population, args.epochs,
            args.interval, args.pbt_tuner)
        checks += part_checks
    for part in args.parts:
        results[part].update(
            command=' '.join(['benchmarks/pbt_benchmark.py'] + argv),
            seconds_total=time.perf_counter() - tic,
            checks=[{'pass': bool(ok), 'text': text}
                    for ok, text in checks
                    if text.lower().startswith(part[:3])])
    if args.save:
        save(args.save, results)
    return report_checks(checks, args.check, tic)


if __name__ == '__main__':
    sys.exit(main())
