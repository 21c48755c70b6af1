"""Every fault-injection case of issue 13 (benchmarks/fault_cases.py) must end
in a clear error or be handled; never a silent wrong result, a crash, a
hang, an orphaned process or lost data.

Cases that were still open on main when this module was written are listed
in KNOWN_OPEN and expected to fail (not strictly); empty the set as fixes
land. Heavy cases run at a reduced size (`ctx.full` is False). Cases that
start processes and mostly wait for them run on a pool of threads while the
quick ones run; the huge grids (memory limit) and Ray run in a Python of
their own.
"""
import concurrent.futures
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import fault_cases as fc  # noqa: E402

# Cases still open on main. At b4d3926, before issue 13, 82 of the 117
# were (the table is in the closing note of issue 13).
KNOWN_OPEN = set()
# (the memory limit of the grids, os.chdir)
OWN_PROCESS = {'huge_grid_three_floats', 'huge_grid_one_float',
               'chdir_leak_hpotuner'}
# Ray's case runs in a Python of its own too, but with the other Ray tests
# (one Ray at a time), not beside the pool: two Rays starting at once on a
# busy 2-core machine can outlast Ray's own 30-s wait for its node.
RAY_CASE = 'ray_binds_localhost'
POOLED = {n for n, c in fc.CASES.items()
          if c.isolated and n != RAY_CASE} | OWN_PROCESS
IN_PROCESS = set(fc.CASES) - POOLED - {RAY_CASE}
# Timings are measured by the benchmark scripts, not asserted by unit tests
# on a machine whose load varies (benchmarks/log_speed.py,
# benchmarks/bo_suggest_time.py; fault_cases.py runs these cases too).
TIMINGS = {'log_speed_ratio', 'bo_suggestion_time'}


def test_known_open_names_exist():
    assert KNOWN_OPEN <= set(fc.CASES), KNOWN_OPEN - set(fc.CASES)


@pytest.fixture(scope='module')
def pool():
    """Start the process-based cases at once, three at a time."""
    executor = concurrent.futures.ThreadPoolExecutor(3)
    futures = {}
    for name in sorted(POOLED, key=lambda n: -fc.CASES[n].timeout):
        if name in OWN_PROCESS:
            futures[name] = executor.submit(fc.run_case_subprocess, name,
                                            ROOT, False)
        else:
            futures[name] = executor.submit(fc.run_case, name, False)
    yield futures
    executor.shutdown(wait=False, cancel_futures=True)


def _params(names):
    marks = {n: pytest.mark.skip(reason='a timing: see the benchmarks')
             for n in TIMINGS}
    marks.update({n: pytest.mark.xfail(reason='issue 13: still open',
                                       strict=False) for n in KNOWN_OPEN})
    return [pytest.param(n, marks=marks[n]) if n in marks else n
            for n in names]


@pytest.mark.parametrize('name', _params(sorted(IN_PROCESS)))
def test_case(pool, name):
    outcome, detail, _ = fc.run_case(name, full=False)
    assert outcome in fc.GOOD, f'{name}: {outcome}: {detail}'


@pytest.mark.parametrize('name', _params(sorted(POOLED)))
def test_process_case(pool, name):
    try:
        # queued behind other cases: wait for the pool, not one case
        outcome, detail, _ = pool[name].result(
            timeout=sum(fc.CASES[n].timeout for n in POOLED))
    except concurrent.futures.TimeoutError:
        outcome, detail = 'crash/hang', 'timed out'
    if outcome == fc.SKIPPED:
        pytest.skip(detail)
    assert outcome in fc.GOOD, f'{name}: {outcome}: {detail}'


@pytest.mark.xdist_group('ray')  # one Ray at a time
def test_ray_case_in_a_process_of_its_own():
    for attempt in range(2):  # once more if Ray itself gave up starting
        outcome, detail, _ = fc.run_case_subprocess(RAY_CASE, ROOT, False)
        if 'timed out during startup' not in detail:
            break
    if outcome == fc.SKIPPED:
        pytest.skip(detail)
    assert outcome in fc.GOOD, f'{RAY_CASE}: {outcome}: {detail}'
