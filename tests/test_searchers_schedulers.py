"""Searchers and schedulers: one shared contract, then each class's specifics."""
import copy
import itertools
import math
import pickle

import numpy as np
import pytest
from scipy import stats

from d2lhpo import (BasicScheduler, GridSearcher, HPOScheduler, HPOSearcher,
                    RandomSearcher, TrialRecord, parse_config_space)



def make_space():
    """A fresh space with every kind of domain (no objects shared)."""
    return {
        'lr': stats.loguniform(1e-4, 1.0),
        'momentum': stats.uniform(0.0, 0.9),
        'batch_size': stats.randint(16, 20),
        'activation': ['relu', 'tanh'],
        'layers': [[16], [32, 32]],   # categorical with mutable choices
        'num_epochs': 3,              # constant
    }


SPACE = make_space()          # only read, never handed to a searcher
DOMAINS = parse_config_space(make_space())
RESULT = {'error': 0.25, 'epoch': 1, 'time': 0.1}


class Adapter:
    """Gives searchers and schedulers one interface for the contract: a
    scheduler hears about trials through events only."""
    def __init__(self, make, is_scheduler):
        self.make, self.is_scheduler = make, is_scheduler
        self.next_id = {}

    def draw(self, obj):
        trial_id = self.next_id.get(id(obj), 0)
        self.next_id[id(obj)] = trial_id + 1
        return obj.suggest(trial_id) if self.is_scheduler else \
            obj.sample_configuration(trial_id)

    def update(self, obj, trial_id, config, error, result):
        if not self.is_scheduler:
            return obj.update(trial_id, config, error, result)
        trial = TrialRecord(trial_id, config)
        obj.on_trial_start(trial)
        if result is None:
            return obj.on_trial_error(trial, 'boom')
        assert obj.on_trial_result(trial, result) in ('continue', 'stop',
                                                       'pause')
        return obj.on_trial_complete(trial, result)


SEARCHER_FACTORIES = {
    'random': lambda seed: RandomSearcher(make_space(), seed=seed),
    'random-initial': lambda seed: RandomSearcher(
        make_space(), seed=seed, initial_config={
            'lr': 0.1, 'momentum': 0.5, 'batch_size': 17,
            'activation': 'tanh', 'layers': [16]}),
    'grid': lambda seed: GridSearcher(make_space(), num_points=3,
                                      seed=seed),
    'grid-shuffle': lambda seed: GridSearcher(make_space(), num_points=3,
                                              shuffle=True, seed=seed),
}
ADAPTERS = {}
for _name, _make in SEARCHER_FACTORIES.items():
    ADAPTERS[_name] = Adapter(_make, is_scheduler=False)
    ADAPTERS[f'basic({_name})'] = Adapter(
        lambda seed, _make=_make: BasicScheduler(_make(seed)),
        is_scheduler=True)


@pytest.fixture(params=list(ADAPTERS), ids=list(ADAPTERS))
def adapter(request):
    return ADAPTERS[request.param]


def draw_many(adapter, obj, n):
    return [adapter.draw(obj) for _ in range(n)]


def mutate(config):
    """Change a configuration in every way a careless caller might."""
    for value in config.values():
        if isinstance(value, list):
            value.append('MUTATED')
    config['lr'] = -1.0
    config['extra'] = 'MUTATED'


# -------------------------------------------------------------- contract
def test_contract_configs_have_the_space_names_and_in_domain_values(adapter):
    obj = adapter.make(0)
    for config in draw_many(adapter, obj, 25):
        assert isinstance(config, dict)
        assert set(config) == set(SPACE)
        for name, value in config.items():
            assert DOMAINS[name].contains(value), (name, value)
        assert config['num_epochs'] == 3


def test_contract_update_accepts_finite_nan_and_failures(adapter):
    obj = adapter.make(0)
    configs = draw_many(adapter, obj, 3)
    assert adapter.update(obj, 0, configs[0], 0.25, RESULT) is None
    assert adapter.update(obj, 1, configs[1], math.nan, None) is None
    assert adapter.update(obj, 2, configs[2], 0.5,
                          dict(RESULT, error=0.5)) is None
    nxt = adapter.draw(obj)
    assert set(nxt) == set(SPACE)


def test_contract_same_seed_gives_same_sequence(adapter):
    first = draw_many(adapter, adapter.make(7), 20)
    second = draw_many(adapter, adapter.make(7), 20)
    assert first == second


def test_contract_returned_configs_are_fresh_objects(adapter):
    # Mutating what a searcher returned must change neither its later
    # configurations nor its domains (nor the caller's space).
    careless, careful = adapter.make(3), adapter.make(3)
    seen = []
    for _ in range(15):
        config = adapter.draw(careless)
        seen.append(copy.deepcopy(config))
        mutate(config)
    assert seen == draw_many(adapter, careful, 15)
    # and the searcher's own view of the space is intact
    searcher = careless.searcher if adapter.is_scheduler else careless
    assert searcher.domains == DOMAINS


def test_contract_pickled_copy_continues_the_same_sequence(adapter):
    obj = adapter.make(11)
    draw_many(adapter, obj, 3)
    clone = pickle.loads(pickle.dumps(obj))
    assert draw_many(adapter, clone, 10) == draw_many(adapter, obj, 10)


def test_contract_pickle_before_first_draw_keeps_the_whole_sequence(adapter):
    obj = adapter.make(5)
    clone = pickle.loads(pickle.dumps(obj))
    assert draw_many(adapter, clone, 8) == draw_many(adapter, obj, 8)


# ------------------------------------------------------------ base classes
def test_base_searcher_sample_configuration_is_abstract():
    with pytest.raises(NotImplementedError):
        HPOSearcher().sample_configuration(0)


def test_base_searcher_update_is_a_no_op():
    assert HPOSearcher().update(0, {'x': 1}, 0.5, RESULT) is None


def test_base_scheduler_suggest_is_abstract_and_events_default():
    with pytest.raises(NotImplementedError):
        HPOScheduler().suggest(0)
    assert not hasattr(HPOScheduler, 'update')  # events are the channel
    trial = TrialRecord(0, {'x': 1})
    assert HPOScheduler().on_trial_result(trial, RESULT) == 'continue'
    assert HPOScheduler().on_trial_complete(trial, RESULT) is None
    assert HPOScheduler().on_trial_error(trial, 'boom') is None


def test_basic_scheduler_tells_its_searcher_by_trial_id():
    calls = []

    class Recorder(HPOSearcher):
        def sample_configuration(self, trial_id):
            return {'x': trial_id}

        def update(self, trial_id, config, error, result=None):
            calls.append((trial_id, config, error, result))

    scheduler = BasicScheduler(Recorder())
    assert scheduler.suggest(4) == {'x': 4}
    trial = TrialRecord(4, {'x': 4})
    assert scheduler.on_trial_result(trial, RESULT) == 'continue'
    assert calls == []  # an intermediate result: nothing learnt yet
    scheduler.on_trial_complete(trial, RESULT)
    scheduler.on_trial_error(TrialRecord(5, {'x': 5}), 'boom')
    assert calls[0] == (4, {'x': 4}, 0.25, RESULT)
    assert calls[1][:2] == (5, {'x': 5}) and math.isnan(calls[1][2])
    assert calls[1][3] is None


# ---------------------------------------------------------- RandomSearcher
SMALL_SPACE = {'lr': stats.loguniform(1e-3, 1), 'bs': stats.randint(16, 129),
               'layers': [[8], [16, 16]], 'num_epochs': 5}


def test_random_searcher_returns_initial_config_first_as_a_copy():
    initial = {'lr': 0.1, 'bs': 32, 'layers': [16, 16], 'num_epochs': 5}
    before = copy.deepcopy(initial)
    searcher = RandomSearcher(SMALL_SPACE, initial_config=initial, seed=0)
    first = searcher.sample_configuration(0)
    assert first == initial
    assert first is not initial
    assert first['layers'] is not initial['layers']
    first['layers'].append(99)
    first['lr'] = 0.5
    assert initial == before  # the caller's dict is never touched
    second = searcher.sample_configuration(0)  # now a random draw
    assert second is not first
    assert set(second) == set(SMALL_SPACE)


def test_random_searcher_copies_initial_config_at_construction():
    initial = {'lr': 0.1, 'bs': 32, 'layers': [16, 16], 'num_epochs': 5}
    searcher = RandomSearcher(SMALL_SPACE, initial_config=initial, seed=0)
    initial['lr'] = 0.9
    initial['layers'].append(99)
    assert searcher.sample_configuration(0) == {
        'lr': 0.1, 'bs': 32, 'layers': [16, 16], 'num_epochs': 5}


def test_random_searcher_initial_config_may_omit_constants():
    searcher = RandomSearcher(SMALL_SPACE, seed=0, initial_config={
        'lr': 0.1, 'bs': 32, 'layers': [8]})
    assert searcher.sample_configuration(0) == {
        'lr': 0.1, 'bs': 32, 'layers': [8], 'num_epochs': 5}


@pytest.mark.parametrize('initial, pattern', [
    ({'lr': 0.1, 'bs': 32, 'layers': [8], 'momentum': 0.9}, 'unknown'),
    ({'lr': 0.1, 'layers': [8]}, "'bs'.*missing"),
    ({'lr': 5.0, 'bs': 32, 'layers': [8]}, "'lr'"),
    ({'lr': 0.1, 'bs': 8, 'layers': [8]}, "'bs'"),
    ({'lr': 0.1, 'bs': 32.5, 'layers': [8]}, "'bs'"),
    ({'lr': 0.1, 'bs': 32, 'layers': [32]}, "'layers'"),
    ({'lr': 0.1, 'bs': 32, 'layers': [8], 'num_epochs': 6}, "'num_epochs'"),
    ([('lr', 0.1)], 'must be a dict'),
], ids=['unknown-key', 'missing-key', 'float-out-of-range',
        'int-out-of-range', 'int-not-integer', 'bad-choice',
        'wrong-constant', 'not-a-dict'])
def test_random_searcher_rejects_invalid_initial_config(initial, pattern):
    with pytest.raises(ValueError, match=pattern):
        RandomSearcher(SMALL_SPACE, initial_config=initial, seed=0)


def test_random_searcher_rejects_an_invalid_space():
    with pytest.raises(ValueError, match="'lr'"):
        RandomSearcher({'lr': stats.loguniform(0, 1)})


def test_random_searcher_configs_share_no_mutable_values_with_the_space():
    space = {'layers': [[8], [16, 16]]}
    searcher = RandomSearcher(space, seed=0)
    configs = [searcher.sample_configuration(0) for _ in range(10)]
    for config in configs:
        assert all(config['layers'] is not choice
                   for choice in space['layers'])
    configs[0]['layers'].append(99)
    assert space == {'layers': [[8], [16, 16]]}
    assert all(c['layers'] in ([8], [16, 16]) for c in configs[1:])


def test_random_searcher_never_runs_out():
    searcher = RandomSearcher({'a': ['x', 'y']}, seed=0)
    assert all(searcher.sample_configuration(0) is not None
               for _ in range(100))


# ------------------------------------------------------------ GridSearcher
GRID_SPACE = {'lr': stats.loguniform(1e-3, 1), 'bs': stats.randint(16, 19),
              'act': ['relu', 'tanh'], 'num_epochs': 5}


def drain(searcher, limit=10_000):
    configs = []
    for _ in range(limit):
        config = searcher.sample_configuration(0)
        if config is None:
            return configs
        configs.append(config)
    raise AssertionError('the grid searcher never ran out')


def expected_product(num_lr):
    lrs = np.geomspace(1e-3, 1, num_lr).tolist()
    return [{'lr': lr, 'bs': bs, 'act': act, 'num_epochs': 5}
            for lr, bs, act in itertools.product(lrs, [16, 17, 18],
                                                 ['relu', 'tanh'])]


def as_keys(configs):
    return sorted((round(c['lr'], 12), c['bs'], c['act'], c['num_epochs'])
                  for c in configs)


@pytest.mark.parametrize('shuffle', [False, True])
def test_grid_enumerates_the_cartesian_product_exactly_once(shuffle):
    searcher = GridSearcher(GRID_SPACE, num_points=4, shuffle=shuffle,
                            seed=0)
    configs = drain(searcher)
    assert len(configs) == 4 * 3 * 2
    assert as_keys(configs) == as_keys(expected_product(4))
    assert len(set(as_keys(configs))) == len(configs)
    # once exhausted, it stays exhausted
    assert searcher.sample_configuration(0) is None
    assert searcher.sample_configuration(0) is None


def test_grid_without_shuffle_varies_the_last_hyperparameter_fastest():
    configs = drain(GridSearcher(GRID_SPACE, num_points=2))  # 2 x 2 x 2
    assert [c['act'] for c in configs[:2]] == ['relu', 'tanh']
    assert [c['bs'] for c in configs[:4]] == [16, 16, 18, 18]
    assert all(c['lr'] == pytest.approx(1e-3) for c in configs[:4])
    assert all(c['lr'] == pytest.approx(1.0) for c in configs[4:])


def test_grid_shuffle_changes_the_order_and_depends_on_the_seed():
    plain = drain(GridSearcher(GRID_SPACE, num_points=4))
    shuffled0 = drain(GridSearcher(GRID_SPACE, num_points=4, shuffle=True,
                                   seed=0))
    shuffled1 = drain(GridSearcher(GRID_SPACE, num_points=4, shuffle=True,
                                   seed=1))
    assert shuffled0 != plain
    assert shuffled0 != shuffled1
    assert shuffled0 == drain(GridSearcher(GRID_SPACE, num_points=4,
                                           shuffle=True, seed=0))


def test_grid_num_points_as_dict_sets_points_per_hyperparameter():
    searcher = GridSearcher({'lr': stats.loguniform(1e-3, 1),
                             'x': stats.uniform(0, 1), 'act': ['a', 'b']},
                            num_points={'lr': 2, 'x': 3})
    configs = drain(searcher)
    assert len(configs) == 2 * 3 * 2
    assert sorted({c['lr'] for c in configs}) == pytest.approx([1e-3, 1.0])
    assert sorted({c['x'] for c in configs}) == pytest.approx([0, 0.5, 1])


def test_grid_num_points_dict_defaults_missing_names_to_five():
    searcher = GridSearcher({'lr': stats.loguniform(1e-3, 1),
                             'x': stats.uniform(0, 1)}, num_points={'lr': 2})
    assert len(drain(searcher)) == 2 * 5


def test_grid_num_points_int_applies_to_every_numerical_hyperparameter():
    searcher = GridSearcher({'a': stats.uniform(0, 1),
                             'b': stats.uniform(0, 1), 'c': 'const'},
                            num_points=3)
    assert len(drain(searcher)) == 9


@pytest.mark.parametrize('num_points', [0, -1, 1.5, True, '3', None,
                                        {'lr': 0}, {'lr': 2.0}],
                         ids=['zero', 'negative', 'float', 'bool', 'str',
                              'None', 'dict-zero', 'dict-float'])
def test_grid_rejects_bad_num_points(num_points):
    with pytest.raises(ValueError, match='num_points'):
        GridSearcher(GRID_SPACE, num_points=num_points)


def test_grid_rejects_num_points_for_unknown_hyperparameter():
    # A typo in a name must not be ignored silently: the space has 'lr'.
    with pytest.raises(ValueError, match="'lrr'"):
        GridSearcher(GRID_SPACE, num_points={'lrr': 2})


def test_grid_returns_python_types():
    for config in drain(GridSearcher(GRID_SPACE, num_points=2)):
        assert type(config['lr']) is float
        assert type(config['bs']) is int
