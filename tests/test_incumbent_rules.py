"""The incumbent rules that `benchmarks/model_based_misses.py` replays on a
tuner's results: a hand example that tells the five apart, and the book's
rule and the largest-budget rule on a real run. The tuner's own rules
(`incumbent='best' | 'last' | 'last-<k>-avg'`) on the same hand example,
with constraints, against the replay on a real run, and in part 1 of
`benchmarks/multi_fidelity_benchmark.py`."""
import math
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import d2lhpo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import model_based_misses as misses  # noqa: E402

# (trial, epoch, error) in the order they arrive; trial k is worth WORTH[k]
RESULTS = [(0, 1, 0.50), (1, 1, 0.30), (0, 2, 0.40), (1, 2, 0.65),
           (0, 3, 0.45), (1, 3, 0.20), (2, 1, 0.35), (2, 3, 0.44),
           (0, 4, 0.25), (3, 9, 0.50), (2, 9, 0.50)]
WORTH = [0.04, 0.03, 0.05, 0.06]


class Worth:
    """A benchmark stand-in whose true error is the trial's own worth."""
    max_epochs = 27  # rung levels 1, 3, 9 and 27

    def true_error(self, config):
        return WORTH[config['k']]


def hand_tuner():
    return SimpleNamespace(
        results=[{'trial_id': i, 'epoch': e, 'error': y, 'time': t + 1.0}
                 for t, (i, e, y) in enumerate(RESULTS)],
        records=[SimpleNamespace(config={'k': k}) for k in range(4)])


# rule -> the incumbent (trial) after each result of RESULTS
EXPECTED = {
    # the lowest error so far: 0.3 at step 2, then trial 1's own 0.2
    'best': [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    # the last error: trial 1's rises to 0.65 and trial 0 takes over, until
    # trial 1 falls to 0.2
    'last': [0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1],
    # the mean of the last 3: trial 1 (0.3, 0.65, 0.2) averages 0.383, so
    # trial 2's 0.35 takes over, then its mean 0.395 hands it back; trial
    # 0's (0.4, 0.45, 0.25) averages 0.367 and wins
    'last-3-avg': [0, 1, 1, 0, 0, 1, 2, 1, 0, 0, 0],
    # the mean of the last 5: trial 0's four errors average 0.4 > 0.383
    'last-5-avg': [0, 1, 1, 0, 0, 1, 2, 1, 1, 1, 1],
    # rung levels only (epochs 2 and 4 are ignored); a larger level takes
    # over whatever its error (steps 5 and 10), a smaller one never does
    # (step 7), a tie keeps the first (step 11)
    'largest-budget': [0, 1, 1, 1, 0, 1, 1, 1, 1, 3, 3],
}


@pytest.mark.parametrize('rule, incumbents', EXPECTED.items())
def test_each_rule_on_a_hand_example(rule, incumbents):
    times, values = misses.RULES[rule](Worth(), hand_tuner())
    assert times.tolist() == [t + 1.0 for t in range(len(RESULTS))]
    assert values.tolist() == [WORTH[k] for k in incumbents]


def test_the_rules_on_a_real_run():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    tuner = misses.run(bench, 'ASHA + TPE', seed=0, max_time=30)
    _, values = misses.RULES['best'](bench, tuner)
    assert np.array_equal(values, d2lhpo.true_trajectory(tuner, bench))
    _, top = misses.RULES['largest-budget'](bench, tuner)
    levels = set(d2lhpo.rung_levels(1, bench.max_epochs, 3))
    deepest = max(r['epoch'] for r in tuner.results if r['epoch'] in levels)
    _, first = min((r['error'], n) for n, r in enumerate(tuner.results)
                   if r['epoch'] == deepest)
    winner = tuner.results[first]['trial_id']
    assert top[-1] == bench.true_error(tuner.records[winner].config)


class Keep(d2lhpo.BasicScheduler):
    """Lets every trial go on; the tests feed the tuner results by hand."""
    def __init__(self):
        super().__init__(d2lhpo.RandomSearcher({'k': [0, 1, 2, 3]}, seed=0))


def hand_fed_tuner(incumbent, results=RESULTS, violations=None):
    """An `HPOTuner` with rule `incumbent`, told `results` one by one."""
    tuner = d2lhpo.HPOTuner(Keep(), None, incumbent=incumbent,
                            constraints=None if violations is None
                            else ['c'])
    for step, (i, _, error) in enumerate(results):
        while len(tuner.records) <= i:
            tuner.start_trial({'k': len(tuner.records)}, float(step))
        result = {'error': error, 'time': step + 1.0}
        if violations is not None:
            result['violation'] = violations[step]
        tuner.report(tuner.records[i], result)
    return tuner


@pytest.mark.parametrize('rule, incumbents', [
    *((rule, EXPECTED[rule]) for rule in ('best', 'last', 'last-3-avg',
                                          'last-5-avg')),
    ('last-1-avg', EXPECTED['last'])])
def test_the_tuner_keeps_each_rule(rule, incumbents):
    """The tuner's own `incumbent=` rules give the incumbents worked out
    by hand above, and its scores are the rule's means."""
    tuner = hand_fed_tuner(rule)
    assert tuner.incumbent_ids == incumbents
    assert tuner.incumbent == {'k': incumbents[-1]}
    if rule == 'last-3-avg':  # trial 0's last three: 0.40, 0.45, 0.25
        assert tuner.incumbent_error == pytest.approx((0.4 + 0.45 + 0.25) / 3)
        assert tuner.incumbent_trajectory[6] == pytest.approx(0.35)


def test_a_windowed_rule_puts_feasible_trials_first():
    # trial 0 is infeasible with the lowest errors; trial 1 feasible, then
    # infeasible once: its mean violation over the last 2 is positive, so
    # the tuner falls back to the smallest mean violation (trial 1's 0.5)
    results = [(0, 1, 0.1), (1, 1, 0.5), (1, 2, 0.4)]
    tuner = hand_fed_tuner('last-2-avg', results, violations=[2.0, 0.0, 1.0])
    assert tuner.incumbent_ids == [0, 1, 1]
    assert tuner.incumbent_violation == pytest.approx(0.5)
    assert tuner.incumbent_error == pytest.approx(0.45)


@pytest.mark.parametrize('bad', ['worst', 'last-0-avg', 'last-3', 'last-x-avg',
                                 'last--1-avg', 3, None])
def test_an_unknown_rule_is_refused(bad):
    with pytest.raises(ValueError, match="incumbent must be 'best', 'last'"):
        d2lhpo.HPOTuner(Keep(), None, incumbent=bad)


@pytest.mark.parametrize('rule, last', [('last', 1), ('last-3-avg', 3),
                                        ('last-9-avg', 9)])
def test_the_tuner_rule_equals_the_replay_on_a_real_run(rule, last):
    """An asynchronous run of ASHA + TPE made with `incumbent=rule` has the
    incumbents that the benchmark's replay computes from its results, and
    the same trials as the run under the book's rule."""
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    runs = {}
    for name in ('best', rule):
        tuner = d2lhpo.AsyncTuner(
            misses.METHODS['ASHA + TPE'](bench, 3), d2lhpo.SimulatedBackend(
                bench, num_workers=4, seed=3), incumbent=name)
        tuner.run(max_time=60)
        runs[name] = tuner
    assert runs[rule].results == runs['best'].results  # the same decisions
    _, replayed = misses.replay(bench, runs['best'], last=last)
    assert np.array_equal(replayed, d2lhpo.true_trajectory(runs[rule], bench))
    assert runs[rule].incumbent_ids != runs['best'].incumbent_ids


def test_the_benchmark_runs_part_1_under_a_rule_and_holds_the_named_method(
        capsys):
    import multi_fidelity_benchmark as mf
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    mf.time_to_reach_part(bench, range(2), 4, 20.0, 'last-3-avg',
                          'TPE rungs>=9')
    out = capsys.readouterr().out
    assert "incumbent rule 'last-3-avg'" in out
    checked = [line for line in out.splitlines()
               if line.startswith(('PASS', 'FAIL'))]
    assert len(checked) == 3 and 'TPE rungs>=9 at least as good' in checked[2]
    assert '(for reference' in out and 'ASHA + TPE at least as good' in out
    assert "where stopping-type ASHA's time goes" in out
    assert 'for scale, a scheduler that knows the table' in out


@pytest.mark.parametrize('at', [1, 3])
def test_the_oracle_stops_exactly_the_trials_that_miss_the_target(at):
    import multi_fidelity_benchmark as mf
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    target = 0.1
    tuners = []
    mf.run_d2lhpo(bench, mf.OracleStopping(bench, 0, target, at), 0, 4,
                  tuners=tuners, max_time=60.0)
    ended = [r for r in tuners[0].records  # not cut short by the budget
             if r.status != 'running' and r.message != 'budget exhausted']
    assert ended
    for record in ended:
        good = bench.true_error(record.config) <= target
        assert record.epochs == (bench.max_epochs if good else at)
    assert any(bench.true_error(r.config) <= target for r in ended)


def test_first_good_times_finds_the_first_results_of_good_trials():
    import multi_fidelity_benchmark as mf
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    tuners = []
    mf.run_d2lhpo(bench, mf.asha(bench, 0), 0, 4, tuners=tuners,
                  max_time=30.0)
    tuner, = tuners
    first, last = tuner.results[0]['time'], tuner.results[-1]['time']
    assert mf.first_good_times(bench, tuner, np.inf, (1,)) == [first]
    assert mf.first_good_times(bench, tuner, -np.inf) == [np.inf] * 2
    worth = {r.trial_id: bench.true_error(r.config) for r in tuner.records}
    nine = [r for r in tuner.results if r['epoch'] == 9]
    target = min(worth[r['trial_id']] for r in nine)  # a trial reaching 9
    seen, ninth = mf.first_good_times(bench, tuner, target)
    assert first <= seen <= ninth <= last
    assert ninth == min(r['time'] for r in nine
                        if worth[r['trial_id']] <= target)
    assert seen == min(r['time'] for r in tuner.results
                       if worth[r['trial_id']] <= target)


def test_the_benchmark_refuses_an_unknown_rule(monkeypatch, capsys):
    import multi_fidelity_benchmark as mf
    monkeypatch.setattr(sys, 'argv', ['x', '--incumbent', 'median'])
    with pytest.raises(SystemExit) as stop:
        mf.main()
    assert stop.value.code == 2
    assert "incumbent must be 'best'" in capsys.readouterr().err


def test_window_ties_keep_the_incumbent_or_go_to_the_earlier_trial():
    # trial 1's mean ties trial 0's (0.2): the incumbent stays; trial 0's
    # own mean rises to 0.325, so trial 1 takes over; trial 2 ties it at
    # 0.2 and does not
    ties = [(0, 1, 0.1), (0, 2, 0.3), (1, 1, 0.3), (1, 2, 0.1),
            (0, 3, 0.35), (2, 1, 0.2), (2, 2, 0.2)]
    tuner = hand_fed_tuner('last-2-avg', ties)
    assert tuner.incumbent_ids == [0, 0, 0, 0, 1, 1, 1]
    # the incumbent's own score rising to a tie hands it to the earlier trial
    back = [(0, 1, 0.2), (1, 1, 0.1), (1, 2, 0.3)]
    assert hand_fed_tuner('last-2-avg', back).incumbent_ids == [0, 1, 0]


def test_equal_windows_in_another_order_tie_exactly():
    # 0.1 + 0.2 + 0.3 in two orders differs in the last bit with plain sums
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1
    ties = [(0, 1, 0.1), (0, 2, 0.2), (0, 3, 0.3),
            (1, 1, 0.3), (1, 2, 0.2), (1, 3, 0.1)]
    assert hand_fed_tuner('last-3-avg', ties).incumbent_ids == [0] * 6


def brute_force(results, violations, window):
    """The incumbent after each result, by the rule's definition."""
    history, scores, out, best = {}, {}, [], None
    for (i, _, error), v in zip(results, violations):
        history.setdefault(i, []).append((v, error))
        recent = history[i] if window is None else history[i][-window:]
        scores[i] = (min(recent) if window is None else tuple(
            math.fsum(x) / len(recent) for x in zip(*recent)))
        if best is None or scores[i] < scores[best]:
            best = i
        elif window is not None and i == best:
            best = min(scores, key=lambda k: (scores[k], k))
        out.append(best)
    return out


@pytest.mark.parametrize('rule, window', [('best', None), ('last', 1),
                                          ('last-2-avg', 2),
                                          ('last-3-avg', 3)])
def test_the_tuner_agrees_with_the_definition_on_random_sequences(rule,
                                                                   window):
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 25))
        trials = np.sort(rng.integers(0, 5, n))  # ids appear in order
        trials = rng.permutation(trials)
        first = {t: k for k, t in enumerate(dict.fromkeys(trials.tolist()))}
        results = [(first[t], 0, float(rng.choice([0.1, 0.2, 0.3, 0.4])))
                   for t in trials.tolist()]
        violations = (rng.choice([0.0, 0.0, 1.0, 2.0], n).tolist()
                      if rng.uniform() < 0.5 else None)
        tuner = hand_fed_tuner(rule, results, violations)
        assert tuner.incumbent_ids == brute_force(
            results, violations or [0.0] * n, window)


def test_simulate_passes_the_rule_to_its_tuners():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    kept = []
    make = misses.METHODS['ASHA promotion']  # (bench, seed) -> scheduler
    d2lhpo.simulate(lambda seed: make(bench, seed), bench, [0],
                    tuners=kept, incumbent='last-4-avg', max_time=5)
    assert kept[0].window == 4 and kept[0].results
