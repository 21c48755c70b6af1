"""MNIST-1D (issue 14): generated offline, split once, stratified and
disjoint, and the caller's random state left alone."""
import random

import numpy as np
import pytest
import torch

import d2lhpo


def test_the_splits_are_fixed_stratified_and_disjoint():
    data = d2lhpo.load_mnist1d(num_samples=2000, num_val=400, num_test=400)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data.train, data.val, data.test
    assert (len(ytr), len(yva), len(yte)) == (1200, 400, 400)
    assert Xtr.shape[1:] == (1, 40) and Xtr.dtype == torch.float32
    assert yva.dtype == torch.int64
    for y in (ytr, yva, yte):  # ten classes, balanced in every split
        counts = np.bincount(y.numpy(), minlength=10)
        assert counts.min() >= 0.8 * counts.max()
    rows = {tuple(x.flatten().tolist()) for x in torch.cat([Xtr, Xva, Xte])}
    assert len(rows) == 2000  # no signal in two splits
    again = d2lhpo.load_mnist1d(num_samples=2000, num_val=400, num_test=400)
    assert torch.equal(again.val[0], Xva) and again.val[0] is not Xva


def test_loading_leaves_the_callers_random_state_alone():
    d2lhpo.book._mnist1d_arrays.cache_clear()  # generate it again
    np.random.seed(7)
    random.seed(7)
    expected = np.random.rand(), random.random()
    np.random.seed(7)
    random.seed(7)
    d2lhpo.load_mnist1d(num_samples=1000, num_val=100, num_test=100)
    assert (np.random.rand(), random.random()) == expected


@pytest.mark.parametrize('kwargs, name', [
    ({'num_val': 0}, 'num_val'), ({'num_samples': 10.5}, 'num_samples'),
    ({'num_val': 600, 'num_test': 500, 'num_samples': 1000}, 'num_samples'),
    ({'seed': True}, 'seed')])
def test_bad_arguments_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        d2lhpo.load_mnist1d(**kwargs)
