"""benchmarks/pbt_benchmark.py without Ray: the toy part end to end, the
MNIST-1D objective's checkpoints and a tiny PBT run on it."""
import json
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import pbt_benchmark as bench  # noqa: E402


def test_toy_part_runs_without_ray_and_saves_its_results(tmp_path, capsys):
    path = tmp_path / 'pbt.json'
    code = bench.main(['--parts', 'toy', '--seeds', '3', '--skip-ray',
                       '--save', str(path), '--check'])
    out = capsys.readouterr().out
    assert code == 0 and 'PASS: toy: d2lhpo median best Q' in out
    assert 'ray skipped' in out and 'FAIL' not in out
    saved = json.loads(path.read_text())
    toy = saved['toy']
    assert toy['seeds'] == [0, 1, 2] and toy['best_q']['Ray Tune'] == []
    again = [bench.d2lhpo_toy(seed)[0] for seed in range(3)]
    assert toy['best_q']['d2lhpo'] == again  # seeded: reproducible
    # no run reaches the best fixed weights h = (1, 1) in 40 steps
    assert all(q < toy['best_fixed_q'] for q in again)
    assert [c['pass'] for c in toy['checks']] == [True]
    assert toy['command'].endswith('--check') and set(saved) == {'toy'}
    path.write_text(json.dumps({'toy': {}, 'mnist1d': {'kept': 1}}))
    bench.save(str(path), {'toy': toy})  # the other part is kept
    assert json.loads(path.read_text()) == {'toy': toy,
                                            'mnist1d': {'kept': 1}}


def test_toy_objective_continues_from_its_checkpoint(tmp_path):
    checkpoint = str(tmp_path / 'toy.json')
    straight = list(bench.toy_pbt(0.5, 0.7))
    first = list(bench.toy_pbt(0.5, 0.7, num_steps=10,
                               checkpoint=checkpoint))
    rest = list(bench.toy_pbt(0.5, 0.7, checkpoint=checkpoint))
    assert first + rest == straight


def test_mnist1d_objective_resumes_with_the_new_hyperparameters(tmp_path):
    checkpoint = str(tmp_path / 'trial.pt')
    config = dict(lr=0.05, momentum=0.9, weight_decay=1e-4, num_epochs=2)
    straight = [r['error'] for r in bench.mnist1d_sgd(**config)]
    first = list(bench.mnist1d_sgd(**dict(config, num_epochs=1),
                                   checkpoint=checkpoint))
    shutil.copyfile(checkpoint, checkpoint + '.epoch1')
    resumed = list(bench.mnist1d_sgd(**config, checkpoint=checkpoint))
    assert [r['error'] for r in first + resumed] == straight
    assert all(r['train_seconds'] > 0 for r in first + resumed)
    os.replace(checkpoint + '.epoch1', checkpoint)  # back to epoch 1
    changed = list(bench.mnist1d_sgd(**dict(config, lr=0.0, momentum=0.0),
                                     checkpoint=checkpoint))
    # with lr 0 the second epoch leaves the weights of the first
    assert changed[0]['error'] == first[0]['error']


def test_tiny_pbt_run_on_mnist1d():
    out = bench.mnist1d_run('PBT', seed=0, population=2, epochs=2,
                            interval=1, pbt_tuner='sequential')
    assert out['epochs'] == 4 and out['exploits'] == 1
    assert len(out['schedule']) == 2 and 0 < out['final_error'] < 1
    assert set(out['schedule'][0]) == set(bench.HYPERPARAMETERS)
    assert out['scheduler_seconds'] > 0 and out['seconds'] > 0


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bench.main(['--parts', 'cifar'])
    with pytest.raises(SystemExit):
        bench.main(['--population', '1'])
