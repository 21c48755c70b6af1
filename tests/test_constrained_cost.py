"""Constraints in the tuners (feasibility, the feasible-first incumbent, bad
input), constrained EI, constrained TPE and EI per unit cost."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

import d2lhpo

SPACE = {'x': [0, 1, 2, 3, 4, 5]}


def grid_objective(x):
    """Lower error for larger x, feasible only for x <= 2."""
    return {'error': 1.0 - x / 10, 'excess': x - 2.0}


def run_tuner(objective, constraints=('excess',), n=6, searcher=None,
              **kwargs):
    searcher = searcher or d2lhpo.GridSearcher(SPACE)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective,
                            constraints=list(constraints), **kwargs)
    tuner.run(number_of_trials=n)
    return tuner


def test_feasibility_per_result_and_feasible_incumbent():
    tuner = run_tuner(grid_objective)
    assert [r['feasible'] for r in tuner.results] == [True] * 3 + [False] * 3
    assert [r['violation'] for r in tuner.results] == [0, 0, 0, 1, 2, 3]
    assert tuner.results[4]['constraints'] == [2.0]
    assert tuner.incumbent == {'x': 2}  # not x = 5, the lowest error
    assert tuner.incumbent_error == pytest.approx(0.8)
    assert tuner.incumbent_violation == 0


def test_least_infeasible_incumbent_until_a_feasible_one():
    order = iter([5, 4, 3, 1])
    searcher = d2lhpo.HPOSearcher()
    searcher.sample_configuration = lambda trial_id: {'x': next(order)}
    tuner = run_tuner(grid_objective, n=4, searcher=searcher)
    # x = 5, 4, 3 are infeasible: the smallest violation (x = 3) leads
    assert tuner.incumbent_ids[:3] == [0, 1, 2]
    assert tuner.incumbent_trajectory[2] == pytest.approx(0.7)
    assert tuner.incumbent_ids[3] == 3  # x = 1, feasible, worse error
    assert tuner.incumbent_error == pytest.approx(0.9)


def test_without_constraints_unchanged():
    tuner = run_tuner(grid_objective, constraints=())
    assert tuner.incumbent == {'x': 5} and 'feasible' not in tuner.results[0]


def test_nan_constraint_makes_the_trial_infeasible():
    def objective(x):
        return {'error': 0.5 - x / 10, 'excess': math.nan if x == 5 else -1}
    tuner = run_tuner(objective)
    assert all(r.status == 'completed' for r in tuner.records)
    last = tuner.results[-1]
    assert not last['feasible'] and last['violation'] == math.inf
    assert math.isnan(last['constraints'][0])
    assert tuner.incumbent == {'x': 4}


def test_missing_constraint_key_fails_the_trial_with_its_name():
    def objective(x):
        return {'error': 0.5} if x == 1 else {'error': 0.4, 'excess': -1.0}
    tuner = run_tuner(objective, n=3)
    assert [r.status for r in tuner.records] == ['completed', 'failed',
                                                 'completed']
    assert "'excess'" in tuner.records[1].message
    assert tuner.records[1].message.startswith('KeyError')


def test_missing_constraint_key_fails_the_trial_on_the_simulator():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(bench.config_space,
                                                    seed=0)),
        d2lhpo.SimulatedBackend(bench, seed=0), constraints=['latency'])
    tuner.run(number_of_trials=2)
    assert all(r.status == 'failed' and "'latency'" in r.message
               for r in tuner.records)


def test_async_tuner_with_constraints():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    costs = {'size_excess': np.log10(bench.num_params / 10_000)}
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(bench.config_space,
                                                    seed=0)),
        d2lhpo.SimulatedCostsBackend(bench, costs, seed=0),
        constraints=['size_excess'])
    tuner.run(number_of_trials=12)
    feasible = [r for r in tuner.results if r['feasible']]
    assert feasible and len(feasible) < len(tuner.results)
    assert tuner.incumbent_error == min(r['error'] for r in feasible)


@pytest.mark.parametrize('bad', ['excess', [1], [''], ('a', 'a'),
                                 ['error'], ['time'], ['feasible'], 3])
def test_bad_constraints_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        d2lhpo.HPOTuner(d2lhpo.BasicScheduler(d2lhpo.GridSearcher(SPACE)),
                        grid_objective, constraints=bad)


def test_constraint_that_is_a_metric_is_refused():
    with pytest.raises(ValueError, match='metric'):
        d2lhpo.check_constraints(['accuracy'], 'accuracy')


def test_non_numeric_constraint_value_fails_the_trial():
    tuner = run_tuner(lambda x: {'error': 0.1, 'excess': 'low'}, n=1)
    assert tuner.records[0].status == 'failed'
    assert 'TypeError' in tuner.records[0].message


def test_constrained_ei_finds_the_feasible_optimum():
    # minimize (x - 0.8)^2 subject to x <= 0.5: the optimum is x = 0.5
    def objective(x):
        return {'error': (x - 0.8) ** 2, 'excess': x - 0.5}
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=4)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective,
                            constraints=['excess'])
    tuner.run(number_of_trials=15)
    assert tuner.incumbent_violation == 0
    assert tuner.incumbent['x'] == pytest.approx(0.5, abs=0.03)


def test_constrained_ei_without_feasible_points_maximizes_pf():
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=3)
    for i, x in enumerate([0.7, 0.8, 0.9]):
        searcher.update(i, {'x': x}, -x, {'constraints': [x - 0.5]})
    config = searcher.encoder.decode(searcher.propose())
    assert len(searcher.X_feasible) == 0
    assert config['x'] < 0.7  # towards the feasible side


def test_constrained_ei_needs_constraints_in_results():
    searcher = d2lhpo.ConstrainedBayesOptSearcher({'x': [0, 1]}, seed=0)
    with pytest.raises(ValueError, match='constraints='):
        searcher.update(0, {'x': 0}, 0.5, {'error': 0.5})


def test_constrained_ei_nan_constraint_is_modeled_as_violated():
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=3)
    for i, (x, c) in enumerate([(0.1, -1.0), (0.5, -0.5), (0.9, math.nan)]):
        searcher.update(i, {'x': x}, x, {'constraints': [c]})
    searcher.propose()
    gp, zero = searcher.constraint_gps[0], searcher.zeros[0]
    mean, _ = gp.predict(torch.tensor([[0.9]], dtype=torch.float64))
    assert mean.item() > zero  # predicted infeasible where NaN was seen


def test_constrained_tpe_ranks_feasible_first():
    searcher = d2lhpo.ConstrainedTPESearcher({'x': list(range(10))}, seed=0,
                                             min_good=2, gamma=0.2)
    for i in range(10):  # the lower the error, the larger the violation
        searcher.update(i, {'x': i}, 1.0 - i / 10,
                        {'violation': max(i - 4, 0)})
    good, bad = searcher.split()
    decode = lambda U: sorted(searcher.encoder.decode(u)['x'] for u in U)
    assert decode(good) == [3, 4]  # the best feasible, not x = 9
    with pytest.raises(ValueError, match='constraints='):
        searcher.update(10, {'x': 1}, 0.5, {'error': 0.5})


def test_cost_aware_prefers_cheap_points_of_equal_promise():
    # a flat objective: EI is the same everywhere, the cost decides
    searcher = d2lhpo.CostAwareBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=4)
    for i, x in enumerate([0.2, 0.4, 0.6, 0.8]):
        searcher.update(i, {'x': x}, 1.0, {'cost': 10 ** (2 * x)})
    config = searcher.encoder.decode(searcher.propose())
    assert config['x'] < 0.2


def test_cost_key_missing_or_bad():
    searcher = d2lhpo.CostAwareBayesOptSearcher({'x': [0, 1]}, seed=0,
                                                cost='seconds')
    with pytest.raises(KeyError, match="'seconds'"):
        searcher.update(0, {'x': 0}, 0.5, {'error': 0.5})
    with pytest.raises(ValueError, match='positive'):
        searcher.update(0, {'x': 0}, 0.5, {'error': 0.5, 'seconds': 0.0})
    with pytest.raises(TypeError):
        d2lhpo.CostAwareBayesOptSearcher({'x': [0, 1]}, cost=3)


def test_cost_key_missing_stops_the_run_with_its_name():
    searcher = d2lhpo.CostAwareBayesOptSearcher({'x': [0, 1]}, seed=0)
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher),
                            lambda x: {'error': 0.5})
    with pytest.raises(KeyError, match="'cost'"):
        tuner.run(number_of_trials=1)


def test_constrained_searchers_reproducible():
    def run(seed):
        searcher = d2lhpo.ConstrainedBayesOptSearcher(
            {'x': stats.uniform(0, 1)}, seed=seed, num_init=3)
        tuner = d2lhpo.HPOTuner(
            d2lhpo.BasicScheduler(searcher),
            lambda x: {'error': (x - 0.8) ** 2, 'excess': x - 0.5},
            constraints=['excess'])
        tuner.run(number_of_trials=6)
        return [r.config['x'] for r in tuner.records]
    assert run(1) == run(1)


def test_best_feasible_curve():
    tuner = run_tuner(grid_objective)
    curve = d2lhpo.best_feasible_curve(tuner)
    assert np.allclose(curve, [1.0, 0.9, 0.8, 0.8, 0.8, 0.8])


def test_logged_constrained_run_resumes_with_the_same_feasibility(tmp_path):
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    excess = np.log10(bench.num_params / 10_000)
    excess[::7] = np.nan  # some constraints could not be measured
    def make():
        return d2lhpo.AsyncTuner(
            d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(bench.config_space,
                                                        seed=0)),
            d2lhpo.SimulatedCostsBackend(bench, {'size_excess': excess},
                                         seed=0),
            constraints=['size_excess'])
    path = str(tmp_path / 'log.jsonl')
    tuner = make()
    tuner.log_to(path)
    tuner.run(max_time=20)
    resumed = make()
    resumed.log_to(path)
    violations = [r['violation'] for r in tuner.results]
    assert math.inf in violations and 0.0 in violations
    assert [r['violation'] for r in resumed.results] == violations
    assert resumed.incumbent_id == tuner.incumbent_id
    resumed.close_log()  # (log_to holds the log until a run ends)
    unconstrained = d2lhpo.AsyncTuner(
        d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(bench.config_space,
                                                    seed=0)),
        d2lhpo.SimulatedCostsBackend(bench, {'size_excess': excess}, seed=0))
    with pytest.raises(ValueError, match=r"line 1: .*constraints="
                       r"\['size_excess'\]; this tuner .*constraints=\[\]"):
        unconstrained.log_to(path)  # would read violations as feasible


def test_a_violation_key_without_constraints_is_only_a_value():
    tuner = d2lhpo.HPOTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(SPACE)),
        lambda x: {'error': 1 - x / 5, 'violation': x})
    tuner.run(6)
    assert tuner.incumbent == {'x': 5}  # the lowest error, not 'violation'


def test_pareto_set_holds_feasible_trials_only():
    space = {'x': [0, 0.25, 0.5, 0.75, 1.0]}
    tuner = d2lhpo.HPOTuner(
        d2lhpo.BasicScheduler(d2lhpo.GridSearcher(space)),
        lambda x: {'a': x, 'b': 1 - x, 'c': x - 0.3},
        metric=['a', 'b'], mode='min', constraints=['c'])
    tuner.run(5)
    assert sorted(r.config['x'] for r, _ in tuner.pareto_set()) == [0, 0.25]


@pytest.mark.parametrize('bad', [0, -1e-6, math.nan, 'small'])
def test_bad_min_noise_is_refused(bad):
    with pytest.raises(ValueError, match='min_noise'):
        d2lhpo.ConstrainedBayesOptSearcher({'x': [0, 1]}, min_noise=bad)


def test_min_noise_reaches_every_gp():
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, min_noise=1e-9)
    for i, x in enumerate([0.1, 0.5, 0.9]):
        searcher.update(i, {'x': x}, x, {'constraints': [x - 0.5]})
    searcher.propose()
    assert searcher.gp.min_noise == 1e-9
    assert searcher.constraint_gps[0].min_noise == 1e-9


def test_constrained_ei_incumbent_is_in_the_gps_units_after_ranks():
    # errors too widely spread to standardize: the GP sees normal scores of
    # ranks, and the incumbent must be on that scale, not a raw error
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=4)
    xs, errors = [0.1, 0.4, 0.6, 0.9], [1e300, 5.0, -1e300, 2.0]
    for i, (x, error) in enumerate(zip(xs, errors)):
        searcher.update(i, {'x': x}, error, {'constraints': [x - 0.5]})
    with pytest.warns(RuntimeWarning, match='ranks'):
        searcher.propose()
    feasible = torch.tensor([[0.1], [0.4]], dtype=torch.float64)
    assert searcher.y_center == 0 and searcher.y_scale == 1  # ranks
    assert searcher.best_feasible.item() == pytest.approx(
        searcher.gp.predict(feasible)[0].min().item())
    assert abs(searcher.best_feasible.item()) < 3  # not 5.0 nor 1e300


def test_constraint_gps_refit_every_fifth_observation_only():
    searcher = d2lhpo.ConstrainedBayesOptSearcher(
        {'x': stats.uniform(0, 1)}, seed=0, num_init=2)
    xs = np.linspace(0.05, 0.95, 8)
    lengthscales = []
    for i, x in enumerate(xs):
        searcher.update(i, {'x': x}, (x - 0.3) ** 2,
                        {'constraints': [np.sin(6 * x)]})
        if i >= 1:
            searcher.propose()
            gp = searcher.constraint_gps[0]
            assert len(gp.X) == i + 1  # conditioned on every observation
            lengthscales.append(gp.lengthscales.item())
    # observations 2, 3, 4: first fit, then kept; 5: refit; 6, 7, 8: kept
    assert lengthscales[1] == lengthscales[0] == lengthscales[2]
    assert lengthscales[4] == lengthscales[3] == lengthscales[5]
    assert lengthscales[3] != lengthscales[2]
