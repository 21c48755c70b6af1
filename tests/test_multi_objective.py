"""Pareto dominance, non-dominated sorting and the hypervolume, against
brute-force references, hand-computed cases, Monte Carlo and Optuna."""
import itertools

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume

import d2lhpo
from d2lhpo import hypervolume, non_dominated_sort, pareto_front


def dominates(a, b):
    return all(x <= y for x, y in zip(a, b)) and any(
        x < y for x, y in zip(a, b))


def brute_force_fronts(Y):
    """Peel fronts with plain loops: O(n^2) per front."""
    left, fronts = list(range(len(Y))), []
    while left:
        front = [i for i in left
                 if not any(dominates(Y[j], Y[i]) for j in left)]
        fronts.append(front)
        left = [i for i in left if i not in front]
    return fronts


def random_points(seed, n, m, levels=None):
    rng = np.random.default_rng(seed)
    if levels is None:
        return rng.random((n, m))
    Y = rng.integers(0, levels, size=(n, m)).astype(float)  # many ties
    return np.concatenate([Y, Y[: n // 5]])  # and exact duplicates


@pytest.mark.parametrize('seed, n, m, levels', [
    (0, 40, 2, None), (1, 60, 3, None), (2, 50, 2, 5), (3, 80, 3, 4),
    (4, 30, 4, 3), (5, 1, 2, None), (6, 25, 1, 6)])
def test_non_dominated_sort_matches_brute_force(seed, n, m, levels):
    Y = random_points(seed, n, m, levels)
    fronts = non_dominated_sort(Y)
    expected = brute_force_fronts(Y.tolist())
    assert [sorted(f.tolist()) for f in fronts] == expected
    assert sorted(np.concatenate(fronts).tolist()) == list(range(len(Y)))
    mask = pareto_front(Y)
    assert mask.dtype == bool and np.flatnonzero(mask).tolist() == \
        expected[0]


def test_duplicates_share_a_front_and_empty_input():
    Y = [[1, 2], [1, 2], [2, 1], [2, 2]]
    assert [f.tolist() for f in non_dominated_sort(Y)] == [[0, 1, 2], [3]]
    assert non_dominated_sort(np.zeros((0, 2))) == []
    assert pareto_front(np.zeros((0, 3))).shape == (0,)
    assert hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0


def test_hypervolume_2d_by_hand():
    # boxes up to (4, 4): [1,4]x[3,4] + [2,4]x[2,3] + [3,4]x[1,2] = 3+2+1
    Y = [[1, 3], [2, 2], [3, 1]]
    assert hypervolume(Y, [4, 4]) == 6.0
    # a dominated point, a duplicate and a point beyond the reference
    # change nothing
    assert hypervolume(Y + [[3, 3], [2, 2], [5, 0], [0, 4]], [4, 4]) == 6.0
    assert hypervolume([[0.5, 0.5]], [1, 2]) == 0.75
    assert hypervolume([[1, 1]], [1, 2]) == 0.0  # on the reference's edge


def test_hypervolume_1d_is_the_distance_of_the_best_point():
    assert hypervolume([[3.0], [1.0], [2.0]], [5.0]) == 4.0


@pytest.mark.parametrize('seed', range(3))
def test_hypervolume_2d_against_monte_carlo(seed):
    rng = np.random.default_rng(seed)
    Y = rng.random((30, 2)) ** 2
    reference = np.array([1.0, 1.2])
    samples = rng.random((200_000, 2)) * reference
    covered = np.zeros(len(samples), dtype=bool)
    for y in Y:
        covered |= np.all(samples >= y, axis=1)
    estimate = covered.mean() * np.prod(reference)
    stderr = np.sqrt(covered.mean() * (1 - covered.mean()) / len(samples))
    assert abs(hypervolume(Y, reference) - estimate) < 4 * stderr * 1.2


@pytest.mark.parametrize('seed, n, m', [
    (0, 20, 3), (1, 60, 3), (2, 150, 3), (3, 15, 4), (4, 30, 4),
    (5, 10, 5)])
def test_hypervolume_against_optuna(seed, n, m):
    rng = np.random.default_rng(seed)
    Y = rng.random((n, m))
    Y[: n // 2] /= np.linalg.norm(Y[: n // 2], axis=1, keepdims=True)  # a front
    reference = np.full(m, 1.1)
    expected = compute_hypervolume(Y, reference)
    assert hypervolume(Y, reference) == pytest.approx(expected, rel=1e-12)


def test_hypervolume_3d_of_a_box_union_by_hand():
    # two unit-corner boxes up to (2, 2, 2): 1*2*2 + 2*1*2 - 1*1*2 overlap
    assert hypervolume([[1, 0, 0], [0, 1, 0]], [2, 2, 2]) == 6.0
    # inclusion-exclusion over every subset of 3 random points in 3-D
    rng = np.random.default_rng(0)
    Y, reference = rng.random((3, 3)), np.ones(3)
    total = 0.0
    for k in range(1, 4):
        for subset in itertools.combinations(Y, k):
            corner = np.max(subset, axis=0)
            total += (-1) ** (k + 1) * np.prod(reference - corner)
    assert hypervolume(Y, reference) == pytest.approx(total, rel=1e-12)


def test_the_front_has_the_largest_hypervolume_of_its_size():
    Y = random_points(7, 12, 2)
    front = np.flatnonzero(pareto_front(Y))
    reference = np.ones(2)
    best = hypervolume(Y[front], reference)
    for subset in itertools.combinations(range(len(Y)), len(front)):
        assert hypervolume(Y[list(subset)], reference) <= best + 1e-15
    assert hypervolume(Y, reference) == best


@pytest.mark.parametrize('Y, reference, pattern', [
    ([[0.1, np.nan], [0.2, 0.3]], [1, 1], 'NaN'),
    ([[0.1, -np.inf]], [1, 1], '-inf'),
    ([0.1, 0.2], [1, 1], '2-D'),
    (np.zeros((2, 2, 2)), [1, 1], '2-D'),
    (np.zeros((3, 0)), [], '2-D'),
    ([[0.1, 0.2]], [1, 1, 1], r'shape \(2,\)'),
    ([[0.1, 0.2]], [[1, 1]], r'shape \(2,\)'),
    ([[0.1, 0.2]], [1, np.inf], 'finite'),
    ([[0.1, 0.2]], [np.nan, 1], 'finite'),
])
def test_bad_input_is_refused(Y, reference, pattern):
    with pytest.raises(ValueError, match=pattern):
        hypervolume(Y, reference)


@pytest.mark.parametrize('Y', [[[0.1, np.nan]], [1, 2], [[[1]]]])
def test_sorting_refuses_bad_input(Y):
    with pytest.raises(ValueError):
        non_dominated_sort(Y)
    with pytest.raises(ValueError):
        pareto_front(Y)


def test_inf_is_a_worst_value():
    Y = [[np.inf, 0.0], [0.5, 0.5], [np.inf, np.inf]]
    assert [f.tolist() for f in non_dominated_sort(Y)] == [[0, 1], [2]]
    assert hypervolume(Y, [1, 1]) == 0.25


def test_true_front_of_the_mnist1d_table():
    bench = d2lhpo.TabularBenchmark(d2lhpo.MNIST1D_TABLE)
    error = np.array([bench.true_error(c) for c in bench.grid])
    Y = np.column_stack([bench.num_params, error])
    front = np.flatnonzero(pareto_front(Y))
    assert front.tolist() == brute_force_fronts(Y.tolist())[0]
    assert np.argmin(error) in front
    # one point per network size at most
    assert len(np.unique(bench.num_params[front])) == len(front)
