"""Arguments and names checked up front (issue 13): every constructor and
run budget refuses a bad argument when it is called, with an error that
names the argument, instead of failing or misbehaving mid-run."""
import math
import time

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import (ASHAScheduler, BasicScheduler, BayesOptSearcher,
                    GridSearcher, HPOTuner, MedianStoppingRule,
                    MultiFidelityTPESearcher, RandomSearcher, RFSearcher,
                    SchedulerWrapper, SimulatedBackend, SynchronousScheduler,
                    TabularBenchmark, TPESearcher, parse_config_space)

SPACE = {'x': stats.uniform(0, 1), 'act': ['relu', 'tanh']}


def searcher():
    return RandomSearcher(SPACE, seed=0)


def raises(exc, pattern, make):
    with pytest.raises(exc, match=pattern):
        make()


# ------------------------------------------------------------ the checkers
def test_check_number_bounds_nan_bool_and_none():
    assert d2lhpo.check_number('kappa', 2, minimum=0) == 2.0
    assert d2lhpo.check_number('kappa', None, allow_none=True) is None
    for bad in (math.nan, math.inf, True, '1', None, -1, 11):
        raises(ValueError, 'kappa', lambda: d2lhpo.check_number(
            'kappa', bad, minimum=0, maximum=10))


def test_check_fraction_is_an_open_interval():
    assert d2lhpo.check_fraction('gamma', 0.25) == 0.25
    for bad in (0, 1, 1.5, -0.1, math.nan, True):
        raises(ValueError, r'gamma must be a number in \(0, 1\)',
               lambda: d2lhpo.check_fraction('gamma', bad))


def test_check_seed_and_check_flag():
    assert d2lhpo.check_seed('seed', None) is None
    assert d2lhpo.check_seed('seed', np.int64(3)) == 3
    for bad in (True, -1, 1.5, 'a'):
        raises(ValueError, 'seed', lambda: d2lhpo.check_seed('seed', bad))
    assert d2lhpo.check_flag('shuffle', np.bool_(True)) is True
    for bad in (1, 'yes', None):
        raises(ValueError, 'shuffle', lambda: d2lhpo.check_flag('shuffle',
                                                                bad))


def test_check_component_accepts_duck_types_and_names_the_argument():
    class Duck:  # not a subclass of HPOSearcher, but has its methods
        def sample_configuration(self, trial_id):
            return {}

        def update(self, trial_id, config, error, result=None):
            pass
    BasicScheduler(Duck())
    raises(TypeError, 'searcher.*sample_configuration',
           lambda: BasicScheduler(BasicScheduler(searcher())))
    raises(TypeError, 'searcher', lambda: BasicScheduler(3))
    raises(TypeError, 'scheduler.*suggest', lambda: SchedulerWrapper(3))
    raises(TypeError, 'scheduler.*suggest',
           lambda: HPOTuner(searcher(), lambda x: x))
    raises(TypeError, 'objective', lambda: HPOTuner(
        BasicScheduler(searcher()), 3))
    raises(TypeError, 'backend', lambda: d2lhpo.AsyncTuner(
        BasicScheduler(searcher()), 3))
    raises(TypeError, 'scheduler', lambda: MedianStoppingRule(searcher()))


# ------------------------------------------------------------ constructors
BAD_CONSTRUCTORS = {
    'median min_trials=0': (lambda: MedianStoppingRule(
        BasicScheduler(searcher()), min_trials=0), 'min_trials'),
    'sync batch_size=0': (lambda: SynchronousScheduler(
        BasicScheduler(searcher()), 0), 'batch_size'),
    'bo kappa nan': (lambda: BayesOptSearcher(SPACE, kappa=math.nan),
                     'kappa'),
    'bo kappa negative': (lambda: BayesOptSearcher(SPACE, kappa=-1),
                          'kappa'),
    'bo num_random=0': (lambda: BayesOptSearcher(SPACE, num_random=0),
                        'num_random'),
    'bo num_starts=0': (lambda: BayesOptSearcher(SPACE, num_starts=0),
                        'num_starts'),
    'bo seed=True': (lambda: BayesOptSearcher(SPACE, seed=True), 'seed'),
    'bo num_init=2.5': (lambda: BayesOptSearcher(SPACE, num_init=2.5),
                        'num_init'),
    'tpe gamma=0': (lambda: TPESearcher(SPACE, gamma=0), 'gamma'),
    'tpe gamma=1': (lambda: TPESearcher(SPACE, gamma=1), 'gamma'),
    'tpe gamma=1.5': (lambda: TPESearcher(SPACE, gamma=1.5), 'gamma'),
    'tpe max_good=0': (lambda: TPESearcher(SPACE, max_good=0), 'max_good'),
    'tpe min_good=0': (lambda: TPESearcher(SPACE, min_good=0), 'min_good'),
    'mftpe min_good=0 (passed on)': (lambda: MultiFidelityTPESearcher(
        SPACE, min_good=0), 'min_good'),
    'tpe num_candidates=0': (lambda: TPESearcher(SPACE, num_candidates=0),
                             'num_candidates'),
    'tpe prior_weight<0': (lambda: TPESearcher(SPACE, prior_weight=-1),
                           'prior_weight'),
    'rf num_trees=0': (lambda: RFSearcher(SPACE, num_trees=0), 'num_trees'),
    'rf max_features=0': (lambda: RFSearcher(SPACE, max_features=0),
                          'max_features'),
    'rf min_samples_leaf=0': (lambda: RFSearcher(SPACE, min_samples_leaf=0),
                              'min_samples_leaf'),
    'rf random_fraction=2': (lambda: RFSearcher(SPACE, random_fraction=2),
                             'random_fraction'),
    'rf num_random=0': (lambda: RFSearcher(SPACE, num_random=0),
                        'num_random'),
    'mftpe random_fraction=2': (lambda: MultiFidelityTPESearcher(
        SPACE, random_fraction=2), 'random_fraction'),
    'mftpe min_points=0': (lambda: MultiFidelityTPESearcher(
        SPACE, min_points=0), 'min_points'),
    'mftpe min_level=-1': (lambda: MultiFidelityTPESearcher(
        SPACE, min_level=-1), 'min_level'),
    'mftpe min_level=nan': (lambda: MultiFidelityTPESearcher(
        SPACE, min_level=float('nan')), 'min_level'),
    'mftpe gamma=2 (passed on)': (lambda: MultiFidelityTPESearcher(
        SPACE, gamma=2), 'gamma'),
    'random seed=True': (lambda: RandomSearcher(SPACE, seed=True), 'seed'),
    'random seed=-1': (lambda: RandomSearcher(SPACE, seed=-1), 'seed'),
    'grid seed=True': (lambda: GridSearcher(SPACE, shuffle=True, seed=True),
                       'seed'),
    'grid shuffle="yes"': (lambda: GridSearcher(SPACE, shuffle='yes'),
                           'shuffle'),
    'asha kind': (lambda: ASHAScheduler(searcher(), kind='fast'), 'kind'),
    'asha eta=1': (lambda: ASHAScheduler(searcher(), eta=1), 'eta'),
    'asha r_max=2.5': (lambda: ASHAScheduler(searcher(), r_max=2.5),
                       'r_max'),
    'sh num_configs=0': (lambda: d2lhpo.SuccessiveHalvingScheduler(
        searcher(), num_configs=0), 'num_configs'),
    'hyperband r_min>r_max': (lambda: d2lhpo.HyperbandScheduler(
        searcher(), r_min=9, r_max=3), 'r_min'),
    'median r_min=0': (lambda: MedianStoppingRule(
        BasicScheduler(searcher()), r_min=0), 'r_min'),
    'mf function max_epochs=0': (lambda: d2lhpo.MultiFidelityFunction(
        d2lhpo.BRANIN, max_epochs=0), 'max_epochs'),
    'mf function noise<0': (lambda: d2lhpo.MultiFidelityFunction(
        d2lhpo.BRANIN, noise=-1), 'noise'),
    'mf function epoch_time=0': (lambda: d2lhpo.MultiFidelityFunction(
        d2lhpo.BRANIN, epoch_time=0), 'epoch_time'),
    'board every_n=0': (lambda: d2lhpo.ProgressBoard(every_n=0), 'every_n'),
    'board live=1': (lambda: d2lhpo.ProgressBoard(live=1), 'live'),
    'worker trial_timeout=True': (lambda: d2lhpo.WorkerBackend(
        trial_timeout=True), 'trial_timeout'),
    'local num_threads=0': (lambda: d2lhpo.LocalBackend(
        lambda x: x, num_workers=1, num_threads=0), 'num_threads'),
    'local objective=3': (lambda: d2lhpo.LocalBackend(3, num_workers=1),
                          'objective'),
}


@pytest.mark.parametrize('case', sorted(BAD_CONSTRUCTORS))
def test_bad_constructor_argument_is_refused_naming_it(case):
    make, name = BAD_CONSTRUCTORS[case]
    with pytest.raises((ValueError, TypeError), match=name):
        obj = make()
        getattr(obj, 'close', lambda: None)()  # (a backend that was built)


@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher,
                                 MultiFidelityTPESearcher])
def test_keyword_typos_in_model_based_searchers_are_refused(cls):
    with pytest.raises(TypeError, match='gama|unexpected keyword'):
        cls(SPACE, gama=0.2)


@pytest.fixture(scope='module')
def table():
    return TabularBenchmark()


def test_simulator_arguments_are_checked(table):
    raises(ValueError, 'seed', lambda: SimulatedBackend(table, seed=True))
    raises(ValueError, 'count_overhead',
           lambda: SimulatedBackend(table, count_overhead=2))
    raises(ValueError, 'num_workers',
           lambda: SimulatedBackend(table, num_workers=2.0))


@pytest.mark.parametrize('budget', [
    dict(number_of_trials=2.5), dict(number_of_trials=True),
    dict(max_epochs=0), dict(max_time=True), dict(max_time=math.nan),
    dict(max_time=-1), dict(max_time=math.inf)])
def test_bad_run_budgets_are_refused(table, budget):
    tuner = d2lhpo.AsyncTuner(BasicScheduler(searcher()),
                              SimulatedBackend(table))
    with pytest.raises(ValueError, match=next(iter(budget))):
        tuner.run(**budget)
    assert tuner.records == []  # nothing started


def test_sequential_run_budget_is_checked():
    tuner = HPOTuner(BasicScheduler(searcher()), lambda x, act: x)
    for bad in (2.5, True, 0):
        raises(ValueError, 'number_of_trials', lambda: tuner.run(bad))
    assert tuner.records == []


# ------------------------------------------------------------ domains
@pytest.mark.parametrize('spec, pattern', [
    (stats.randint(0, 10 ** 30), 'exactly'),
    (stats.randint(-10 ** 20, 0), 'exactly'),
    (stats.uniform([0, 1], [1, 2]), 'one real number'),
    (stats.loguniform([1e-3, 1e-2], 1), 'one real number'),
    (stats.uniform(0, 1j), 'real'),
    (math.nan, 'NaN'),
    (1j, 'complex'),
    (np.array([1, 2]), 'array'),
    (stats.loguniform(1e-320, 1), 'log'),
    (stats.loguniform(1e-3, 1e309), 'finite'),
    (stats.uniform(0, np.inf), 'finite'),
])
def test_bad_domains_name_the_hyperparameter(spec, pattern):
    with pytest.raises(ValueError, match=f"'lr'.*{pattern}"):
        parse_config_space({'lr': spec})


@pytest.mark.parametrize('name', ['', 3, None, ('a',)])
def test_empty_or_non_string_names_are_refused(name):
    with pytest.raises(ValueError, match='name'):
        parse_config_space({name: stats.uniform(0, 1)})


def test_large_but_exact_integer_ranges_still_work():
    domain = parse_config_space({'n': stats.randint(0, 2 ** 52)})['n']
    assert domain.high == 2 ** 52 - 1
    assert parse_config_space({'x': np.float64(0.5)})['x'].kind == 'constant'


@pytest.mark.parametrize('name', ['checkpoint', 'error', 'status', 'runtime',
                                  'trial_id', 'config', 'message', 'epoch',
                                  'epochs', 'time', 'worker', 'start_time',
                                  'end_time'])
def test_reserved_names_are_refused(name):
    with pytest.raises(ValueError, match=f"{name!r}.*reserved"):
        parse_config_space({name: stats.uniform(0, 1), 'lr': [0.1]})


def test_reserved_names_cover_what_the_package_adds_to_records():
    tuner = HPOTuner(BasicScheduler(RandomSearcher({'x': [1.0]}, seed=0)),
                     lambda x: x)
    tuner.run(1)
    added = set(tuner.records_table().columns) | set(
        tuner.results_table().columns) | {'checkpoint'}
    assert added - {'x'} <= set(d2lhpo.RESERVED_NAMES)


# ------------------------------------------------------------ grid search
def test_a_huge_grid_is_refused_at_once_with_its_size():
    space = {f'x{i}': stats.uniform(0, 1) for i in range(3)}
    tic = time.perf_counter()
    with pytest.raises(ValueError, match='10{18}|1000000000000000000'):
        GridSearcher(space, num_points=10 ** 6)
    with pytest.raises(ValueError, match='points'):
        GridSearcher({'x': stats.uniform(0, 1)}, num_points=10 ** 12)
    assert time.perf_counter() - tic < 1


def test_a_large_grid_is_enumerated_lazily():
    space = {'x': stats.uniform(0, 1), 'y': stats.uniform(0, 1),
             'a': ['p', 'q']}
    tic = time.perf_counter()
    grid = GridSearcher(space, num_points=700, shuffle=True, seed=0)
    first = [grid.sample_configuration(i) for i in range(5)]
    assert time.perf_counter() - tic < 1.0  # 980,000 points, none built
    assert all(set(c) == {'x', 'y', 'a'} for c in first)
    assert len({tuple(c.values()) for c in first}) == 5


def test_grid_list_is_still_available_for_small_grids():
    grid = GridSearcher({'lr': stats.loguniform(1e-3, 1), 'c': [8, 16]},
                        num_points=3)
    assert len(grid.grid) == 6
    assert grid.grid[1] == {'lr': pytest.approx(1e-3), 'c': 16}
    grid.grid[0]['c'] = 99  # a copy: the searcher is not changed
    assert grid.sample_configuration(0)['c'] == 8


# ------------------------------------------------------------ tables
def write_table(tmp_path, **changes):
    with np.load(d2lhpo.DIGITS_MLP_TABLE) as t:
        arrays = {k: t[k] for k in t.files}
    for key, change in changes.items():
        arrays[key] = change(arrays[key].copy())
    path = tmp_path / 'table.npz'
    np.savez(path, **arrays)
    return str(path)


def set_at(index, value):
    def change(a):
        a[index] = value
        return a
    return change


@pytest.mark.parametrize('changes, field', [
    (dict(val_error=set_at((0, 0, 0), np.nan)), 'val_error'),
    (dict(val_error=set_at((3, 1, 2), -0.5)), 'val_error'),
    (dict(test_error=set_at((0, 0), np.inf)), 'test_error'),
    (dict(seeds=lambda s: np.array([s[0]] * len(s))), 'seeds'),
    (dict(epoch_time=set_at((0, 0, 0), -1.0)), 'epoch_time'),
    (dict(epoch_time=set_at((0, 0, 0), np.nan)), 'epoch_time'),
    (dict(configs=set_at((0, 0), 99)), 'configs'),
    (dict(configs=set_at((0, 0), -1)), 'configs'),
    (dict(configs=set_at(1, [0, 0, 0, 0, 0, 0])), 'configs'),
    (dict(configs=lambda c: c.astype(float) + 0.5), 'configs'),
    (dict(num_params=set_at(0, -3)), 'num_params'),
    (dict(names=lambda n: np.array(['lr'] * len(n))), 'names'),
])
def test_bad_table_values_are_refused_when_loaded(tmp_path, changes, field):
    path = write_table(tmp_path, **changes)
    with pytest.raises(ValueError, match=f'table.npz.*{field}'):
        TabularBenchmark(path)


def test_a_table_may_hold_nan_training_losses(tmp_path):
    # diverged runs have NaN losses in the shipped table: that is data
    path = write_table(tmp_path, train_loss=set_at((0, 0, 0), np.nan))
    assert len(TabularBenchmark(path).grid) > 0
