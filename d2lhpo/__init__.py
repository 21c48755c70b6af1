"""d2lhpo: the library of "Dive into Hyperparameter Optimization".

Everything here is code saved from the chapters in ``chapter_hpo/`` and
from the appendix in ``chapter_appendix/`` by ``tools/build_lib.py``: read
a class in the book to see how it works, and ``from d2lhpo import
HPOTuner`` to use it in an exercise.
"""
import matplotlib

# Book figures use constrained layout: labels never overlap other panels.
matplotlib.rcParams['figure.constrained_layout.use'] = True

from .book import *  # noqa: F401,F403,E402
from .book import __all__  # noqa: F401,E402

__version__ = '0.1.0'
