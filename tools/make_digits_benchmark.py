"""Regenerate a learning-curve table: the digits MLP or MNIST-1D benchmark.

`--benchmark digits` (the default) trains `d2lhpo.MLP` for every
configuration of `d2lhpo.DIGITS_MLP_SPACE` (1,134 of them), for 3 seeds and
30 epochs each (`d2lhpo/data/digits_mlp.npz`, about 15 minutes on 2 cores).
`--benchmark mnist1d` trains `d2lhpo.mnist1d_model` (an MLP or a 1-D CNN,
AdamW) for every configuration of `d2lhpo.MNIST1D_SPACE` (576 of them), for
3 seeds and 27 epochs each (`d2lhpo/data/mnist1d.npz`, about 75 minutes of
two cores). Per epoch the table records the validation error, the training
loss, the epoch's time and the validation loss; at the end the test error,
the number of parameters, the multiply-adds per example and the CPU
latency of predicting 1,000 examples. See the chapter "Benchmarking HPO Algorithms".

Usage (from the repository root, with the project's venv):

    python tools/make_digits_benchmark.py --workers 2       # all of it
    python tools/make_digits_benchmark.py --benchmark mnist1d --workers 2
    python tools/make_digits_benchmark.py --limit 20 --out /tmp/small.npz

On several machines, give each a shard and merge the parts:

    python tools/make_digits_benchmark.py --shard 0/4 --out part0.npz
    ...
    python tools/make_digits_benchmark.py --merge part*.npz \
        --out d2lhpo/data/digits_mlp.npz

Training is deterministic given the seed (one thread, the same torch), so
a re-run reproduces a table's every number except its clock readings. To
add a column to a table without moving the times that simulated runs
depend on, merge the re-run's parts with `--times-from OLD.npz`: it checks
that every other number is equal and keeps OLD's epoch times and latency
(this is how the MNIST-1D table gained its validation loss):

    python tools/make_digits_benchmark.py --benchmark mnist1d \
        --merge part*.npz --times-from d2lhpo/data/mnist1d.npz \
        --out d2lhpo/data/mnist1d.npz

Each worker process trains on one thread (OMP_NUM_THREADS=1), so use one
worker per core. The digits table times epochs on the wall clock (run it on
an otherwise idle machine); the MNIST-1D table in CPU seconds of the worker
process (`time.process_time`), which other load on the machine barely moves.
"""
import argparse
import datetime
import itertools
import json
import multiprocessing
import os
import platform
import sys
import time

import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch  # noqa: E402

import d2lhpo  # noqa: E402

METRICS = d2lhpo.CURVE_KEYS  # per epoch
PER_CONFIG = ('num_params', 'macs', 'latency')
_DATA = None
# name: (space, data loader, model and optimizer, clock, epochs, file, model
# description for the metadata)
BENCHMARKS = {
    'digits': ('DIGITS_MLP_SPACE', 'load_digits_data', 'digits_model',
               'perf_counter', 30, 'digits_mlp.npz',
               'd2lhpo.MLP, SGD with momentum 0.9, digits 1197/300/300'),
    'mnist1d': ('MNIST1D_SPACE', 'load_mnist1d', 'mnist1d_model',
                'process_time', 27, 'mnist1d.npz',
                'd2lhpo.mnist1d_model (MLP or ConvNet1d), AdamW, MNIST-1D '
                '8000/1000/1000'),
}


def grid_configs(space):
    """Every configuration of the grid, in a fixed order, with indices."""
    names = list(space)
    index_rows = list(itertools.product(*(range(len(space[n]))
                                          for n in names)))
    configs = [{n: space[n][i] for n, i in zip(names, row)}
               for row in index_rows]
    return names, np.array(index_rows, dtype=np.int16), configs


def _work(job):
    global _DATA
    c, s, config, seed, num_epochs, benchmark = job
    _, loader, make_model, clock = BENCHMARKS[benchmark][:4]
    if _DATA is None:
        torch.set_num_threads(1)
        _DATA = getattr(d2lhpo, loader)()
    curve = d2lhpo.record_learning_curve(
        config, seed, num_epochs, data=_DATA, device='cpu',
        make_model=getattr(d2lhpo, make_model), clock=getattr(time, clock))
    return c, s, curve


def generate(args):
    space_name, _, _, clock, epochs, _, model = BENCHMARKS[args.benchmark]
    args.epochs = args.epochs or epochs
    space = getattr(d2lhpo, space_name)
    names, index_rows, configs = grid_configs(space)
    rows = np.arange(len(configs))
    if args.shard:
        k, n = (int(v) for v in args.shard.split('/'))
        rows = rows[k::n]
    if args.limit:
        rows = rows[:args.limit]
    seeds = list(range(args.seeds))
    shape = (len(rows), len(seeds), args.epochs)
    table = {m: np.full(shape, np.nan) for m in METRICS}
    test_error = np.full(shape[:2], np.nan)
    per_config = {'num_params': np.zeros(len(rows), dtype=np.int64),
                  'macs': np.zeros(len(rows), dtype=np.int64),
                  'latency': np.full(len(rows), np.inf)}
    jobs = [(i, s, configs[r], seed, args.epochs, args.benchmark)
            for i, r in enumerate(rows) for s, seed in enumerate(seeds)]
    tic = time.perf_counter()
    with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
        for done, (i, s, curve) in enumerate(
                pool.imap_unordered(_work, jobs, chunksize=4), 1):
            for m in METRICS:
                table[m][i, s] = curve[m]
            test_error[i, s] = curve['test_error']
            per_config['num_params'][i] = curve['num_params']
            per_config['macs'][i] = curve['macs']
            # the fastest of the seeds' measurements
            per_config['latency'][i] = min(per_config['latency'][i],
                                           curve['latency'])
            if done % 100 == 0 or done == len(jobs):
                elapsed = time.perf_counter() - tic
                print(f'{done}/{len(jobs)} curves, {elapsed:.0f} s, '
                      f'about {elapsed / done * (len(jobs) - done):.0f} s '
                      'to go', flush=True)
    metadata = {
        'created': datetime.datetime.now().isoformat(timespec='seconds'),
        'command': ' '.join(sys.argv),
        'seconds': round(time.perf_counter() - tic, 1),
        'workers': args.workers,
        'machine': f'{platform.machine()} {platform.processor()}, '
                   f'{os.cpu_count()} cores',
        'torch': torch.__version__,
        'model': model,
        'epoch_time': ('CPU seconds of the worker process, one thread '
                       '(time.process_time)' if clock == 'process_time'
                       else 'wall-clock seconds (time.perf_counter)'),
        'latency': 'CPU seconds to predict 1,000 validation examples, one '
                   'thread, the fastest of 3 passes x 3 seeds',
    }
    save(args.out, space, names, index_rows[rows], seeds, table, test_error,
         per_config, metadata)


def save(path, space, names, configs, seeds, table, test_error, per_config,
         metadata):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez_compressed(
        path, space=json.dumps(space), names=np.array(names),
        configs=configs, seeds=np.array(seeds), test_error=test_error,
        metadata=json.dumps(metadata),
        **table, **per_config)
    print(f'wrote {path} ({os.path.getsize(path) / 2**20:.2f} MiB)')


def merge(args):
    parts = [np.load(p) for p in args.merge]
    first = parts[0]
    configs = np.concatenate([p['configs'] for p in parts])
    order = np.lexsort(configs.T[::-1])
    cat = lambda key: np.concatenate([p[key] for p in parts])[order]
    metadata = json.loads(str(first['metadata']))
    metadata['seconds'] = sum(json.loads(str(p['metadata']))['seconds']
                              for p in parts)
    metadata['command'] = ' '.join(sys.argv)
    has = lambda key: all(key in p for p in parts)  # old parts lack some
    table = {m: cat(m) for m in METRICS if has(m)}
    per_config = {k: cat(k) for k in PER_CONFIG if has(k)}
    test_error = cat('test_error')
    if args.times_from:
        metadata = keep_times(args.times_from, configs[order], first['seeds'],
                              table, test_error, per_config, metadata)
    save(args.out, json.loads(str(first['space'])), list(first['names']),
         configs[order], first['seeds'], table, test_error, per_config,
         metadata)


def keep_times(path, configs, seeds, table, test_error, per_config,
               metadata):
    """Take the clock readings (epoch times, latency) of the table at
    `path` after checking that the new run reproduced its every other
    number exactly (training is deterministic given the seed); return the
    metadata of the old table with the new run noted. A new column (say
    the validation loss) is added this way without moving the times that
    every simulated result depends on."""
    with np.load(path) as file:  # (the output may replace this file)
        old = {key: file[key] for key in file.files}
    new = {'configs': configs, 'seeds': seeds, 'test_error': test_error,
           **table, **per_config}
    for key in ('configs', 'seeds', 'val_error', 'train_loss', 'test_error',
                'num_params', 'macs'):
        if (key in old) != (key in new) or key in old and not np.array_equal(
                old[key], new[key], equal_nan=key == 'train_loss'):
            sys.exit(f'the new run differs from {path} in {key}: '
                     'its times cannot be kept')
    table['epoch_time'] = old['epoch_time']
    if 'latency' in old:
        per_config['latency'] = old['latency']
    else:
        per_config.pop('latency', None)
    kept = json.loads(str(old['metadata']))
    kept.setdefault('added', []).append({
        'columns': sorted(set(table) - set(old)),
        'command': metadata['command'], 'seconds': metadata['seconds'],
        'created': datetime.datetime.now().isoformat(timespec='seconds'),
        'torch': torch.__version__, 'machine': metadata['machine'],
        'note': 'a re-run that reproduced every other number of the table '
                'exactly; epoch times and latency are those of the first '
                'run'})
    return kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--benchmark', choices=sorted(BENCHMARKS),
                        default='digits')
    parser.add_argument('--out', help='default: d2lhpo/data/<the table>')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=0,
                        help='default: 30 (digits), 27 (mnist1d)')
    parser.add_argument('--limit', type=int, default=0,
                        help='only the first LIMIT configurations (a test)')
    parser.add_argument('--shard', default='',
                        help='K/N: every N-th configuration from the K-th')
    parser.add_argument('--merge', nargs='+', help='merge shard files')
    parser.add_argument('--times-from', default='',
                        help='with --merge: keep the epoch times and latency '
                             'of this table, whose other numbers the merged '
                             'run must reproduce exactly')
    args = parser.parse_args()
    args.out = args.out or os.path.join('d2lhpo', 'data',
                                        BENCHMARKS[args.benchmark][5])
    merge(args) if args.merge else generate(args)


if __name__ == '__main__':
    main()
