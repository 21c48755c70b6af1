"""Log-scaled integers and quantized ranges (issue 16): parsing, bad input,
sampling, grids, membership, encoding and the searchers."""
import math

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import loguniform_int, quantized

SPACE = {'width': loguniform_int(16, 512),
         'dropout': quantized(stats.uniform(0, 0.5), 0.05),
         'batch': quantized(stats.randint(0, 101), 10),
         'lr': stats.loguniform(1e-3, 1), 'act': ['relu', 'tanh'],
         'num_epochs': 2}
DROPOUTS = [round(0.05 * k, 2) for k in range(11)]


def domains():
    return d2lhpo.parse_config_space(SPACE)


def test_parsed_domains():
    d = domains()
    assert d['width'] == d2lhpo.Domain('width', 'int', 16, 512, log=True)
    assert d['dropout'] == d2lhpo.Domain('dropout', 'float', 0.0, 0.5,
                                         step=0.05)
    assert d['batch'] == d2lhpo.Domain('batch', 'int', 0, 100, step=10)
    assert [d[k].num_values() for k in ('dropout', 'batch', 'act')] == [
        11, 11, 2]
    assert d['width'].num_values() == 497 and d['lr'].num_values() == math.inf
    # a Domain built by hand is checked too
    hand = d2lhpo.make_domain('x', d2lhpo.Domain(None, 'float', 0, 1, step=0.25))
    assert hand.name == 'x' and hand.grid(10) == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize('spec, pattern', [
    (loguniform_int(0, 512), 'at least 1'),
    (loguniform_int(1.5, 512), 'Integral'),
    (loguniform_int(True, 512), 'Integral'),
    (loguniform_int(64, 16), 'reversed'),
    (quantized(stats.uniform(0, 1), 0.3), 'whole number of steps'),
    (quantized(stats.uniform(0, 1), 2.0), 'whole number of steps'),
    (quantized(stats.loguniform(1e-3, 1), 0.1), 'log scale'),
    (quantized(loguniform_int(1, 64), 1), 'log scale'),
    (quantized(stats.randint(0, 11), 2.5), 'positive Integral'),
    (quantized(stats.uniform(0, 1), 0), 'positive'),
    (quantized(stats.uniform(0, 1), -0.1), 'positive'),
    (quantized(stats.uniform(0, 1), math.nan), 'positive'),
    (quantized(stats.uniform(0, 1), True), 'positive'),
    (quantized(['a', 'b'], 1), 'stats.uniform or stats.randint'),
    (quantized(quantized(stats.uniform(0, 1), 0.5), 0.25), 'step'),
    (quantized(stats.norm(0, 1), 0.1), 'unsupported domain'),
    (d2lhpo.Domain(None, 'categorical', choices=(1, 2)), "'float' or 'int'"),
], ids=['log-int-zero', 'log-int-float', 'log-int-bool', 'log-int-reversed',
        'not-whole', 'step-too-large', 'step-on-log', 'step-on-log-int',
        'int-float-step', 'zero-step', 'negative-step', 'nan-step',
        'bool-step', 'categorical', 'twice', 'unsupported', 'hand-made'])
def test_bad_domains_are_refused_naming_the_hyperparameter(spec, pattern):
    with pytest.raises(ValueError, match=pattern) as err:
        d2lhpo.parse_config_space({'lr': stats.uniform(0, 1), 'h': spec})
    assert "'h'" in str(err.value)


def test_log_int_sampling_gives_each_integer_its_log_share():
    domain = d2lhpo.make_domain('k', loguniform_int(1, 4))
    rng = np.random.default_rng(0)
    draws = np.array([domain.sample(rng) for _ in range(20000)])
    assert all(type(v) is int for v in draws[:10].tolist())
    shares = np.bincount(draws, minlength=5)[1:] / len(draws)
    expected = np.diff(np.log([0.5, 1.5, 2.5, 3.5, 4.5])) / np.log(9)
    np.testing.assert_allclose(shares, expected, atol=0.015)
    wide = d2lhpo.make_domain('k', loguniform_int(16, 512))
    draws = np.array([wide.sample(rng) for _ in range(4000)])
    assert draws.min() >= 16 and draws.max() <= 512
    # each factor of two gets about a fifth
    assert abs(np.mean(draws < 64) - 0.4) < 0.03


def test_quantized_sampling_is_uniform_on_the_steps():
    d = domains()
    rng = np.random.default_rng(1)
    drop = [d['dropout'].sample(rng) for _ in range(5500)]
    assert set(drop) == set(DROPOUTS)  # exact values: 0.3, not 0.30000000000000004
    counts = np.array([drop.count(v) for v in DROPOUTS])
    assert counts.min() > 400 and counts.max() < 600
    batch = {d['batch'].sample(rng) for _ in range(500)}
    assert batch == set(range(0, 101, 10))


def test_seeded_sampling_is_reproducible():
    a = d2lhpo.RandomSearcher(SPACE, seed=3)
    b = d2lhpo.RandomSearcher(SPACE, seed=3)
    assert ([a.sample_configuration(i) for i in range(20)] ==
            [b.sample_configuration(i) for i in range(20)])


def test_membership_respects_steps_and_integers():
    d = domains()
    assert d['dropout'].contains(0.25) and d['dropout'].contains(0.1 + 0.2)
    assert not d['dropout'].contains(0.27)
    assert not d['dropout'].contains(0.55)
    assert d['batch'].contains(30) and not d['batch'].contains(35)
    assert not d['batch'].contains(30.0)
    assert d['width'].contains(17) and not d['width'].contains(17.5)
    assert not d['width'].contains(15)
    assert d2lhpo.check_config(d, {'width': 100, 'dropout': 0.1 + 0.2,
                                   'batch': 40, 'lr': 0.1, 'act': 'relu'})
    with pytest.raises(ValueError, match="'dropout'"):
        d2lhpo.RandomSearcher(SPACE, points_to_evaluate=[{
            'width': 100, 'dropout': 0.33, 'batch': 40, 'lr': 0.1,
            'act': 'relu'}])


def test_grids_respect_log_and_steps():
    d = domains()
    assert d['dropout'].grid(100) == DROPOUTS
    assert d['dropout'].grid(3) == [0.0, 0.25, 0.5]
    assert d['batch'].grid(6) == [0, 20, 40, 60, 80, 100]
    assert d['width'].grid(6) == [16, 32, 64, 128, 256, 512]
    for name in ('dropout', 'batch', 'width'):
        assert all(d[name].contains(v) for v in d[name].grid(7))
    grid = d2lhpo.GridSearcher({'dropout': SPACE['dropout'],
                                'batch': SPACE['batch']}, num_points=100)
    assert grid.size == 121  # all the values, not 100 per axis
    with pytest.raises(ValueError, match='points'):
        d2lhpo.GridSearcher({'a': quantized(stats.uniform(0, 1), 1e-4),
                             'b': quantized(stats.uniform(0, 1), 1e-4)},
                            num_points=10 ** 4)


def test_encoding_of_log_integers_and_steps():
    encoder = d2lhpo.SpaceEncoder(domains())
    parts = {name: (kind, levels) for name, kind, _, _, levels
             in encoder.parts}
    assert parts['width'] == ('int', None)          # log scale: no levels
    assert parts['dropout'] == ('float', 11)        # evenly spaced levels
    assert parts['batch'] == ('int', 11)
    assert encoder.continuous.tolist() == [False, False, False, True,
                                           False, False]
    base = {'width': 16, 'dropout': 0.0, 'batch': 0, 'lr': 0.001,
            'act': 'relu', 'num_epochs': 2}
    width = lambda v: encoder.encode({**base, 'width': v})[0]
    assert width(16) == 0 and width(512) == 1
    assert width(64) == pytest.approx(0.4)  # its column measures log2
    for name, values in [('width', range(16, 513)), ('dropout', DROPOUTS),
                         ('batch', range(0, 101, 10))]:
        for v in values:
            config = {**base, name: v}
            assert encoder.decode(encoder.encode(config)) == config


def test_snapped_points_decode_exactly():
    encoder = d2lhpo.SpaceEncoder(domains())
    U = encoder.snap(np.random.default_rng(0).uniform(size=(300,
                                                            encoder.dim)))
    np.testing.assert_allclose(encoder.snap(U), U, atol=1e-12)
    for u in U:
        config = encoder.decode(u)
        d2lhpo.check_config(encoder.domains, config)
        np.testing.assert_allclose(encoder.encode(config), u, atol=1e-12)


def test_a_space_of_steps_is_searched_exhaustively():
    encoder = d2lhpo.SpaceEncoder(d2lhpo.parse_config_space({
        'dropout': SPACE['dropout'], 'batch': SPACE['batch']}))
    points = d2lhpo.grid_points(encoder, limit=1000)
    assert points.shape == (121, 2)
    log_int = d2lhpo.SpaceEncoder(d2lhpo.parse_config_space({
        'width': SPACE['width'], 'batch': SPACE['batch']}))
    assert d2lhpo.grid_points(log_int, limit=10 ** 6) is None


def objective(width, dropout, batch, lr, act, num_epochs):
    return ((math.log2(width) - 6) ** 2 / 10 + (dropout - 0.2) ** 2
            + (batch - 40) ** 2 / 1e4 + math.log10(lr) ** 2 / 10)


@pytest.mark.parametrize('make', [
    lambda: d2lhpo.RandomSearcher(SPACE, seed=0),
    lambda: d2lhpo.GridSearcher(SPACE, num_points=2),
    lambda: d2lhpo.BayesOptSearcher(SPACE, seed=0, num_random=64),
    lambda: d2lhpo.TPESearcher(SPACE, seed=0),
    lambda: d2lhpo.RFSearcher(SPACE, seed=0, num_random=64),
], ids=['random', 'grid', 'bo', 'tpe', 'rf'])
def test_every_searcher_proposes_only_members(make):
    d = domains()
    seen = []

    def checked(**config):
        assert d2lhpo.check_config(d, config) == config
        seen.append(config)
        return objective(**config)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(make()), checked)
    tuner.run(number_of_trials=16)
    assert len(seen) == 16 and all(r.status == 'completed'
                                   for r in tuner.records)
    assert all(type(c['width']) is int and type(c['batch']) is int
               and c['dropout'] in DROPOUTS for c in seen)
