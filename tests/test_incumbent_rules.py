"""The incumbent rules that `benchmarks/model_based_misses.py` replays on a
tuner's results: a hand example for each, and the book's rule against the
tuner's own record."""
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import d2lhpo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import model_based_misses as misses  # noqa: E402

# (trial, epoch, error) in the order they arrive; trial k is worth WORTH[k]
RESULTS = [(0, 1, 0.5), (1, 1, 0.3), (0, 2, 0.4), (1, 2, 0.35), (2, 1, 0.1),
           (0, 3, 0.45), (1, 3, 0.45)]
WORTH = [0.04, 0.03, 0.05]


class Worth:
    """A benchmark stand-in whose true error is the trial's own worth."""
    def true_error(self, config):
        return WORTH[config['k']]


def hand_tuner():
    return SimpleNamespace(
        results=[{'trial_id': i, 'epoch': e, 'error': y, 'time': t + 1.0}
                 for t, (i, e, y) in enumerate(RESULTS)],
        records=[SimpleNamespace(config={'k': k}) for k in range(3)])


@pytest.mark.parametrize('rule, incumbents', [
    # the lowest error so far: 0.5, 0.3, then 0.1 for good
    ('best', [0, 1, 1, 1, 2, 2, 2]),
    # each trial's last error: trial 1's rises to 0.35 and stays lowest
    ('last', [0, 1, 1, 1, 2, 2, 2]),
    # mean of the last 3: trial 0 at epoch 3 has (0.5 + 0.4 + 0.45) / 3
    ('last-3-avg', [0, 1, 1, 1, 2, 2, 2]),
    # a result at a larger epoch takes over, however high its error; at
    # the same epoch the lower error wins and a tie keeps the first
    ('largest-budget', [0, 1, 0, 1, 1, 0, 0]),
])
def test_each_rule_on_a_hand_example(rule, incumbents):
    times, values = misses.replay(Worth(), hand_tuner(), misses.RULES[rule])
    assert times.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert values.tolist() == [WORTH[k] for k in incumbents]


def test_the_books_rule_replays_the_tuners_own_record():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    tuner = misses.run(bench, 'ASHA + TPE', seed=0, max_time=30)
    _, values = misses.replay(bench, tuner, misses.RULES['best'])
    assert np.array_equal(values, d2lhpo.true_trajectory(tuner, bench))
    _, top = misses.replay(bench, tuner, misses.RULES['largest-budget'])
    deepest = max(r['epoch'] for r in tuner.results)
    lowest_at_deepest = min((r['error'], n) for n, r in enumerate(tuner.results)
                          if r['epoch'] == deepest)
    best = tuner.results[lowest_at_deepest[1]]['trial_id']
    assert top[-1] == bench.true_error(tuner.records[best].config)
