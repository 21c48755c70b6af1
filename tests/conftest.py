"""Shared set-up of the unit tests: a non-interactive matplotlib backend."""
import os

os.environ.setdefault('MPLBACKEND', 'Agg')

import matplotlib  # noqa: E402

matplotlib.use('Agg')

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test leaves open."""
    yield
    plt.close('all')
