"""True performance of the incumbent: `true_error` of the benchmarks, the
tuner's `incumbent_ids`, `true_trajectory` and `simulate(score=...)`."""
import numpy as np
import pytest

from d2lhpo import (BRANIN, HARTMANN6, AsyncTuner, BasicScheduler,
                    GridSearcher, HPOTuner, MultiFidelityFunction,
                    RandomSearcher, SimulatedBackend, TabularBenchmark,
                    simulate, true_trajectory)


@pytest.fixture(scope='module')
def table():
    return TabularBenchmark()


# ------------------------------------------------------------ true_error
def test_table_true_error_is_the_mean_final_error_over_seeds(table):
    rng = np.random.default_rng(0)
    for c in rng.choice(len(table.grid), 20, replace=False):
        config = table.grid[c]
        expected = np.mean(table.val_error[c, :, -1])
        assert table.true_error(config) == pytest.approx(expected, rel=1e-12)
        assert isinstance(table.true_error(config), float)
        last = [table.lookup(config, s, table.max_epochs)['val_error']
                for s in table.seeds]
        assert table.true_error(config) == pytest.approx(np.mean(last))


def test_table_true_error_is_never_below_the_lowest_recorded_error(table):
    worth = np.array([table.true_error(c) for c in table.grid])
    assert worth.min() >= table.best_error()
    assert worth.min() == pytest.approx(
        np.min(table.val_error[:, :, -1].mean(axis=1)))


def test_table_true_error_rejects_configurations_off_the_grid(table):
    with pytest.raises(ValueError, match='lr'):
        table.true_error(dict(table.grid[0], lr=0.05))


def test_function_true_error_is_the_function_value():
    mf = MultiFidelityFunction(HARTMANN6, max_epochs=20, noise=0.1)
    exact = MultiFidelityFunction(HARTMANN6, max_epochs=20)
    rng = np.random.default_rng(1)
    for _ in range(10):
        config = dict(zip(HARTMANN6.names, rng.uniform(0, 1, 6)))
        value = mf.true_error(config)
        assert isinstance(value, float)
        assert value == pytest.approx(HARTMANN6(**config), rel=1e-12)
        # the noise-free curve ends at it; a noisy one does not, exactly
        assert exact.learning_curve(config)['error'][-1] == pytest.approx(
            value, abs=1e-12)
        assert mf.learning_curve(config, seed=0)['error'][-1] != value
    argmin = dict(zip(HARTMANN6.names, HARTMANN6.argmins[0]))
    assert mf.true_error(argmin) == pytest.approx(mf.best_error(), abs=1e-4)


def test_function_true_error_rejects_points_outside_the_box():
    mf = MultiFidelityFunction(BRANIN)
    with pytest.raises(ValueError, match='outside the box'):
        mf.true_error({'x0': 11.0, 'x1': 2.0})


# ----------------------------------------------------------- incumbent_ids
def test_incumbent_ids_name_the_trial_of_the_lowest_error():
    errors = iter([0.5, 0.3, 0.4, 0.1, 0.1])
    tuner = HPOTuner(BasicScheduler(RandomSearcher({'x': [1, 2]}, seed=0)),
                     lambda x: next(errors))
    tuner.run(number_of_trials=5)
    assert tuner.incumbent_ids == [0, 1, 1, 3, 3]  # a tie does not move it
    assert tuner.incumbent_id == 3
    assert tuner.incumbent == tuner.records[3].config


class TwoCurves:
    """A benchmark of two configurations: 'a' ends truly better, 'b' has
    one lucky first epoch and ends truly worse."""
    config_space = {'name': ['a', 'b']}
    seeds = [0]
    curves = {'a': [0.3, 0.1], 'b': [0.05, 0.4]}

    def learning_curve(self, config, seed):
        return {'error': list(self.curves[config['name']]),
                'epoch_time': [1.0, 1.0]}

    def true_error(self, config):
        return self.curves[config['name']][-1]


def test_a_lucky_epoch_makes_a_truly_worse_incumbent():
    bench = TwoCurves()
    tuner = AsyncTuner(BasicScheduler(GridSearcher(bench.config_space)),
                       SimulatedBackend(bench, num_workers=1, seed=0))
    tuner.run(number_of_trials=2)
    assert tuner.incumbent_trajectory == [0.3, 0.1, 0.05, 0.05]
    assert tuner.incumbent_ids == [0, 0, 1, 1]
    # the observed error falls; the true error of the incumbent rises
    assert true_trajectory(tuner, bench) == [0.1, 0.1, 0.4, 0.4]
    runs = simulate(lambda seed: BasicScheduler(
        GridSearcher(bench.config_space)), bench, [0], num_workers=1,
        score='true', number_of_trials=2)
    assert runs == [([1.0, 2.0, 3.0, 4.0], [0.1, 0.1, 0.4, 0.4])]


# -------------------------------------------------- true_trajectory, simulate
def test_true_trajectory_scores_each_incumbent(table):
    tuner = AsyncTuner(BasicScheduler(RandomSearcher(table.config_space,
                                                     seed=2)),
                       SimulatedBackend(table, num_workers=4, seed=2))
    tuner.run(max_time=20)
    true = true_trajectory(tuner, table)
    observed = tuner.incumbent_trajectory
    assert len(true) == len(observed) == len(tuner.cumulative_runtime)
    errors = [r['error'] for r in tuner.results]
    for i, trial_id in enumerate(tuner.incumbent_ids):
        # the incumbent is the first trial to reach the lowest error so far
        first = int(np.argmin(errors[:i + 1]))
        assert trial_id == tuner.results[first]['trial_id']
        assert observed[i] == errors[first]
        assert true[i] == table.true_error(tuner.records[trial_id].config)
    # the true error changes only where the observed one falls
    for i in range(1, len(true)):
        if true[i] != true[i - 1]:
            assert observed[i] < observed[i - 1]
    lowest = min(table.true_error(c) for c in table.grid)
    assert all(t >= lowest for t in true)


def test_simulate_scores_observed_by_default_and_true_on_request(table):
    def make(seed):
        return BasicScheduler(RandomSearcher(table.config_space, seed=seed))
    observed = simulate(make, table, [0, 1], max_time=10)
    true = simulate(make, table, [0, 1], max_time=10, score='true')
    for seed, (times, trajectory) in enumerate(observed):
        tuner = AsyncTuner(make(seed), SimulatedBackend(table, 4, seed=seed))
        tuner.run(max_time=10)
        assert times == tuner.cumulative_runtime == true[seed][0]
        assert trajectory == tuner.incumbent_trajectory
        assert true[seed][1] == true_trajectory(tuner, table)
    # on this table the lowest observed error is optimistic at the end
    assert all(t[-1] > o[-1] for (_, o), (_, t) in zip(observed, true))
    with pytest.raises(ValueError, match='score'):
        simulate(make, table, [0], max_time=10, score='mean')


def test_simulate_true_on_a_function_gives_function_values():
    mf = MultiFidelityFunction(BRANIN, max_epochs=5, noise=0.5)
    [(times, true)] = simulate(lambda seed: BasicScheduler(
        RandomSearcher(mf.config_space, seed=seed)), mf, [3],
        score='true', number_of_trials=8)
    assert len(true) == len(times) == 8 * 5
    assert min(true) >= BRANIN.min_value
