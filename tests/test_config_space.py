"""Configuration spaces (parse_config_space, make_domain, Domain,
sample_config, CNN_SPACE) and the argument checks check_integer and
check_positive."""
import math

import numpy as np
import pytest
from scipy import stats

from d2lhpo import (CNN_SPACE, Domain, check_integer, check_positive,
                    make_domain, parse_config_space, sample_config)


# ------------------------------------------------------------ make_domain
def test_uniform_becomes_linear_float_domain_from_loc_to_loc_plus_scale():
    d = make_domain('momentum', stats.uniform(0.1, 0.8))
    assert d.name == 'momentum'
    assert d.kind == 'float'
    assert d.low == pytest.approx(0.1) and d.high == pytest.approx(0.9)
    assert d.log is False


def test_uniform_given_by_keywords_is_parsed_like_positional():
    assert make_domain('x', stats.uniform(loc=2, scale=3)) == \
        make_domain('x', stats.uniform(2, 3))


def test_uniform_without_arguments_is_the_unit_interval():
    d = make_domain('x', stats.uniform())
    assert (d.low, d.high) == (0.0, 1.0)


def test_loguniform_becomes_log_scaled_float_domain():
    d = make_domain('lr', stats.loguniform(1e-4, 10))
    assert (d.kind, d.low, d.high, d.log) == ('float', 1e-4, 10.0, True)
    assert make_domain('lr', stats.loguniform(a=1e-4, b=10)) == d


def test_reciprocal_is_accepted_as_loguniform():
    d = make_domain('lr', stats.reciprocal(1e-3, 1))
    assert d.log and (d.low, d.high) == (1e-3, 1.0)


def test_randint_becomes_int_domain_with_inclusive_upper_bound():
    d = make_domain('batch_size', stats.randint(8, 129))
    assert (d.kind, d.low, d.high, d.log) == ('int', 8, 128, False)
    assert isinstance(d.low, int) and isinstance(d.high, int)


def test_randint_with_loc_shifts_the_range():
    d = make_domain('k', stats.randint(0, 5, loc=10))
    assert (d.low, d.high) == (10, 14)


def test_randint_with_a_single_value_is_accepted():
    # stats.randint(5, 6) draws only 5: a valid (if degenerate) range whose
    # bounds are neither reversed nor empty.
    d = make_domain('k', stats.randint(5, 6))
    assert d.contains(5)
    assert d.sample(np.random.default_rng(0)) == 5


@pytest.mark.parametrize('choices', [['relu', 'tanh'], ('a', 'b', 'c'),
                                     [8, 16, 32]])
def test_list_or_tuple_becomes_categorical_domain(choices):
    d = make_domain('act', choices)
    assert d.kind == 'categorical'
    assert d.choices == tuple(choices)


@pytest.mark.parametrize('value', [10, 0.5, 'relu', True, np.float64(2.5)])
def test_plain_value_becomes_constant_domain(value):
    d = make_domain('c', value)
    assert d.kind == 'constant'
    assert d.choices == (value,)
    assert d.sample(np.random.default_rng(0)) == value


# ---------------------------------------------------------- bad domains
@pytest.mark.parametrize('spec', [
    stats.uniform(1, -1),          # upper bound below lower
    stats.uniform(1, 0),           # empty range
    stats.loguniform(1, 0.5),      # reversed
    stats.loguniform(2, 2),        # empty
    stats.randint(5, 5),           # no integer at all
    stats.randint(5, 2),           # reversed
], ids=['uniform-neg-scale', 'uniform-zero-scale', 'loguniform-reversed',
        'loguniform-empty', 'randint-empty', 'randint-reversed'])
def test_reversed_or_empty_range_raises_naming_the_hyperparameter(spec):
    with pytest.raises(ValueError, match="'learning_rate'"):
        make_domain('learning_rate', spec)


@pytest.mark.parametrize('spec', [stats.loguniform(0, 1),
                                  stats.loguniform(-1, 1)])
def test_log_scale_with_bound_not_above_zero_raises(spec):
    with pytest.raises(ValueError, match="'learning_rate'.*> 0"):
        make_domain('learning_rate', spec)


def test_infinite_bound_raises():
    with pytest.raises(ValueError, match="'wd'"):
        make_domain('wd', stats.uniform(0, np.inf))


def test_loguniform_with_loc_or_scale_raises():
    with pytest.raises(ValueError, match="'lr'"):
        make_domain('lr', stats.loguniform(1e-3, 1, loc=1))


@pytest.mark.parametrize('spec', [[], ()])
def test_empty_categorical_raises_naming_the_hyperparameter(spec):
    with pytest.raises(ValueError, match="'activation'.*empty"):
        make_domain('activation', spec)


@pytest.mark.parametrize('spec', [stats.norm(0, 1), {'low': 0, 'high': 1},
                                  None, object()],
                         ids=['norm', 'dict', 'None', 'object'])
def test_unsupported_domain_type_raises_naming_the_hyperparameter(spec):
    with pytest.raises(ValueError, match="'dropout'.*unsupported"):
        make_domain('dropout', spec)


def test_parse_config_space_reports_the_bad_hyperparameter_among_good_ones():
    with pytest.raises(ValueError, match="'momentum'"):
        parse_config_space({'lr': stats.loguniform(1e-3, 1),
                            'momentum': stats.uniform(1, -1)})


@pytest.mark.parametrize('space', [{}, None, [('lr', 0.1)], 'lr',
                                   stats.uniform(0, 1)],
                         ids=['empty', 'None', 'list', 'str', 'dist'])
def test_empty_or_non_dict_space_raises(space):
    with pytest.raises(ValueError, match='non-empty dict'):
        parse_config_space(space)


@pytest.mark.parametrize('name', [1, None, ('lr',)])
def test_non_string_hyperparameter_name_raises(name):
    with pytest.raises(ValueError, match='must be strings'):
        parse_config_space({name: stats.uniform(0, 1)})


def test_parse_config_space_returns_domains_in_the_order_of_the_space():
    space = {'lr': stats.loguniform(1e-3, 1), 'bs': stats.randint(8, 65),
             'act': ['relu', 'tanh'], 'num_epochs': 10,
             'momentum': stats.uniform(0, 0.9)}
    domains = parse_config_space(space)
    assert list(domains) == list(space)
    assert [d.kind for d in domains.values()] == \
        ['float', 'int', 'categorical', 'constant', 'float']
    assert all(isinstance(d, Domain) and d.name == n
               for n, d in domains.items())


# ---------------------------------------------------------- Domain.sample
def test_float_samples_are_python_floats_within_bounds():
    d = make_domain('x', stats.uniform(-2, 5))
    rng = np.random.default_rng(0)
    values = [d.sample(rng) for _ in range(500)]
    assert all(type(v) is float for v in values)
    assert all(-2 <= v <= 3 for v in values)
    assert max(values) - min(values) > 4  # the whole range is covered


def test_int_samples_are_python_ints_covering_every_value_inclusive():
    d = make_domain('k', stats.randint(3, 7))
    rng = np.random.default_rng(0)
    values = [d.sample(rng) for _ in range(500)]
    assert all(type(v) is int for v in values)
    assert set(values) == {3, 4, 5, 6}


def test_log_scale_samples_are_spread_evenly_on_a_log_scale():
    d = make_domain('lr', stats.loguniform(1e-4, 1))
    rng = np.random.default_rng(0)
    values = np.array([d.sample(rng) for _ in range(2000)])
    assert all(type(v) is float for v in values.tolist())
    assert values.min() >= 1e-4 and values.max() <= 1
    below_midpoint = np.mean(values < math.sqrt(1e-4 * 1))  # 1e-2
    assert 0.45 < below_midpoint < 0.55
    # each decade gets about a quarter of the samples
    decades = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0]
    assert np.all(np.abs(decades / 2000 - 0.25) < 0.05)


def test_linear_scale_samples_are_not_log_spread():
    d = make_domain('lr', stats.uniform(1e-4, 1 - 1e-4))
    rng = np.random.default_rng(0)
    values = np.array([d.sample(rng) for _ in range(2000)])
    assert np.mean(values < 1e-2) < 0.05


def test_categorical_samples_hit_every_choice():
    d = make_domain('act', ['relu', 'tanh', 'gelu'])
    rng = np.random.default_rng(0)
    assert {d.sample(rng) for _ in range(200)} == {'relu', 'tanh', 'gelu'}


# ------------------------------------------------------------ Domain.grid
def test_float_grid_is_evenly_spaced_and_includes_both_bounds():
    grid = make_domain('x', stats.uniform(0, 1)).grid(5)
    assert grid == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert all(type(v) is float for v in grid)


def test_log_grid_is_geometric_and_includes_both_bounds():
    d = make_domain('lr', stats.loguniform(1e-4, 1))
    grid = d.grid(5)
    assert grid == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert all(type(v) is float for v in grid)
    assert all(d.contains(v) for v in grid)


def test_small_int_range_grid_lists_every_integer():
    grid = make_domain('k', stats.randint(2, 6)).grid(10)
    assert grid == [2, 3, 4, 5]
    assert all(type(v) is int for v in grid)


def test_large_int_range_grid_has_at_most_num_points_distinct_ints():
    d = make_domain('bs', stats.randint(8, 129))
    grid = d.grid(4)
    assert grid[0] == 8 and grid[-1] == 128
    assert len(grid) <= 4 and len(set(grid)) == len(grid)
    assert grid == sorted(grid)
    assert all(type(v) is int and d.contains(v) for v in grid)


def test_categorical_and_constant_grids_are_their_choices():
    assert make_domain('a', ['x', 'y', 'z']).grid(2) == ['x', 'y', 'z']
    assert make_domain('c', 7).grid(5) == [7]


def test_single_point_grid_is_the_lower_bound():
    assert make_domain('x', stats.uniform(1, 2)).grid(1) == [1.0]


# -------------------------------------------------------- Domain.contains
def test_float_domain_contains_bounds_and_rejects_outside_values():
    d = make_domain('x', stats.uniform(0, 1))
    assert d.contains(0.0) and d.contains(1.0) and d.contains(0.5)
    assert d.contains(1)  # an int is a real number
    assert not d.contains(-1e-9) and not d.contains(1.0001)
    assert not d.contains('0.5') and not d.contains(None)
    assert not d.contains(math.nan)


def test_int_domain_rejects_non_integers():
    d = make_domain('k', stats.randint(1, 10))
    assert d.contains(1) and d.contains(9) and d.contains(np.int64(5))
    assert not d.contains(10) and not d.contains(0)
    assert not d.contains(5.5) and not d.contains(5.0)


def test_categorical_and_constant_domains_contain_only_their_choices():
    cat = make_domain('act', ['relu', 'tanh'])
    assert cat.contains('relu') and not cat.contains('gelu')
    const = make_domain('num_epochs', 10)
    assert const.contains(10) and not const.contains(11)


# ---------------------------------------------------------- sample_config
SPACE = {'lr': stats.loguniform(1e-4, 1), 'bs': stats.randint(8, 129),
         'momentum': stats.uniform(0, 0.99), 'act': ['relu', 'tanh'],
         'num_epochs': 10}


def test_sample_config_with_same_seed_gives_same_configs():
    domains = parse_config_space(SPACE)
    rng1, rng2 = np.random.default_rng(42), np.random.default_rng(42)
    first = [sample_config(domains, rng1) for _ in range(20)]
    second = [sample_config(domains, rng2) for _ in range(20)]
    assert first == second


def test_sample_config_with_different_seeds_gives_different_configs():
    domains = parse_config_space(SPACE)
    a = sample_config(domains, np.random.default_rng(0))
    b = sample_config(domains, np.random.default_rng(1))
    assert a != b


def test_sample_config_returns_new_dict_with_every_name_in_its_domain():
    domains = parse_config_space(SPACE)
    rng = np.random.default_rng(0)
    a, b = sample_config(domains, rng), sample_config(domains, rng)
    assert a is not b
    for config in (a, b):
        assert list(config) == list(SPACE)
        assert all(domains[n].contains(v) for n, v in config.items())
        assert config['num_epochs'] == 10


# ----------------------------------------------------------- CNN_SPACE
def test_cnn_space_is_the_running_example():
    domains = parse_config_space(CNN_SPACE)
    assert list(domains) == ['lr', 'batch_size', 'channels']
    assert domains['lr'] == Domain('lr', 'float', 1e-3, 1.0, True)
    assert domains['batch_size'] == Domain('batch_size', 'int', 16, 128)
    assert domains['channels'].choices == (8, 16, 32)


def test_extending_cnn_space_leaves_the_saved_space_unchanged():
    space = dict(CNN_SPACE, num_epochs=9)
    assert parse_config_space(space)['num_epochs'].kind == 'constant'
    assert 'num_epochs' not in CNN_SPACE


# -------------------------------------------------------- check_integer
@pytest.mark.parametrize('value', [0, 3, -7, np.int64(5), np.int32(2)])
def test_check_integer_returns_a_python_int(value):
    result = check_integer('num_init', value)
    assert type(result) is int and result == value


@pytest.mark.parametrize('value', [True, False, 2.0, 2.5, '3', None,
                                   math.nan])
def test_check_integer_rejects_bools_and_non_integers(value):
    with pytest.raises(ValueError, match='^num_init must be an integer'):
        check_integer('num_init', value)


def test_check_integer_enforces_the_minimum_and_says_so():
    assert check_integer('num_workers', 1, minimum=1) == 1
    with pytest.raises(ValueError,
                       match=r'^num_workers must be an integer >= 1, got 0$'):
        check_integer('num_workers', 0, minimum=1)
    with pytest.raises(ValueError, match='>= 1, got True'):
        check_integer('num_workers', True, minimum=1)


def test_check_integer_without_minimum_accepts_negative_values():
    assert check_integer('offset', -3) == -3


# ------------------------------------------------------- check_positive
@pytest.mark.parametrize('value', [1, 0.5, 1e-12, np.float32(2.5),
                                   np.int64(3)])
def test_check_positive_returns_a_python_float(value):
    result = check_positive('eta', value)
    assert type(result) is float and result == pytest.approx(float(value))


@pytest.mark.parametrize('value', [0, 0.0, -1, -0.5, True, False, math.nan,
                                   math.inf, -math.inf, np.nan, '1', None])
def test_check_positive_rejects_non_positive_bool_nan_inf_and_none(value):
    with pytest.raises(ValueError,
                       match=r'^eta must be a positive number, got '):
        check_positive('eta', value)


def test_check_positive_allows_none_only_when_asked():
    assert check_positive('max_time', None, allow_none=True) is None
    with pytest.raises(ValueError, match='max_time'):
        check_positive('max_time', None)
    with pytest.raises(ValueError, match='max_time'):
        check_positive('max_time', 0, allow_none=True)
