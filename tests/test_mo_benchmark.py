"""benchmarks/mo_benchmark.py, part asha: the MO-ASHA variants that its
options choose run, and the check names the variant."""
import os
import sys

import numpy as np
import pytest

import d2lhpo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import mo_benchmark as bench  # noqa: E402


@pytest.mark.parametrize('name, cls', [
    ('random', d2lhpo.RandomSearcher), ('motpe', d2lhpo.MOTPESearcher),
    ('parego-tpe', d2lhpo.RandomScalarization)])
def test_each_searcher_option_builds_its_searcher(name, cls):
    space = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE).config_space
    assert type(bench.SEARCHERS[name](space, 0)) is cls


def test_the_asha_part_runs_a_variant_and_names_it(capsys):
    checks = bench.asha_part([0, 1], [10.0], eta=2, r_min=3,
                             searcher='parego-tpe', kind='promotion')
    assert len(checks) == 1
    ok, line = checks[0]
    assert ok in (True, False)  # a numpy or Python bool
    assert 'MO-ASHA (promotion, eta=2, r_min=3, parego-tpe)' in line
    out = capsys.readouterr().out
    assert ('MO-ASHA (promotion): eta=2, r_min=3, r_max=27, searcher '
            'parego-tpe, seeds 0 to 1') in out
    assert "where MO-ASHA's time goes" in out


def test_time_trials_span_matches_the_prefixes_of_the_results():
    table = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    log_params = np.log10(table.num_params)
    reference = np.array([0.5, np.log10(200_000)])
    tuner = d2lhpo.AsyncTuner(
        d2lhpo.MOASHAScheduler(d2lhpo.RandomSearcher(table.config_space,
                                                     seed=0)),
        d2lhpo.SimulatedCostsBackend(table, {'log_params': log_params}, 4,
                                     seed=0), metric=['error', 'log_params'])
    tuner.run(max_time=20.0)

    def true_objectives(config):
        return [table.true_error(config), log_params[table.index(config)]]

    def brute_force(target, min_epoch):  # the hypervolume after each result
        for k, result in enumerate(tuner.results):
            ids = {r['trial_id'] for r in tuner.results[:k + 1]
                   if r['epoch'] >= min_epoch}
            points = [true_objectives(tuner.records[i].config) for i in ids]
            if points and d2lhpo.hypervolume(points, reference) >= target:
                return result['time']
        return np.inf

    everything = d2lhpo.hypervolume(
        [true_objectives(r.config) for r in tuner.records], reference)
    for target in (0.0, 0.5 * everything, everything, np.inf):
        times = [bench.time_trials_span(tuner, true_objectives, reference,
                                        target, epoch)
                 for epoch in bench.SPAN_EPOCHS]
        assert times == [brute_force(target, e) for e in bench.SPAN_EPOCHS]
        assert times == sorted(times)  # fewer trials have more epochs
    assert bench.time_trials_span(tuner, true_objectives, reference,
                                  0.0) == tuner.results[0]['time']


@pytest.mark.parametrize('option', [['--searcher', 'bohb'],
                                    ['--kind', 'pausing']])
def test_an_unknown_searcher_or_kind_is_refused(option):
    with pytest.raises(SystemExit):
        bench.main(['--part', 'asha', *option])
