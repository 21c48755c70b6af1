"""Shared set-up of the unit tests: a non-interactive matplotlib backend,
and the ``book`` marker.

Tests marked ``book`` check the book's tooling with tools that the library
does not need (headless Chromium, MathJax, TeX): ``make unit`` runs
``pytest tests -m "not book"`` on a machine without them, and ``make
book-tests`` installs them and runs ``pytest tests -m book
--require-book-tools``, where a book test that skips (its tool missing)
fails instead, so that a broken install cannot pass unnoticed.
"""
import os

os.environ.setdefault('MPLBACKEND', 'Agg')

import matplotlib  # noqa: E402

matplotlib.use('Agg')

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        '--require-book-tools', action='store_true',
        help='fail, rather than skip, a test marked book whose tool '
             '(Chromium, MathJax, TeX) is missing')


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'book: a test of the book tooling that needs Chromium, '
        'MathJax or TeX (make book-tests; make unit leaves it out)')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under --require-book-tools, a skipped book test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, 'wasxfail')
            and item.get_closest_marker('book') is not None
            and item.config.getoption('require_book_tools')):
        reason = (report.longrepr[2] if isinstance(report.longrepr, tuple)
                  else str(report.longrepr))
        report.outcome = 'failed'
        report.longrepr = (f'{item.nodeid} would be skipped ({reason}), '
                           'but --require-book-tools needs it to run')


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test leaves open."""
    yield
    plt.close('all')
