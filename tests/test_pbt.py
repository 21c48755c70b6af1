"""PBTScheduler: selection, exploit by checkpoint copies, explore, lineage
and schedules, bad input; the sequential tuner's checkpoints."""
import gc
import json
import os
import time
import weakref

import numpy as np
import pytest
from scipy import stats

import d2lhpo
from d2lhpo import (AsyncTuner, BasicScheduler, HPOTuner, LocalBackend,
                    PBTScheduler, RandomSearcher, TrialRecord)

SPACE = {'h0': stats.uniform(0, 1), 'h1': stats.uniform(0, 1)}
STARTS = [{'h0': 1.0, 'h1': 0.0}, {'h0': 0.0, 'h1': 1.0}]


def toy(h0, h1, num_steps=12, lr=0.05, checkpoint=None, sleep=0.0):
    """The PBT paper's toy problem; reports Q, theta and the loaded state."""
    theta, done = [0.9, 0.9], 0
    if os.path.exists(checkpoint):
        with open(checkpoint) as f:
            theta, done = json.load(f)
    loaded = list(theta)
    for step in range(done + 1, num_steps + 1):
        time.sleep(sleep)  # on workers: members that run side by side
        theta = [theta[0] * (1 - 2 * lr * h0), theta[1] * (1 - 2 * lr * h1)]
        with open(checkpoint + '.tmp', 'w') as f:
            json.dump([theta, step], f)
        os.replace(checkpoint + '.tmp', checkpoint)
        yield {'Q': 1.2 - theta[0] ** 2 - theta[1] ** 2,
               'theta0': theta[0], 'theta1': theta[1],
               'loaded0': loaded[0], 'loaded1': loaded[1]}


def run(scheduler_class=PBTScheduler, seed=0, population_size=2,
        objective=toy, tmp_path=None, **options):
    searcher = RandomSearcher(SPACE, seed=seed, points_to_evaluate=(
        STARTS if population_size == 2 else None))
    scheduler = scheduler_class(searcher, population_size,
                                options.pop('perturbation_interval', 3),
                                max_t=12, seed=seed, **options)
    tuner = HPOTuner(scheduler, objective, metric='Q', mode='max',
                     checkpoint_dir=tmp_path)
    tuner.run(max_epochs=1000, verbose=False)
    return scheduler, tuner


def results_of(tuner, trial_id):
    return [r for r in tuner.results if r['trial_id'] == trial_id]


def test_population_trains_max_t_epochs_each_and_is_reproducible():
    scheduler, tuner = run()
    assert tuner.stop_reason == 'searcher exhausted'
    assert len(tuner.results) == 2 * 12
    assert len(tuner.records) > 2  # some exploits happened
    again = run()[1]
    assert again.results_table().drop(columns='time').equals(
        tuner.results_table().drop(columns='time'))
    for trial in tuner.records:
        assert trial.status in ('paused', 'stopped')


def test_a_copy_continues_exactly_where_the_source_stood():
    # No explore: a child has its source's config, so the child's steps
    # after the copy must equal the source's own steps after that epoch.
    scheduler, tuner = run(resample_probability=0,
                           perturbation_factors=(1.0,))
    children = [(t, s, e) for t, (m, s, e) in scheduler.lineage.items()
                if s is not None]
    assert children
    compared = 0
    for child, source, epoch in children:
        first = results_of(tuner, child)[0]
        stood = next(r for r in results_of(tuner, source)
                     if r['epoch'] == epoch)
        assert first['epoch'] == stood['epoch'] + 1 == epoch + 1
        assert [first['loaded0'], first['loaded1']] == [stood['theta0'],
                                                       stood['theta1']]
        after = results_of(tuner, source)
        after = [r for r in after if epoch < r['epoch'] <= epoch + 3]
        mine = [r for r in results_of(tuner, child) if r['epoch'] <= epoch + 3]
        if after:  # the source went on for the same epochs
            compared += 1
            assert [(r['epoch'], r['Q']) for r in mine] == [
                (r['epoch'], r['Q']) for r in after]
    assert compared >= 2


def test_truncation_selection_copies_from_the_top_quantile():
    scheduler, tuner = run(population_size=4, quantile_fraction=0.25)
    by_epoch = {}
    for t, (member, source, epoch) in scheduler.lineage.items():
        if source is not None:
            by_epoch.setdefault(epoch, []).append((t, source))
    assert by_epoch and all(epoch % 3 == 0 for epoch in by_epoch)
    for epoch, pairs in by_epoch.items():
        assert len(pairs) == 1  # ceil(4 * 0.25) members per selection
        child, source = pairs[0]
        errors = {}  # each member's error at `epoch`
        for t, (member, src, start) in scheduler.lineage.items():
            for r in results_of(tuner, t):
                if r['epoch'] == epoch:
                    errors[t] = r['Q']
        assert errors[source] == max(errors.values())


def test_lineage_and_schedule():
    scheduler, tuner = run()
    for trial in tuner.records:
        member, source, epoch = scheduler.lineage[trial.trial_id]
        schedule = scheduler.schedule(trial.trial_id)
        assert len(schedule) == trial.epochs
        assert schedule[epoch:] == [trial.config] * (trial.epochs - epoch)
        if source is None:
            assert epoch == 0 and member in (0, 1)
        else:
            assert schedule[:epoch] == scheduler.schedule(source)[:epoch]
    members = {m for m, _, _ in scheduler.lineage.values()}
    assert members == {0, 1}


def test_explore_perturbs_within_bounds_and_picks_neighbours():
    space = {'lr': stats.loguniform(1e-3, 1), 'layers': stats.randint(1, 9),
             'act': ['relu', 'tanh', 'gelu'], 'fixed': 3}
    scheduler = PBTScheduler(space, 2, 1, resample_probability=0, seed=0)
    config = {'lr': 1.0, 'layers': 5, 'act': 'relu', 'fixed': 3}
    seen = [scheduler.explore(config) for _ in range(50)]
    assert {c['lr'] for c in seen} == {0.8, 1.0}  # 1.2 is clipped to 1
    assert {c['layers'] for c in seen} == {4, 6}
    assert {c['act'] for c in seen} == {'relu', 'tanh'}  # clipped at 0
    assert all(c['fixed'] == 3 for c in seen)
    resampled = PBTScheduler(space, 2, 1, resample_probability=1, seed=0)
    values = [resampled.explore(config)['lr'] for _ in range(20)]
    assert len(set(values)) == 20 and all(1e-3 <= v <= 1 for v in values)


@pytest.mark.parametrize('options, message', [
    (dict(population_size=1), 'population_size'),
    (dict(population_size=2.0), 'population_size'),
    (dict(perturbation_interval=0), 'perturbation_interval'),
    (dict(perturbation_interval=1.5), 'perturbation_interval'),
    (dict(perturbation_interval=True), 'perturbation_interval'),
    (dict(quantile_fraction=0), 'quantile_fraction'),
    (dict(quantile_fraction=0.6), 'quantile_fraction'),
    (dict(quantile_fraction=-0.1), 'quantile_fraction'),
    (dict(resample_probability=1.5), 'resample_probability'),
    (dict(perturbation_factors=(0.8, -1)), 'perturbation_factors'),
    (dict(perturbation_factors=()), 'perturbation_factors'),
    (dict(perturbation_factors=1.2), 'perturbation_factors'),
    (dict(max_t=0), 'max_t'),
])
def test_bad_arguments_are_refused(options, message):
    arguments = dict(population_size=2, perturbation_interval=2)
    arguments.update(options)
    with pytest.raises(ValueError, match=message):
        PBTScheduler(SPACE, **arguments)


def test_an_objective_without_checkpoint_is_refused():
    def plain(h0, h1):
        for step in range(4):
            yield h0 + h1
    tuner = HPOTuner(PBTScheduler(SPACE, 2, 2, seed=0), plain)
    with pytest.raises(ValueError, match='`checkpoint` parameter'):
        tuner.run(max_epochs=10, verbose=False)


class Vanishing(PBTScheduler):
    """Deletes the source's checkpoint of the first exploit."""
    def select(self, live, epoch):
        super().select(live, epoch)
        if self.children and not getattr(self, 'done', False):
            self.done = True
            os.remove(self.children[0][2].checkpoint)


def test_a_vanished_source_checkpoint_fails_the_child_which_starts_anew():
    scheduler, tuner = run(Vanishing)
    failed = [t for t in tuner.records if t.status == 'failed']
    assert len(failed) == 1
    assert 'cannot continue after epoch 3' in failed[0].message
    assert failed[0].trial_id == 2  # the first child
    # its member starts afresh from the searcher; the population keeps its
    # size and both members train to the end
    member = scheduler.lineage[2][0]
    fresh = [t for t, (m, source, epoch) in scheduler.lineage.items()
             if m == member and source is None and t > 2]
    assert len(fresh) == 1 and tuner.records[fresh[0]].config not in [
        t.config for t in tuner.records[:fresh[0]]]  # a new sample
    assert [t.epochs for t in scheduler.members.values()] == [12, 12]
    assert not scheduler.vacant
    assert len(tuner.results) == 3 + 12 + 12  # its first trial's 3 epochs


def test_sequential_tuner_gives_checkpoints_in_its_folder(tmp_path):
    def counting(x, checkpoint):
        for epoch in range(1, 4):
            with open(checkpoint, 'w') as f:
                f.write(str(epoch))
            yield x / epoch
    folder = tmp_path / 'ckpt'
    tuner = HPOTuner(BasicScheduler(RandomSearcher({'x': stats.uniform()},
                                                   seed=0)), counting,
                     checkpoint_dir=str(folder))
    tuner.run(number_of_trials=2, verbose=False)
    assert [t.checkpoint for t in tuner.records] == [
        str(folder / 'trial_0.pt'), str(folder / 'trial_1.pt')]
    assert sorted(os.listdir(folder)) == ['trial_0.pt', 'trial_1.pt']
    plain = HPOTuner(BasicScheduler(RandomSearcher({'x': stats.uniform()},
                                                   seed=0)), lambda x: x)
    plain.run(number_of_trials=1, verbose=False)
    assert plain.records[0].checkpoint is None


def test_a_trial_with_booked_epochs_starts_from_its_snapshot(tmp_path):
    class StartAtTwo(BasicScheduler):
        def on_trial_start(self, trial):
            trial.epochs = 2
            with open(trial.checkpoint + '.epoch2', 'w') as f:
                json.dump([[0.5, 0.5], 2], f)
    searcher = RandomSearcher(SPACE, seed=0, points_to_evaluate=STARTS)
    tuner = HPOTuner(StartAtTwo(searcher), toy, metric='Q', mode='max',
                     checkpoint_dir=str(tmp_path))
    tuner.run(number_of_trials=1, verbose=False)
    results = tuner.results
    assert [r['epoch'] for r in results] == list(range(3, 13))
    assert (results[0]['loaded0'], results[0]['loaded1']) == (0.5, 0.5)
    assert tuner.records[0].epochs == 12


def test_trial_record_has_no_checkpoint_by_default():
    assert TrialRecord(0, {}).checkpoint is None
    assert np.isnan(TrialRecord(0, {}).error)


def linear_model(lr, checkpoint, num_epochs=6, seed=0):
    """A small torch model that saves its weights, optimizer and data
    order after every epoch; reports the loss and the weights' sum."""
    import torch
    torch.manual_seed(seed)
    X, y = torch.randn(64, 5), torch.randn(64, 1)
    model = torch.nn.Linear(5, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator, done = torch.Generator().manual_seed(seed), 0
    if os.path.exists(checkpoint):
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        generator.set_state(state['generator'])
        done = state['epoch']
    for epoch in range(done + 1, num_epochs + 1):
        for batch in torch.randperm(64, generator=generator).split(16):
            optimizer.zero_grad()
            loss = ((model(X[batch]) - y[batch]) ** 2).mean()
            loss.backward()
            optimizer.step()
        torch.save({'model': model.state_dict(), 'epoch': epoch,
                    'optimizer': optimizer.state_dict(),
                    'generator': generator.get_state()}, checkpoint)
        with torch.no_grad():  # (never yield inside: it is a global mode)
            result = {'error': ((model(X) - y) ** 2).mean().item(),
                      'weights': sum(p.sum().item()
                                     for p in model.parameters())}
        yield result


def test_a_copied_torch_model_continues_with_the_same_weights():
    space = {'lr': stats.loguniform(1e-3, 1e-1)}
    scheduler = PBTScheduler(space, 2, 2, resample_probability=0,
                             perturbation_factors=(1.0,), max_t=6, seed=1)
    tuner = HPOTuner(scheduler, linear_model)
    tuner.run(max_epochs=100, verbose=False)
    assert not [t.message for t in tuner.records if t.status == 'failed']
    compared = 0
    for child, (member, source, epoch) in scheduler.lineage.items():
        if source is None:
            continue
        mine = [(r['epoch'], r['error'], r['weights'])
                for r in results_of(tuner, child) if r['epoch'] <= epoch + 2]
        theirs = [(r['epoch'], r['error'], r['weights'])
                  for r in results_of(tuner, source)
                  if epoch < r['epoch'] <= epoch + 2]
        if theirs:
            compared += 1
            assert mine == theirs
    assert compared >= 1


def test_a_child_that_trains_nothing_tells_the_searcher_nothing():
    """Without max_t, a selection at the last epoch makes children with no
    epochs left; the searcher must not learn a NaN error from them."""
    told = []

    class Recording(RandomSearcher):
        def update(self, trial_id, config, error, result=None):
            told.append(error)

    searcher = Recording(SPACE, seed=0, points_to_evaluate=STARTS)
    scheduler = PBTScheduler(searcher, 2, 3, seed=0)  # no max_t
    tuner = HPOTuner(scheduler, toy, metric='Q', mode='max')
    tuner.run(max_epochs=1000, verbose=False)
    assert told and all(np.isfinite(told))


# ------------------------------------------- the asynchronous mode, workers
def side_by_side(objective, sleep):
    """`objective` whose first result waits (up to 10 s) until both
    founding members have saved a checkpoint, and which sleeps `sleep`
    seconds per epoch: the members run side by side on two workers,
    whichever starts up first."""
    def slowed(checkpoint, **config):
        folder = os.path.dirname(checkpoint)
        founders = [os.path.join(folder, f'trial_{i}.pt') for i in (0, 1)]
        deadline = time.time() + 10
        for result in objective(checkpoint=checkpoint, **config):
            while (time.time() < deadline and
                   not all(os.path.exists(f) for f in founders)):
                time.sleep(0.005)
            time.sleep(sleep)
            yield result
    return slowed


def slow_toy(h0, h1, checkpoint=None):
    yield from side_by_side(toy, 0.03)(checkpoint, h0=h0, h1=h1)


def run_async(backend, population_size=2, seed=0,
              searcher_class=RandomSearcher, **options):
    # member 1 is behind member 0 at every epoch: it exploits at its first
    # perturbation point (the paper's starts tie, up to rounding)
    searcher = searcher_class(SPACE, seed=seed, points_to_evaluate=(
        [{'h0': 1.0, 'h1': 0.0}, {'h0': 0.5, 'h1': 0.0}]
        if population_size == 2 else None))
    scheduler = PBTScheduler(searcher, population_size,
                             options.pop('perturbation_interval', 3),
                             max_t=12, synchronous=False, seed=seed, **options)
    tuner = AsyncTuner(scheduler, backend, metric='Q', mode='max')
    tuner.run(max_epochs=500, verbose=False)
    return scheduler, tuner


def check_children_continue_their_sources(scheduler, tuner):
    """Each child starts after its source's epochs, from the state that
    the source reported there; return the number of children."""
    children = 0
    for child, (member, source, epoch) in scheduler.lineage.items():
        if source is None:
            continue
        children += 1
        mine = results_of(tuner, child)
        stood = next(r for r in results_of(tuner, source)
                     if r['epoch'] == epoch)
        assert mine[0]['epoch'] == epoch + 1
        assert (mine[0]['loaded0'], mine[0]['loaded1']) == (
            stood['theta0'], stood['theta1'])
    return children


def test_the_asynchronous_rule_ranks_the_scores_at_perturbation_points():
    """As in Ray Tune and Syne Tune: a member that reaches a perturbation
    point is ranked against the scores that the others had at their own
    last perturbation point, not against their latest errors; the interval
    is counted from the epoch a trial started at."""
    scheduler = PBTScheduler(SPACE, 4, 2, quantile_fraction=0.25,
                             synchronous=False, seed=0)
    trials = []
    for i in range(4):
        config = scheduler.suggest(i)
        trials.append(TrialRecord(i, config, checkpoint=f'/none/{i}.pt'))
        scheduler.on_trial_start(trials[i])

    def report(trial, error, epoch):
        trial.error, trial.epochs = error, epoch
        return scheduler.on_trial_result(trial, {'epoch': epoch})
    assert report(trials[1], 0.5, 2) == 'continue'  # alone: nothing to rank
    assert report(trials[0], 0.1, 2) == 'continue'  # the best: goes on
    assert report(trials[1], 0.05, 3) == 'continue'  # between the points
    # trial 1's latest error (0.05) is the best, but its score is 0.5: the
    # worst of three; trial 2, with 0.3, is not in the bottom quantile
    assert report(trials[2], 0.3, 2) == 'continue'
    assert report(trials[3], 0.4, 2) == 'continue'
    assert scheduler.scores == {0: 0.1, 1: 0.5, 2: 0.3, 3: 0.4}
    assert not scheduler.children
    trials[0].epochs = 3  # the best member has gone on one epoch
    # trial 1 scores 0.6 at epoch 4: the bottom; stopped, its member copies
    # the top member's latest snapshot
    assert report(trials[1], 0.6, 4) == 'stop'
    (member, config, source, epoch), = scheduler.children
    assert (member, source, epoch) == (1, trials[0], 3)
    assert scheduler.retired == {1}
    assert scheduler.suggest(4) == config
    child = TrialRecord(4, config, checkpoint='/none/4.pt')
    scheduler.on_trial_start(child)
    assert child.epochs == 3 and scheduler.lineage[4] == (1, 0, 3)
    # the child's interval counts from epoch 3: epoch 4 is no point for it
    assert report(child, 0.9, 4) == 'continue' and 4 not in scheduler.scores
    assert report(child, 0.9, 5) == 'stop'  # the worst score at epoch 5
    # members that do not run (finished, or retired) are not ranked
    trials[0].status = trials[2].status = 'stopped'
    assert report(trials[3], 0.8, 4) == 'continue'  # alone now


@pytest.fixture
def local_backend():
    backend = LocalBackend(slow_toy, num_workers=2)
    yield backend
    backend.close()


def test_asynchronous_pbt_on_worker_processes(local_backend):
    scheduler, tuner = run_async(local_backend)
    assert tuner.stop_reason == 'searcher exhausted'
    assert not [t.message for t in tuner.records if t.status == 'failed']
    assert check_children_continue_their_sources(scheduler, tuner) >= 1
    assert scheduler.lineage[2][:2] == (1, 0)  # member 1 copies member 0
    assert {t.worker for t in tuner.records} == {0, 1}
    for trial in scheduler.members.values():  # each member to the end
        assert (trial.status, trial.epochs) == ('stopped', 12)
    for trial_id in scheduler.retired:  # each retiree exploited at a
        start = scheduler.lineage[trial_id][2]  # perturbation point, counted
        assert (tuner.records[trial_id].epochs - start) % 3 == 0  # from its
        assert tuner.records[trial_id].status == 'stopped'  # start epoch
    for trial in tuner.records:  # every epoch once, in order
        epochs = [r['epoch'] for r in results_of(tuner, trial.trial_id)]
        first = scheduler.lineage[trial.trial_id][2] + 1
        assert epochs == list(range(first, trial.epochs + 1))


def slow_linear_model(lr, checkpoint):
    yield from side_by_side(linear_model, 0.05)(checkpoint, lr=lr)


def test_a_copied_torch_model_continues_on_worker_processes():
    """No explore: a child continues exactly as its source did (weights,
    optimizer and data order), on worker processes too. The member with
    lr = 0.001 is worse than the other at every epoch, so it exploits."""
    searcher = RandomSearcher({'lr': stats.loguniform(1e-3, 1e-1)}, seed=0,
                              points_to_evaluate=[{'lr': 0.05},
                                                  {'lr': 0.001}])
    backend = LocalBackend(slow_linear_model, num_workers=2)
    try:
        scheduler = PBTScheduler(searcher, 2, 2, resample_probability=0,
                                 perturbation_factors=(1.0,), max_t=6,
                                 synchronous=False, seed=1)
        tuner = AsyncTuner(scheduler, backend)
        tuner.run(max_epochs=100, verbose=False)
    finally:
        backend.close()
    assert not [t.message for t in tuner.records if t.status == 'failed']
    children = [(c, s, e) for c, (m, s, e) in scheduler.lineage.items()
                if s is not None]
    assert children and children[0][:2] == (2, 0)  # member 1 copies 0
    for child, source, epoch in children:
        mine = [(r['epoch'], r['error'], r['weights'])
                for r in results_of(tuner, child)]
        theirs = [(r['epoch'], r['error'], r['weights'])
                  for r in results_of(tuner, source) if r['epoch'] > epoch]
        n = min(len(mine), len(theirs))  # the epochs both trained
        assert mine[:n] == theirs[:n]
        assert mine[0][0] == epoch + 1


def fragile_toy(h0, h1, checkpoint=None):
    """`slow_toy` that fails at its second epoch for h0 = 0.5."""
    for epoch, result in enumerate(slow_toy(h0, h1, checkpoint), 1):
        if h0 == 0.5 and epoch == 2:
            raise RuntimeError('diverged (pretend)')
        yield result


def test_a_failed_member_starts_afresh_on_worker_processes():
    backend = LocalBackend(fragile_toy, num_workers=2)
    try:
        scheduler, tuner = run_async(backend)
    finally:
        backend.close()
    failed = [t for t in tuner.records if t.status == 'failed']
    assert [(t.trial_id, t.config['h0']) for t in failed] == [(1, 0.5)]
    assert 'diverged' in failed[0].message
    fresh = [t for t, (m, source, epoch) in scheduler.lineage.items()
             if m == 1 and source is None and t > 1]
    assert len(fresh) == 1  # member 1, sampled anew from the searcher
    assert len(scheduler.members) == 2 and not scheduler.vacant
    for trial in scheduler.members.values():  # both train to the end
        assert (trial.status, trial.epochs) == ('stopped', 12)
    check_children_continue_their_sources(scheduler, tuner)  # asserts


class Model:
    """Stands for the model that a paused generator holds."""


ALIVE = weakref.WeakSet()


def toy_with_model(h0, h1, checkpoint=None):
    model = Model()
    ALIVE.add(model)
    for result in toy(h0, h1, checkpoint=checkpoint):
        yield dict(result, model_id=id(model))


def test_retired_trials_release_their_generators():
    """The sequential tuner closes the paused generator of a retired
    trial (the next time it runs a trial), so its model is freed."""
    scheduler, tuner = run(objective=toy_with_model)
    assert scheduler.retired
    assert not set(tuner.paused) & scheduler.retired
    gc.collect()
    assert len(ALIVE) == 0  # the members' last trials stopped at max_t
    assert scheduler.retired_trials() == scheduler.retired
    assert isinstance(scheduler.retired_trials(), frozenset)  # a copy
    wrapped = d2lhpo.SchedulerWrapper(scheduler)
    assert wrapped.retired_trials() == scheduler.retired
    assert BasicScheduler(RandomSearcher(SPACE)).retired_trials() == ()


def test_copies_are_atomic(tmp_path):
    target = tmp_path / 'trial_0.pt.epoch3'
    target.write_text('the old state')
    folder = tmp_path / 'a_folder'
    folder.mkdir()
    with pytest.raises(OSError):  # a copy that fails half-way...
        d2lhpo.copy_atomically(str(folder), str(target))
    assert target.read_text() == 'the old state'  # ...leaves it whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'a_folder', 'trial_0.pt.epoch3']  # and no temporary file
    source = tmp_path / 'source'
    source.write_text('the new state')
    d2lhpo.copy_atomically(str(source), str(target))
    assert target.read_text() == 'the new state'


def test_synchronous_must_be_a_flag():
    with pytest.raises(ValueError, match='synchronous'):
        PBTScheduler(SPACE, 2, 2, synchronous='yes')


def plain(h0, h1):
    for step in range(4):
        yield h0 + h1


def test_an_objective_without_checkpoint_is_refused_on_every_backend():
    simulated = AsyncTuner(PBTScheduler(SPACE, 2, 2, synchronous=False),
                           d2lhpo.SimulatedBackend(None))
    with pytest.raises(ValueError, match='`checkpoint` parameter'):
        simulated.run(max_epochs=10, verbose=False)
    backend = LocalBackend(plain, num_workers=1)
    try:
        tuner = AsyncTuner(PBTScheduler(SPACE, 2, 2), backend)
        with pytest.raises(ValueError, match='`checkpoint` parameter'):
            tuner.run(max_epochs=10, verbose=False)
    finally:
        backend.close()


@pytest.mark.xdist_group('ray')  # one Ray at a time
def test_asynchronous_pbt_on_ray_actors():
    ray = pytest.importorskip('ray')
    pytest.importorskip('pydantic')
    from d2lhpo import RayBackend

    def ray_toy(h0, h1, checkpoint=None):  # local: shipped by value
        import json
        import os
        import time
        theta, done = [0.9, 0.9], 0
        if os.path.exists(checkpoint):
            with open(checkpoint) as f:
                theta, done = json.load(f)
        loaded = list(theta)
        folder = os.path.dirname(checkpoint)
        founders = [os.path.join(folder, f'trial_{i}.pt') for i in (0, 1)]
        deadline = time.time() + 20
        for step in range(done + 1, 13):
            theta = [theta[0] * (1 - 0.1 * h0), theta[1] * (1 - 0.1 * h1)]
            with open(checkpoint + '.tmp', 'w') as f:
                json.dump([theta, step], f)
            os.replace(checkpoint + '.tmp', checkpoint)
            while (time.time() < deadline and  # the founders side by side
                   not all(os.path.exists(f) for f in founders)):
                time.sleep(0.005)
            time.sleep(0.03)
            yield {'Q': 1.2 - theta[0] ** 2 - theta[1] ** 2,
                   'theta0': theta[0], 'theta1': theta[1],
                   'loaded0': loaded[0], 'loaded1': loaded[1]}

    try:
        backend = RayBackend(ray_toy, num_workers=2)
        scheduler, tuner = run_async(backend)
        backend.close()
        assert not [t.message for t in tuner.records if t.status == 'failed']
        assert check_children_continue_their_sources(scheduler, tuner) >= 1
        assert scheduler.lineage[2][:2] == (1, 0)
        for trial in scheduler.members.values():
            assert (trial.status, trial.epochs) == ('stopped', 12)
        def ray_plain(h0, h1):  # local, like ray_toy: Ray workers cannot
            yield h0 + h1        # import this test module by name

        refused = RayBackend(ray_plain, num_workers=1)
        with pytest.raises(ValueError, match='`checkpoint` parameter'):
            AsyncTuner(PBTScheduler(SPACE, 2, 2, synchronous=False),
                       refused).run(max_epochs=10, verbose=False)
        refused.close()
    finally:
        ray.shutdown()


def test_lineage_and_schedule_plots():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    scheduler, tuner = run(Vanishing)  # exploits, and a failed child
    ax = d2lhpo.plot_lineage(scheduler)
    crossings = [t for t, (m, s, e) in scheduler.lineage.items()
                 if s is not None and scheduler.lineage[s][0] != m]
    arrows = [t for t in ax.texts if isinstance(t, matplotlib.text.Annotation)]
    labels = {int(t.get_text()): t.get_position() for t in ax.texts
              if t not in arrows}
    assert sorted(labels) == [t.trial_id for t in tuner.records]
    for trial_id, (x, y) in labels.items():  # at the start of its bar
        member, source, epoch = scheduler.lineage[trial_id]
        assert epoch < x < epoch + 0.5 and member < y < member + 0.5
    assert len(arrows) == len(crossings) > 0
    drawn = sorted((a.xyann, a.xy) for a in arrows)  # from the source's row
    assert drawn == sorted(((e, scheduler.lineage[s][0]), (e, m)) for t, (
        m, s, e) in scheduler.lineage.items() if t in crossings)
    dots = sorted((line.get_xdata()[0], line.get_ydata()[0])
                  for line in ax.lines if line.get_marker() == 'o')
    assert dots == sorted(start for start, end in drawn)
    crosses = [line for line in ax.lines if line.get_marker() == 'x']
    assert len(crosses) == 1  # the child whose source vanished
    ax = d2lhpo.plot_schedules(scheduler, 'h1')
    lines = ax.get_lines()
    assert len(lines) == 2
    for line, trial in zip(lines, scheduler.members.values()):
        assert list(line.get_ydata()[:-1]) == [
            c['h1'] for c in scheduler.schedule(trial.trial_id)]
    plt.close('all')


def test_the_synchronous_mode_on_workers_matches_the_sequential_tuner(
        local_backend):
    """Generations on worker processes: paused members resume from their
    snapshots, and the run makes the same trials, lineage and results as
    on the sequential tuner."""
    sequential, expected = run()
    searcher = RandomSearcher(SPACE, seed=0, points_to_evaluate=STARTS)
    scheduler = PBTScheduler(searcher, 2, 3, max_t=12, seed=0)
    tuner = AsyncTuner(scheduler, local_backend, metric='Q', mode='max')
    tuner.run(max_epochs=1000, verbose=False)
    assert scheduler.lineage == sequential.lineage
    booked = lambda t: sorted((r['trial_id'], r['epoch'], r['Q'])
                              for r in t.results)
    assert booked(tuner) == booked(expected)
    assert [r.status for r in tuner.records] == [
        r.status for r in expected.records]


# ------------------------------------------- a searcher that runs out
def test_a_searcher_that_runs_out_shrinks_the_population(tmp_path):
    """A grid of two points and a child that fails: the vacant member
    cannot be sampled anew, so the population goes on with one member
    (before the fix, the run stopped after 6 results)."""
    searcher = d2lhpo.GridSearcher({'h0': [1.0, 0.5], 'h1': 0.0})
    scheduler = Vanishing(searcher, 2, 3, max_t=12, seed=0)
    tuner = HPOTuner(scheduler, toy, metric='Q', mode='max',
                     checkpoint_dir=str(tmp_path))
    tuner.run(max_epochs=1000, verbose=False)
    assert [t.status for t in tuner.records].count('failed') == 1
    assert scheduler.population_size == 2 and not scheduler.vacant
    survivor = scheduler.members[0]
    assert (survivor.status, survivor.epochs) == ('stopped', 12)
    assert len(tuner.results) == 12 + 3  # member 0's, member 1's first trial


def test_a_searcher_with_fewer_points_than_members_still_selects():
    """Three grid points for a population of four: the population has
    three members, and the generations and selections go on."""
    searcher = d2lhpo.GridSearcher({'h0': [1.0, 0.5, 0.2], 'h1': 0.0})
    scheduler = PBTScheduler(searcher, 4, 3, max_t=12, seed=0)
    tuner = HPOTuner(scheduler, toy, metric='Q', mode='max')
    tuner.run(max_epochs=1000, verbose=False)
    assert scheduler.population_size == scheduler.founded == 3
    assert len(tuner.results) == 3 * 12  # (before the fix: 9)
    children = [e for m, s, e in scheduler.lineage.values() if s is not None]
    assert sorted(children) == [3, 6, 9]  # one exploit per generation
    for trial in scheduler.members.values():
        assert (trial.status, trial.epochs) == ('stopped', 12)


def test_the_asynchronous_mode_is_refused_on_the_sequential_tuner():
    scheduler = PBTScheduler(SPACE, 2, 3, max_t=12, synchronous=False, seed=0)
    tuner = HPOTuner(scheduler, toy, metric='Q', mode='max')
    with pytest.raises(ValueError, match='AsyncTuner with a worker per'):
        tuner.run(max_epochs=1000, verbose=False)
    assert len(tuner.results) == 1  # refused at its first result


def test_explore_moves_small_integers_at_least_one_step():
    space = {'layers': stats.randint(1, 9), 'width': [16, 32, 64]}
    scheduler = PBTScheduler(space, 2, 1, resample_probability=0, seed=0)
    for layers, moved in [(1, {1, 2}), (2, {1, 3}), (3, {2, 4})]:  # 1: clipped
        seen = {scheduler.explore({'layers': layers, 'width': 32})['layers']
                for _ in range(40)}
        assert seen == moved
    still = PBTScheduler(space, 2, 1, resample_probability=0,
                         perturbation_factors=(1.0,), seed=0)
    assert still.explore({'layers': 2, 'width': 32})['layers'] == 2


def test_retired_trials_checkpoints_are_deleted(tmp_path):
    scheduler, tuner = run(tmp_path=str(tmp_path))
    assert scheduler.retired and scheduler.released == scheduler.retired
    kept = sorted(os.listdir(tmp_path))
    for trial in tuner.records:
        name = os.path.basename(trial.checkpoint)
        files = [f for f in kept if f == name or f.startswith(name + '.')]
        assert bool(files) == (trial.trial_id not in scheduler.retired)


def test_a_child_copies_no_stale_snapshot_and_says_why_its_copy_failed(
        tmp_path):
    """A reused checkpoint folder holds a stale `trial_2.pt.epoch3`; the
    first child (trial 2) must not start from it when its copy fails."""
    stale = tmp_path / 'trial_2.pt.epoch3'

    class StaleAndVanishing(Vanishing):
        def on_trial_start(self, trial):
            if trial.trial_id == 2:  # HPOTuner cleared the folder: refill
                stale.write_text(json.dumps([[0.0, 0.0], 3]))
            super().on_trial_start(trial)
    scheduler, tuner = run(StaleAndVanishing, tmp_path=str(tmp_path))
    child = tuner.records[2]
    assert child.status == 'failed' and not results_of(tuner, 2)
    assert 'copy failed: FileNotFoundError' in child.message


class Recording(RandomSearcher):
    """A random searcher that keeps what it is told, (trial id, error)."""
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.told = []

    def update(self, trial_id, config, error, result=None):
        self.told.append((trial_id, error))


def check_told_once(scheduler, tuner):
    """Every trial that ended, retired ones included, was told once."""
    ids = [trial_id for trial_id, _ in scheduler.searcher.told]
    assert len(ids) == len(set(ids)), 'a trial told twice'
    assert scheduler.retired, 'no trial retired: the test ran no rule'
    ended = scheduler.retired | {
        r.trial_id for r in tuner.records if r.epochs > 0 and
        r.status in ('completed', 'stopped')}
    assert ended == set(ids), ended ^ set(ids)
    assert all(np.isfinite(error) for _, error in scheduler.searcher.told)


def test_every_trial_that_ends_tells_the_searcher_once():
    """Trials that PBT stops itself (at max_t; retired by selection) reach
    the searcher, like those that end after a pause."""
    searcher = Recording(SPACE, seed=0, points_to_evaluate=STARTS)
    scheduler = PBTScheduler(searcher, 2, 3, max_t=12, seed=0)
    tuner = HPOTuner(scheduler, toy, metric='Q', mode='max')
    tuner.run(max_epochs=1000, verbose=False)
    check_told_once(scheduler, tuner)


def test_asynchronous_retirees_tell_the_searcher_once(local_backend):
    check_told_once(*run_async(local_backend, searcher_class=Recording))
