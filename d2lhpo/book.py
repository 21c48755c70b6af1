"""The d2lhpo library: code saved from the chapters of the book.

GENERATED FILE, DO NOT EDIT.  Every block below comes from a ``#@save``
cell of a chapter in ``chapter_hpo/``; edit the chapter and run
``make lib`` (``python tools/build_lib.py``) to regenerate this file.
"""
import sys

# Chapters refer to saved code as ``d2lhpo.name``; inside the package those
# names live in this module.
d2lhpo = sys.modules[__name__]


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
import copy
import dataclasses
import functools
import gzip
import math
import numbers
import os
import struct
import time

import numpy as np
import torch
from scipy import stats
from torch import nn


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def add_to_class(Class):
    """Register the decorated function as a method of `Class`."""
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
        return obj
    return wrapper

def get_device():
    """Return the first GPU if PyTorch sees one, and the CPU otherwise."""
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    return torch.device("cpu")


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
@dataclasses.dataclass
class DataSplits:
    """Training, validation and test tensors `(X, y)` of one data set."""
    name: str
    train: tuple
    val: tuple
    test: tuple

    def __repr__(self):
        sizes = ', '.join(f'{s}={len(getattr(self, s)[1])}'
                          for s in ('train', 'val', 'test'))
        return f'DataSplits({self.name!r}, {sizes})'

@functools.lru_cache(maxsize=None)
def _digits_arrays(num_val, num_test):
    """The digits as numpy arrays, split once per process."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=num_test, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=num_val, stratify=y_rest, random_state=0)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)

def load_digits_data(num_val=300, num_test=300):
    """Load scikit-learn's 8x8 digits with a fixed, stratified split.

    Pixels are scaled to [0, 1]; images have shape (1, 8, 8). The split uses
    `random_state=0`, so it is the same on every machine. Each call returns
    fresh tensors (the split itself is computed once).
    """
    splits = [(torch.tensor(X), torch.tensor(y))
              for X, y in _digits_arrays(num_val, num_test)]
    return DataSplits('digits', *splits)


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4',
              0x0D: '>f4', 0x0E: '>f8'}

def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array."""
    opener = gzip.open if str(path).endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f'{path} is not an IDX file (bad magic number)')
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f'{path} is truncated inside its header')
    shape = struct.unpack(f'>{ndim}I', raw[4:4 + 4 * ndim])
    array = np.frombuffer(raw, dtype=np.dtype(IDX_DTYPES[raw[2]]),
                          offset=4 + 4 * ndim)
    if array.size != math.prod(shape):
        raise ValueError(f'{path} is truncated: header says shape {shape}, '
                         f'file holds {array.size} values')
    return array.reshape(shape)

FASHION_MNIST_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}

def load_fashion_mnist(data_dir=os.path.join('..', 'data', 'fashion-mnist'),
                       num_val=10000):
    """Load Fashion-MNIST from its IDX files in `data_dir`.

    The last `num_val` images of a fixed permutation (seed 0) of the
    training files form the validation split; the test files are the test
    split. Images are scaled to [0, 1] with shape (1, 28, 28).
    """
    def find(name):
        for candidate in (name, name + '.gz'):
            path = os.path.join(data_dir, candidate)
            if os.path.exists(path):
                return path
        raise FileNotFoundError(
            f'Fashion-MNIST file {name}[.gz] not found in '
            f'{os.path.abspath(data_dir)}. Nothing is downloaded at run '
            'time: copy the four IDX files (train-images-idx3-ubyte, '
            'train-labels-idx1-ubyte, t10k-images-idx3-ubyte, '
            't10k-labels-idx1-ubyte, gzipped or not) from '
            'https://github.com/zalandoresearch/fashion-mnist into that '
            'directory, or pass data_dir=...')
    splits = {}
    for split, (images, labels) in FASHION_MNIST_FILES.items():
        X = read_idx(find(images)).astype(np.float32)[:, None] / 255.0
        y = read_idx(find(labels)).astype(np.int64)
        if len(X) != len(y):
            raise ValueError(f'{split}: {len(X)} images but {len(y)} labels')
        splits[split] = (torch.tensor(X), torch.tensor(y))
    X, y = splits['train']
    if (isinstance(num_val, bool) or not isinstance(num_val, numbers.Integral)
            or not 0 < num_val < len(y)):
        raise ValueError(f'num_val={num_val} must lie in (0, {len(y)})')
    perm = torch.tensor(np.random.default_rng(0).permutation(len(y)))
    train, val = perm[:-num_val], perm[-num_val:]
    return DataSplits('fashion-mnist', (X[train], y[train]),
                      (X[val], y[val]), splits['test'])


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def softmax_regression(num_inputs=64, num_classes=10):
    """A linear classifier on flattened images."""
    return nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_classes))

class SmallCNN(nn.Module):
    """Two 3x3 convolution blocks and a linear classifier.

    Works for any image size: the features are pooled to 2x2 before the
    classifier.
    """
    def __init__(self, channels=16, num_classes=10, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(8 * channels, num_classes))

    def forward(self, X):
        return self.net(X)


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def error_rate(model, X, y, batch_size=1024):
    """Fraction of misclassified examples, counted over the whole split."""
    model.eval()
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            pred = model(X[i:i + batch_size]).argmax(dim=1)
            wrong += (pred != y[i:i + batch_size]).sum().item()
    return wrong / len(y)

def train_model(model, data, lr, batch_size, num_epochs, momentum=0.0,
                weight_decay=0.0, seed=0, device=None):
    """Train `model` with minibatch SGD on `data.train`.

    Returns the list of validation errors, one after each epoch. `seed`
    fixes the order of the minibatches.
    """
    device = get_device() if device is None else device
    model.to(device)
    X, y = (t.to(device) for t in data.train)
    X_val, y_val = (t.to(device) for t in data.val)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr,
                                momentum=momentum, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    val_errors = []
    for _ in range(num_epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator).to(device)
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_errors.append(error_rate(model, X_val, y_val))
    return val_errors


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def softmax_objective(lr, batch_size=32, num_epochs=10, seed=0):
    """Validation error of softmax regression on the digits."""
    torch.manual_seed(seed)  # initial weights
    errors = train_model(softmax_regression(), load_digits_data(), lr=lr,
                         batch_size=batch_size, num_epochs=num_epochs,
                         seed=seed)
    return errors[-1]


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def cnn_objective(lr, batch_size=32, channels=16, momentum=0.9,
                  num_epochs=10, seed=0):
    """Validation error of `SmallCNN` on the digits."""
    torch.manual_seed(seed)
    errors = train_model(SmallCNN(channels), load_digits_data(), lr=lr,
                         batch_size=batch_size, num_epochs=num_epochs,
                         momentum=momentum, seed=seed)
    return errors[-1]


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
@dataclasses.dataclass(frozen=True)
class Domain:
    """The checked set of values of one hyperparameter.

    `kind` is 'float', 'int', 'categorical' or 'constant'. Numerical domains
    have inclusive bounds `low` and `high`; `log` says whether to sample
    and lay out grids on a logarithmic scale.
    """
    name: str
    kind: str
    low: float = None
    high: float = None
    log: bool = False
    choices: tuple = ()

    def sample(self, rng):
        """Draw one value using the numpy generator `rng`."""
        if self.kind == 'constant':
            return copy.deepcopy(self.choices[0])
        if self.kind == 'categorical':  # copied: a choice may be a list
            return copy.deepcopy(
                self.choices[int(rng.integers(len(self.choices)))])
        if self.kind == 'int':
            return int(rng.integers(self.low, self.high + 1))
        if self.log:
            return float(np.exp(rng.uniform(np.log(self.low),
                                            np.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid(self, num_points):
        """Return at most `num_points` values spread over the domain."""
        if self.kind in ('constant', 'categorical'):
            return list(self.choices)
        if self.kind == 'int' and self.high - self.low + 1 <= num_points:
            return list(range(int(self.low), int(self.high) + 1))
        space = np.geomspace if self.log else np.linspace
        values = space(self.low, self.high, num_points)
        if self.kind == 'int':
            return [int(v) for v in np.unique(np.round(values))]
        return [float(v) for v in values]

    def contains(self, value):
        """Whether `value` is a member of the domain."""
        if self.kind in ('constant', 'categorical'):
            # True == 1 in Python; a bool only matches a bool.
            return any(value == c and isinstance(value, bool) ==
                       isinstance(c, bool) for c in self.choices)
        if isinstance(value, bool) or (self.kind == 'int' and not
                                       isinstance(value, numbers.Integral)):
            return False
        return (isinstance(value, numbers.Real)
                and self.low <= value <= self.high)


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def _frozen_params(spec, names):
    """The parameters of a frozen scipy distribution, by name."""
    params = dict(zip(names, spec.args))
    params.update(spec.kwds)
    return params

def make_domain(name, spec):
    """Check the domain `spec` of hyperparameter `name`; return a Domain."""
    if isinstance(spec, (list, tuple)):
        if len(spec) == 0:
            raise ValueError(f'hyperparameter {name!r}: the list of '
                             'categorical choices is empty')
        return Domain(name, 'categorical',
                      choices=tuple(copy.deepcopy(spec)))
    if isinstance(spec, (bool, numbers.Number, str)):
        return Domain(name, 'constant', choices=(spec,))
    family = getattr(getattr(spec, 'dist', None), 'name', None)
    if family == 'uniform':
        p = _frozen_params(spec, ('loc', 'scale'))
        low = p.get('loc', 0.0)
        high = low + p.get('scale', 1.0)
        log, kind = False, 'float'
    elif family in ('loguniform', 'reciprocal'):
        p = _frozen_params(spec, ('a', 'b', 'loc', 'scale'))
        if p.get('loc', 0) != 0 or p.get('scale', 1) != 1:
            raise ValueError(f'hyperparameter {name!r}: loguniform with '
                             'loc or scale is not supported')
        low, high = p['a'], p['b']
        log, kind = True, 'float'
        if low <= 0:
            raise ValueError(f'hyperparameter {name!r}: a log-scale range '
                             f'needs bounds > 0, got lower bound {low}')
    elif family == 'randint':
        p = _frozen_params(spec, ('low', 'high', 'loc'))
        if not all(isinstance(p.get(k, 0), numbers.Integral)
                   for k in ('low', 'high', 'loc')):
            raise ValueError(f'hyperparameter {name!r}: randint needs '
                             f'integer bounds, got {spec.args}')
        low = p['low'] + p.get('loc', 0)
        high = p['high'] + p.get('loc', 0) - 1  # randint excludes `high`
        log, kind = False, 'int'
    else:
        shown = f'scipy.stats.{family}' if family else type(spec).__name__
        raise ValueError(
            f'hyperparameter {name!r}: unsupported domain {shown}; use '
            'stats.uniform, stats.loguniform, stats.randint, a non-empty '
            'list of choices, or a constant')
    # A float range needs low < high; an int range may hold a single value.
    if (not (np.isfinite(low) and np.isfinite(high)) or low > high
            or (kind == 'float' and low == high)):
        shown = f'[{low}, {high}]' if kind == 'float' else \
            f'integers {low}..{high}'
        raise ValueError(f'hyperparameter {name!r}: empty or reversed range '
                         f'{shown}; the lower bound must be below the upper')
    return Domain(name, kind, float(low) if kind == 'float' else int(low),
                  float(high) if kind == 'float' else int(high), log)

def parse_config_space(config_space):
    """Check a configuration space; return a dict of name -> Domain."""
    if not isinstance(config_space, dict) or not config_space:
        raise ValueError('the configuration space must be a non-empty dict '
                         f'of name -> domain, got {config_space!r}')
    for name in config_space:
        if not isinstance(name, str):
            raise ValueError(f'hyperparameter names must be strings, got '
                             f'{name!r}')
    return {name: make_domain(name, spec)
            for name, spec in config_space.items()}

def sample_config(domains, rng):
    """Draw one configuration (a new dict) from parsed domains."""
    return {name: domain.sample(rng) for name, domain in domains.items()}


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
import copy
import dataclasses
import functools
import itertools
import math
import numbers
import time

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from scipy import stats


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class HPOSearcher:
    """Proposes configurations and learns from the errors they get."""
    def sample_configuration(self):
        """Return a new configuration (a dict), or None when exhausted."""
        raise NotImplementedError

    def update(self, config, error, additional_info=None):
        """Learn from a finished trial; `error` is NaN if it failed."""


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
def check_config(domains, config):
    """Check `config` against parsed domains; return a completed copy.

    Hyperparameters with a constant domain may be left out.
    """
    if not isinstance(config, dict):
        raise ValueError(f'a configuration must be a dict, got {config!r}')
    unknown = sorted(set(config) - set(domains))
    if unknown:
        raise ValueError(f'unknown hyperparameters {unknown}; the space has '
                         f'{sorted(domains)}')
    checked = {}
    for name, domain in domains.items():
        if name not in config:
            if domain.kind != 'constant':
                raise ValueError(f'hyperparameter {name!r} is missing')
            checked[name] = domain.choices[0]
        elif not domain.contains(config[name]):
            raise ValueError(f'hyperparameter {name!r}: {config[name]!r} is '
                             f'outside its domain {domain}')
        else:
            checked[name] = copy.deepcopy(config[name])
    return checked


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class RandomSearcher(HPOSearcher):
    """Samples configurations independently from the space."""
    def __init__(self, config_space, initial_config=None, seed=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        self.rng = np.random.default_rng(seed)
        self.initial_config = (None if initial_config is None else
                               check_config(self.domains, initial_config))

    def sample_configuration(self):
        if self.initial_config is not None:
            config, self.initial_config = self.initial_config, None
            return config
        return d2lhpo.sample_config(self.domains, self.rng)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class GridSearcher(HPOSearcher):
    """Tries every point of a grid over the space, then stops."""
    def __init__(self, config_space, num_points=5, shuffle=False, seed=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        if isinstance(num_points, dict):
            unknown = sorted(set(num_points) - set(self.domains))
            if unknown:
                raise ValueError(f'num_points names unknown hyperparameters '
                                 f'{unknown}')
            per_name = {name: num_points.get(name, 5)
                        for name in self.domains}
        else:
            per_name = dict.fromkeys(self.domains, num_points)
        for name, n in per_name.items():
            if (isinstance(n, bool) or not isinstance(n, numbers.Integral)
                    or n < 1):
                raise ValueError(f'hyperparameter {name!r}: num_points must '
                                 f'be a positive integer, got {n!r}')
        axes = [domain.grid(per_name[name])
                for name, domain in self.domains.items()]
        self.grid = [dict(zip(self.domains, values))
                     for values in itertools.product(*axes)]
        self.order = np.arange(len(self.grid))
        if shuffle:
            self.order = np.random.default_rng(seed).permutation(
                len(self.grid))
        self.position = 0

    def sample_configuration(self):
        if self.position >= len(self.grid):
            return None
        config = copy.deepcopy(self.grid[self.order[self.position]])
        self.position += 1
        return config


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class HPOScheduler:
    """Decides which trial runs next (and, later, for how long)."""
    def suggest(self):
        """Return the next configuration to run, or None to stop."""
        raise NotImplementedError

    def update(self, config, error, info=None):
        """Receive the result of a finished trial (NaN if it failed)."""
        raise NotImplementedError

class BasicScheduler(HPOScheduler):
    """Runs each configuration that its searcher proposes to the end."""
    def __init__(self, searcher):
        self.searcher = searcher

    def suggest(self):
        return self.searcher.sample_configuration()

    def update(self, config, error, info=None):
        self.searcher.update(config, error, additional_info=info)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
@dataclasses.dataclass
class TrialRecord:
    """The outcome of one finished trial."""
    trial_id: int
    config: dict
    error: float        # NaN if the trial failed
    status: str         # 'completed' or 'failed'
    runtime: float      # seconds spent in the objective
    start_time: float   # tuner clock (s) when the trial started
    end_time: float     # tuner clock (s) when it finished
    message: str = ''   # why the trial failed

def as_error(value):
    """Convert what an objective returned into a Python float."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if math.prod(value.shape) != 1:
            raise TypeError('the objective returned an array of shape '
                            f'{tuple(value.shape)}; return one number')
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError('the objective must return a number, got '
                        f'{type(value).__name__}')
    return float(value)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class HPOTuner:
    """Runs trials one after another and keeps the books."""
    def __init__(self, scheduler, objective, board=None):
        self.scheduler = scheduler
        self.objective = objective
        self.board = board
        self.records = []                # one TrialRecord per trial
        self.incumbent = None            # best configuration so far
        self.incumbent_error = math.inf
        self.incumbent_trajectory = []   # incumbent error after each trial
        self.cumulative_runtime = []     # tuner clock after each trial
        self.clock = 0.0                 # seconds spent in `run` so far

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def run(self, number_of_trials):
        """Run up to `number_of_trials` trials; return the incumbent."""
        if (isinstance(number_of_trials, bool)
                or not isinstance(number_of_trials, numbers.Integral)
                or number_of_trials <= 0):
            raise ValueError('number_of_trials must be a positive integer, '
                             f'got {number_of_trials!r}')
        started, offset = time.perf_counter(), self.clock
        now = lambda: offset + time.perf_counter() - started
        try:
            for _ in range(number_of_trials):
                config = self.scheduler.suggest()
                if config is None:  # the searcher has nothing left to propose
                    break
                start_time = now()
                error, runtime, message = self.evaluate(config)
                status = 'completed' if not message else 'failed'
                record = TrialRecord(len(self.records), copy.deepcopy(config),
                                     error, status, runtime, start_time, now(),
                                     message)
                self.scheduler.update(config, error, info={
                    'status': status, 'runtime': runtime, 'message': message})
                self.bookkeeping(record)
        finally:
            self.clock = now()
        return copy.deepcopy(self.incumbent)

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def evaluate(self, config):
        """Return (error, runtime, message); message is '' on success."""
        tic = time.perf_counter()
        try:
            error = as_error(self.objective(**copy.deepcopy(config)))
            message = '' if math.isfinite(error) else \
                f'the objective returned {error}'
        except Exception as err:  # a failing trial must not end the search
            error, message = math.nan, f'{type(err).__name__}: {err}'
        if message:
            error = math.nan
        return error, time.perf_counter() - tic, message

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def bookkeeping(self, record):
        """Store a finished trial and update the incumbent."""
        self.records.append(record)
        if record.status == 'completed' and record.error < self.incumbent_error:
            self.incumbent = copy.deepcopy(record.config)
            self.incumbent_error = record.error
        self.incumbent_trajectory.append(self.incumbent_error)
        self.cumulative_runtime.append(record.end_time)
        if self.board is not None and math.isfinite(self.incumbent_error):
            self.board.draw(record.end_time, self.incumbent_error, 'incumbent')

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def records_table(self):
        """All trials as a pandas DataFrame, one row per trial."""
        rows = []
        for r in self.records:
            row = {'trial_id': r.trial_id}
            row.update({k: v for k, v in r.config.items() if k not in row})
            row.update(error=r.error, status=r.status, runtime=r.runtime,
                       start_time=r.start_time, end_time=r.end_time,
                       message=r.message)
            rows.append(row)
        return pd.DataFrame(rows)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class ProgressBoard:
    """Plots step curves of (x, y) points, redrawn live in Jupyter."""
    def __init__(self, xlabel='wall-clock time (s)',
                 ylabel='incumbent validation error', xscale='linear',
                 yscale='linear', figsize=(5, 3.2), live=True, every_n=1):
        self.xlabel, self.ylabel = xlabel or '', ylabel or ''
        self.xscale, self.yscale = xscale, yscale
        self.figsize, self.live, self.every_n = figsize, live, every_n
        self.lines = {}  # label -> (list of x, list of y)
        self.num_points = 0

    def draw(self, x, y, label):
        """Add the point (x, y) to the line `label`."""
        xs, ys = self.lines.setdefault(label, ([], []))
        xs.append(float(x))
        ys.append(float(y))
        self.num_points += 1
        if self.live and self.num_points % self.every_n == 0:
            self.show()

    def figure(self):
        """Return a matplotlib figure with all lines."""
        fig, ax = plt.subplots(figsize=self.figsize)
        for label, (xs, ys) in self.lines.items():
            ax.step(xs, ys, where='post', marker='.', label=label)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        ax.set_xscale(self.xscale)
        ax.set_yscale(self.yscale)
        if len(self.lines) > 1:
            ax.legend()
        return fig

    def show(self):
        """Display the figure in Jupyter, replacing the previous one."""
        try:
            from IPython import display, get_ipython
        except ImportError:  # not in IPython: nothing to draw on
            return
        if get_ipython() is None:
            return
        fig = self.figure()
        display.display(fig)
        display.clear_output(wait=True)
        plt.close(fig)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
def incumbent_at(times, trajectory, grid):
    """Incumbent error at each time of `grid` (NaN before the first)."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(trajectory, dtype=float)
    idx = np.searchsorted(times, grid, side='right') - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    out[~np.isfinite(out)] = np.nan
    return out

def plot_anytime(runs, grid, ax=None, xlabel='wall-clock time (s)',
                 ylabel='incumbent validation error'):
    """Plot mean any-time curves with a band of one standard error.

    `runs` maps a method's name to a list of (times, trajectory) pairs, one
    per repetition.
    """
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    for name, pairs in runs.items():
        curves = np.stack([incumbent_at(t, y, grid) for t, y in pairs])
        n = np.sum(~np.isnan(curves), axis=0)
        ok = n > 0
        mean = np.nanmean(curves[:, ok], axis=0)
        squares = np.nansum((curves[:, ok] - mean) ** 2, axis=0)
        std = np.sqrt(squares / np.maximum(n[ok] - 1, 1))  # 0 for one run
        stderr = std / np.sqrt(n[ok])
        line, = ax.plot(grid[ok], mean, label=f'{name} ({len(pairs)} runs)')
        ax.fill_between(grid[ok], mean - stderr, mean + stderr,
                        color=line.get_color(), alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


__all__ = [
    'BasicScheduler',
    'DataSplits',
    'Domain',
    'FASHION_MNIST_FILES',
    'GridSearcher',
    'HPOScheduler',
    'HPOSearcher',
    'HPOTuner',
    'IDX_DTYPES',
    'ProgressBoard',
    'RandomSearcher',
    'SmallCNN',
    'TrialRecord',
    'add_to_class',
    'as_error',
    'check_config',
    'cnn_objective',
    'error_rate',
    'get_device',
    'incumbent_at',
    'load_digits_data',
    'load_fashion_mnist',
    'make_domain',
    'parse_config_space',
    'plot_anytime',
    'read_idx',
    'sample_config',
    'softmax_objective',
    'softmax_regression',
    'train_model',
]
