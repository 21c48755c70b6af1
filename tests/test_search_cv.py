"""HPOSearchCV: scikit-learn's conventions for a search (clone, get/set
params, cv_results_ keys, best_* attributes, refit), fitted results on a
small data set, multi-fidelity schedulers with samples as the resource,
and clear errors for bad input."""
import functools

import numpy as np
import pytest
from scipy import stats
from sklearn import base, datasets, model_selection
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import d2lhpo
from d2lhpo import HPOSearchCV

SVC_SPACE = {'C': stats.loguniform(1e-2, 1e2),
             'gamma': stats.loguniform(1e-4, 1),
             'kernel': ['rbf', 'linear']}


@pytest.fixture(scope='module')
def digits():
    X, y = datasets.load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def small_search(**kwargs):
    args = dict(n_trials=6, cv=3, seed=0)
    args.update(kwargs)
    return HPOSearchCV(SVC(), SVC_SPACE, **args)


def test_clone_and_params_follow_sklearn():
    search = small_search(searcher=d2lhpo.TPESearcher,
                          scheduler=functools.partial(d2lhpo.ASHAScheduler,
                                                      r_max=9))
    params = search.get_params()
    for key in ('estimator', 'config_space', 'searcher', 'scheduler',
                'n_trials', 'cv', 'scoring', 'refit', 'min_resources',
                'seed', 'estimator__C'):
        assert key in params
    clone = base.clone(search)
    assert clone is not search and clone.get_params()['n_trials'] == 6
    assert clone.estimator is not search.estimator
    clone.set_params(n_trials=3, estimator__C=5.0)
    assert clone.n_trials == 3 and clone.estimator.C == 5.0
    assert search.n_trials == 6 and search.estimator.C == 1.0
    assert base.is_classifier(search)
    assert not base.is_classifier(HPOSearchCV(Ridge(), {'alpha': [1, 2]}))


def test_fitted_attributes_and_cv_results(digits):
    X, y = digits
    search = small_search().fit(X, y)
    results = search.cv_results_
    keys = {'params', 'param_C', 'param_gamma', 'param_kernel',
            'mean_test_score', 'std_test_score', 'rank_test_score',
            'split0_test_score', 'split1_test_score', 'split2_test_score',
            'mean_fit_time', 'std_fit_time', 'mean_score_time',
            'std_score_time', 'n_resources'}
    assert keys <= set(results)
    assert 'split3_test_score' not in results
    n = len(results['params'])
    assert n == 6 and all(len(results[k]) == n for k in keys)
    assert isinstance(results['param_C'], np.ma.MaskedArray)
    splits = np.array([results[f'split{k}_test_score'] for k in range(3)])
    np.testing.assert_allclose(results['mean_test_score'], splits.mean(0))
    np.testing.assert_allclose(results['std_test_score'], splits.std(0))
    # the best is rank 1 and has the highest mean score
    best = search.best_index_
    assert results['rank_test_score'][best] == 1
    assert search.best_score_ == results['mean_test_score'].max()
    assert search.best_params_ == results['params'][best]
    assert search.n_splits_ == 3 and search.refit_time_ >= 0
    # best_estimator_: the best configuration refitted on all the data
    assert search.best_estimator_.get_params()['C'] == search.best_params_[
        'C']
    np.testing.assert_array_equal(search.predict(X),
                                  search.best_estimator_.predict(X))
    assert search.score(X, y) == search.best_estimator_.score(X, y)
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.best_score_ > 0.8
    # the score of a trial is the mean k-fold score of sklearn itself
    estimator = SVC().set_params(**search.best_params_)
    expected = model_selection.cross_val_score(estimator, X, y, cv=3)
    assert search.best_score_ == pytest.approx(expected.mean())


def test_same_seed_same_search_and_user_objects_untouched(digits):
    X, y = digits
    searcher = d2lhpo.RandomSearcher(SVC_SPACE, seed=3)
    state = searcher.rng.bit_generator.state
    first = small_search(searcher=searcher).fit(X, y)
    second = small_search(searcher=searcher).fit(X, y)
    assert searcher.rng.bit_generator.state == state  # copied at fit
    assert first.cv_results_['params'] == second.cv_results_['params']
    np.testing.assert_array_equal(first.cv_results_['mean_test_score'],
                                  second.cv_results_['mean_test_score'])


def test_refit_false(digits):
    X, y = digits
    search = small_search(refit=False).fit(X, y)
    assert not hasattr(search, 'best_estimator_')
    assert search.best_params_ and 0 < search.best_score_ <= 1
    with pytest.raises(NotFittedError, match='refit=False'):
        search.predict(X)
    with pytest.raises(NotFittedError, match='not fitted yet'):
        small_search().predict(X)


def test_scoring_and_regression():
    X, y = datasets.load_diabetes(return_X_y=True)
    search = HPOSearchCV(Ridge(), {'alpha': stats.loguniform(1e-3, 1e2)},
                         n_trials=5, cv=4, scoring='neg_mean_squared_error',
                         seed=0).fit(X, y)
    assert search.best_score_ < 0  # negated error: higher is better
    assert search.score(X, y) == pytest.approx(
        -np.mean((search.predict(X) - y) ** 2))


def test_pipeline_nested_parameters(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    search = HPOSearchCV(pipe, {'logisticregression__C': stats.loguniform(
        1e-2, 10)}, n_trials=3, cv=3, seed=0).fit(X, y)
    assert set(search.best_params_) == {'logisticregression__C'}
    assert search.score(X, y) > 0.9


@pytest.mark.parametrize('make_scheduler', [
    functools.partial(d2lhpo.ASHAScheduler, eta=3, r_max=9),
    functools.partial(d2lhpo.SuccessiveHalvingScheduler, eta=3, r_max=9),
    functools.partial(d2lhpo.HyperbandScheduler, eta=3, r_max=9)])
def test_multi_fidelity_uses_samples_as_resource(digits, make_scheduler):
    X, y = digits
    search = HPOSearchCV(SVC(), SVC_SPACE, scheduler=make_scheduler,
                         searcher=d2lhpo.RandomSearcher, n_trials=12, cv=3,
                         seed=0).fit(X, y)
    resources = search.cv_results_['n_resources']
    # levels 1, 3, 9 of 9: a ninth, a third and all of the 300 samples;
    # 'smallest' = 2 samples x 3 folds x 10 classes = 60 > 300 / 9
    assert set(resources) <= {60, 100, 300} and 300 in resources
    assert search.min_resources_ == 60
    assert resources[search.best_index_] == 300
    assert search.best_score_ == max(
        s for s, r in zip(search.cv_results_['mean_test_score'], resources)
        if r == 300)
    # one result per level 1..9, fitted only at the rung levels
    table = search.tuner_.results_table()
    for _, rows in table.groupby('trial_id'):
        assert list(rows['epoch']) == list(range(1, len(rows) + 1))
        fitted = rows.drop_duplicates('n_resources')
        assert set(fitted['epoch']) <= {1, 3, 9}


def test_scheduler_levels():
    searcher = d2lhpo.RandomSearcher({'x': [1, 2]})
    assert d2lhpo.scheduler_levels(d2lhpo.BasicScheduler(searcher)) is None
    assert d2lhpo.scheduler_levels(d2lhpo.HyperbandScheduler(
        searcher, eta=3, r_max=27)) == [1, 3, 9, 27]
    wrapped = d2lhpo.SynchronousScheduler(d2lhpo.ASHAScheduler(
        searcher, eta=2, r_min=2, r_max=8), batch_size=2)
    assert d2lhpo.scheduler_levels(wrapped) == [2, 4, 8]


def test_subsampled_splits_are_stratified_and_fixed():
    y = np.repeat([0, 1, 2], 30)
    splits = list(model_selection.StratifiedKFold(3).split(np.zeros(90), y))
    half = d2lhpo.subsampled_splits(splits, y, 0.5, True, seed=0)
    again = d2lhpo.subsampled_splits(splits, y, 0.5, True, seed=0)
    for (train, test), (sub, sub_test), (sub2, _) in zip(splits, half, again):
        assert len(sub) == 30 and set(sub) <= set(train)
        np.testing.assert_array_equal(test, sub_test)  # test folds whole
        np.testing.assert_array_equal(np.bincount(y[sub]), [10, 10, 10])
        np.testing.assert_array_equal(sub, sub2)


def test_failed_trials(digits):
    X, y = digits
    space = {'C': [1.0, -1.0]}  # SVC refuses C <= 0
    with pytest.warns(FitFailedWarning, match='trials failed'):
        search = HPOSearchCV(SVC(), space, searcher=functools.partial(
            d2lhpo.GridSearcher), n_trials=2, cv=3).fit(X, y)
    assert search.best_params_ == {'C': 1.0}
    failed = search.cv_results_['params'].index({'C': -1.0})
    assert np.isnan(search.cv_results_['mean_test_score'][failed])
    assert search.cv_results_['rank_test_score'][failed] == 2
    with pytest.raises(ValueError, match='all 1 trials failed; the first: '
                       'InvalidParameterError'):
        HPOSearchCV(SVC(), {'C': -1.0}, n_trials=1, cv=3).fit(X, y)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(estimator='svc'), TypeError, 'must be a scikit-learn estimator'),
    (dict(estimator=SVC), TypeError, 'must be a scikit-learn estimator'),
    (dict(config_space={}), ValueError, 'non-empty dict'),
    (dict(config_space={'C': [1.0], 'depth': [2, 3]}), ValueError,
     r"\['depth'\] are not parameters of SVC"),
    (dict(n_trials=0), ValueError, 'n_trials'),
    (dict(refit='yes'), ValueError, 'refit must be True or False'),
    (dict(min_resources=0), ValueError, 'min_resources'),
    (dict(scoring=['accuracy', 'f1']), ValueError, 'one metric'),
    (dict(searcher=42), TypeError, 'searcher must be a searcher'),
    (dict(searcher='bayes'), ValueError, "unknown searcher 'bayes'"),
    (dict(scheduler='asha'), TypeError, 'scheduler must be a scheduler'),
    (dict(searcher=d2lhpo.RandomSearcher, scheduler=d2lhpo.BasicScheduler(
        d2lhpo.RandomSearcher({'C': [1.0]}))), ValueError,
     'brings its own searcher'),
    (dict(scheduler=lambda searcher: searcher), TypeError,
     'scheduler must provide'),
])
def test_bad_input(digits, kwargs, error, match):
    args = dict(estimator=SVC(), config_space={'C': [0.5, 1.0]}, n_trials=2,
                cv=3)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        HPOSearchCV(**args).fit(*digits)


def test_synchronous_brackets_are_finished_after_the_last_new_trial(digits):
    # one bracket of successive halving: 9 trials on a ninth of the
    # samples, the best 3 resumed on a third, the best 1 on all; n_trials=9
    # counts configurations, so the resumes run after the 9th new trial
    X, y = digits
    search = HPOSearchCV(SVC(), SVC_SPACE, n_trials=9, cv=3, seed=0,
                         min_resources=1, scheduler=functools.partial(
                             d2lhpo.SuccessiveHalvingScheduler, eta=3,
                             r_max=9)).fit(X, y)
    resources = search.cv_results_['n_resources']
    assert len(resources) == 9
    assert sorted(resources.tolist()) == [33] * 6 + [100] * 2 + [300]
    assert search.best_index_ == int(np.argmax(resources))
    limit = d2lhpo.TrialLimit(d2lhpo.BasicScheduler(d2lhpo.RandomSearcher(
        SVC_SPACE, seed=0)), 2)
    assert limit.suggest(0) is not None and limit.suggest(1) is not None
    assert limit.suggest(2) is None


def test_a_searcher_by_name_is_the_searcher_tune_builds(digits):
    X, y = digits
    by_name = small_search(searcher='tpe').fit(X, y)
    by_class = small_search(searcher=d2lhpo.TPESearcher).fit(X, y)
    scheduler = by_name.tuner_.scheduler
    while not hasattr(scheduler, 'searcher'):  # through wrappers
        scheduler = scheduler.scheduler
    assert isinstance(scheduler.searcher, d2lhpo.TPESearcher)
    assert by_name.cv_results_['params'] == by_class.cv_results_['params']
