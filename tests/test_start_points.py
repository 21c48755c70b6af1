"""Start points (`points_to_evaluate`) of every searcher and warm starts of
the model-based searchers (issue 16)."""
import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import d2lhpo

SPACE = {'x': stats.uniform(0, 1), 'n': stats.randint(1, 9),
         'act': ['relu', 'tanh'], 'num_epochs': 3}
POINTS = [{'x': 0.25, 'n': 2, 'act': 'tanh'},
          {'x': 0.75, 'n': 8, 'act': 'relu', 'num_epochs': 3},
          {'x': 0.25, 'n': 2, 'act': 'tanh'}]  # a repeat is allowed
EXPECTED = [dict(p, num_epochs=3) for p in POINTS]

FACTORIES = {
    'random': lambda **kw: d2lhpo.RandomSearcher(SPACE, seed=0, **kw),
    'grid': lambda **kw: d2lhpo.GridSearcher(SPACE, num_points=2, **kw),
    'bo': lambda **kw: d2lhpo.BayesOptSearcher(SPACE, seed=0, num_random=64,
                                               **kw),
    'tpe': lambda **kw: d2lhpo.TPESearcher(SPACE, seed=0, **kw),
    'rf': lambda **kw: d2lhpo.RFSearcher(SPACE, seed=0, num_random=64, **kw),
}
MODEL_BASED = ['bo', 'tpe', 'rf']


def objective(x, n, act, num_epochs):
    return (x - 0.3) ** 2 + 0.01 * n + (act == 'tanh') * 0.1


@pytest.mark.parametrize('name', FACTORIES)
def test_start_points_are_evaluated_first_and_in_order(name):
    points = copy.deepcopy(POINTS)
    searcher = FACTORIES[name](points_to_evaluate=points)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective)
    tuner.run(number_of_trials=6)
    configs = [r.config for r in tuner.records]
    assert configs[:3] == EXPECTED
    assert all(set(c) == set(SPACE) for c in configs)
    configs[0]['x'] = 0.9  # the searcher kept copies, not the caller's dicts
    assert points == POINTS


def test_grid_searcher_tries_the_whole_grid_after_the_start_points():
    searcher = FACTORIES['grid'](points_to_evaluate=POINTS[:2])
    configs = []
    while (config := searcher.sample_configuration(len(configs))) is not None:
        configs.append(config)
    assert configs[:2] == EXPECTED[:2]
    assert configs[2:] == searcher.grid and len(configs) == 2 + searcher.size


def test_random_searcher_start_points_then_the_same_random_draws():
    plain = FACTORIES['random']()
    started = FACTORIES['random'](points_to_evaluate=POINTS[:1])
    assert started.sample_configuration(0) == EXPECTED[0]
    assert ([started.sample_configuration(i) for i in range(1, 4)] ==
            [plain.sample_configuration(i) for i in range(3)])


def test_initial_config_is_a_list_of_one():
    for name in ('random', 'bo', 'tpe', 'rf'):
        searcher = FACTORIES[name](initial_config=POINTS[1])
        assert searcher.sample_configuration(0) == EXPECTED[1]
        with pytest.raises(ValueError, match='not both'):
            FACTORIES[name](initial_config=POINTS[1],
                            points_to_evaluate=POINTS)


@pytest.mark.parametrize('name', FACTORIES)
@pytest.mark.parametrize('points, pattern', [
    (POINTS[0], 'must be a list'),
    ([POINTS[0], {'x': 1.5, 'n': 2, 'act': 'tanh'}],
     r"points_to_evaluate\[1\]: hyperparameter 'x': 1.5 is outside"),
    ([{'x': 0.5, 'act': 'tanh'}], r"points_to_evaluate\[0\]: .*'n' is "
                                   'missing'),
    ([POINTS[0], POINTS[1], {'x': 0.5, 'n': 2, 'act': 'tanh', 'lr': 1}],
     r"points_to_evaluate\[2\]: unknown hyperparameters \['lr'\]"),
    ([{'x': 0.5, 'n': 2, 'act': 'gelu'}], r"\[0\]: hyperparameter 'act'"),
    ([['x', 0.5]], r'\[0\]: a configuration must be a dict'),
], ids=['a-dict', 'outside', 'missing', 'unknown', 'bad-choice', 'a-list'])
def test_bad_start_points_are_refused_at_construction(name, points, pattern):
    with pytest.raises(ValueError, match=pattern):
        FACTORIES[name](points_to_evaluate=points)


# ------------------------------------------------------------ warm starts
def warm_pairs(k, seed=1):
    searcher = d2lhpo.RandomSearcher(SPACE, seed=seed)
    configs = [searcher.sample_configuration(i) for i in range(k)]
    return [(c, objective(**c)) for c in configs]


def count_model_proposals(searcher):
    calls = []
    propose = searcher.propose

    def counting(*args, **kwargs):
        calls.append(1)
        return propose(*args, **kwargs)
    searcher.propose = counting
    return calls


@pytest.mark.parametrize('name', MODEL_BASED)
def test_warm_start_skips_the_part_of_the_initial_design_it_covers(name):
    searcher = FACTORIES[name](num_init=5).warm_start(warm_pairs(3))
    assert len(searcher.y) == 3 and searcher.num_init == 2
    calls = count_model_proposals(searcher)
    design = list(searcher.design)
    first = [searcher.sample_configuration(i) for i in range(2)]
    assert not calls  # two design points ...
    assert first == [searcher.encoder.decode(u) for u in design[:2]]
    searcher.sample_configuration(2)
    assert len(calls) == 1  # ... then the model


@pytest.mark.parametrize('name', MODEL_BASED)
def test_start_points_and_warm_start_both_count_towards_the_design(name):
    searcher = FACTORIES[name](num_init=5, points_to_evaluate=POINTS[:1])
    searcher.warm_start(warm_pairs(2))
    calls = count_model_proposals(searcher)
    configs = [searcher.sample_configuration(i) for i in range(3)]
    assert configs[0] == EXPECTED[0] and not calls  # a point, 2 design
    searcher.sample_configuration(3)
    assert len(calls) == 1


@pytest.mark.parametrize('name', MODEL_BASED)
def test_more_warm_results_than_the_design_go_straight_to_the_model(name):
    searcher = FACTORIES[name](num_init=4).warm_start(warm_pairs(12))
    calls = count_model_proposals(searcher)
    searcher.sample_configuration(0)
    assert len(calls) == 1 and searcher.num_init == 0


def test_warm_started_bo_uses_the_data():
    # 1-d quadratic with its minimum at 0.3: eight results around it
    space = {'x': stats.uniform(0, 1)}
    xs = [0.0, 0.1, 0.2, 0.28, 0.35, 0.5, 0.7, 0.9]
    data = [({'x': x}, (x - 0.3) ** 2) for x in xs]
    warm = d2lhpo.BayesOptSearcher(space, seed=0, num_init=4,
                                   acquisition='lcb', kappa=0.1)
    warm.warm_start(data)
    first = warm.sample_configuration(0)['x']
    assert abs(first - 0.3) < 0.05
    X, y = warm.observed()
    np.testing.assert_allclose(X[:, 0], xs)
    np.testing.assert_allclose(y, [(x - 0.3) ** 2 for x in xs])


def test_warm_started_tpe_samples_near_the_good_results():
    space = {'x': stats.uniform(0, 1)}
    rng = np.random.default_rng(0)
    xs = rng.uniform(size=40)
    data = [({'x': float(x)}, float((x - 0.8) ** 2)) for x in xs]
    searcher = d2lhpo.TPESearcher(space, seed=0).warm_start(data)
    proposals = [searcher.sample_configuration(i)['x'] for i in range(5)]
    assert all(abs(x - 0.8) < 0.15 for x in proposals)


def test_warm_start_from_a_records_table_in_either_direction():
    def accuracy(x, n, act, num_epochs):
        return {'accuracy': 1 - objective(x, n, act, num_epochs)}
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(FACTORIES['random']()),
                            accuracy, metric='accuracy', mode='max')
    tuner.run(number_of_trials=4)
    table = tuner.records_table()
    searcher = FACTORIES['bo']().warm_start(table, 'accuracy', 'max')
    np.testing.assert_allclose(searcher.y, -table['accuracy'].to_numpy())
    np.testing.assert_allclose(
        searcher.observed()[0],
        [searcher.encoder.encode(r.config) for r in tuner.records])
    # min: as reported
    searcher = FACTORIES['tpe']().warm_start(table, metric='accuracy')
    np.testing.assert_allclose(searcher.y, table['accuracy'].to_numpy())


def test_warm_start_leaves_failed_trials_out():
    pairs = warm_pairs(3)
    pairs[1] = (pairs[1][0], float('nan'))
    pairs.append((POINTS[0], None))
    table = pd.DataFrame([dict(c, error=v) for c, v in pairs])
    for data in (pairs, table):
        searcher = FACTORIES['rf'](num_init=5).warm_start(data)
        assert len(searcher.y) == 2 and searcher.num_init == 3


@pytest.mark.parametrize('data, pattern', [
    (pd.DataFrame({'x': [0.5], 'n': [2], 'act': ['relu'], 'loss': [1.0]}),
     "no column 'error'"),
    ({'x': 0.5}, 'must be a table'),
    ([({'x': 0.5, 'n': 2, 'act': 'relu'}, 1.0, 3)], r'data\[0\] must be a '
                                                    r'\(config, value\)'),
    ([(POINTS[0], 1.0), ({'x': 2.0, 'n': 2, 'act': 'relu'}, 1.0)],
     r"data\[1\]: hyperparameter 'x'"),
    ([(POINTS[0], 'low')], r'data\[0\]: the value must be a number'),
], ids=['no-metric-column', 'not-a-table', 'not-a-pair', 'outside',
        'not-a-number'])
def test_bad_warm_start_data_is_refused(data, pattern):
    searcher = FACTORIES['tpe']()
    with pytest.raises(ValueError, match=pattern):
        searcher.warm_start(data)
    assert searcher.y == [] and searcher.num_init == 10


def test_warm_start_checks_the_direction():
    with pytest.raises(ValueError, match='mode'):
        FACTORIES['bo']().warm_start(warm_pairs(2), mode='maximize')
