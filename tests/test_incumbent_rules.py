"""The incumbent rules that `benchmarks/model_based_misses.py` replays on a
tuner's results: a hand example that tells the five apart, and the book's
rule and the largest-budget rule on a real run."""
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
RESULTS = [(0, 1, 0.50), (1, 1, 0.30), (0, 2, 0.40), (1, 2, 0.65),
           (0, 3, 0.45), (1, 3, 0.20), (2, 1, 0.35), (2, 3, 0.44),
           (0, 4, 0.25), (3, 9, 0.50), (2, 9, 0.50)]
WORTH = [0.04, 0.03, 0.05, 0.06]


class Worth:
    """A benchmark stand-in whose true error is the trial's own worth."""
    max_epochs = 27  # rung levels 1, 3, 9 and 27

    def true_error(self, config):
        return WORTH[config['k']]


def hand_tuner():
    return SimpleNamespace(
        results=[{'trial_id': i, 'epoch': e, 'error': y, 'time': t + 1.0}
                 for t, (i, e, y) in enumerate(RESULTS)],
        records=[SimpleNamespace(config={'k': k}) for k in range(4)])


@pytest.mark.parametrize('rule, incumbents', [
    # the lowest error so far: 0.3 at step 2, then trial 1's own 0.2
    ('best', [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    # the last error: trial 1's rises to 0.65 and trial 0 takes over, until
    # trial 1 falls to 0.2
    ('last', [0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]),
    # the mean of the last 3: trial 1 (0.3, 0.65, 0.2) averages 0.383, so
    # trial 2's 0.35 takes over, then its mean 0.395 hands it back; trial
    # 0's (0.4, 0.45, 0.25) averages 0.367 and wins
    ('last-3-avg', [0, 1, 1, 0, 0, 1, 2, 1, 0, 0, 0]),
    # the mean of the last 5: trial 0's four errors average 0.4 > 0.383
    ('last-5-avg', [0, 1, 1, 0, 0, 1, 2, 1, 1, 1, 1]),
    # rung levels only (epochs 2 and 4 are ignored); a larger level takes
    # over whatever its error (steps 5 and 10), a smaller one never does
    # (step 7), a tie keeps the first (step 11)
    ('largest-budget', [0, 1, 1, 1, 0, 1, 1, 1, 1, 3, 3]),
])
def test_each_rule_on_a_hand_example(rule, incumbents):
    times, values = misses.RULES[rule](Worth(), hand_tuner())
    assert times.tolist() == [t + 1.0 for t in range(len(RESULTS))]
    assert values.tolist() == [WORTH[k] for k in incumbents]


def test_the_rules_on_a_real_run():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    tuner = misses.run(bench, 'ASHA + TPE', seed=0, max_time=30)
    _, values = misses.RULES['best'](bench, tuner)
    assert np.array_equal(values, d2lhpo.true_trajectory(tuner, bench))
    _, top = misses.RULES['largest-budget'](bench, tuner)
    levels = set(d2lhpo.rung_levels(1, bench.max_epochs, 3))
    deepest = max(r['epoch'] for r in tuner.results if r['epoch'] in levels)
    _, first = min((r['error'], n) for n, r in enumerate(tuner.results)
                   if r['epoch'] == deepest)
    winner = tuner.results[first]['trial_id']
    assert top[-1] == bench.true_error(tuner.records[winner].config)
