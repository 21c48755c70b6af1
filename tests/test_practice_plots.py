"""Parallel-coordinates and slice plots of a run (issue 16): the trials they
collect from a tuner, a table, a list of records or of pairs; where each
value lies on its axis (log scales, choices, inactive values); and the data
the figures draw, read back from the matplotlib artists."""
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt
from scipy import stats

import d2lhpo
from d2lhpo import (axis_positions, axis_ticks, plot_parallel_coordinates,
                    plot_slices, plotted_trials)

matplotlib.use('Agg')

SPACE = {'lr': stats.loguniform(1e-4, 1), 'layers': [1, 2],
         'width2': d2lhpo.Conditional(d2lhpo.loguniform_int(8, 256),
                                      'layers', [2]),
         'activation': ['relu', 'tanh'], 'steps': 3}


def accuracy(lr, layers, activation, steps, width2=None):
    if lr > 0.5:
        raise RuntimeError('diverged')  # a failed trial: left out
    penalty = (math.log10(lr) + 2) ** 2 / 8 + (activation == 'tanh') / 10
    return {'accuracy': 0.95 - penalty + (0.02 if layers == 2 else 0)}


@pytest.fixture(scope='module')
def tuner():
    return d2lhpo.tune(accuracy, SPACE, metric='accuracy', mode='max',
                       seed=0, number_of_trials=30, verbose=False)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close('all')


def finished(tuner):
    return [r for r in tuner.records if r.status != 'failed']


def test_plotted_trials_from_a_tuner_a_table_records_and_pairs(tuner):
    records = finished(tuner)
    assert 0 < len(records) < len(tuner.records)  # some trials failed
    domains, configs, values, ids, metric, mode = plotted_trials(tuner,
                                                                 SPACE)
    assert list(domains) == ['lr', 'layers', 'width2', 'activation']
    assert list(ids) == [r.trial_id for r in records]  # failed ones left out
    assert (metric, mode) == ('accuracy', 'max')
    assert configs == [r.config for r in records]
    # the metric as reported: accuracies, not the errors the tuner minimizes
    assert np.allclose(values, [-r.error for r in records])
    assert np.allclose(values, [accuracy(**c)['accuracy'] for c in configs])
    same = [plotted_trials(tuner.records_table(), SPACE, 'accuracy', 'max'),
            plotted_trials(tuner.records, SPACE, 'accuracy', 'max'),
            plotted_trials([(r.config, -r.error) for r in tuner.records],
                           SPACE, 'accuracy', 'max')]
    for other in same:
        assert other[1] == configs and np.allclose(other[2], values)
        assert other[4:] == ('accuracy', 'max')
    # trial ids from a tuner, records and a table; a list has positions
    assert [list(other[3]) for other in same[:2]] == [list(ids)] * 2
    assert same[2][3] is None
    # records are errors: with mode='min' they are the metric unchanged
    assert np.allclose(plotted_trials(tuner.records, SPACE)[2], -values)


def test_plotted_trials_rejects_what_it_cannot_plot(tuner):
    with pytest.raises(TypeError, match='tuner, a table'):
        plotted_trials({'lr': 0.1}, SPACE)
    with pytest.raises(KeyError, match="no column 'loss'"):
        plotted_trials(tuner.records_table(), SPACE, metric='loss')
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        plotted_trials(tuner.records, SPACE, mode='best')
    with pytest.raises(ValueError, match='no trial has a finite value'):
        plotted_trials([({'lr': 0.1, 'layers': 1, 'activation': 'relu'},
                     math.nan)], SPACE)
    with pytest.raises(ValueError, match='outside its domain'):
        plotted_trials([({'lr': 2.0, 'layers': 1, 'activation': 'relu'},
                         0.5)], SPACE)
    # epoch= selects a tuner's results: with a table or a list, an error
    for trials in (tuner.records_table(), tuner.records):
        for epoch in (1, -3):
            with pytest.raises(ValueError, match='epoch selects the results'):
                plotted_trials(trials, SPACE, 'accuracy', 'max', epoch=epoch)
    with pytest.raises(ValueError, match='epoch must be'):
        plotted_trials(tuner, SPACE, epoch=-3)
    assert len(plotted_trials(tuner, SPACE, epoch=1)[1]) == len(
        finished(tuner))  # one result per trial
    with pytest.raises(ValueError, match='every hyperparameter .* constant'):
        plotted_trials([({'steps': 3}, 0.5)], {'steps': 3})
    for plot in (plot_slices, plot_parallel_coordinates):
        with pytest.raises(ValueError, match='nothing to plot'):
            plot([({'steps': 3}, 0.5)], {'steps': 3})


def test_axis_positions_log_scale_choices_and_inactive():
    domains = d2lhpo.parse_config_space(SPACE)
    configs = [{'lr': 1e-2, 'layers': 1}, {'lr': 1e-4, 'layers': 2,
                                           'width2': 256}]
    assert np.allclose(axis_positions(domains['lr'], configs), [0.5, 0])
    assert np.allclose(axis_positions(domains['layers'], configs), [0, 1])
    width2 = axis_positions(domains['width2'], configs)
    assert np.isnan(width2[0]) and width2[1] == 1  # inactive: missing
    linear = d2lhpo.make_domain('x', stats.uniform(2, 8))
    assert np.allclose(axis_positions(linear, [{'x': 4.0}]), [0.25])
    # True is not 1: each choice has its own place
    mixed = d2lhpo.make_domain('c', [1, True, 'a'])
    assert np.allclose(axis_positions(mixed, [{'c': True}, {'c': 1},
                                              {'c': 'a'}]), [0.5, 0, 1])
    assert axis_ticks(mixed)[1] == ['1', 'True', 'a']
    positions, labels = axis_ticks(domains['lr'])
    assert labels == ['0.0001', '0.01', '1'] and np.allclose(
        positions, [0, 0.5, 1])
    positions, labels = axis_ticks(domains['width2'])  # integers
    assert labels == ['8', '45', '256'] and 0.49 < positions[1] < 0.51


def test_parallel_coordinates_draw_each_trial_on_its_axes(tuner):
    domains, configs, values, *_ = plotted_trials(tuner, SPACE)
    ax = plot_parallel_coordinates(tuner, SPACE)
    lines = ax.collections[0]
    drawn = lines.get_array()
    # worst first, the best drawn last (on top), coloured by accuracy
    assert np.allclose(drawn, np.sort(values))
    assert lines.get_cmap().name == 'viridis_r'  # higher is darker
    by_value = {v: c for v, c in zip(values, configs)}
    # the paths as drawn (get_segments would drop the NaN of a gap)
    for path, value in zip(lines.get_paths(), drawn):
        segment = path.vertices
        config = by_value[value]
        assert np.allclose(segment[:, 0], range(5))
        expected = [axis_positions(d, [config])[0] for d in domains.values()]
        expected.append((value - values.min()) / np.ptp(values))
        assert np.allclose(segment[:, 1], expected, equal_nan=True)
    one_layer = sum(c['layers'] == 1 for c in configs)
    gaps = sum(np.isnan(p.vertices[:, 1]).any() for p in lines.get_paths())
    assert gaps == one_layer > 0
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ['lr', 'layers', f'width2\n({one_layer} inactive)',
                      'activation', 'accuracy']
    colorbar = ax.figure.axes[-1]
    assert colorbar.get_ylabel() == 'accuracy (higher is better)'
    texts = [t.get_text() for t in ax.texts]
    assert {'0.0001', '0.01', '1', '2', 'relu', 'tanh', '8', '256'} <= set(
        texts)


def test_parallel_coordinates_of_an_error_to_minimize():
    trials = [({'x': x, 'kind': k}, (x - 0.3) ** 2 + (k == 'b'))
              for x, k in [(0.1, 'a'), (0.5, 'b'), (0.3, 'a'), (0.9, 'b')]]
    space = {'x': stats.uniform(0, 1), 'kind': ['a', 'b']}
    ax = plot_parallel_coordinates(pd.DataFrame(
        [dict(c, error=v) for c, v in trials]), space)
    lines = ax.collections[0]
    assert lines.get_cmap().name == 'viridis'  # lower is darker
    assert np.allclose(lines.get_array(), sorted(
        (v for _, v in trials), reverse=True))  # the lowest last
    best = lines.get_paths()[-1].vertices
    assert np.allclose(best[:, 1], [0.3, 0, 0])  # x, kind a, lowest error
    assert ax.figure.axes[-1].get_ylabel() == 'error (lower is better)'


def test_slices_plot_the_metric_against_each_value(tuner):
    domains, configs, values, ids, *_ = plotted_trials(tuner, SPACE)
    axes = plot_slices(tuner, SPACE)
    assert len(axes) == 4
    for ax, (name, domain) in zip(axes, domains.items()):
        points = ax.collections[0]
        active = [i for i, c in enumerate(configs) if name in c]
        xy = points.get_offsets()
        x = [configs[i][name] for i in active]
        if domain.kind == 'categorical':
            x = [domain.choices.index(v) for v in x]
            assert [t.get_text() for t in ax.get_xticklabels()] == [
                str(c) for c in domain.choices]
        assert np.allclose(xy[:, 0], x) and np.allclose(xy[:, 1],
                                                        values[active])
        assert np.allclose(points.get_array(), ids[active])  # trial ids
        assert ax.get_xscale() == ('log' if domain.log else 'linear')
    inactive = sum(c['layers'] == 1 for c in configs)
    assert axes[2].get_xlabel() == f'width2 ({inactive} inactive)'
    assert axes[0].get_ylabel() == 'accuracy (higher is better)'
    with pytest.raises(ValueError, match='4 panels are needed'):
        plot_slices(tuner, SPACE, axes=plt.subplots(1, 2)[1])


def test_slices_accept_one_axes_or_a_grid_and_span_the_domain(tuner):
    space = {'lr': SPACE['lr']}
    trials = [({'lr': c['lr']}, v) for c, v in zip(
        *plotted_trials(tuner, SPACE)[1:3])]
    ax = plt.subplots()[1]  # a single Axes, not a list
    assert list(plot_slices(trials, space, axes=ax)) == [ax]
    low, high = ax.get_xlim()  # the domain (1e-4, 1), not the data's range
    assert 0.7e-4 < low < 1e-4 and 1 < high < 1.4
    grid = plt.subplots(2, 2)[1]  # a 2-D array of axes
    assert len(plot_slices(tuner, SPACE, axes=grid)) == 4
    assert grid[0, 0].figure.axes[-1].get_ylabel() == 'trial id'
    plot_slices(trials, space)
    assert plt.gcf().axes[-1].get_ylabel() == 'position in the list'
    # an accuracy near 1 on a logit scale, labelled in plain decimals
    axes = plot_slices(tuner, SPACE, yscale='logit')
    assert {ax.get_yscale() for ax in axes} == {'logit'}
    assert axes[0].yaxis.get_major_formatter()(0.99) == '0.99'


def test_slices_colour_by_trial_id_and_rotate_many_choices(tuner):
    domains, configs, values, ids, *_ = plotted_trials(tuner, SPACE)
    axes = plot_slices(tuner, SPACE)
    assert np.allclose(axes[0].collections[0].get_array(), ids)
    assert ids.max() == len(tuner.records) - 1 > len(configs) - 1  # failed
    many = {'c': list('abcdef')}
    axes = plot_slices([({'c': c}, i) for i, c in enumerate('abcdef')], many)
    labels = axes[0].get_xticklabels()
    assert labels[0].get_rotation() == 45 and labels[0].get_fontsize() == 8


def test_ticks_of_a_single_value_and_of_a_short_integer_axis():
    one = d2lhpo.Domain('error', 'float', 0.25, 0.25)
    positions, labels = axis_ticks(one)
    assert labels == ['0.25'] and np.allclose(positions, [0.5])
    short = d2lhpo.make_domain('n', stats.randint(1, 3))  # 1 or 2
    positions, labels = axis_ticks(short)
    assert labels == ['1', '2'] and np.allclose(positions, [0, 1])
    ax = plot_parallel_coordinates([({'x': 0.2}, 0.5), ({'x': 0.7}, 0.5)],
                                   {'x': stats.uniform(0, 1)})
    texts = [t.get_text() for t in ax.texts]
    assert texts.count('0.5') == 2  # x's middle tick and the one metric tick
    assert all(t.get_fontsize() == 8 for t in ax.texts)
