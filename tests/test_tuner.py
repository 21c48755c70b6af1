"""HPOTuner, TrialRecord, as_error, ProgressBoard and the any-time helpers."""
import copy
import dataclasses
import functools
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from d2lhpo import (BasicScheduler, GridSearcher, HPOScheduler, HPOSearcher,
                    HPOTuner, ProgressBoard, RandomSearcher, TrialRecord,
                    as_error, incumbent_at, plot_anytime, softmax_objective)

SPACE = {'x': stats.uniform(0, 1), 'k': stats.randint(1, 5),
         'act': ['relu', 'tanh']}


def toy(x, k, act):
    """A cheap deterministic objective with its minimum near x=0.3, k=2."""
    return (x - 0.3) ** 2 + 0.01 * (k - 2) ** 2 + (act == 'tanh') * 0.001


def make_tuner(objective=toy, seed=0, space=SPACE, board=None):
    return HPOTuner(BasicScheduler(RandomSearcher(space, seed=seed)),
                    objective, board=board)


class ListSearcher(HPOSearcher):
    """Proposes the given configurations in order, then None."""
    def __init__(self, configs):
        self.configs = configs
        self.position = 0

    def sample_configuration(self, trial_id):
        if self.position >= len(self.configs):
            return None
        self.position += 1
        return self.configs[self.position - 1]


class RecordingScheduler(BasicScheduler):
    """A BasicScheduler that remembers what it tells its searcher."""
    def __init__(self, searcher):
        super().__init__(searcher)
        self.updates = []

    def inform_searcher(self, trial, result):
        error = math.nan if result is None else result['error']
        self.updates.append((copy.deepcopy(trial.config), error, result))
        super().inform_searcher(trial, result)


def values_tuner(values):
    """A tuner whose i-th trial returns values[i] (or raises it)."""
    configs = [{'i': i} for i in range(len(values))]

    def objective(i):
        value = values[i]
        if isinstance(value, BaseException):
            raise value
        return value

    scheduler = RecordingScheduler(ListSearcher(configs))
    return HPOTuner(scheduler, objective), scheduler


# ----------------------------------------------------------- run, records
def test_run_runs_the_requested_number_of_trials():
    tuner = make_tuner()
    tuner.run(7)
    assert len(tuner.records) == 7
    assert [r.trial_id for r in tuner.records] == list(range(7))


def test_trial_records_hold_config_error_status_and_times():
    tuner = make_tuner()
    tuner.run(5)
    for record in tuner.records:
        assert isinstance(record, TrialRecord)
        assert set(record.config) == set(SPACE)
        assert record.error == pytest.approx(toy(**record.config))
        assert type(record.error) is float
        assert record.status == 'completed'
        assert record.message == ''
        assert record.runtime >= 0
        assert 0 <= record.start_time <= record.end_time <= tuner.clock
        assert record.runtime <= record.end_time - record.start_time + 1e-6
    starts = [r.start_time for r in tuner.records]
    ends = [r.end_time for r in tuner.records]
    assert all(e <= s for e, s in zip(ends, starts[1:]))


def test_trial_record_field_names():
    assert [f.name for f in dataclasses.fields(TrialRecord)] == [
        'trial_id', 'config', 'error', 'status', 'runtime', 'start_time',
        'end_time', 'message', 'epochs', 'worker', 'checkpoint']


def test_incumbent_and_trajectory_are_consistent_with_records():
    tuner = make_tuner(seed=3)
    result = tuner.run(12)
    errors = [r.error for r in tuner.records]
    best = int(np.argmin(errors))
    assert tuner.incumbent == tuner.records[best].config
    assert result == tuner.incumbent
    assert tuner.incumbent_error == min(errors)
    assert tuner.incumbent_trajectory == list(np.minimum.accumulate(errors))
    assert len(tuner.incumbent_trajectory) == 12
    assert all(b <= a for a, b in zip(tuner.incumbent_trajectory,
                                      tuner.incumbent_trajectory[1:]))


def test_incumbent_is_a_copy_not_the_records_config():
    tuner = make_tuner()
    tuner.run(4)
    best = min(tuner.records, key=lambda r: r.error)
    assert tuner.incumbent == best.config
    assert tuner.incumbent is not best.config


def test_cumulative_runtime_is_the_clock_at_each_result():
    tuner = make_tuner()
    tuner.run(6)
    times = tuner.cumulative_runtime
    assert len(times) == 6
    assert times[0] >= 0
    assert all(b >= a for a, b in zip(times, times[1:]))
    assert times == [r['time'] for r in tuner.results]
    for t, record in zip(times, tuner.records):
        assert record.start_time <= t <= record.end_time
    assert tuner.clock >= times[-1]


def test_second_run_continues_records_and_clock():
    tuner = make_tuner()
    tuner.run(3)
    clock, first_error = tuner.clock, tuner.incumbent_error
    assert clock > 0
    tuner.run(4)
    assert len(tuner.records) == 7
    assert [r.trial_id for r in tuner.records] == list(range(7))
    assert len(tuner.incumbent_trajectory) == 7
    assert len(tuner.cumulative_runtime) == 7
    assert tuner.records[3].start_time >= clock
    assert tuner.clock > clock
    assert all(b >= a for a, b in zip(tuner.cumulative_runtime,
                                      tuner.cumulative_runtime[1:]))
    assert tuner.incumbent_error <= first_error


@pytest.mark.parametrize('n', [0, -1, 1.5, True, '3', None, 2.0])
def test_run_rejects_a_number_of_trials_that_is_not_a_positive_int(n):
    tuner = make_tuner()
    with pytest.raises(ValueError, match='number_of_trials'):
        tuner.run(n)
    assert tuner.records == [] and tuner.clock == 0.0


def test_run_accepts_a_numpy_integer():
    tuner = make_tuner()
    tuner.run(np.int64(2))
    assert len(tuner.records) == 2


# ---------------------------------------------------- objective's returns
@pytest.mark.parametrize('value, expected', [
    (0.25, 0.25),
    (3, 3.0),
    (np.float32(0.25), 0.25),
    (np.float64(0.125), 0.125),
    (np.int64(2), 2.0),
    (torch.tensor(0.5), 0.5),
    (torch.tensor([0.5], requires_grad=True), 0.5),
    (torch.tensor([[0.75]]), 0.75),
    (np.array(0.375), 0.375),
], ids=['float', 'int', 'np.float32', 'np.float64', 'np.int64',
        '0d-tensor', '1-elem-grad-tensor', '1x1-tensor', '0d-ndarray'])
def test_objective_may_return_any_single_number(value, expected):
    tuner, _ = values_tuner([value])
    tuner.run(1)
    record = tuner.records[0]
    assert record.status == 'completed', record.message
    assert type(record.error) is float
    assert record.error == pytest.approx(expected)
    assert tuner.incumbent == {'i': 0}


@pytest.mark.parametrize('value, pattern', [
    (torch.tensor([0.1, 0.2, 0.3]), 'shape'),
    (np.array([0.1, 0.2]), 'shape'),
    ('0.5', 'str'),
    (None, 'NoneType'),
    (True, 'bool'),
    ([0.5], 'list'),
], ids=['3-tensor', '2-ndarray', 'str', 'None', 'bool', 'list'])
def test_objective_returning_a_non_number_is_a_failed_trial(value, pattern):
    tuner, _ = values_tuner([value, 0.5])
    tuner.run(2)
    failed, ok = tuner.records
    assert failed.status == 'failed'
    assert math.isnan(failed.error)
    assert pattern in failed.message
    assert ok.status == 'completed'  # the run went on
    assert tuner.incumbent == {'i': 1}


def test_as_error_converts_and_rejects():
    assert as_error(torch.tensor(2)) == 2.0
    assert as_error(np.float32(1.5)) == 1.5
    with pytest.raises(TypeError, match='shape'):
        as_error(torch.ones(2, 2))
    with pytest.raises(TypeError):
        as_error('1.0')
    with pytest.raises(TypeError):
        as_error(False)


def test_raising_objective_is_a_failed_trial_and_the_run_continues():
    tuner, scheduler = values_tuner(
        [0.4, RuntimeError('out of memory (pretend)'), 0.3,
         ValueError('bad batch size 7')])
    tuner.run(4)
    assert [r.status for r in tuner.records] == [
        'completed', 'failed', 'completed', 'failed']
    assert 'RuntimeError' in tuner.records[1].message
    assert 'out of memory (pretend)' in tuner.records[1].message
    assert 'ValueError' in tuner.records[3].message
    assert 'bad batch size 7' in tuner.records[3].message
    assert math.isnan(tuner.records[1].error)
    assert tuner.incumbent == {'i': 2} and tuner.incumbent_error == 0.3


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf,
                                 np.float32('nan'), torch.tensor(math.inf)],
                         ids=['nan', 'inf', '-inf', 'np-nan', 'tensor-inf'])
def test_non_finite_error_is_a_failed_trial_and_never_the_incumbent(bad):
    tuner, _ = values_tuner([bad, 0.9, bad, 0.7, bad])
    tuner.run(5)
    statuses = [r.status for r in tuner.records]
    assert statuses == ['failed', 'completed', 'failed', 'completed',
                        'failed']
    assert all(math.isnan(r.error) for r in tuner.records[::2])
    assert all(r.message for r in tuner.records[::2])
    assert tuner.incumbent == {'i': 3} and tuner.incumbent_error == 0.7
    # failed trials report no result: the trajectory has one entry per
    # result of the two completed trials
    assert tuner.incumbent_trajectory == [0.9, 0.7]
    assert [r['trial_id'] for r in tuner.results] == [1, 3]


def test_all_trials_failing_leaves_no_incumbent():
    tuner, _ = values_tuner([math.nan, RuntimeError('x')])
    assert tuner.run(2) is None
    assert tuner.incumbent is None
    assert tuner.incumbent_error == math.inf
    assert tuner.incumbent_trajectory == [] and tuner.results == []
    assert [r.status for r in tuner.records] == ['failed', 'failed']


def test_searcher_is_told_nan_for_failures():
    tuner, scheduler = values_tuner([0.5, KeyError('lr'), math.inf])
    tuner.run(3)
    assert len(scheduler.updates) == 3
    (c0, e0, i0), (c1, e1, i1), (c2, e2, i2) = scheduler.updates
    # a completed trial's result is its last result
    assert c0 == {'i': 0} and e0 == 0.5
    assert i0 == tuner.results[0]
    assert set(i0) == {'error', 'time', 'trial_id', 'epoch'}
    assert math.isnan(e1) and i1 is None
    assert 'KeyError' in tuner.records[1].message
    assert math.isnan(e2) and i2 is None
    assert 'inf' in tuner.records[2].message


def test_keyboard_interrupt_propagates_and_keeps_finished_trials():
    calls = []

    def objective(x, k, act):
        calls.append(x)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return x

    tuner = make_tuner(objective)
    with pytest.raises(KeyboardInterrupt):
        tuner.run(10)
    assert len(tuner.records) == 3
    assert all(r.status == 'completed' for r in tuner.records[:2])
    assert tuner.records[2].status == 'stopped'
    assert tuner.records[2].message == 'interrupted'
    assert len(tuner.results) == 2
    assert len(tuner.incumbent_trajectory) == 2
    assert len(tuner.cumulative_runtime) == 2
    assert tuner.clock > 0
    assert tuner.clock >= tuner.cumulative_runtime[-1]
    assert tuner.incumbent_error == min(calls[:2])


def test_objective_mutating_its_kwargs_does_not_change_callers_configs():
    configs = [{'sizes': [8, 16], 'opts': {'lr': 0.1}},
               {'sizes': [32], 'opts': {'lr': 0.05}}]
    originals = copy.deepcopy(configs)

    def objective(sizes, opts):
        error = len(sizes) / 10 + opts['lr']
        sizes.append(999)
        opts['lr'] = -1
        return error

    scheduler = RecordingScheduler(ListSearcher(configs))
    tuner = HPOTuner(scheduler, objective)
    tuner.run(2)
    assert configs == originals
    assert [r.config for r in tuner.records] == originals
    assert [c for c, _, _ in scheduler.updates] == originals
    assert tuner.incumbent == originals[1]


def test_records_do_not_alias_the_configs_the_searcher_returned():
    configs = [{'sizes': [8]}]
    tuner = HPOTuner(BasicScheduler(ListSearcher(configs)),
                     lambda sizes: 0.5)
    tuner.run(1)
    configs[0]['sizes'].append(1)
    assert tuner.records[0].config == {'sizes': [8]}
    assert tuner.incumbent == {'sizes': [8]}


# ------------------------------------------------------- reproducibility
def test_same_seed_reproduces_configs_and_errors_with_toy_objective():
    a, b = make_tuner(seed=9), make_tuner(seed=9)
    a.run(8)
    b.run(8)
    assert [r.config for r in a.records] == [r.config for r in b.records]
    assert [r.error for r in a.records] == [r.error for r in b.records]
    assert a.incumbent == b.incumbent
    c = make_tuner(seed=10)
    c.run(8)
    assert [r.config for r in c.records] != [r.config for r in a.records]


def test_same_seed_reproduces_softmax_objective_runs():
    space = {'lr': stats.loguniform(1e-2, 1),
             'batch_size': stats.randint(64, 129)}
    objective = functools.partial(softmax_objective, num_epochs=1, seed=0)
    runs = []
    for _ in range(2):
        tuner = HPOTuner(BasicScheduler(RandomSearcher(space, seed=1)),
                         objective)
        tuner.run(2)
        runs.append(tuner.records)
    assert all(r.status == 'completed' for r in runs[0] + runs[1])
    assert [r.config for r in runs[0]] == [r.config for r in runs[1]]
    assert [r.error for r in runs[0]] == [r.error for r in runs[1]]
    assert all(0 <= r.error <= 1 for r in runs[0])


# ------------------------------------------------------------ the table
def test_records_table_has_one_row_per_trial_and_the_expected_columns():
    def objective(x, k, act):
        if k == 4:
            raise RuntimeError('k too large')
        return toy(x, k, act)

    tuner = make_tuner(objective, seed=0)
    tuner.run(10)
    table = tuner.records_table()
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 10
    assert set(table.columns) >= {'trial_id', 'x', 'k', 'act', 'error',
                                  'status', 'runtime', 'start_time',
                                  'end_time', 'message'}
    assert table['trial_id'].tolist() == list(range(10))
    assert table['x'].tolist() == [r.config['x'] for r in tuner.records]
    failed = table[table['status'] == 'failed']
    assert len(failed) == sum(r.config['k'] == 4 for r in tuner.records) > 0
    assert failed['error'].isna().all()
    assert failed['message'].str.contains('k too large').all()
    completed = table[table['status'] == 'completed']
    assert (completed['message'] == '').all()
    assert completed['error'].notna().all()


def test_records_table_of_a_new_tuner_is_empty():
    table = make_tuner().records_table()
    assert isinstance(table, pd.DataFrame) and len(table) == 0


# ------------------------------------------------------ running out early
def test_exhausted_grid_searcher_ends_run_early():
    searcher = GridSearcher({'x': stats.uniform(0, 1), 'act': ['a', 'b']},
                            num_points=2)
    tuner = HPOTuner(BasicScheduler(searcher), lambda x, act: x)
    incumbent = tuner.run(10)
    assert len(tuner.records) == 4
    assert incumbent['x'] == 0.0
    tuner.run(3)  # nothing left: no new trial, no error
    assert len(tuner.records) == 4
    assert len(tuner.incumbent_trajectory) == 4


# ---------------------------------------------------------- ProgressBoard
def test_board_gets_one_point_per_result():
    board = ProgressBoard(live=False)
    tuner, _ = values_tuner([math.nan, 0.8, RuntimeError('x'), 0.5, 0.9])
    tuner.board = board
    tuner.run(5)
    assert list(board.lines) == ['incumbent']
    xs, ys = board.lines['incumbent']
    assert len(xs) == len(ys) == 3  # the failed trials report no result
    assert ys == [0.8, 0.5, 0.5]
    assert xs == tuner.cumulative_runtime
    assert board.num_points == 3


def test_live_board_redraws_without_leaking_figures():
    before = plt.get_fignums()
    board = ProgressBoard(every_n=2)
    tuner = make_tuner(board=board)
    tuner.run(3)
    assert len(board.lines['incumbent'][0]) == 3
    assert plt.get_fignums() == before


def test_board_figure_has_step_lines_and_labels():
    board = ProgressBoard(xlabel='time (s)', ylabel='error', yscale='log',
                          live=False)
    board.draw(0.5, 0.3, 'random')
    board.draw(1.0, 0.2, 'random')
    board.draw(0.7, 0.25, 'grid')
    fig = board.figure()
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'time (s)'
    assert ax.get_ylabel() == 'error'
    assert ax.get_yscale() == 'log'
    assert len(ax.get_lines()) == 2
    assert ax.get_legend() is not None  # more than one line
    plt.close(fig)


def test_board_default_labels():
    fig = ProgressBoard().figure()
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'wall-clock time (s)'
    assert ax.get_ylabel() == 'incumbent validation error'
    plt.close(fig)


def test_board_without_labels_does_not_crash():
    board = ProgressBoard(xlabel=None, ylabel=None, live=False)
    board.draw(1, 0.5, 'incumbent')
    fig = board.figure()
    assert fig.axes[0].get_xlabel() == ''
    assert fig.axes[0].get_ylabel() == ''
    plt.close(fig)


# ---------------------------------------------------- any-time helpers
def test_incumbent_at_reads_the_last_finished_trial():
    times = [1.0, 2.0, 3.0]
    trajectory = [math.inf, 0.5, 0.3]
    grid = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 5.0])
    out = incumbent_at(times, trajectory, grid)
    assert np.isnan(out[:3]).all()  # before the first and while infinite
    assert out[3:].tolist() == [0.5, 0.5, 0.3]


def test_plot_anytime_draws_one_curve_per_method():
    runs = {'a': [([1, 2], [0.5, 0.4]), ([1.5, 3], [0.6, 0.2])],
            'b': [([0.5, 2.5], [0.7, 0.3])]}
    ax = plot_anytime(runs, np.linspace(0, 3, 13))
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ['a (2 runs)', 'b (1 runs)']
