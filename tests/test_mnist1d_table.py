"""The MNIST-1D learning-curve table (issue 14): its size, its values, that
it is real (re-training reproduces it), and that it leaves room at the top."""
import os

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import d2lhpo

TABLE = d2lhpo.MNIST1D_TABLE


@pytest.fixture(scope='module')
def table():
    return d2lhpo.TabularBenchmark(TABLE)


def test_table_has_the_size_the_issue_asks_for(table):
    n, s, e = table.val_error.shape
    assert n >= 500 and s >= 3 and e == 27 == 3 ** 3
    assert table.config_space == d2lhpo.MNIST1D_SPACE
    assert n == np.prod([len(v) for v in table.config_space.values()])
    assert os.path.getsize(TABLE) <= 10 * 2 ** 20
    for key in ('num_params', 'macs', 'latency'):
        assert getattr(table, key).shape == (n,)


def test_table_values_are_plausible(table):
    # 1,000 validation signals: errors are multiples of 1/1000
    np.testing.assert_allclose(table.val_error * 1000,
                               np.round(table.val_error * 1000), atol=1e-6)
    assert np.all(table.epoch_time > 0) and np.all(table.latency > 0)
    final = table.val_error[:, :, -1].mean(axis=1)
    cnn = np.array([c['model'] == 'cnn' for c in table.grid])
    assert final.min() < 0.15  # good networks exist ...
    assert np.median(final[cnn]) < np.median(final[~cnn])  # CNNs win
    assert np.max(final) > 0.3  # ... and bad ones: hyperparameters matter
    # a CNN epoch costs more than an MLP epoch of the same width and batch
    assert (np.median(table.epoch_time[cnn]) > 2 *
            np.median(table.epoch_time[~cnn]))


def test_the_top_has_room(table):
    """Unlike the digits table (6 distinct values among its top 20, the
    best 2 tied), the best configuration stands alone and the top 20 span
    many steps of the resolution; the few ties left are coincidences."""
    room = d2lhpo.room_at_top(table, top=20)
    assert room['step'] == pytest.approx(1 / 3000)
    final = np.sort(table.val_error[:, :, -1].mean(axis=1))
    assert final[1] - final[0] >= 3 * room['step']  # a unique best
    assert final[19] - final[0] >= 20 * room['step']
    assert room['distinct among top 20'] >= 15
    # the validation loss orders the configurations whose errors tie
    assert room['places among top 20, loss breaking ties'] == 20


def test_the_validation_loss_is_recorded_and_ranks_like_the_error(table):
    assert table.val_loss.shape == table.val_error.shape
    assert np.all(np.isfinite(table.val_loss) & (table.val_loss > 0))
    final = table.val_error[:, :, -1].mean(axis=1)
    loss = table.val_loss[:, :, -1].mean(axis=1)
    assert stats.spearmanr(final, loss).statistic > 0.8
    assert 'val_loss' in table.lookup(table.grid[0], table.seeds[0], 3)
    order, ranked = d2lhpo.true_order(table)
    assert np.all(np.diff(ranked) >= -1e-12)  # by error first


def test_sizes_match_the_models(table):
    example = torch.zeros(1, 40)
    for i in (0, len(table.grid) // 2 + 5, len(table.grid) - 1):
        model, _ = d2lhpo.mnist1d_model(table.grid[i])
        assert table.num_params[i] == sum(p.numel()
                                          for p in model.parameters())
        assert table.macs[i] == d2lhpo.count_macs(model, example)


def test_count_macs_on_known_layers():
    conv = nn.Conv1d(1, 4, 5, stride=2, padding=2)  # 40 -> 20 positions
    assert d2lhpo.count_macs(conv, torch.zeros(1, 40)) == 20 * 4 * 5
    net = nn.Sequential(nn.Flatten(), nn.Linear(40, 10), nn.ReLU(),
                        nn.Linear(10, 3))
    assert d2lhpo.count_macs(net, torch.zeros(1, 40)) == 400 + 30


@pytest.mark.parametrize('model', ['mlp', 'cnn'])
def test_recording_reproduces_the_table(table, model):
    """The table is real: re-training a configuration gives its curve."""
    config = dict(model=model, depth=2, width=32, lr=0.01, batch_size=256,
                  weight_decay=0.0, dropout=0.0)
    i = table.index(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as when the table was made
    try:
        curve = d2lhpo.record_learning_curve(
            config, seed=1, num_epochs=2, data=d2lhpo.load_mnist1d(),
            device='cpu', make_model=d2lhpo.mnist1d_model)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(curve['val_error'], table.val_error[i, 1, :2],
                               atol=2 / 1000 + 1e-9)
    np.testing.assert_allclose(curve['val_loss'], table.val_loss[i, 1, :2],
                               rtol=1e-3)
