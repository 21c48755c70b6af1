"""benchmarks/mo_benchmark.py, part asha: the MO-ASHA variants that its
options choose run, and the check names the variant."""
import os
import sys

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
    assert ('MO-ASHA (promotion): eta=2, r_min=3, r_max=27, searcher '
            'parego-tpe, seeds 0 to 1') in capsys.readouterr().out


@pytest.mark.parametrize('option', [['--searcher', 'bohb'],
                                    ['--kind', 'pausing']])
def test_an_unknown_searcher_or_kind_is_refused(option):
    with pytest.raises(SystemExit):
        bench.main(['--part', 'asha', *option])
