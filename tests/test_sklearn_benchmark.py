"""benchmarks/sklearn_benchmark.py: both libraries get the same space and,
pair by pair, the same fits; one small cell runs end to end."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import sklearn_benchmark as bench  # noqa: E402


def test_training_parts_are_multiples_of_nine():
    sizes = {name: len(bench.split(name, seed=0)[2])
             for name in bench.DATASETS}
    assert sizes == {'digits': 1341, 'breast_cancer': 423, 'wine': 126}


def test_one_cell_same_fits_in_each_pair():
    cell, out = bench.run_cell(('wine', 'svc', 0), trials=4, candidates=9)
    assert cell == ('wine', 'svc', 0) and set(out) == set(bench.METHODS)
    full = [out[m]['evaluations'] for m in bench.METHODS[:3]]
    assert full == [{126: 4}] * 3  # 4 configurations x 3 folds each
    # halving: 9 on a ninth of the samples, 3 on a third, 1 on all
    for method in bench.METHODS[3:]:
        assert out[method]['evaluations'] == {14: 9, 42: 3, 126: 1}
    assert bench.fits(out['HalvingRandomSearchCV']['evaluations']) == 39
    for result in out.values():
        assert 0.3 < result['cv_score'] <= 1 and result['seconds'] > 0


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bench.main(['--candidates', '10'])
    with pytest.raises(SystemExit):
        bench.main(['--models', 'mlp'])
