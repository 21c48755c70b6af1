"""d2lhpo: the library of "Dive into Hyperparameter Optimization".

Everything here is code saved from the chapters in ``chapter_hpo/`` and
from the appendix in ``chapter_appendix/`` by ``tools/build_lib.py``: read
a class in the book to see how it works, and ``from d2lhpo import
HPOTuner`` to use it in an exercise.
"""
from .book import *  # noqa: F401,F403
from .book import __all__  # noqa: F401

__version__ = '0.1.0'
