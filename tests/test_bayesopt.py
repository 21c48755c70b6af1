"""Bayesian optimization, TPE and random forests: the GP against
scikit-learn, acquisition functions against integrals, the encoding of
spaces, bad input, and the searcher contract for every model-based
searcher."""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate, stats

import d2lhpo
from d2lhpo import (BayesOptSearcher, GaussianProcess, RFSearcher,
                    SpaceEncoder, TPESearcher, parse_config_space)
from test_searchers_schedulers import make_space  # the shared space


def f64(x):
    return torch.as_tensor(x, dtype=torch.float64)


# ------------------------------------------------------------------ the GP
@pytest.mark.parametrize('kernel', ['rbf', 'matern52'])
def test_gp_posterior_equals_scikit_learn(kernel):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern
    rng = np.random.default_rng(0)
    X, X_test = rng.uniform(size=(25, 3)), rng.uniform(size=(40, 3))
    y = np.sin(5 * X).sum(axis=1)
    lengthscales, variance, noise = np.array([0.3, 0.7, 1.5]), 1.7, 1e-3
    base = (RBF(lengthscales, 'fixed') if kernel == 'rbf' else
            Matern(lengthscales, 'fixed', nu=2.5))
    sk = GaussianProcessRegressor(ConstantKernel(variance, 'fixed') * base,
                                  alpha=noise, optimizer=None).fit(X, y)
    sk_mean, sk_cov = sk.predict(X_test, return_cov=True)
    gp = GaussianProcess(kernel, lengthscales, variance, noise).condition(
        X, y)
    mean, var = gp.predict(X_test)
    _, cov = gp.predict(X_test, full_cov=True)
    np.testing.assert_allclose(mean.numpy(), sk_mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(var.numpy(), np.diag(sk_cov), rtol=1e-7,
                               atol=1e-10)
    np.testing.assert_allclose(cov.numpy(), sk_cov, rtol=1e-7, atol=1e-10)
    # and the log marginal likelihood
    assert gp.log_marginal_likelihood(X, y).item() == pytest.approx(
        sk.log_marginal_likelihood_value_, rel=1e-9)


def test_gp_prior_without_data():
    gp = GaussianProcess('matern52', 0.5, variance=2.0)
    mean, var = gp.predict(np.random.default_rng(0).uniform(size=(5, 2)))
    assert torch.all(mean == 0) and torch.allclose(var, f64(2.0))


@pytest.mark.parametrize('kernel', ['rbf', 'matern52'])
def test_closed_form_gradient_equals_autograd(kernel):
    rng = np.random.default_rng(1)
    X, y = f64(rng.uniform(size=(15, 2))), f64(rng.normal(size=15))
    theta = torch.tensor([-1.2, 0.4, 0.5, -4.0], dtype=torch.float64,
                         requires_grad=True)
    gp = GaussianProcess(kernel)
    gp.lengthscales, gp.variance, gp.noise = (theta[:2].exp(),
                                              theta[2].exp(), theta[3].exp())
    value = -(gp.log_marginal_likelihood(X, y) + gp.log_prior())
    grad, = torch.autograd.grad(value, theta)
    closed, closed_grad = d2lhpo.neg_log_posterior(
        kernel, theta.detach(), (X[:, None] - X[None]) ** 2, y)
    assert closed == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(closed_grad, grad.numpy(), rtol=1e-8,
                               atol=1e-10)


def test_matern_kernel_gradient_is_finite_at_zero_distance():
    x = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    gp = GaussianProcess('matern52')
    gp.k(x, x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_fitted_length_scales_recover_the_relevant_dimensions():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(50, 5))
    y = np.sin(6 * X[:, 0]) + 2 * (X[:, 2] - 0.5) ** 2
    gp = GaussianProcess().fit(X, (y - y.mean()) / y.std(), restart=True)
    ls = gp.lengthscales.numpy()
    relevant, irrelevant = ls[[0, 2]], ls[[1, 3, 4]]
    assert irrelevant.min() > 10 * relevant.max(), ls
    assert irrelevant.min() > 5


def test_fit_improves_the_log_posterior():
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(20, 2))
    y = np.cos(4 * X[:, 0]) * X[:, 1]
    y = (y - y.mean()) / y.std()
    gp = GaussianProcess()
    before = (gp.log_marginal_likelihood(X, y) + gp.log_prior()).item()
    gp.fit(X, y, restart=True)
    after = (gp.log_marginal_likelihood(X, y) + gp.log_prior()).item()
    assert after > before
    assert gp.X is not None and gp.noise.item() >= gp.min_noise * (1 - 1e-9)


# -------------------------------------------------------- bad input: the GP
def test_condition_rejects_nan_and_bad_shapes():
    gp = GaussianProcess()
    with pytest.raises(ValueError, match='finite'):
        gp.condition(np.zeros((2, 1)), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match='shape'):
        gp.condition(np.zeros((2, 1)), np.zeros(3))


def test_duplicate_inputs_need_no_jitter_with_noise_and_fit_works():
    X = np.array([[0.5, 0.5]] * 6 + [[0.1, 0.9]])
    y = np.array([0.0] * 6 + [1.0])
    gp = GaussianProcess(noise=1e-6).fit(X, y, restart=True)
    mean, var = gp.predict(X[:1])
    assert torch.isfinite(mean).all() and torch.isfinite(var).all()


def test_singular_kernel_matrix_gets_jitter_and_a_warning():
    K = torch.ones(4, 4, dtype=torch.float64)  # rank one
    with pytest.warns(RuntimeWarning, match='jitter'):
        L, jitter = d2lhpo.cholesky_with_jitter(K)
    assert jitter > 0
    assert torch.allclose(L @ L.T, K + jitter * torch.eye(4,
                                                          dtype=K.dtype))
    gp = GaussianProcess(noise=0.0, min_noise=0.0)
    with pytest.warns(RuntimeWarning):
        gp.condition(np.zeros((3, 1)), np.zeros(3))
    assert gp.jitter > 0


def test_hopeless_kernel_matrix_raises_a_clear_error():
    K = -torch.eye(3, dtype=torch.float64)
    with pytest.raises(np.linalg.LinAlgError, match='positive definite'):
        d2lhpo.cholesky_with_jitter(K)
    with pytest.raises(ValueError, match='NaN'):
        d2lhpo.cholesky_with_jitter(torch.full((2, 2), math.nan,
                                               dtype=torch.float64))


# ------------------------------------------------------------ acquisitions
@pytest.mark.parametrize('mean, std, best', [
    (0.3, 0.8, 0.0), (-1.0, 0.5, 0.0), (2.0, 1.5, 0.5), (0.0, 0.01, 0.02)])
def test_expected_improvement_equals_a_numerical_integral(mean, std, best):
    integral, _ = integrate.quad(
        lambda f: max(best - f, 0.0) * stats.norm.pdf(f, mean, std),
        mean - 12 * std, mean + 12 * std, points=[best], limit=200)
    ei = d2lhpo.expected_improvement(f64(mean), f64(std), best).item()
    assert ei == pytest.approx(integral, rel=1e-8, abs=1e-14)
    log_ei = d2lhpo.log_expected_improvement(f64([mean]), f64([std]), best)
    assert log_ei.item() == pytest.approx(math.log(integral), rel=1e-8)


def test_log_ei_is_accurate_where_ei_underflows():
    z = f64(np.linspace(-200.0, 3.0, 500))
    log_h = d2lhpo.log_h(z)
    assert torch.isfinite(log_h).all()
    assert torch.all(torch.diff(log_h) > 0)  # h is increasing
    # the asymptotic expansion h(z) ~ phi(z) / z^2 (1 - 3/z^2) for z -> -inf
    for value in (-30.0, -100.0):
        expected = (stats.norm.logpdf(value) - 2 * math.log(-value)
                    + math.log1p(-3 / value ** 2))
        assert d2lhpo.log_h(f64([value])).item() == pytest.approx(
            expected, abs=1e-3)
    huge = d2lhpo.log_h(f64([-1e9]))
    assert torch.isfinite(huge).all()


def test_log_ei_gradient_matches_finite_differences_in_every_regime():
    mean = torch.tensor([0.3, 5.0, 30.0, -2.0], dtype=torch.float64,
                        requires_grad=True)
    std = torch.tensor([1.0, 0.7, 0.9, 0.2], dtype=torch.float64,
                       requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda m, s: d2lhpo.log_expected_improvement(m, s, 0.0),
        (mean, std))


def test_pi_and_lcb():
    mean, std = f64([0.0, 1.0]), f64([1.0, 2.0])
    pi = d2lhpo.log_probability_of_improvement(mean, std, 0.0).exp()
    np.testing.assert_allclose(pi.numpy(), [0.5, stats.norm.cdf(-0.5)])
    lcb = d2lhpo.lower_confidence_bound(mean, std, kappa=2.0)
    np.testing.assert_allclose(lcb.numpy(), [-2.0, -3.0])


# -------------------------------------------------------------- encoding
MIXED = {'lr': stats.loguniform(1e-4, 1.0), 'momentum': stats.uniform(0, 0.9),
         'bs': stats.randint(16, 20), 'act': ['relu', 'tanh'],
         'layers': [[16], [32, 32]], 'grid': [0.1, 0.001, 0.01],
         'flag': [True, 1], 'num_epochs': 3, 'single': stats.randint(5, 6)}


def test_encode_decode_round_trip_for_every_kind():
    domains = parse_config_space(MIXED)
    encoder = SpaceEncoder(domains)
    # lr, momentum, bs, act (2), layers (2), grid (ordinal), flag (2)
    assert encoder.dim == 1 + 1 + 1 + 2 + 2 + 1 + 2
    rng = np.random.default_rng(0)
    for _ in range(50):
        config = d2lhpo.sample_config(domains, rng)
        u = encoder.encode(config)
        assert u.min() >= 0 and u.max() <= 1
        back = encoder.decode(u)
        assert back.keys() == config.keys()
        assert back['lr'] == pytest.approx(config['lr'], rel=1e-12)
        assert back['momentum'] == pytest.approx(config['momentum'])
        for name in ('bs', 'act', 'layers', 'grid', 'num_epochs', 'single'):
            assert back[name] == config[name]
        assert type(back['flag']) is type(config['flag'])
        assert type(back['bs']) is int and type(back['lr']) is float


def test_ordinal_lists_are_encoded_by_rank():
    encoder = SpaceEncoder(parse_config_space({'grid': [0.1, 0.001, 0.01]}))
    values = [encoder.encode({'grid': v})[0] for v in (0.001, 0.01, 0.1)]
    assert values == [0.0, 0.5, 1.0]
    assert encoder.decode([0.8]) == {'grid': 0.1}
    assert encoder.decode([0.7]) == {'grid': 0.01}


def test_log_scale_encoding_and_snapping():
    encoder = SpaceEncoder(parse_config_space({
        'lr': stats.loguniform(1e-4, 1.0), 'bs': stats.randint(16, 20),
        'act': ['a', 'b', 'c']}))
    assert encoder.encode({'lr': 1e-2, 'bs': 16, 'act': 'b'}) == \
        pytest.approx([0.5, 0.0, 0.0, 1.0, 0.0])
    snapped = encoder.snap([[0.5, 0.4, 0.2, 0.3, 0.1]])[0]
    np.testing.assert_allclose(snapped, [0.5, 1 / 3, 0, 1, 0])
    assert encoder.decode(snapped) == {'lr': pytest.approx(1e-2), 'bs': 17,
                                       'act': 'b'}


def test_decoded_values_stay_inside_the_domain():
    domains = parse_config_space({'lr': stats.loguniform(1e-4, 1e-1)})
    encoder = SpaceEncoder(domains)
    for u in (0.0, 1.0, 1 - 1e-16, 1.5, -0.5):
        assert domains['lr'].contains(encoder.decode([u])['lr'])


# ------------------------------------------------------ searcher contract
SPACE = make_space()
DOMAINS = parse_config_space(make_space())


def fake_error(config):
    """A deterministic error with a unique minimum, for the contract."""
    return (math.log10(config['lr']) + 2) ** 2 + config['momentum'] \
        + 0.1 * (config['batch_size'] - 17) ** 2 \
        + (config['activation'] == 'tanh') + len(config['layers'])


FACTORIES = {
    'bo-ei': lambda seed, **kw: BayesOptSearcher(make_space(), seed=seed,
                                                 **kw),
    'bo-lcb': lambda seed, **kw: BayesOptSearcher(
        make_space(), seed=seed, acquisition='lcb', kernel='rbf', **kw),
    'bo-pi': lambda seed, **kw: BayesOptSearcher(
        make_space(), seed=seed, acquisition='pi', num_init=2, **kw),
    'tpe': lambda seed, **kw: TPESearcher(make_space(), seed=seed, **kw),
    'rf': lambda seed, **kw: RFSearcher(make_space(), seed=seed,
                                        random_fraction=0.2, **kw),
}


@pytest.fixture(params=list(FACTORIES), ids=list(FACTORIES))
def factory(request):
    return FACTORIES[request.param]


def run(searcher, n, error=fake_error, mutate=False, first_id=None):
    """Draw and update n times, with trial ids counting on from the
    searcher's number of suggestions; return copies of the configs."""
    configs = []
    start = searcher.num_suggested if first_id is None else first_id
    for trial_id in range(start, start + n):
        config = searcher.sample_configuration(trial_id)
        configs.append(copy.deepcopy(config))
        value = error(config)
        if mutate:
            config['lr'] = -1.0
            config['layers'].append('MUTATED') if isinstance(
                config['layers'], list) else None
            config['extra'] = 'MUTATED'
            searcher.update(trial_id, copy.deepcopy(configs[-1]), value)
        else:
            searcher.update(trial_id, config, value)
    return configs


def test_contract_configs_are_in_the_space(factory):
    for config in run(factory(0), 16):
        assert set(config) == set(SPACE)
        for name, value in config.items():
            assert DOMAINS[name].contains(value), (name, value)
        assert type(config['batch_size']) is int


def test_contract_same_seed_same_sequence(factory):
    assert run(factory(3), 14) == run(factory(3), 14)
    assert run(factory(3), 14) != run(factory(4), 14)


def test_contract_returned_configs_are_fresh_objects(factory):
    careful, careless = factory(5), factory(5)
    assert run(careful, 14) == run(careless, 14, mutate=True)
    assert careless.domains == DOMAINS


def test_contract_pickled_copy_continues_the_same_sequence(factory):
    searcher = factory(11)
    run(searcher, 12)
    clone = pickle.loads(pickle.dumps(searcher))
    assert run(clone, 4) == run(searcher, 4)


def test_contract_update_accepts_nan_and_info_and_never_fits_nan(factory):
    searcher = factory(0)
    for i in range(14):
        config = searcher.sample_configuration(i)
        error = math.nan if i % 3 == 0 else fake_error(config)
        searcher.update(i, config, error, result={'status': 'x'})
    X, y = searcher.observed()
    assert len(y) == 14 - 5 and np.isfinite(y).all()
    assert len(searcher.failed) == 5 and not searcher.pending
    assert set(searcher.sample_configuration(14)) == set(SPACE)


def test_contract_works_with_the_scheduler_and_tuner_with_failures(factory):
    def objective(**config):
        if config['activation'] == 'tanh' and config['momentum'] > 0.6:
            raise RuntimeError('diverged')
        return fake_error(config)

    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(factory(0)), objective)
    tuner.run(number_of_trials=16)
    assert len(tuner.records) == 16
    assert math.isfinite(tuner.incumbent_error)


def test_contract_initial_config_comes_first_and_is_copied(factory):
    initial = {'lr': 0.1, 'momentum': 0.5, 'batch_size': 17,
               'activation': 'tanh', 'layers': [16]}
    searcher = factory(0, initial_config=initial)
    first = searcher.sample_configuration(0)
    assert first == dict(initial, num_epochs=3)
    first['layers'].append(99)
    assert initial['layers'] == [16]


def test_contract_pending_configurations_are_not_repeated(factory):
    searcher = factory(0)
    run(searcher, 12)
    parallel = {i: searcher.sample_configuration(i) for i in range(12, 16)}
    keys = [tuple(sorted((k, str(v)) for k, v in c.items()))
            for c in parallel.values()]
    assert len(set(keys)) == 4
    assert sorted(searcher.pending) == [12, 13, 14, 15]
    for trial_id, config in parallel.items():
        searcher.update(trial_id, config, fake_error(config))
    assert not searcher.pending


def test_contract_equal_pending_configs_are_told_apart_by_id(factory):
    searcher = factory(0, initial_config={
        'lr': 0.1, 'momentum': 0.5, 'batch_size': 17, 'activation': 'tanh',
        'layers': [16]})
    first = searcher.sample_configuration(7)
    searcher.pending[8] = searcher.encoder.encode(first)  # a second worker
    # finishing trial 7 leaves trial 8, with an equal config, pending
    searcher.update(7, first, fake_error(first))
    assert list(searcher.pending) == [8]
    np.testing.assert_array_equal(searcher.unfinished(),
                                  [searcher.encoder.encode(first)])
    searcher.update(8, copy.deepcopy(first), fake_error(first))
    assert not searcher.pending
    X, y = searcher.observed()
    assert len(y) == 2


def test_contract_is_better_than_its_own_start(factory):
    searcher = factory(1)
    configs = run(searcher, 30)
    errors = [fake_error(c) for c in configs]
    assert min(errors[10:]) < min(errors[:10])


# ---------------------------------------------------- bad input: searchers
@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher])
def test_empty_space_is_a_clear_error(cls):
    with pytest.raises(ValueError, match='non-empty'):
        cls({})


@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher])
def test_space_of_constants_returns_its_one_configuration(cls):
    searcher = cls({'num_epochs': 5, 'act': ['relu'], 'k': stats.randint(3, 4)},
                   seed=0)
    for trial_id in range(5):
        config = searcher.sample_configuration(trial_id)
        assert config == {'num_epochs': 5, 'act': 'relu', 'k': 3}
        searcher.update(trial_id, config, 0.5)


@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher])
def test_constant_objective_and_all_failures_are_survived(cls):
    searcher = cls({'x': stats.uniform(0, 1), 'y': stats.uniform(0, 1)},
                   seed=0)
    for i in range(12):
        config = searcher.sample_configuration(i)
        searcher.update(i, config, 1.0 if i % 2 else math.nan)
    assert set(searcher.sample_configuration(12)) == {'x', 'y'}
    searcher = cls({'x': stats.uniform(0, 1)}, seed=0)
    for i in range(8):
        searcher.update(i, searcher.sample_configuration(i), math.nan)
    assert 0 <= searcher.sample_configuration(8)['x'] <= 1


@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher])
def test_duplicate_observations_are_survived(cls):
    searcher = cls({'x': stats.uniform(0, 1), 'c': ['a', 'b']}, seed=0)
    config = {'x': 0.25, 'c': 'a'}
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no jitter needed: noise >= 1e-6
        for trial_id in range(10):  # never suggested: nothing pending
            searcher.update(trial_id, config, 0.3)
        searcher.update(10, {'x': 0.75, 'c': 'b'}, 0.1)
        for trial_id in range(11, 14):
            nxt = searcher.sample_configuration(trial_id)
            searcher.update(trial_id, nxt, 0.2)


def test_update_with_a_config_outside_the_space_is_a_clear_error():
    searcher = BayesOptSearcher({'x': stats.uniform(0, 1)}, seed=0)
    with pytest.raises(ValueError, match="'x'"):
        searcher.update(0, {'x': 2.0}, 0.1)


@pytest.mark.parametrize('kwargs, pattern', [
    ({'acquisition': 'ucb'}, 'acquisition'), ({'kernel': 'linear'}, 'kernel'),
    ({'num_init': 0}, 'num_init'), ({'num_init': 2.5}, 'num_init'),
    ({'num_init': True}, 'num_init')])
def test_bad_arguments_are_clear_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BayesOptSearcher({'x': stats.uniform(0, 1)}, **kwargs)


# --------------------------------------------------- asynchronous workers
@pytest.mark.parametrize('cls', [BayesOptSearcher, TPESearcher, RFSearcher])
def test_async_tuner_on_the_table_proposes_grid_configs_without_repeats(cls):
    bench = d2lhpo.FinalEpochBenchmark(d2lhpo.TabularBenchmark())
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(
        cls(bench.config_space, seed=0)),
        d2lhpo.SimulatedBackend(bench, num_workers=4, seed=0))
    tuner.run(number_of_trials=24)
    configs = [r.config for r in tuner.records]
    assert len(configs) == 24
    for config in configs:
        bench.benchmark.index(config)  # raises if not on the grid
    # no trial starts with a configuration that is running at that time
    for r in tuner.records:
        running = [o.config for o in tuner.records if o is not r
                   and o.start_time <= r.start_time < o.end_time]
        assert r.config not in running


def test_kriging_believer_sends_parallel_workers_to_different_places():
    searcher = BayesOptSearcher(d2lhpo.BRANIN.config_space, seed=0)
    run(searcher, 12, error=lambda config: d2lhpo.BRANIN(**config))
    batch = np.array([[c['x0'], c['x1']] for c in
                      (searcher.sample_configuration(i)
                       for i in range(12, 16))])
    distances = np.linalg.norm(batch[:, None] - batch[None], axis=2)
    assert distances[np.triu_indices(4, 1)].min() > 0.05


# ---------------------------------------- scoring incumbents by true error
def test_true_error_is_the_mean_over_seeds_of_the_final_error():
    table = d2lhpo.TabularBenchmark()
    bench = d2lhpo.FinalEpochBenchmark(table)
    config = table.grid[5]
    finals = [table.lookup(config, seed, table.max_epochs)['val_error']
              for seed in table.seeds]
    assert bench.true_error(config) == pytest.approx(np.mean(finals))
    assert bench.best_error() == pytest.approx(
        min(bench.true_error(c) for c in table.grid))
    # the reference is a mean: it can be above the lowest single run
    assert bench.best_error() >= table.best_error(epoch=table.max_epochs)


def test_true_trajectory_scores_the_observed_incumbent():
    bench = d2lhpo.FinalEpochBenchmark(d2lhpo.TabularBenchmark())
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        bench.config_space, seed=0)), d2lhpo.SimulatedBackend(
            bench, num_workers=4, seed=0))
    tuner.run(number_of_trials=30)
    times, true = bench.true_trajectory(tuner)
    assert times == tuner.cumulative_runtime
    # after each result: the true error of the lowest error observed so
    # far, the first such trial on ties
    best, expected = math.inf, []
    for result in tuner.results:
        if result['error'] < best:
            best = result['error']
            incumbent = tuner.records[result['trial_id']].config
        expected.append(bench.true_error(incumbent))
    assert true == expected
    assert bench.true_error(tuner.incumbent) == true[-1]
    assert min(true) >= bench.best_error()


def test_compare_on_table_returns_final_regrets_of_true_errors():
    from matplotlib import pyplot as plt
    bench = d2lhpo.FinalEpochBenchmark(d2lhpo.TabularBenchmark())
    fig, ax = plt.subplots()
    finals = d2lhpo.compare_on_table(
        {'random search': d2lhpo.RandomSearcher}, bench, range(3), ax,
        num_trials=8)
    plt.close(fig)
    regrets = finals['random search']
    assert regrets.shape == (3,) and np.all(regrets >= 0)
    # run 0 again by hand: the same final regret
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        bench.config_space, seed=0)), d2lhpo.SimulatedBackend(
            bench, num_workers=4, seed=0))
    tuner.run(number_of_trials=8)
    assert regrets[0] == pytest.approx(
        bench.true_trajectory(tuner)[1][-1] - bench.best_error())


def test_regret_curves_score_the_noise_free_value_of_the_incumbent():
    function = d2lhpo.BRANIN
    make = lambda seed: d2lhpo.RandomSearcher(function.config_space,
                                              seed=seed)
    plain = d2lhpo.regret_curves(make, function, 15, [0, 1])
    for seed, row in zip([0, 1], plain):  # noise-free: the best value seen
        searcher = make(seed)
        values = [function(**searcher.sample_configuration(i))
                  for i in range(15)]
        np.testing.assert_allclose(
            row, np.minimum.accumulate(values) - function.min_value)
    noisy = d2lhpo.regret_curves(make, function, 15, [0], noise=5.0)[0]
    searcher, rng = make(0), np.random.default_rng(0)
    configs = [searcher.sample_configuration(i) for i in range(15)]
    values = np.array([function(**c) for c in configs])
    observed = values + 5.0 * rng.normal(size=15)
    incumbents = [int(np.argmin(observed[:i + 1])) for i in range(15)]
    np.testing.assert_allclose(noisy, values[incumbents] - function.min_value)
    assert np.all(noisy >= 0)  # never below the minimum, unlike a lucky draw


def test_regret_plot_keeps_zero_regrets_on_the_log_axis():
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots()
    curves = {'a': np.array([[1.0, 0.1, 0.0], [2.0, 0.0, 0.0]])}
    d2lhpo.plot_regret_curves(curves, ax, floor=1e-8)
    line = ax.get_lines()[0]
    assert ax.get_yscale() == 'log'
    assert np.all(np.isfinite(np.log(line.get_ydata())))
    assert line.get_ydata()[-1] == 1e-8  # clipped at the floor, not dropped
    plt.close(fig)


# ----------------------------------------------------- sample efficiency
def best_regret(searcher, function, n):
    return d2lhpo.regret_curves(lambda seed: searcher, function, n, [0])[0, -1]


def test_bo_finds_the_minimum_of_branin():
    regrets = [best_regret(BayesOptSearcher(d2lhpo.BRANIN.config_space,
                                            seed=s), d2lhpo.BRANIN, 30)
               for s in range(3)]
    assert np.median(regrets) < 0.05


def test_tpe_and_rf_beat_random_search_on_branin():
    def median(make):
        return np.median([best_regret(make(s), d2lhpo.BRANIN, 40)
                          for s in range(10)])

    space = d2lhpo.BRANIN.config_space
    random = median(lambda s: d2lhpo.RandomSearcher(space, seed=s))
    assert median(lambda s: TPESearcher(space, seed=s)) < random
    assert median(lambda s: RFSearcher(space, seed=s)) < random


# ------------------------------------------------------------------- TPE
def test_parzen_estimator_is_a_density():
    encoder = SpaceEncoder(parse_config_space({'x': stats.uniform(0, 1),
                                               'c': ['a', 'b', 'c']}))
    U = encoder.snap(np.random.default_rng(0).uniform(size=(6, 4)))
    pe = d2lhpo.ParzenEstimator(encoder, U)
    x = np.linspace(0, 1, 2001)
    total = 0.0
    for c in range(3):
        V = np.zeros((len(x), 4))
        V[:, 0], V[:, 1 + c] = x, 1
        total += integrate.trapezoid(np.exp(pe.log_pdf(V)), x)
    assert total == pytest.approx(1.0, abs=1e-3)
    samples = pe.sample(np.random.default_rng(1), 500)
    assert samples.shape == (500, 4)
    assert np.all(samples[:, 1:].sum(axis=1) == 1)


def test_neighbor_bandwidths():
    sigmas = d2lhpo.neighbor_bandwidths(np.array([[0.2], [0.5], [0.6]]))
    # inner: the farther neighbor; outer: the one inner neighbor; clip 1/5
    np.testing.assert_allclose(sigmas[:, 0], [0.3, 0.3, 0.2])


# ---------------------------------------------------------- random forest
def test_forest_variance_is_the_law_of_total_variance():
    from sklearn.ensemble import RandomForestRegressor
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(30, 2))
    y = np.sin(4 * X[:, 0]) + rng.normal(scale=0.1, size=30)
    forest = RandomForestRegressor(8, min_samples_leaf=3,
                                   random_state=0).fit(X, y)
    U = rng.uniform(size=(5, 2))
    mean, var = d2lhpo.forest_predict(forest, U)
    np.testing.assert_allclose(mean, forest.predict(U), rtol=1e-6)
    per_tree = np.stack([t.predict(U.astype(np.float32))
                         for t in forest.estimators_])
    assert np.all(var >= per_tree.var(axis=0) - 1e-9)
