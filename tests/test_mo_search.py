"""Several objectives in the tuners, ParEGO (random scalarization) and
MO-ASHA (sec_multi_objective)."""
import math

import numpy as np
import pytest
from scipy import stats

import d2lhpo

SPACE = {'x1': stats.uniform(0, 1), 'x2': stats.uniform(0, 1)}
REFERENCE = [1.1, 11.0]


def zdt1(x1, x2):
    """Two objectives with a convex front at x2 = 0."""
    g = 1 + 9 * x2
    return {'error': x1, 'f2': g * (1 - math.sqrt(x1 / g))}


def run(searcher, n=40):
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), zdt1,
                            metric=['error', 'f2'])
    tuner.run(n)
    return tuner


def front_hv(tuner):
    return d2lhpo.hypervolume([obj for _, obj in tuner.pareto_set()],
                              REFERENCE)


def test_scalarize_by_hand():
    Y = np.array([[0.0, 10.0], [1.0, 20.0], [0.5, 30.0]])
    # normalized: (0, 0), (1, 0.5), (0.5, 1); weights (0.25, 0.75)
    s = d2lhpo.scalarize(Y, [0.25, 0.75], rho=0.05)
    expected = [0.0, 0.375 + 0.05 * (0.25 + 0.375),
                0.75 + 0.05 * (0.125 + 0.75)]
    assert np.allclose(s, expected)
    assert np.allclose(d2lhpo.scalarize([[1.0, 1.0], [1.0, 2.0]], [0.5, 0.5]),
                       [0.0, 0.5 * 1.05])  # a constant objective counts 0


def test_parego_beats_random_search_on_a_synthetic_problem():
    parego, random = [], []
    for seed in range(5):
        parego.append(front_hv(run(d2lhpo.RandomScalarization(
            d2lhpo.TPESearcher(SPACE, seed=seed), seed=seed))))
        random.append(front_hv(run(d2lhpo.RandomSearcher(SPACE, seed=seed))))
    assert np.median(parego) > np.median(random)


def test_parego_is_reproducible_and_works_with_bayesopt():
    make = lambda: d2lhpo.RandomScalarization(
        d2lhpo.TPESearcher(SPACE, seed=3), seed=3)
    a, b = run(make(), 25), run(make(), 25)
    assert [r.config for r in a.records] == [r.config for r in b.records]
    bo = run(d2lhpo.RandomScalarization(d2lhpo.BayesOptSearcher(
        SPACE, seed=0, num_init=4, num_random=64, num_starts=1), seed=0), 8)
    assert all(r.status == 'completed' for r in bo.records)


def test_random_scalarization_checks():
    with pytest.raises(TypeError, match='model-based'):
        d2lhpo.RandomScalarization(d2lhpo.RandomSearcher(SPACE))
    searcher = d2lhpo.RandomScalarization(d2lhpo.TPESearcher(SPACE, seed=0))
    config = searcher.sample_configuration(0)
    with pytest.raises(ValueError, match='list of metrics'):
        searcher.update(0, config, 0.5, {'error': 0.5})


def test_pareto_set_matches_pareto_front_and_reports_in_user_direction():
    def objective(x1, x2):
        return {'acc': 1 - x1, 'size': x2 + x1 ** 2}
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(SPACE, seed=0)), objective,
        metric=['acc', 'size'], mode=['max', 'min'])
    tuner.run(30)
    Y = np.array([[-(1 - r.config['x1']), r.config['x2'] + r.config['x1'] ** 2]
                  for r in tuner.records])
    expected = set(np.flatnonzero(d2lhpo.pareto_front(Y)))
    pairs = tuner.pareto_set()
    assert {r.trial_id for r, _ in pairs} == expected
    for record, (acc, size) in pairs:
        assert acc == pytest.approx(1 - record.config['x1'])
    table = tuner.results_table()
    assert list(table.columns[:4]) == ['trial_id', 'epoch', 'acc', 'size']
    assert 'objectives' not in table.columns and 'error' not in table.columns
    assert 'acc' in tuner.records_table().columns


def test_simulated_costs_backend_reports_costs_and_checks_them():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    costs = {'log_params': np.log10(bench.num_params)}
    tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher(bench.config_space, seed=0)),
        d2lhpo.SimulatedCostsBackend(bench, costs, seed=0),
        metric=['error', 'log_params'])
    tuner.run(max_time=20)
    for result in tuner.results:
        config = tuner.records[result['trial_id']].config
        log_params = np.log10(bench.num_params[bench.index(config)])
        assert result['objectives'] == [result['error'], log_params]
    with pytest.raises(ValueError, match='one value per'):
        d2lhpo.SimulatedCostsBackend(bench, {'size': [1, 2]})
    with pytest.raises(ValueError, match="other than 'error'"):
        d2lhpo.SimulatedCostsBackend(bench, {'error': bench.num_params})


def test_single_objective_results_are_unchanged():
    result = d2lhpo.as_result({'error': 0.25, 'size': 3})
    assert result == {'error': 0.25, 'size': 3}


def toy(i, points):
    for epoch in range(1, 10):
        yield {'error': points[i][0] + 1 / epoch, 'size': points[i][1]}


def test_mo_asha_hand_example():
    points = [(0.5, 0.5), (0.2, 0.8), (0.6, 0.6), (0.8, 0.1), (0.45, 0.55),
              (0.1, 0.95)]
    traced = d2lhpo.TracedScheduler(d2lhpo.MOASHAScheduler(
        d2lhpo.GridSearcher({'i': list(range(6))}), eta=3, r_min=1,
        r_max=9))
    tuner = d2lhpo.HPOTuner(traced, lambda i: toy(i, points),
                            metric=['error', 'size'])
    tuner.run(6)
    assert traced.log == [('stop', 0, 9), ('stop', 1, 9), ('stop', 2, 1),
                          ('stop', 3, 9), ('stop', 4, 1), ('stop', 5, 9)]


def test_mo_asha_promotion_hand_example():
    points = [(0.5, 0.5), (0.2, 0.8), (0.6, 0.6), (0.8, 0.1), (0.45, 0.55),
              (0.1, 0.95)]
    traced = d2lhpo.TracedScheduler(d2lhpo.MOASHAScheduler(
        d2lhpo.GridSearcher({'i': list(range(6))}), eta=3, r_min=1,
        r_max=9, kind='promotion'))
    tuner = d2lhpo.HPOTuner(traced, lambda i: toy(i, points),
                            metric=['error', 'size'])
    tuner.run(7)
    assert traced.log == [
        ('pause', 0, 1), ('pause', 1, 1), ('pause', 2, 1), ('resume', 0),
        ('pause', 0, 3), ('pause', 3, 1), ('resume', 1), ('pause', 1, 3),
        ('pause', 4, 1), ('pause', 5, 1), ('resume', 3), ('pause', 3, 3),
        ('resume', 1), ('stop', 1, 9), ('resume', 5), ('pause', 5, 3),
        ('resume', 3), ('stop', 3, 9)]


def test_rank_order_by_hand():
    Y = np.array([[1.5, 0.5], [1.2, 0.8], [1.6, 0.6], [1.8, 0.1],
                  [1.45, 0.55]])
    # front 0, 1, 3, 4: the ends 1 and 3 (the older first), then 0, whose
    # crowding distance is larger than 4's; row 2 is dominated by row 0
    assert d2lhpo.rank_order(Y) == [1, 3, 0, 4, 2]
    assert d2lhpo.rank_order(np.array([[0.3], [0.1], [0.3], [0.2]])) == [
        1, 3, 0, 2]


def test_rank_order_gives_ties_to_the_earlier_row():
    # with one objective, as ASHA's sorted (error, trial_id) lists
    Y = np.array([[0.3], [0.3], [0.3], [0.5], [0.3], [0.1]])
    assert d2lhpo.rank_order(Y) == [5, 0, 1, 2, 4, 3]
    # identical vectors share the crowding distance of their distinct point
    Y = np.array([[1.0, 2.0], [0.5, 2.5], [1.0, 2.0], [2.0, 1.0],
                  [1.0, 2.0], [0.5, 2.5]])
    assert d2lhpo.rank_order(Y) == [1, 3, 5, 0, 2, 4]


def test_rank_order_top_is_a_prefix_of_the_full_ranking():
    rng = np.random.default_rng(3)
    Y = np.round(rng.uniform(size=(60, 2)), 1)  # ties and many fronts
    full = d2lhpo.rank_order(Y)
    for top in (0, 1, 7, 20, 60):
        ranked = d2lhpo.rank_order(Y, top)
        assert len(ranked) >= top and ranked == full[:len(ranked)]


class FullRankMOASHA(d2lhpo.MOASHAScheduler):
    """The promotion form ranking every front of a rung (once per new
    result at the rung), as it did before it ranked only the top."""
    def promotable(self, level):
        waiting = self.waiting[level]
        if not waiting:
            return None
        if level not in self.rank:
            rows = d2lhpo.rank_order(np.array(self.rungs[level]))
            self.rank[level] = {self.ids[level][r]: k
                                for k, r in enumerate(rows)}
        rank = self.rank[level]
        waiting.sort(key=rank.get)
        return waiting[0] if rank[waiting[0]] < len(rank) // self.eta else None


def test_mo_asha_promotion_ranks_only_the_top_and_decides_the_same():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    costs = {'log_params': np.log10(bench.num_params)}
    runs = []
    for cls in (d2lhpo.MOASHAScheduler, FullRankMOASHA):
        tuner = d2lhpo.AsyncTuner(
            cls(d2lhpo.RandomSearcher(bench.config_space, seed=1), eta=3,
                r_min=1, r_max=27, kind='promotion'),
            d2lhpo.SimulatedCostsBackend(bench, costs, num_workers=4,
                                         seed=1),
            metric=['error', 'log_params'])
        tuner.run(max_time=60)
        runs.append([(r['trial_id'], r['epoch']) for r in tuner.results])
    assert runs[0] == runs[1]
    assert max(epoch for _, epoch in runs[0]) >= 9  # promotions happened


def test_mo_asha_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match='kind'):
        d2lhpo.MOASHAScheduler(d2lhpo.RandomSearcher({'x': [1, 2]}),
                               kind='pausing')


def test_crowding_distance_and_num_ahead_by_hand():
    Y = np.array([[1.5, 0.5], [1.2, 0.8], [1.6, 0.6], [1.8, 0.1],
                  [1.45, 0.55]])
    front = Y[[0, 1, 3, 4]]
    d = d2lhpo.crowding_distance(front)
    assert np.isinf(d[1]) and np.isinf(d[2])
    assert d[0] == pytest.approx(0.35 / 0.6 + 0.45 / 0.7)
    assert d[3] == pytest.approx(0.3 / 0.6 + 0.3 / 0.7)
    assert d2lhpo.num_ahead(Y, 4) == 3 and d2lhpo.num_ahead(Y, 2) == 4
    assert d2lhpo.num_ahead(Y, 3) == 0


def test_mo_asha_with_one_objective_decides_as_asha():
    order = list(np.random.default_rng(0).permutation(30) / 30)
    def objective(x):
        for epoch in range(1, 28):
            yield x + 1 / epoch
    for kind in ('stopping', 'promotion'):
        logs = []
        for cls in (d2lhpo.MOASHAScheduler, d2lhpo.ASHAScheduler):
            traced = d2lhpo.TracedScheduler(cls(d2lhpo.GridSearcher(
                {'x': order}), eta=3, r_min=1, r_max=27, kind=kind))
            d2lhpo.HPOTuner(traced, objective).run(31)
            logs.append(traced.log)
        assert logs[0] == logs[1]
        assert len(logs[0]) >= 30  # a decision per trial at least
        if kind == 'promotion':
            assert sum(e[0] == 'resume' for e in logs[0]) >= 10


def test_a_multi_objective_run_logs_and_resumes_from_its_log(tmp_path):
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    costs = {'log_params': np.log10(bench.num_params)}

    def make():
        return d2lhpo.AsyncTuner(
            d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(bench.config_space,
                                                        seed=0)),
            d2lhpo.SimulatedCostsBackend(bench, costs, num_workers=4,
                                         seed=0),
            metric=['error', 'log_params'])
    path = tmp_path / 'run.jsonl'
    first = make()
    first.log_to(path)
    first.run(max_epochs=200)
    resumed = make()
    resumed.log_to(path)  # replays the 200 results, then goes on
    resumed.run(max_epochs=400)
    straight = make()  # the same two runs in one process, with no log
    straight.run(max_epochs=200)
    straight.run(max_epochs=400)
    assert len(resumed.results) == len(straight.results) == 600
    assert ([(r.config, obj) for r, obj in resumed.pareto_set()]
            == [(r.config, obj) for r, obj in straight.pareto_set()])
    with pytest.raises(ValueError, match="'log_params'"):  # checked lines
        d2lhpo.read_events(b'{"event": "result", "trial_id": 0, "result": '
                           b'{"error": 0.5, "time": 1.0, "epoch": 1}}\n',
                           'log', ['error', 'log_params'])


def test_motpe_good_set_is_the_first_fronts_then_hypervolume_gain():
    searcher = d2lhpo.MOTPESearcher(SPACE, seed=0, gamma=0.5)
    Y = [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.6, 0.6], [0.9, 0.9],
         [0.2, 0.8], [0.7, 0.7], [1.0, 1.0]]
    # fronts: {0, 1, 2, 5}, {3}, {6}, {4}, {7}; ceil(0.5 * 8) = 4 places
    for i, y in enumerate(Y):
        config = {'x1': i / 10, 'x2': 0.5}
        searcher.update(i, config, y[0], {'error': y[0], 'objectives': y})
    good, bad = searcher.split()
    assert sorted(np.round(good[:, 0] * 10).astype(int)) == [0, 1, 2, 5]
    assert len(bad) == 4
    searcher.gamma = 0.6  # 5 places: the first front and the second
    good, _ = searcher.split()
    assert sorted(np.round(good[:, 0] * 10).astype(int)) == [0, 1, 2, 3, 5]
    searcher.gamma = 0.3  # 3 places of the first front of 4; reference
    # (1.1, 1.1); contributions: (0, 1) 0.2 * 0.1, (0.5, 0.5) 0.5 * 0.3,
    # (1, 0) 0.1 * 0.5, (0.2, 0.8) 0.3 * 0.2: all but (0, 1)
    good, _ = searcher.split()
    assert sorted(np.round(good[:, 0] * 10).astype(int)) == [1, 2, 5]


def test_motpe_keeps_the_highest_fidelity_and_checks_results():
    searcher = d2lhpo.MOTPESearcher(SPACE, seed=0)
    config = searcher.sample_configuration(0)
    with pytest.raises(ValueError, match='list of metrics'):
        searcher.update(0, config, 0.5, {'error': 0.5})
    searcher = d2lhpo.MOTPESearcher(SPACE, seed=0)
    for epoch, objectives in ((2, [0.3, 1.0]), (1, [0.9, 2.0])):
        searcher.update(0, config, objectives[0], {
            'epoch': epoch, 'error': objectives[0], 'objectives': objectives})
    searcher.update(1, config, math.nan, None)  # failed: not an observation
    assert searcher.objectives == {0: [0.3, 1.0]} and len(searcher.failed) == 1


def test_motpe_is_reproducible_and_beats_random_search_on_zdt1():
    make = lambda: d2lhpo.MOTPESearcher(SPACE, seed=3)
    a, b = run(make(), 25), run(make(), 25)
    assert [r.config for r in a.records] == [r.config for r in b.records]
    motpe = [front_hv(run(d2lhpo.MOTPESearcher(SPACE, seed=seed)))
             for seed in range(5)]
    random = [front_hv(run(d2lhpo.RandomSearcher(SPACE, seed=seed)))
              for seed in range(5)]
    assert np.median(motpe) > np.median(random)
