"""`range_check` (hpo_in_practice.md): where the best trials lie in each
numerical range, on the range's own scale."""
import math

from scipy import stats

import d2lhpo


def tuner_on(objective, space, trials=40, seed=0):
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(space, seed=seed)), objective)
    tuner.run(number_of_trials=trials, verbose=False)
    return tuner


def test_an_optimum_beyond_the_high_end_is_flagged():
    space = {'x': stats.uniform(0, 1), 'y': stats.uniform(0, 1)}
    tuner = tuner_on(lambda x, y: -x + abs(y - 0.5), space, trials=200)
    check = d2lhpo.range_check(tuner, space, top=3)
    assert check.loc['x', 'edge'] == 'high' and check.loc['y', 'edge'] == ''
    assert 0.9 <= check.loc['x', 'best'] <= 1
    assert 0.8 <= check.loc['x', 'top 3'] <= 1


def test_positions_are_on_the_log_scale_of_a_log_range():
    space = {'lr': stats.loguniform(1e-4, 1), 'c': ['a', 'b']}
    tuner = tuner_on(lambda lr, c: abs(math.log10(lr) + 4), space, trials=60)
    check = d2lhpo.range_check(tuner, space, top=3)
    assert list(check.index) == ['lr']  # a categorical is left out
    assert check.loc['lr', 'edge'] == 'low' and check.loc['lr', 'best'] < 0.1


def test_a_list_of_numbers_counts_by_its_sorted_positions():
    space = {'width': [128, 32, 64, 16, 256], 'flag': [0, 1]}
    tuner = tuner_on(lambda width, flag: -width, space, trials=30)
    check = d2lhpo.range_check(tuner, space, top=1)
    assert list(check.index) == ['width']  # two numbers: no order to judge
    assert check.loc['width', 'best'] == 1 and check.loc['width', 'edge'] == 'high'


def test_failed_trials_are_left_out():
    space = {'x': stats.uniform(0, 1)}

    def objective(x):
        if x > 0.5:
            raise RuntimeError('diverged')
        return 1 - x
    tuner = tuner_on(objective, space)
    check = d2lhpo.range_check(tuner, space, top=3)
    assert check.loc['x', 'best'] <= 0.5 and check.loc['x', 'top 3'] <= 0.5
