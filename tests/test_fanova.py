"""fANOVA importances: functions with a known additive structure (exact
variance fractions), agreement with Optuna's FanovaImportanceEvaluator on
the same trials, the inputs it accepts, and its errors."""
import math

import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib import pyplot as plt
from scipy import stats

import d2lhpo

optuna.logging.set_verbosity(optuna.logging.WARNING)

UNIT_CUBE = {name: stats.uniform(0, 1) for name in ('x1', 'x2', 'x3')}
MIXED = {'lr': stats.loguniform(1e-4, 1e-1),
         'act': ['relu', 'tanh', 'sigmoid'],
         'depth': stats.randint(1, 5),
         'width': [32, 64, 128],
         'optimizer': 'sgd'}
ACT_EFFECT = {'relu': 0.0, 'tanh': 0.6, 'sigmoid': 0.0}


def linear(x1, x2, x3):
    return 4 * x1 + 2 * x2 + 0 * x3


def mixed(lr, act, depth, width, optimizer):
    """3 u(lr) on the log scale + an effect of act + 0.4 u(depth)."""
    u_lr = math.log(lr / 1e-4) / math.log(1e3)
    return 3 * u_lr + ACT_EFFECT[act] + 0.4 * (depth - 1) / 3


def exact_mixed_fractions():
    """Variances under the uniform measure on each encoded scale: a
    continuous uniform u has variance 1/12; k equally likely values have
    the variance of their effects."""
    act = np.array(list(ACT_EFFECT.values()))
    depth = 0.4 * np.arange(4) / 3
    v = pd.Series({'lr': 9 / 12, 'act': act.var(), 'depth': depth.var(),
                   'width': 0.0, 'optimizer': 0.0})
    return v / v.sum()


def tuner_on(objective, space, num_trials, seed=0):
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        space, seed=seed)), objective)
    tuner.run(num_trials)
    return tuner


def optuna_distribution(spec):
    dists = optuna.distributions
    if isinstance(spec, list):
        return dists.CategoricalDistribution(spec)
    if isinstance(spec, str):
        return dists.CategoricalDistribution([spec])
    domain = d2lhpo.make_domain('x', spec)
    if domain.kind == 'int':
        return dists.IntDistribution(domain.low, domain.high)
    return dists.FloatDistribution(domain.low, domain.high, log=domain.log)


def optuna_importances(tuner, space, seed=0):
    """Optuna's fANOVA on a study built from the tuner's trials."""
    dists = {name: optuna_distribution(spec) for name, spec in space.items()}
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(
        params=r.config, distributions=dists, value=r.error)
        for r in tuner.records])
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return pd.Series(evaluator.evaluate(study))


def test_linear_function_recovered_and_equal_to_optuna():
    tuner = tuner_on(linear, UNIT_CUBE, 400)
    ours = d2lhpo.fanova_importances(tuner, UNIT_CUBE, seed=0)
    exact = pd.Series({'x1': 0.8, 'x2': 0.2, 'x3': 0.0})
    assert (ours[exact.index] - exact).abs().max() < 0.05
    assert list(ours.index) == ['x1', 'x2', 'x3']
    # On [0, 1] both encode a float as itself and fit the same forest.
    theirs = optuna_importances(tuner, UNIT_CUBE)
    np.testing.assert_allclose(ours[theirs.index], theirs, atol=1e-9)


def test_mixed_space_recovered_and_ranked_like_optuna():
    tuner = tuner_on(mixed, MIXED, 400)
    ours = d2lhpo.fanova_importances(tuner, MIXED, seed=0)
    exact = exact_mixed_fractions()
    assert (ours[exact.index] - exact).abs().max() < 0.05
    assert list(ours.index[:3]) == ['lr', 'act', 'depth']
    assert ours['optimizer'] == 0.0  # a constant explains nothing
    theirs = optuna_importances(tuner, MIXED)
    informative = ['lr', 'act', 'depth']  # width, optimizer: 0 in truth
    assert (list(ours[informative].sort_values().index)
            == list(theirs[informative].sort_values().index))
    assert ours['width'] < 0.01 and theirs['width'] < 0.01


def test_pairs_of_an_interaction():
    """f = x1 * x2 on [0, 1]^3 (exactly: V1 = V2 = 1/48, V12 = 1/144 of
    the total 7/144: 3/7, 3/7 and 1/7)."""
    tuner = tuner_on(lambda x1, x2, x3: x1 * x2, UNIT_CUBE, 500)
    found = d2lhpo.fanova_importances(tuner, UNIT_CUBE, pairs=True, seed=0)
    assert abs(found['x1'] - 3 / 7) < 0.05
    assert abs(found['x2'] - 3 / 7) < 0.05
    assert abs(found['x1:x2'] - 1 / 7) < 0.05
    assert found['x1:x3'] < 0.02 and found['x3'] < 0.01


def test_marginal_of_a_linear_function():
    tuner = tuner_on(linear, UNIT_CUBE, 300)
    fanova = d2lhpo.Fanova(tuner, UNIT_CUBE, seed=0)
    table = fanova.marginal('x1', num_points=11)
    assert list(table.columns) == ['x1', 'mean', 'std'] and len(table) == 11
    slope = np.polyfit(table['x1'], table['mean'], 1)[0]
    assert abs(slope - 4) < 0.4
    # discrete: one row per value, on the hyperparameter's own scale
    mixed_fanova = d2lhpo.Fanova(tuner_on(mixed, MIXED, 200), MIXED, seed=0)
    act = mixed_fanova.marginal('act')
    assert list(act['act']) == MIXED['act']
    assert act['mean'].idxmax() == 1  # tanh adds 0.6
    assert list(mixed_fanova.marginal('depth')['depth']) == [1, 2, 3, 4]


def test_inputs_table_pairs_and_epoch_agree():
    tuner = tuner_on(linear, UNIT_CUBE, 100)
    from_tuner = d2lhpo.fanova_importances(tuner, UNIT_CUBE, seed=1)
    from_table = d2lhpo.fanova_importances(tuner.records_table(), UNIT_CUBE,
                                           seed=1)
    pairs = [(r.config, r.error) for r in tuner.records]
    from_pairs = d2lhpo.fanova_importances(pairs, UNIT_CUBE, seed=1)
    from_epoch = d2lhpo.fanova_importances(tuner, UNIT_CUBE, epoch=1, seed=1)
    for other in (from_table, from_pairs, from_epoch):
        pd.testing.assert_series_equal(from_tuner, other)
    # seeded: the same numbers again
    pd.testing.assert_series_equal(
        from_tuner, d2lhpo.fanova_importances(tuner, UNIT_CUBE, seed=1))


def test_metric_mode_max_and_failed_trials():
    def score(x1, x2, x3):
        if x3 > 0.9:
            raise RuntimeError('diverged')
        return {'accuracy': linear(x1, x2, x3)}
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        UNIT_CUBE, seed=0)), score, metric='accuracy', mode='max')
    tuner.run(300)
    assert any(r.status == 'failed' for r in tuner.records)
    fanova = d2lhpo.Fanova(tuner, UNIT_CUBE, seed=0)
    assert fanova.metric == 'accuracy'
    table = fanova.marginal('x1', num_points=5)
    assert table['mean'].iloc[-1] > table['mean'].iloc[0]  # as reported
    assert fanova.importances().index[0] == 'x1'


def test_multi_fidelity_epoch_selects_results():
    def curve(x1, x2, x3):
        yield linear(x1, x2, x3)      # epoch 1: x1 dominates
        yield 2 * x1 + 4 * x2         # epoch 2: x2 dominates
    tuner = tuner_on(curve, UNIT_CUBE, 200)
    first = d2lhpo.fanova_importances(tuner, UNIT_CUBE, epoch=1, seed=0)
    second = d2lhpo.fanova_importances(tuner, UNIT_CUBE, epoch=2, seed=0)
    assert first.index[0] == 'x1' and second.index[0] == 'x2'


def test_plots_draw():
    tuner = tuner_on(mixed, MIXED, 100)
    fanova = d2lhpo.Fanova(tuner, MIXED, seed=0)
    ax = d2lhpo.plot_importances(fanova.importances(pairs=True), top=4)
    assert len(ax.patches) == 4
    ax = d2lhpo.plot_marginal(fanova, 'lr')
    assert ax.get_xscale() == 'log' and len(ax.lines) == 1
    ax = d2lhpo.plot_marginal(fanova, 'act')
    assert [t.get_text() for t in ax.get_xticklabels()] == MIXED['act']
    plt.close('all')


@pytest.mark.parametrize('trials, space, error, match', [
    ([({'x1': 0.5, 'x2': 0.5, 'x3': 0.5}, 1.0)], UNIT_CUBE, ValueError,
     'at least two trials'),
    ([({'x1': v, 'x2': v, 'x3': v}, 1.0) for v in (0.1, 0.2)], UNIT_CUBE,
     ValueError, 'different finite values'),
    ([({'x1': 0.5, 'x2': 0.5, 'x3': 0.5, 'x4': 1}, 1.0)] * 2, UNIT_CUBE,
     ValueError, 'unknown hyperparameters'),
    ([({'x1': 2.0, 'x2': 0.5, 'x3': 0.5}, 1.0)] * 2, UNIT_CUBE, ValueError,
     "'x1': 2.0 is outside"),
    ('trials.csv', UNIT_CUBE, TypeError, 'a tuner, a table'),
    (pd.DataFrame({'x1': [0.1, 0.2]}), UNIT_CUBE, KeyError, "no column"),
    ([({'x1': 0.5}, 1.0), ({'x1': 0.5}, 2.0)], {'x1': 0.5}, ValueError,
     'every hyperparameter is constant'),
    ([], {}, ValueError, 'non-empty dict'),
])
def test_bad_input(trials, space, error, match):
    with pytest.raises(error, match=match):
        d2lhpo.fanova_importances(trials, space)


def test_bad_arguments():
    tuner = tuner_on(linear, UNIT_CUBE, 20)
    with pytest.raises(ValueError, match='num_trees'):
        d2lhpo.Fanova(tuner, UNIT_CUBE, num_trees=0)
    with pytest.raises(ValueError, match='epoch'):
        d2lhpo.Fanova(tuner, UNIT_CUBE, epoch=0)
    fanova = d2lhpo.Fanova(tuner, UNIT_CUBE, num_trees=4)
    with pytest.raises(ValueError, match="'lr' is not a hyperparameter"):
        fanova.marginal('lr')


def test_a_conditional_space_works_from_a_tuner_and_from_its_table():
    space = {'depth': [1, 2, 3],
             'width3': d2lhpo.Conditional(stats.uniform(0, 1), parent='depth',
                                          values=[3]),
             'lr': stats.loguniform(1e-3, 1)}

    def f(depth, lr, width3=0.0):
        return 0.1 * depth + width3 + abs(np.log10(lr) + 2)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(space, seed=0)), f)
    tuner.run(number_of_trials=150, verbose=False)
    from_tuner = d2lhpo.fanova_importances(tuner, space, seed=0)
    from_table = d2lhpo.fanova_importances(tuner.records_table(), space,
                                           seed=0)
    assert list(from_tuner.index[:2]) == ['lr', 'width3']
    assert np.allclose(from_tuner.sort_index(), from_table.sort_index())
