"""The digits learning-curve table, its lookup API, and the synthetic
functions with known optima."""
import json
import os
import shutil
import subprocess
import sys
import types
import zipfile

import numpy as np
import pytest

import d2lhpo
from d2lhpo import (BRANIN, DIGITS_MLP_SPACE, DIGITS_MLP_TABLE, HARTMANN3,
                    HARTMANN6, MLP, MultiFidelityFunction, SyntheticFunction,
                    TabularBenchmark, record_learning_curve)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def table():
    return TabularBenchmark()


# ------------------------------------------------------- the shipped table
def test_table_meets_the_benchmarks_size(table):
    assert len(table.grid) >= 1000
    assert len(table.names) >= 5
    assert len(table.seeds) >= 3
    assert table.max_epochs >= 30
    assert table.val_error.shape == (len(table.grid), len(table.seeds),
                                     table.max_epochs)
    kinds = {type(v).__name__ for vs in table.config_space.values()
             for v in vs}
    assert kinds == {'int', 'float'}  # mixed kinds of hyperparameters
    assert table.config_space == DIGITS_MLP_SPACE
    assert os.path.getsize(DIGITS_MLP_TABLE) <= 10 * 2 ** 20


def test_table_values_are_plausible(table):
    assert np.all((table.val_error >= 0) & (table.val_error <= 1))
    assert np.all(table.epoch_time > 0) and np.all(table.epoch_time < 5)
    assert np.all((table.test_error >= 0) & (table.test_error <= 1))
    # a 300-image validation split: errors are multiples of 1/300
    np.testing.assert_allclose(table.val_error * 300,
                               np.round(table.val_error * 300), atol=1e-9)
    assert table.best_error() < 0.05  # good MLPs exist
    assert np.median(table.val_error[:, :, -1]) < 0.5
    # the grid is complete and every configuration appears once
    assert len(table.positions) == len(table.grid) == np.prod(
        [len(v) for v in table.config_space.values()])


def test_num_params_match_the_model(table):
    for i in (0, len(table.grid) // 2, len(table.grid) - 1):
        c = table.grid[i]
        model = MLP(c['width'], c['depth'], c['dropout'])
        assert table.num_params[i] == sum(p.numel()
                                          for p in model.parameters())


def test_lookup_returns_every_recorded_metric(table):
    config = table.grid[123]
    row = table.lookup(config, seed=1, epoch=5)
    assert set(row) == {'val_error', 'train_loss', 'epoch_time',
                        'elapsed_time', 'test_error', 'num_params'}
    assert row['val_error'] == table.val_error[123, 1, 4]
    assert row['elapsed_time'] == pytest.approx(
        table.epoch_time[123, 1, :5].sum())
    curve = table.learning_curve(config, seed=1)
    assert curve['error'] == table.val_error[123, 1].tolist()
    assert curve['epoch_time'] == table.epoch_time[123, 1].tolist()


def test_best_error_is_the_minimum_over_the_table(table):
    assert table.best_error() == np.nanmin(table.val_error)
    assert table.best_error(epoch=30) == np.nanmin(table.val_error[:, :, -1])
    assert table.best_error(epoch=1) >= table.best_error()


def test_recording_reproduces_the_tables_errors(table):
    """The table is real: re-training one configuration gives its curve."""
    i = table.index({'lr': 0.1, 'batch_size': 128, 'width': 32, 'depth': 1,
                     'dropout': 0.0, 'weight_decay': 0.0})
    curve = record_learning_curve(table.grid[i], seed=2, num_epochs=3,
                                  device='cpu')
    np.testing.assert_allclose(curve['val_error'],
                               table.val_error[i, 2, :3], atol=1 / 300 + 1e-9)


# ------------------------------------------------------------- bad input
def test_config_off_the_grid_names_the_hyperparameter_and_nearest_values(
        table):
    config = dict(table.grid[0], lr=0.05)
    with pytest.raises(ValueError, match=r"'lr'.*0\.05.*nearest allowed "
                       r"values are \[0\.03162, 0\.1\]"):
        table.lookup(config, 0, 1)
    with pytest.raises(ValueError, match=r"'width'.*48.*\[32, 64\]"):
        table.learning_curve(dict(table.grid[0], width=48), 0)


@pytest.mark.parametrize('change, pattern', [
    (lambda c: c.pop('depth'), r"missing \['depth'\]"),
    (lambda c: c.update(momentum=0.9), r"unknown \['momentum'\]"),
])
def test_config_with_wrong_names_is_rejected(table, change, pattern):
    config = dict(table.grid[0])
    change(config)
    with pytest.raises(ValueError, match=pattern):
        table.index(config)


@pytest.mark.parametrize('epoch', [0, 31, -1, 2.5, True])
def test_epoch_outside_the_recorded_range_is_rejected(table, epoch):
    with pytest.raises(ValueError, match=r'beyond the recorded range 1\.\.30'):
        table.lookup(table.grid[0], 0, epoch)


def test_unrecorded_seed_is_rejected(table):
    with pytest.raises(ValueError, match=r'seed 7 was not recorded'):
        table.lookup(table.grid[0], 7, 1)


def test_missing_table_says_how_to_regenerate(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='make_digits_benchmark.py'):
        TabularBenchmark(str(tmp_path / 'nope.npz'))


def test_corrupt_tables_say_how_to_regenerate(tmp_path):
    garbage = tmp_path / 'garbage.npz'
    garbage.write_bytes(b'not a zip file at all')
    with pytest.raises(ValueError, match='corrupt.*make_digits_benchmark'):
        TabularBenchmark(str(garbage))
    truncated = tmp_path / 'truncated.npz'
    truncated.write_bytes(open(DIGITS_MLP_TABLE, 'rb').read()[:5000])
    with pytest.raises(ValueError, match='corrupt'):
        TabularBenchmark(str(truncated))
    with np.load(DIGITS_MLP_TABLE) as t:
        arrays = {k: t[k] for k in t.files}
    missing = tmp_path / 'missing.npz'
    np.savez(missing, **{k: v for k, v in arrays.items() if k != 'seeds'})
    with pytest.raises(ValueError, match='corrupt.*seeds'):
        TabularBenchmark(str(missing))
    bad_shape = tmp_path / 'shape.npz'
    np.savez(bad_shape, **dict(arrays, test_error=arrays['test_error'][:5]))
    with pytest.raises(ValueError, match='corrupt.*test_error'):
        TabularBenchmark(str(bad_shape))


def test_the_generation_script_writes_a_loadable_table(tmp_path):
    out = tmp_path / 'small.npz'
    subprocess.run([sys.executable, os.path.join(REPO, 'tools',
                                                 'make_digits_benchmark.py'),
                    '--limit', '2', '--seeds', '2', '--epochs', '2',
                    '--out', str(out)], check=True, cwd=REPO,
                   capture_output=True)
    small = TabularBenchmark(str(out))
    assert len(small.grid) == 2 and small.seeds == [0, 1]
    assert small.max_epochs == 2
    assert small.grid == TabularBenchmark().grid[:2]
    assert 'make_digits_benchmark.py' in small.metadata['command']
    assert small.val_loss.shape == (2, 2, 2) and np.all(small.val_loss > 0)


def test_a_merged_rerun_keeps_the_old_times_and_adds_a_column(tmp_path):
    tool = os.path.join(REPO, 'tools', 'make_digits_benchmark.py')
    run = lambda *args: subprocess.run(
        [sys.executable, tool, *args], cwd=REPO, capture_output=True,
        text=True)
    small = ['--seeds', '1', '--epochs', '2']
    for name in ('old', 'part0', 'part1'):  # rows 0-3; 0, 2; and 1, 3
        shard = (['--limit', '4'] if name == 'old' else
                 ['--limit', '2', '--shard', f'{name[-1]}/2'])
        assert run(*small, *shard, '--out', str(tmp_path / f'{name}.npz')
                   ).returncode == 0
    with np.load(tmp_path / 'old.npz') as t:  # an old table: no val_loss
        old = {k: t[k] for k in t.files if k != 'val_loss'}
    np.savez(tmp_path / 'old.npz', **old)
    parts = [str(tmp_path / 'part0.npz'), str(tmp_path / 'part1.npz')]
    out = tmp_path / 'merged.npz'
    assert run('--merge', *parts, '--times-from', str(tmp_path / 'old.npz'),
               '--out', str(out)).returncode == 0
    merged = TabularBenchmark(str(out))
    np.testing.assert_array_equal(merged.epoch_time, old['epoch_time'])
    np.testing.assert_array_equal(merged.val_error, old['val_error'])
    assert merged.val_loss.shape == (4, 1, 2)
    assert [a['columns'] for a in merged.metadata['added']] == [['val_loss']]
    # a re-run that does not reproduce the table cannot keep its times
    np.savez(tmp_path / 'old.npz', **dict(old, val_error=old['val_error'] / 2))
    failed = run('--merge', *parts, '--times-from', str(tmp_path / 'old.npz'),
                 '--out', str(out))
    assert failed.returncode != 0 and 'differs' in failed.stderr


# -------------------------------------------------- synthetic functions
@pytest.mark.parametrize('f', [BRANIN, HARTMANN3, HARTMANN6],
                         ids=lambda f: f.name)
def test_known_minima(f):
    np.testing.assert_allclose(f.evaluate(f.argmins), f.min_value, atol=1e-5)
    lo, hi = f.bounds.T
    X = np.random.default_rng(0).uniform(lo, hi, (20000, len(lo)))
    assert f.evaluate(X).min() >= f.min_value - 1e-6
    config = dict(zip(f.names, f.argmins[0]))
    assert f(**config) == pytest.approx(f.min_value, abs=1e-5)
    assert isinstance(f(**config), float)


def test_branin_reference_value():
    # f(0, 0) = (-6)^2 + 10 (1 - 1/(8 pi)) + 10
    assert BRANIN(x0=0.0, x1=0.0) == pytest.approx(
        36 + 10 * (1 - 1 / (8 * np.pi)) + 10)


def test_config_space_matches_the_bounds():
    assert list(HARTMANN6.config_space) == [f'x{i}' for i in range(6)]
    d = BRANIN.config_space['x0']
    assert d.support() == (-5, 10)


def test_multi_fidelity_curves_fall_to_the_function():
    mf = MultiFidelityFunction(HARTMANN6, max_epochs=30)
    rng = np.random.default_rng(1)
    crossings = 0
    curves = []
    for _ in range(20):
        x = rng.uniform(0, 1, 6)
        config = dict(zip(HARTMANN6.names, x))
        curve = mf.learning_curve(config)
        errors = np.array(curve['error'])
        assert errors[-1] == pytest.approx(HARTMANN6(**config))
        assert np.all(np.diff(errors) <= 1e-12)  # monotone without noise
        assert len(curve['epoch_time']) == 30
        assert 0.5 <= curve['epoch_time'][0] <= 1.5
        curves.append(errors)
    curves = np.array(curves)
    # learning curves cross: the ranking after 1 epoch differs from the last
    assert not np.array_equal(np.argsort(curves[:, 0]),
                              np.argsort(curves[:, -1]))
    assert mf.best_error() == HARTMANN6.min_value


def test_multi_fidelity_noise_depends_on_the_seed_only():
    mf = MultiFidelityFunction(BRANIN, noise=0.1)
    config = {'x0': 1.0, 'x1': 2.0}
    a, b = mf.learning_curve(config, 0), mf.learning_curve(config, 1)
    assert a == mf.learning_curve(config, 0)
    assert a['error'] != b['error']


def test_the_loss_breaks_ties_of_the_error():
    val_error = np.zeros((4, 2, 3))
    val_error[:, :, -1] = [[0.1, 0.2], [0.15, 0.15], [0.3, 0.3], [0.05, 0.1]]
    val_error[:, :, :-1] = 0.5
    bench = types.SimpleNamespace(val_error=val_error)
    order, final = d2lhpo.true_order(bench)
    assert order[0] == 3 and set(order[1:3]) == {0, 1} and order[3] == 2
    room = d2lhpo.room_at_top(bench, top=3)
    assert room['distinct among top 3'] == 2  # 0.075 and 0.15 twice
    assert 'places among top 3, loss breaking ties' not in room
    val_loss = np.ones((4, 2, 3))
    val_loss[0, :, -1], val_loss[1, :, -1] = 0.4, 0.3  # 1 before 0
    bench.val_loss = val_loss
    order, final = d2lhpo.true_order(bench)
    assert order.tolist() == [3, 1, 0, 2]
    np.testing.assert_allclose(final, [0.075, 0.15, 0.15, 0.3])
    room = d2lhpo.room_at_top(bench, top=3)
    assert room['places among top 3, loss breaking ties'] == 3
