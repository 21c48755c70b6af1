"""Conditional spaces (issue 16): `d2lhpo.Conditional`, parsing errors,
configurations without inactive hyperparameters in every searcher, the
tree-structured grid, imputation in `SpaceEncoder` and TPE's densities
fitted only where a hyperparameter is active."""
import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import Conditional

# width3 exists only when depth is 3; act3 only when width3 is 8 or 64
# (nested); width2 when depth is 2 or 3. The child comes before its parent
# in the dict: parsing puts parents first.
SPACE = {'act3': Conditional(['relu', 'tanh'], 'width3', [8, 64]),
         'depth': [1, 2, 3],
         'width3': Conditional(d2lhpo.loguniform_int(8, 64), 'depth', [3]),
         'width2': Conditional(stats.randint(4, 17), 'depth', [2, 3]),
         'lr': stats.loguniform(1e-3, 1)}


def expected_names(config):
    """The hyperparameters that must be in `config`, by its values."""
    names = {'depth', 'lr'}
    if config['depth'] >= 2:
        names.add('width2')
    if config['depth'] == 3:
        names.add('width3')
        if config['width3'] in (8, 64):
            names.add('act3')
    return names


def objective(depth, lr, width2=None, width3=None, act3=None):
    config = {'depth': depth, 'lr': lr, 'width2': width2, 'width3': width3,
              'act3': act3}
    config = {k: v for k, v in config.items() if v is not None}
    assert set(config) == expected_names(config), config  # never inactive
    return (np.log10(lr) + 2) ** 2 + (abs(width3 - 8) / 64 if depth == 3
                                      else 0)


FACTORIES = {
    'random': lambda: d2lhpo.RandomSearcher(SPACE, seed=0),
    'grid': lambda: d2lhpo.GridSearcher(SPACE, num_points=3, shuffle=True,
                                        seed=0),
    'bo': lambda: d2lhpo.BayesOptSearcher(SPACE, seed=0, num_random=64),
    'tpe': lambda: d2lhpo.TPESearcher(SPACE, seed=0),
    'rf': lambda: d2lhpo.RFSearcher(SPACE, seed=0, num_random=64),
}


def test_parsing_puts_parents_first_and_keeps_the_conditions():
    domains = d2lhpo.parse_config_space(SPACE)
    assert list(domains) == ['depth', 'width3', 'act3', 'width2', 'lr']
    assert domains['width3'].parent == 'depth'
    assert domains['width3'].parent_values == (3,)
    assert domains['act3'].parent == 'width3'
    assert domains['depth'].parent is None
    # the repr of an unconditional domain is the same as before
    assert 'parent' not in repr(domains['lr'])
    # no conditions: the order of the space is kept
    plain = {'b': [1, 2], 'a': stats.uniform(0, 1)}
    assert list(d2lhpo.parse_config_space(plain)) == ['b', 'a']


@pytest.mark.parametrize('space, message', [
    ({'x': [1, 2], 'y': Conditional([1, 2], 'z', [1])},
     "parent 'z' is not in the space"),
    ({'x': [1, 2], 'y': Conditional([1, 2], 'x', [3])},
     "condition values [3] are outside the domain of 'x'"),
    ({'x': stats.randint(1, 4), 'y': Conditional([1, 2], 'x', [1.5])},
     'outside the domain'),
    ({'x': [1, 2], 'y': Conditional([1, 2], 'x', [])},
     'must be a non-empty list'),
    ({'x': [1, 2], 'y': Conditional([1, 2], 'x', 1)},
     'must be a non-empty list'),
    ({'y': Conditional([1, 2], 'y', [1])},
     'must be the name of another hyperparameter'),
    ({'x': [1, 2], 'y': Conditional(Conditional([1, 2], 'x', [1]), 'x', [1])},
     'not one inside another'),
    ({'a': Conditional([1, 2], 'b', [1]), 'b': Conditional([1, 2], 'c', [1]),
      'c': Conditional([1, 2], 'a', [2])},
     'the conditions form a cycle: a -> b -> c -> a'),
    ({'x': [1, 2], 'y': Conditional(stats.uniform(1, -1), 'x', [1])},
     "hyperparameter 'y'"),
])
def test_bad_conditions_are_clear_errors(space, message):
    with pytest.raises(ValueError) as info:
        d2lhpo.parse_config_space(space)
    assert message in str(info.value)


def test_a_bool_condition_does_not_match_an_integer():
    domains = d2lhpo.parse_config_space(
        {'x': [True, 1], 'y': Conditional([1, 2], 'x', [1])})
    assert not d2lhpo.active(domains['y'], {'x': True})
    assert d2lhpo.active(domains['y'], {'x': 1})
    assert not d2lhpo.active(domains['y'], {})


def test_check_config_refuses_inactive_and_requires_active():
    domains = d2lhpo.parse_config_space(SPACE)
    assert d2lhpo.check_config(domains, {'depth': 1, 'lr': 0.1}) == {
        'depth': 1, 'lr': 0.1}
    with pytest.raises(ValueError, match="'width3' is inactive"):
        d2lhpo.check_config(domains, {'depth': 2, 'lr': 0.1, 'width2': 4,
                                      'width3': 8})
    with pytest.raises(ValueError, match="'width3' is missing"):
        d2lhpo.check_config(domains, {'depth': 3, 'lr': 0.1, 'width2': 4})
    with pytest.raises(ValueError, match="'act3' is inactive"):  # nested
        d2lhpo.check_config(domains, {'depth': 3, 'lr': 0.1, 'width2': 4,
                                      'width3': 9, 'act3': 'relu'})
    with pytest.raises(ValueError, match='points_to_evaluate'):
        d2lhpo.RandomSearcher(SPACE, points_to_evaluate=[
            {'depth': 1, 'lr': 0.1, 'width2': 4}])


def test_sampled_configs_hold_exactly_the_active_hyperparameters():
    domains = d2lhpo.parse_config_space(SPACE)
    rng = np.random.default_rng(0)
    configs = [d2lhpo.sample_config(domains, rng) for _ in range(300)]
    for config in configs:
        assert set(config) == expected_names(config)
        assert d2lhpo.check_config(domains, config) == config
    seen = {frozenset(c) for c in configs}
    assert len(seen) == 4  # depth 1, 2, 3 without and with act3


@pytest.mark.parametrize('name', FACTORIES)
def test_no_inactive_value_reaches_the_objective(name):
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(FACTORIES[name]()),
                            objective)
    tuner.run(number_of_trials=16)
    configs = [r.config for r in tuner.records]
    assert len(configs) == 16 and all(r.status == 'completed'
                                      for r in tuner.records)
    for config in configs:
        assert set(config) == expected_names(config)
    assert {c['depth'] for c in configs} == {1, 2, 3}


def test_grid_is_a_tree_without_repeats():
    searcher = d2lhpo.GridSearcher(SPACE, num_points=3)
    grid = searcher.grid
    # lr 3 values; depth 1: 1, depth 2: width2 3, depth 3: width2 3 times
    # width3 3 values (8, 23, 64), of which 8 and 64 have act3 2 values.
    expected = 3 * (1 + 3 + 3 * (2 + 1 + 2))
    assert searcher.size == len(grid) == expected
    keys = {tuple(sorted(c.items())) for c in grid}
    assert len(keys) == expected
    for config in grid:
        assert set(config) == expected_names(config)
    shuffled = d2lhpo.GridSearcher(SPACE, num_points=3, shuffle=True, seed=1)
    configs = []
    while (config := shuffled.sample_configuration(len(configs))) is not None:
        configs.append(config)
    assert sorted(map(repr, configs)) == sorted(map(repr, grid))


def test_grid_without_conditions_is_the_mixed_radix_product():
    searcher = d2lhpo.GridSearcher({'a': [1, 2], 'b': ['x', 'y', 'z'],
                                    'c': 7}, num_points=3)
    assert searcher.size == 6
    assert searcher.grid == [{'a': a, 'b': b, 'c': 7}
                             for a in (1, 2) for b in 'xyz']


def test_equal_active_parts_encode_equally_and_decode_drops_inactive():
    domains = d2lhpo.parse_config_space(SPACE)
    encoder = d2lhpo.SpaceEncoder(domains)
    u = encoder.encode({'depth': 1, 'lr': 0.1})
    j = {p[0]: (p[2], p[3]) for p in encoder.parts}
    for name in ('width3', 'act3', 'width2'):
        assert not u[j[name][0]:j[name][0] + j[name][1]].any()
    rng = np.random.default_rng(0)
    for _ in range(50):  # random values in the inactive columns
        v = u.copy()
        for name in ('width3', 'act3', 'width2'):
            v[j[name][0]:j[name][0] + j[name][1]] = rng.uniform(
                size=j[name][1])
        assert np.array_equal(encoder.snap(v[None])[0], u)
        assert encoder.decode(v) == {'depth': 1, 'lr': pytest.approx(0.1)}
    for _ in range(50):  # any point decodes to a valid configuration
        config = encoder.decode(rng.uniform(size=encoder.dim))
        assert d2lhpo.check_config(domains, config) == config
        assert np.array_equal(encoder.encode(config),
                              encoder.snap(encoder.encode(config)[None])[0])


def test_unconditional_encoding_is_unchanged():
    domains = d2lhpo.parse_config_space({'lr': stats.loguniform(1e-3, 1),
                                         'act': ['a', 'b'], 'n': 4})
    encoder = d2lhpo.SpaceEncoder(domains)
    u = encoder.encode({'lr': 0.01, 'act': 'b', 'n': 4})
    assert np.allclose(u, [1 / 3, 0, 1])
    assert encoder.decode(u) == {'lr': pytest.approx(0.01), 'act': 'b',
                                 'n': 4}


def test_tpe_fits_a_child_only_where_it_is_active():
    # The child's good value (w = 0.9) shows only when it is active (b = 1);
    # in the inactive trials (b = 0) it would carry no information.
    space = {'b': [0, 1], 'w': Conditional(stats.uniform(0, 1), 'b', [1])}
    domains = d2lhpo.parse_config_space(space)
    encoder = d2lhpo.SpaceEncoder(domains)
    rows = [{'b': 1, 'w': w} for w in (0.88, 0.9, 0.92)]
    rows += [{'b': 0}] * 20
    U = np.array([encoder.encode(c) for c in rows])
    density = d2lhpo.TreeParzenEstimator(encoder, U)
    (part, child), = density.children
    assert part[0] == 'w' and child.mus.shape == (4, 1)  # 3 rows + prior
    assert np.allclose(child.mus[:3, 0], [0.88, 0.9, 0.92])
    # samples: w near 0.9 when drawn; b = 0 rows have no w (all zero)
    V = density.sample(np.random.default_rng(0), 400)
    configs = [encoder.decode(v) for v in V]
    ws = [c['w'] for c in configs if c['b'] == 1]
    assert all(set(c) == ({'b', 'w'} if c['b'] == 1 else {'b'})
               for c in configs)
    assert np.mean(np.array(ws) > 0.5) > 0.75  # imputed zeros: none
    # the log density of an inactive point has no term of w
    log_p = density.log_pdf(encoder.encode({'b': 0})[None])
    assert np.allclose(log_p, density.root.log_pdf(
        encoder.encode({'b': 0})[None]))


def test_tpe_learns_the_child_from_active_trials_only():
    space = {'b': [0, 1], 'w': Conditional(stats.uniform(0, 1), 'b', [1])}

    def f(b, w=None):
        return 0.5 if b == 0 else abs(w - 0.8)

    searcher = d2lhpo.TPESearcher(space, seed=0)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), f)
    tuner.run(number_of_trials=40)
    late = [r.config for r in tuner.records[-15:]]
    assert sum(c['b'] == 1 for c in late) >= 12
    assert np.median([c['w'] for c in late if c['b'] == 1]) == \
        pytest.approx(0.8, abs=0.1)
    assert tuner.incumbent_error < 0.05


def test_unconditional_tpe_is_the_plain_parzen_estimator():
    domains = d2lhpo.parse_config_space({'x': stats.uniform(0, 1),
                                         'c': ['a', 'b', 'c']})
    encoder = d2lhpo.SpaceEncoder(domains)
    U = encoder.snap(np.random.default_rng(1).uniform(size=(8, encoder.dim)))
    tree = d2lhpo.TreeParzenEstimator(encoder, U)
    plain = d2lhpo.ParzenEstimator(encoder, U)
    assert not tree.children
    V = plain.sample(np.random.default_rng(2), 20)
    assert np.array_equal(tree.sample(np.random.default_rng(2), 20), V)
    assert np.allclose(tree.log_pdf(V), plain.log_pdf(V))


def test_warm_start_from_a_records_table_with_inactive_columns():
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(FACTORIES['random']()),
                            objective)
    tuner.run(number_of_trials=12)
    table = tuner.records_table()
    assert table['width3'].isna().any()  # inactive in some trials
    configs, errors = d2lhpo.warm_start_data(
        table, d2lhpo.parse_config_space(SPACE))
    assert configs == [r.config for r in tuner.records]
    assert errors == pytest.approx([r.error for r in tuner.records])
    searcher = d2lhpo.TPESearcher(SPACE, seed=1)
    searcher.warm_start(table)
    config = searcher.sample_configuration(0)
    assert set(config) == expected_names(config)


@pytest.mark.parametrize('searcher', FACTORIES)
def test_tune_with_asha_keeps_inactive_values_out(searcher):
    def learning_curve(depth, lr, epochs=3, width2=None, width3=None,
                       act3=None):
        for epoch in range(1, epochs + 1):
            yield objective(depth, lr, width2, width3, act3) + 1 / epoch

    tuner = d2lhpo.tune(learning_curve, SPACE, searcher=searcher,
                        scheduler='asha', r_max=3, seed=0,
                        number_of_trials=10, verbose=False)
    assert len(tuner.records) == 10
    assert all(set(r.config) == expected_names(r.config)
               for r in tuner.records)


# one float per branch: the product of all axes counts 3 * n**3 points, the
# tree only 3 * n (the other branches' floats are inactive)
BRANCHES = {'model': ['a', 'b', 'c'],
            'x': Conditional(stats.uniform(0, 1), 'model', ['a']),
            'y': Conditional(stats.uniform(0, 1), 'model', ['b']),
            'z': Conditional(stats.loguniform(1e-3, 1), 'model', ['c'])}


def test_grid_cap_counts_the_tree_not_the_product_of_all_axes():
    domains = d2lhpo.parse_config_space(BRANCHES)
    n = 1000  # the product, 3 * 10**9, is far over MAX_GRID_POINTS
    assert 3 * n ** 3 > d2lhpo.MAX_GRID_POINTS >= 3 * n
    assert d2lhpo.grid_sizes(domains, n) == dict.fromkeys(domains, n)
    searcher = d2lhpo.GridSearcher(BRANCHES, num_points=n)
    assert searcher.size == 3 * n
    assert searcher.tree.point(3 * n - 1) == {'model': 'c', 'z': 1.0}
    # over the cap: the tree has 3 * 400_000 leaves, which is refused
    axes = {name: d.grid(400_000) for name, d in domains.items()}
    assert d2lhpo.GridTree(domains, axes).size == 1_200_000
    with pytest.raises(ValueError, match=r'would have more than 1000000 '
                       r'points .*; at most .*lower num_points or use '
                       r'random search'):
        d2lhpo.grid_sizes(domains, 400_000)
    # a dict of sizes: the cap is on the tree with those sizes
    assert d2lhpo.grid_sizes(domains, {'x': 10 ** 6 - 2, 'y': 1}, default=1)[
        'x'] == 10 ** 6 - 2
    with pytest.raises(ValueError, match=r'would have more than 1000000 '):
        d2lhpo.grid_sizes(domains, {'x': 10 ** 6, 'y': 1}, default=1)


class CountingTree(d2lhpo.GridTree):
    """A GridTree that counts the calls of `count`."""
    calls = 0

    def count(self, *args):
        CountingTree.calls += 1
        return super().count(*args)


def parents_and_floats(p):
    """p categoricals of 10 choices, each the parent of a float that is
    active for half of them: 10**p combinations of parent values."""
    space = {f'c{i}': list(range(10)) for i in range(p)}
    space.update({f'x{i}': Conditional(stats.uniform(0, 1), f'c{i}',
                                       [0, 1, 2, 3, 4]) for i in range(p)})
    return d2lhpo.parse_config_space(space)


def test_grid_count_stops_at_its_limit():
    # exact below the limit, and the same with or without it
    domains = parents_and_floats(2)
    axes = {name: d.grid(5) for name, d in domains.items()}
    exact = (5 * 5 + 5) ** 2  # per parent: 5 values with x active, 5 not
    assert d2lhpo.GridTree(domains, axes).size == exact
    assert d2lhpo.GridTree(domains, axes, limit=exact).size == exact
    assert d2lhpo.GridTree(domains, axes, limit=exact - 1).size == exact
    # 10**7 parent combinations: counting them all took about two minutes;
    # the cache (by activity) and the limit make it a few hundred calls
    domains = parents_and_floats(7)
    for num_points, limit in [(5, 1000), (1, 1000), (1, 10 ** 6)]:
        axes = {name: d.grid(num_points) for name, d in domains.items()}
        CountingTree.calls = 0
        tree = CountingTree(domains, axes, limit=limit)
        assert tree.size == limit + 1 and CountingTree.calls < 2000, (
            num_points, limit, CountingTree.calls)
    with pytest.raises(ValueError, match=r'would have more than 1000000 '):
        d2lhpo.grid_sizes(domains, 5)


def test_grid_refuses_an_axis_too_long_to_lay_out():
    domains = d2lhpo.parse_config_space(BRANCHES)
    # refused before np.linspace would allocate 10**12 floats
    with pytest.raises(ValueError,
                       match=r"'x' alone would have 10{12} grid values"):
        d2lhpo.grid_sizes(domains, {'x': 10 ** 12})


def test_tree_count_of_a_nested_space_matches_its_points():
    # SPACE with 10 points per axis: the count, computed without listing,
    # equals the number of distinct points listed
    searcher = d2lhpo.GridSearcher(SPACE, num_points=10)
    grid = searcher.grid
    assert len({repr(sorted(c.items())) for c in grid}) == searcher.size
    # lr 10; depth 1: 1; depth 2: width2 10 (4..16 has 13 values); depth 3:
    # width2 10 times width3's axis, where 8 and 64 carry act3's 2 choices
    width3 = d2lhpo.parse_config_space(SPACE)['width3'].grid(10)
    assert searcher.size == 10 * (1 + 10 + 10 * (len(width3) + 2))
