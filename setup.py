"""Install the d2lhpo package (the code saved from the book's chapters)."""
from setuptools import find_packages, setup

BOOK = [
    'd2lbook==1.0.3',
    'setuptools<80',        # d2l-notedown imports pkg_resources
    'pybtex==0.24.0',       # sphinxcontrib-bibtex 2.4.2 fails with 0.26
    'jupyter',
]
RAY = ['ray==2.60.0']
# pytest-xdist: the chapters execute under nbval two at a time (two cores)
# Optuna: tests/test_multi_objective.py checks the hypervolume against it
TEST = (['pytest', 'pytest-xdist', 'nbval==0.11.0', 'optuna==5.0.*']
        + RAY)  # Ray is tested too

setup(
    name='d2lhpo',
    version='0.1.0',
    description='Dive into Hyperparameter Optimization: the book\'s library',
    python_requires='>=3.10',
    packages=find_packages(include=['d2lhpo', 'd2lhpo.*']),
    # The learning-curve table of the benchmark chapter ships with the code.
    package_data={'d2lhpo': ['data/*.npz']},
    install_requires=[
        # The CPU wheel installed on these machines; the range admits others.
        # 2.6 is the first release whose torch.load refuses arbitrary
        # pickles by default (the package also asks weights_only=True).
        'torch>=2.6,<2.15',
        'numpy',
        'scipy',
        'matplotlib',
        'scikit-learn',
        'pandas',
        'ipython',
        'cloudpickle',  # ships objectives defined in notebooks to workers
        'tqdm',  # a run's progress bar outside Jupyter
        'mnist1d==0.0.2.post1',  # generates MNIST-1D offline (make_dataset)
        'orjson>=3.10',  # writes a simulated run's trial log fast
    ],
    extras_require={'book': BOOK, 'test': TEST, 'dev': BOOK + TEST,
                    'ray': RAY,
                    # the side-by-side benchmarks only (benchmarks/);
                    # Syne Tune's blackbox repository imports huggingface_hub;
                    # Ray Tune (benchmarks/pbt_benchmark.py) imports pydantic
                    'compare': ['syne-tune==0.16.0', 'huggingface_hub',
                                'optuna==5.0.*', 'pydantic'] + RAY},
)
