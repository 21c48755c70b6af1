"""The d2lhpo library: code saved from the chapters of the book.

GENERATED FILE, DO NOT EDIT.  Every block below comes from a ``#@save``
cell of a chapter in ``chapter_hpo/`` or of the appendix in
``chapter_appendix/`` (whose code comes last); edit the chapter and run
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
import math
import numbers
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


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
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

def train_epoch(model, optimizer, X, y, batch_size, generator):
    """One pass of minibatch SGD over (X, y); return the mean loss."""
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(y), generator=generator).to(X.device)
    total = 0.0
    for i in range(0, len(y), batch_size):
        idx = order[i:i + batch_size]
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / len(y)


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def train_model(model, data, lr, batch_size, num_epochs, momentum=0.0,
                weight_decay=0.0, seed=0, device=None):
    """Train `model` with minibatch SGD on `data.train`; return the list
    of validation errors, one after each epoch."""
    device = get_device() if device is None else device
    model.to(device)
    X, y = (t.to(device) for t in data.train)
    X_val, y_val = (t.to(device) for t in data.val)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr,
                                momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    val_errors = []
    for _ in range(num_epochs):
        train_epoch(model, optimizer, X, y, batch_size, generator)
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
    """The checked set of values of one hyperparameter, of `kind` 'float',
    'int', 'categorical' or 'constant': numbers from `low` to `high`, on a
    log scale if `log`, and only low, low + step, ..., high if `step`;
    active only where `parent` takes one of `parent_values`, if given."""
    name: str
    kind: str
    low: float = None
    high: float = None
    log: bool = False
    choices: tuple = ()
    step: float = None
    parent: str = dataclasses.field(default=None, repr=False)
    parent_values: tuple = dataclasses.field(default=(), repr=False)

    def sample(self, rng):
        """Draw one value using the numpy generator `rng`."""
        if self.kind == 'constant':
            return copy.deepcopy(self.choices[0])
        if self.kind == 'categorical':  # copied: a choice may be a list
            return copy.deepcopy(
                self.choices[int(rng.integers(len(self.choices)))])
        if self.step:  # each of the evenly spaced values equally likely
            return self.snap(self.low + self.step *
                             rng.integers(self.num_values()))
        if self.kind == 'int' and not self.log:
            return int(rng.integers(self.low, self.high + 1))
        pad = 0.5 if self.kind == 'int' else 0  # what rounds to an integer
        if self.log:
            return self.snap(np.exp(rng.uniform(np.log(self.low - pad),
                                                np.log(self.high + pad))))
        return float(rng.uniform(self.low, self.high))

    # Added in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
    def num_values(self):
        """How many values the domain has (math.inf for a float range)."""
        if self.kind in ('constant', 'categorical'):
            return len(self.choices)
        if self.step:
            return round((self.high - self.low) / self.step) + 1
        return self.high - self.low + 1 if self.kind == 'int' else math.inf

    # Added in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
    def snap(self, value):
        """The value of a numerical domain nearest to the number `value`."""
        if self.step:  # '.12g': 0.3, not 0.30000000000000004
            k = min(max(round((value - self.low) / self.step), 0),
                    self.num_values() - 1)
            value = float(f'{self.low + k * self.step:.12g}')
        value = min(max(value, self.low), self.high)
        return int(round(value)) if self.kind == 'int' else float(value)

    # Added in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
    def grid(self, num_points):
        """Return at most `num_points` values spread over the domain."""
        if self.kind in ('constant', 'categorical'):
            return list(self.choices)
        if self.step:  # evenly spaced steps, all of them if few
            k = np.linspace(0, self.num_values() - 1,
                            min(num_points, self.num_values()))
            return [self.snap(self.low + i * self.step)
                    for i in np.unique(np.round(k))]
        if self.kind == 'int' and self.high - self.low + 1 <= num_points:
            return list(range(int(self.low), int(self.high) + 1))
        space = np.geomspace if self.log else np.linspace
        values = space(self.low, self.high, num_points)
        if self.kind == 'int':
            return [int(v) for v in np.unique(np.round(values))]
        return [float(v) for v in values]

    # Added in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
    def contains(self, value):
        """Whether `value` is a member of the domain."""
        if self.kind in ('constant', 'categorical'):
            # True == 1 in Python; a bool only matches a bool.
            return any(value == c and isinstance(value, bool) ==
                       isinstance(c, bool) for c in self.choices)
        if isinstance(value, bool) or (self.kind == 'int' and not
                                       isinstance(value, numbers.Integral)):
            return False
        if not (isinstance(value, numbers.Real)
                and self.low <= value <= self.high):
            return False
        return not self.step or abs(self.snap(value) - value) <= 1e-9 * self.step


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
def sample_config(domains, rng):
    """Draw one configuration (a new dict) from parsed domains; inactive
    hyperparameters are left out (parents come first in `domains`)."""
    config = {}
    for name, domain in domains.items():
        if d2lhpo.active(domain, config):
            config[name] = domain.sample(rng)
    return config


# Defined in chapter_hpo/what_is_hpo.md (:numref:`sec_what_is_hpo`)
CNN_SPACE = {'lr': stats.loguniform(1e-3, 1),
             'batch_size': stats.randint(16, 129),
             'channels': [8, 16, 32]}


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
import collections
import copy
import dataclasses
import functools
import heapq
import itertools
import math
import os
import re
import time

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from scipy import stats


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class HPOSearcher:
    """Proposes configurations and learns from the errors they get."""
    def sample_configuration(self, trial_id):
        """Return the configuration (a new dict) of the new trial
        `trial_id`, or None when the searcher has nothing left."""
        raise NotImplementedError

    def update(self, trial_id, config, error, result=None):
        """Learn that trial `trial_id` with `config` got `error` (NaN if it
        failed); `result` is the reported dict, None for a failed trial.
        A multi-fidelity scheduler may call this once per rung level."""


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class RandomSearcher(HPOSearcher):
    """Samples configurations independently from the space."""
    def __init__(self, config_space, initial_config=None, seed=None,
                 points_to_evaluate=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        self.rng = np.random.default_rng(d2lhpo.check_seed('seed', seed))
        self.points = d2lhpo.start_points(self.domains, points_to_evaluate,
                                          initial_config)

    def sample_configuration(self, trial_id):
        if self.points:  # the start points first, in order
            return self.points.pop(0)
        return d2lhpo.sample_config(self.domains, self.rng)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class GridSearcher(HPOSearcher):
    """Tries every point of a grid over the space, then stops."""
    def __init__(self, config_space, num_points=5, shuffle=False, seed=None,
                 points_to_evaluate=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        self.points = d2lhpo.start_points(self.domains, points_to_evaluate)
        sizes = d2lhpo.grid_sizes(self.domains, num_points)  # <= 10**6 points
        self.tree = d2lhpo.GridTree(self.domains, {
            name: domain.grid(sizes[name])
            for name, domain in self.domains.items()})
        self.size = self.tree.size
        self.order = range(self.size)
        if d2lhpo.check_flag('shuffle', shuffle):
            rng = np.random.default_rng(d2lhpo.check_seed('seed', seed))
            self.order = rng.permutation(self.size)
        self.position = 0

    @property
    def grid(self):
        """Every grid point, in the natural order (a new list)."""
        return [self.tree.point(i) for i in range(self.size)]

    def sample_configuration(self, trial_id):
        if self.points:
            return self.points.pop(0)
        if self.position >= self.size:
            return None
        config = self.tree.point(int(self.order[self.position]))
        self.position += 1
        return config


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
CONTINUE, PAUSE, STOP = 'continue', 'pause', 'stop'

@dataclasses.dataclass(frozen=True)
class Resume:
    """Returned by `suggest` to continue the paused trial `trial_id`."""
    trial_id: int

class HPOScheduler:
    """Decides which trial runs next and for how long, from trial events."""
    def suggest(self, trial_id):
        """A configuration to start as trial `trial_id`, a `Resume`, or
        None (nothing to run now)."""
        raise NotImplementedError

    def on_trial_start(self, trial):
        """`trial` (a `TrialRecord`) started or resumed on a worker."""

    def on_trial_result(self, trial, result):
        """Answer an intermediate result with CONTINUE, PAUSE or STOP."""
        return CONTINUE

    def on_trial_complete(self, trial, result):
        """`trial` ran to its end; `result` is its last result."""

    def on_trial_error(self, trial, message):
        """`trial` failed; no more results will come from it."""

    def retired_trials(self):
        """Ids of paused trials that will never be resumed."""
        return ()


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class BasicScheduler(HPOScheduler):
    """Runs each configuration that its searcher proposes to the end."""
    def __init__(self, searcher):
        self.searcher = d2lhpo.check_component('searcher', searcher)

    def suggest(self, trial_id):
        return self.searcher.sample_configuration(trial_id)

    def on_trial_complete(self, trial, result):
        self.inform_searcher(trial, result)

    def on_trial_error(self, trial, message):
        self.inform_searcher(trial, None)

    def inform_searcher(self, trial, result):
        """Tell the searcher `result` of `trial` (None: the trial failed)."""
        error = math.nan if result is None else result['error']
        self.searcher.update(trial.trial_id, trial.config, error, result)


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class SchedulerWrapper(HPOScheduler):
    """Forwards every call to `scheduler`; subclasses change some."""
    def __init__(self, scheduler):
        self.scheduler = d2lhpo.check_component('scheduler', scheduler)

    def suggest(self, trial_id):
        return self.scheduler.suggest(trial_id)

    def on_trial_start(self, trial):
        self.scheduler.on_trial_start(trial)

    def on_trial_result(self, trial, result):
        return self.scheduler.on_trial_result(trial, result)

    def on_trial_complete(self, trial, result):
        self.scheduler.on_trial_complete(trial, result)

    def on_trial_error(self, trial, message):
        self.scheduler.on_trial_error(trial, message)

    def retired_trials(self):
        return self.scheduler.retired_trials()


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
@dataclasses.dataclass
class TrialRecord:
    """A trial: its configuration, its state and its latest outcome."""
    trial_id: int
    config: dict
    error: float = math.nan   # latest error reported (NaN if failed)
    status: str = 'running'   # paused, completed, stopped or failed later
    runtime: float = 0.0      # seconds it ran: objective or worker
    start_time: float = 0.0   # clock (s) when the trial started
    end_time: float = math.nan  # clock (s) when it ended or paused
    message: str = ''         # why the trial failed
    epochs: int = 0           # results reported so far
    worker: int = 0           # the worker it ran on (last)
    checkpoint: str = None    # its checkpoint file, if the objective saves


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
class HPOTuner:
    """Runs trials one after another and keeps the books."""
    def __init__(self, scheduler, objective, board=None, metric='error',
                 mode='min', constraints=None, checkpoint_dir=None,
                 incumbent='best'):
        self.scheduler = d2lhpo.check_component('scheduler', scheduler)
        self.objective = d2lhpo.check_component('objective', objective,
                                                allow_none=True)
        self.sign = d2lhpo.metric_sign(metric, mode)  # -1: maximize
        self.metric, self.mode = metric, mode
        self.constraints = d2lhpo.check_constraints(constraints, metric)
        self.board = d2lhpo.name_board(board, metric)
        self.records = []                # one TrialRecord per trial
        self.results = []                # one dict per reported result
        self.incumbent = None            # best configuration so far
        self.incumbent_error = math.inf
        self.incumbent_violation = math.inf  # 0: feasible (constraints)
        self.incumbent_id = None         # the trial that found it
        self.incumbent_trajectory = []   # incumbent error after each result
        self.incumbent_ids = []          # its trial id after each result
        self.window = d2lhpo.incumbent_window(incumbent)  # None: 'best'
        self.recent, self.scores, self.heap = {}, {}, []  # update_incumbent
        self.cumulative_runtime = []     # clock at each result
        self.clock = 0.0                 # seconds spent in `run` so far
        self.paused = {}                 # trial_id -> its paused steps
        self.budget, self.stop_reason = None, None  # of the last run
        self.checkpoint_dir = checkpoint_dir  # None: a temporary one

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def start_trial(self, suggestion, time, worker=0):
        """Start a trial for a suggested config, or resume a paused one."""
        if isinstance(suggestion, Resume):
            trial = self.records[suggestion.trial_id]
            if trial.status != 'paused':
                raise ValueError(f'cannot resume trial {trial.trial_id}: it is '
                                 f'{trial.status}, not paused')
            trial.status, trial.end_time = 'running', math.nan
        else:
            trial = TrialRecord(len(self.records), copy.deepcopy(suggestion),
                                start_time=time)
            trial.checkpoint = d2lhpo.checkpoint_path(self, trial)
            self.records.append(trial)
        trial.worker = worker
        self.scheduler.on_trial_start(trial)
        return trial

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def report(self, trial, result):
        """Book a result of `trial`; return the scheduler's decision."""
        trial.epochs += 1
        trial.error = result['error']
        result.update(trial_id=trial.trial_id, epoch=trial.epochs)
        self.results.append(result)
        self.update_incumbent(trial, result)
        self.incumbent_trajectory.append(self.incumbent_error)
        self.incumbent_ids.append(self.incumbent_id)
        self.cumulative_runtime.append(result['time'])
        if self.board is not None and math.isfinite(self.incumbent_error):
            self.board.draw(result['time'], self.sign * self.incumbent_error,
                            'incumbent')
        decision = self.scheduler.on_trial_result(trial, result)
        if decision not in (CONTINUE, PAUSE, STOP):
            raise ValueError(f'on_trial_result returned {decision!r}; expected '
                             'CONTINUE, PAUSE or STOP')
        return decision

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def update_incumbent(self, trial, result):
        """Score `trial` by (violation, error) of `result`, or by the mean over
        its latest `window` results; the trial with the lowest score is the
        incumbent (a newcomer must beat it; see the text for the rest)."""
        i, moved = trial.trial_id, False
        score = (result['violation'] if self.constraints else 0.0,
                 result['error'])  # feasible first
        if math.isnan(score[1]):
            return  # never an incumbent (the tuner fails such trials)
        if self.window is not None:
            recent = self.recent.setdefault(i, collections.deque(
                maxlen=self.window))
            recent.append(score)
            score = tuple(math.fsum(x) / len(recent) for x in zip(*recent))
            self.scores[i] = score
            heapq.heappush(self.heap, (score, i))
            if i == self.incumbent_id:  # its score moved: the lowest takes over
                while self.heap[0][0] != self.scores[self.heap[0][1]]:
                    heapq.heappop(self.heap)  # an outdated entry
                (score, i), moved = self.heap[0], True  # the new incumbent
        if moved or score < (self.incumbent_violation, self.incumbent_error):
            self.incumbent = copy.deepcopy(self.records[i].config)
            self.incumbent_violation, self.incumbent_error = score
            self.incumbent_id = i

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def finish(self, trial, status, time, message='', result=None):
        """End `trial` with `status`; tell the scheduler of the ends it did
        not decide itself."""
        trial.status, trial.end_time, trial.message = status, time, message
        by_tuner = status == 'stopped' and message  # budget spent, Ctrl-C
        if status == 'completed' or (by_tuner and trial.epochs):
            self.scheduler.on_trial_complete(trial, result)
        elif status == 'failed' or by_tuner:
            if status == 'failed':
                trial.error = math.nan
            self.scheduler.on_trial_error(trial, message)
        if self.budget is not None and status != 'paused':  # for `patience`
            self.budget.trial_ended(trial)

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def run(self, number_of_trials=None, max_time=None, max_epochs=None,
            target=None, patience=None, verbose=True):
        """Run until a budget is spent; return the incumbent."""
        budget = self.budget = d2lhpo.Budget(
            self, number_of_trials, max_time, max_epochs, target, patience,
            verbose)
        started, offset = time.perf_counter(), self.clock
        now = lambda: offset + time.perf_counter() - started
        budget.start(now())
        interrupted = True
        try:
            while not budget.spent(now()) and budget.may_start():
                suggestion = self.scheduler.suggest(len(self.records))
                if suggestion is None:  # the searcher has nothing left to propose
                    break
                budget.trials += not isinstance(suggestion, Resume)
                self.run_trial(self.start_trial(suggestion, now()), now)
            interrupted = False
        finally:
            self.clock = now()
            self.stop_reason = budget.end(self.clock, interrupted)
        return copy.deepcopy(self.incumbent)

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def run_trial(self, trial, now):
        """Run `trial` until it completes, fails, pauses or is stopped."""
        for trial_id in set(self.scheduler.retired_trials()) & set(self.paused):
            self.paused.pop(trial_id).close()  # never resumed: free its state
        steps = self.paused.pop(trial.trial_id, None)
        if steps is None:
            steps = d2lhpo.trial_steps(self, trial)  # with its checkpoint
        status, message, result = 'completed', '', None
        cwd = os.getcwd()  # restored after each step: an objective may chdir
        while True:
            tic = time.perf_counter()
            try:
                result = d2lhpo.as_result(next(steps), self.metric, self.mode,
                                          self.constraints)
            except StopIteration:
                break
            except Exception as err:  # a failing trial must not end the search
                status, message = 'failed', f'{type(err).__name__}: {err}'
                break
            except BaseException:  # Ctrl-C: end the trial, keep its results
                self.finish(trial, 'stopped', now(), 'interrupted', result)
                raise
            finally:
                trial.runtime += time.perf_counter() - tic
                os.chdir(cwd)
            result['time'] = now()
            decision = self.report(trial, result)
            if (decision == CONTINUE and self.budget.spent(now())
                    and steps.gi_yieldfrom is not None):  # epochs to come
                decision, message = STOP, 'budget exhausted'
            if decision == PAUSE:
                self.paused[trial.trial_id] = steps
                status = 'paused'
                break
            if decision == STOP:
                steps.close()
                status = 'stopped'
                break
        if status == 'completed' and trial.epochs == 0:
            status, message = 'failed', 'the objective reported no result'
        self.finish(trial, status, now(), message, result)

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def records_table(self):
        """All trials as a pandas DataFrame, one row per trial."""
        rows = []
        for r in self.records:
            row = {'trial_id': r.trial_id}
            row.update({k: v for k, v in r.config.items() if k not in row})
            row[d2lhpo.metric_names(self.metric)[0]] = self.sign * r.error
            row.update(status=r.status, epochs=r.epochs,
                       runtime=r.runtime, start_time=r.start_time,
                       end_time=r.end_time, worker=r.worker, message=r.message)
            rows.append(row)
        return pd.DataFrame(rows)

    # Added in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
    def results_table(self):
        """All reported results as a pandas DataFrame, one row per result."""
        table = pd.DataFrame([d2lhpo.reported_result(r, self.metric, self.mode)
                              for r in self.results])
        first = ['trial_id', 'epoch', *d2lhpo.metric_names(self.metric), 'time']
        return table[first + [c for c in table.columns if c not in first]]

    # Added in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
    def pareto_set(self):
        """The trials (not failed; feasible, with constraints) on the Pareto
        front of the trials' latest objective vectors, as (TrialRecord,
        objectives as reported) pairs."""
        latest, feasible = {}, {}  # trial id -> its latest objectives, feasible
        for result in self.results:
            latest[result['trial_id']] = result.get('objectives',
                                                    [result['error']])
            feasible[result['trial_id']] = (not self.constraints
                                            or result['feasible'])
        ids = [i for i in latest
               if self.records[i].status != 'failed' and feasible[i]]
        if not ids:
            return []
        Y = np.array([latest[i] for i in ids])
        signs = np.array([self.sign] if isinstance(self.metric, str) else
                         d2lhpo.objective_signs(self.metric, self.mode))
        return [(self.records[ids[k]], (signs * Y[k]).tolist())
                for k in np.flatnonzero(pareto_front(Y))]

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def incumbent_metric(self):
        """The incumbent's metric as reported (`incumbent_error` is what the
        tuner minimizes: the metric, negated for `mode='max'`); NaN before
        the first result."""
        if not math.isfinite(self.incumbent_error):
            return math.nan
        return self.sign * self.incumbent_error

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def metric_trajectory(self):
        """The incumbent's metric after each result, as reported."""
        return [self.sign * error for error in self.incumbent_trajectory]


# Defined in chapter_hpo/hpo_api.md (:numref:`sec_api_hpo`)
def incumbent_window(incumbent):
    """How many of a trial's latest results its score averages: None for
    'best' (its lowest error at any result), 1 for 'last', k for
    'last-<k>-avg'."""
    if incumbent in ('best', 'last'):
        return None if incumbent == 'best' else 1
    match = re.fullmatch(r'last-([1-9][0-9]*)-avg', incumbent, re.ASCII) \
        if isinstance(incumbent, str) else None
    if match is None:
        raise ValueError("incumbent must be 'best', 'last' or 'last-<k>-avg' "
                         f'with an integer k >= 1, got {incumbent!r}')
    return int(match.group(1))


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
import copy
import dataclasses
import heapq
import itertools
import math
import os
import random
import time

import numpy as np
from scipy import stats


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
DIGITS_MLP_SPACE = {
    'lr': [0.001, 0.003162, 0.01, 0.03162, 0.1, 0.3162, 1.0],
    'batch_size': [32, 64, 128],
    'width': [32, 64, 128],
    'depth': [1, 2, 3],
    'dropout': [0.0, 0.5],
    'weight_decay': [0.0, 1e-4, 1e-3],
}


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
DIGITS_MLP_TABLE = os.path.join(os.path.dirname(d2lhpo.__file__), 'data',
                                'digits_mlp.npz')


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
class TabularBenchmark:
    """Learning curves recorded for every configuration of a grid.

    Arrays have the shape (configurations, seeds, epochs); epochs count
    from 1 in the API.
    """
    def __init__(self, path=DIGITS_MLP_TABLE):
        self.path = path
        arrays = d2lhpo.load_benchmark_table(path)  # checked
        configs = arrays.pop('configs')  # rows of indices into the space
        # names, seeds, config_space, metadata; val_error, train_loss,
        # epoch_time, test_error, num_params
        vars(self).update(arrays)
        self.max_epochs = self.val_error.shape[2]
        self.grid = [{name: self.config_space[name][i]
                      for name, i in zip(self.names, row)}
                     for row in configs.tolist()]
        self.positions = {tuple(c.values()): i
                          for i, c in enumerate(self.grid)}
        self.seed_positions = {seed: i for i, seed in enumerate(self.seeds)}

    def __repr__(self):
        return (f'TabularBenchmark({len(self.grid)} configurations x '
                f'{len(self.seeds)} seeds x {self.max_epochs} epochs)')

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def index(self, config):
        """Position of `config` in the grid; a clear error if it is not on it."""
        try:
            if len(config) == len(self.names):
                return self.positions[tuple(config[n] for n in self.names)]
        except (KeyError, TypeError):
            pass
        raise d2lhpo.off_grid_error(config, self.names, self.config_space)

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def lookup(self, config, seed, epoch):
        """The metrics recorded for `config` and `seed` after `epoch`."""
        d2lhpo.check_query(self, seed, epoch)
        c, s, e = self.index(config), self.seed_positions[seed], epoch - 1
        return {'val_error': float(self.val_error[c, s, e]),
                'train_loss': float(self.train_loss[c, s, e]),
                'epoch_time': float(self.epoch_time[c, s, e]),
                'elapsed_time': float(self.epoch_time[c, s, :epoch].sum()),
                'test_error': float(self.test_error[c, s]),
                'num_params': int(self.num_params[c]),
                **{k: float(getattr(self, k)[c]) for k in d2lhpo.OPTIONAL_ARRAYS
                   if hasattr(self, k)},  # costs of use, if recorded
                **{k: float(getattr(self, k)[c, s, e])
                   for k in d2lhpo.OPTIONAL_CURVES if hasattr(self, k)}}

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def learning_curve(self, config, seed):
        """Per-epoch validation errors and epoch times, as lists."""
        d2lhpo.check_query(self, seed)
        c, s = self.index(config), self.seed_positions[seed]
        return {'error': self.val_error[c, s].tolist(),
                'epoch_time': self.epoch_time[c, s].tolist()}

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def best_error(self, epoch=None):
        """The lowest validation error recorded (after `epoch`, or at any
        epoch): the reference point for regret."""
        if epoch is None:
            return float(np.nanmin(self.val_error))
        d2lhpo.check_query(self, self.seeds[0], epoch)
        return float(np.nanmin(self.val_error[:, :, epoch - 1]))

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def true_error(self, config):
        """What `config` is worth: its mean final validation error over seeds."""
        return float(np.mean(self.val_error[self.index(config), :, -1]))


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
class MultiFidelityFunction:
    """Learning curves that fall along a power law to a
    `SyntheticFunction` (:eqref:`eq_mf_function`); an epoch takes
    `epoch_time * (0.5 + z)` seconds, z the last coordinate in [0, 1]."""
    def __init__(self, function, max_epochs=30, gap=None, noise=0.0,
                 epoch_time=1.0, seeds=(0, 1, 2)):
        self.function, self.config_space = function, function.config_space
        self.max_epochs = d2lhpo.check_integer('max_epochs', max_epochs, 1)
        self.noise = d2lhpo.check_number('noise', noise, minimum=0)
        self.epoch_time = d2lhpo.check_positive('epoch_time', epoch_time)
        self.seeds = [d2lhpo.check_seed('seeds', s) for s in seeds]
        gap = d2lhpo.check_number('gap', gap, minimum=0, allow_none=True)
        if gap is None:  # the spread of f over the box
            lo, hi = function.bounds.T
            X = np.random.default_rng(0).uniform(lo, hi, (1000, len(lo)))
            gap = float(np.std(function.evaluate(X)))
        self.gap, self.epochs = gap, np.arange(1, max_epochs + 1)

    def best_error(self, epoch=None):
        """The minimum of the function: the error at the last epoch."""
        return self.function.min_value

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def learning_curve(self, config, seed=0):
        """The curve of `config` for `seed` (None: without noise)."""
        x = np.array([config[n] for n in self.function.names])
        lo, hi = self.function.bounds.T
        z = (x - lo) / (hi - lo)
        if not np.all((z >= 0) & (z <= 1)):
            raise ValueError(f'{config} lies outside the box '
                             f'{self.function.bounds.tolist()}')
        rate = 0.5 + 1.5 * (0.5 + 0.5 * np.sin(2 * np.pi * z.sum()))
        error = (self.function.evaluate(x[None])[0] + self.gap * (
            self.epochs ** -rate - self.max_epochs ** -rate))
        if self.noise and seed is not None:
            rng = np.random.default_rng([seed, *np.round(z * 1e6).astype(int)])
            error = error + self.noise * rng.standard_normal(self.max_epochs)
        times = np.full(self.max_epochs, self.epoch_time * (0.5 + z[-1]))
        return {'error': error.tolist(), 'epoch_time': times.tolist()}

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def true_error(self, config):
        """What `config` is worth: its noise-free error at the last epoch,
        the value of the function."""
        return self.learning_curve(config, seed=None)['error'][-1]


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
@dataclasses.dataclass(frozen=True)
class TrialEvent:
    """What a backend tells the tuner about one of its trials."""
    kind: str            # 'result', 'complete' or 'failed'
    trial_id: int
    result: dict = None  # for 'result': the reported dict with its 'time'
    message: str = ''    # for 'failed': why


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
class Backend:
    """Runs trials on `num_workers` workers and reports their events."""

    def time(self):
        """The backend's clock, in seconds (simulated or real)."""
        raise NotImplementedError

    def set_time(self, now):
        """Continue the clock from `now` (a run resumed from a log)."""
        raise NotImplementedError

    def free_worker(self):
        """The lowest free worker, or None if all are busy."""
        raise NotImplementedError

    def start_trial(self, trial):
        """Start `trial` on `trial.worker`, after `trial.epochs` epochs."""
        raise NotImplementedError

    def checkpoint_path(self, trial):
        """The file where the new `trial` saves its state; None if it
        saves none (simulated trials do not)."""
        return None

    def stop_trial(self, trial_id):
        """Stop or pause a trial (if it runs); its worker is free at once."""
        raise NotImplementedError

    def next_event(self, until=None):
        """The next `TrialEvent`; None if no trial runs (or none comes
        before the clock reaches `until`). After a result the trial
        goes on, unless `stop_trial` comes before the next call."""
        raise NotImplementedError

    def wait_until_ready(self):
        """Block until the workers have started up (here: nothing to do)."""

    def close(self):
        """End every trial and release the workers."""


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
@dataclasses.dataclass
class SimulatedTrial:
    """A trial running on a simulated worker."""
    curve: dict   # 'error' and 'epoch_time' of every epoch
    epoch: int    # epochs done
    worker: int
    key: int      # of its pending event; events with other keys are stale


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
class SimulatedBackend(Backend):
    """Runs trials on `num_workers` simulated workers, reading learning
    curves from `benchmark` for training seeds drawn with `seed`."""
    def __init__(self, benchmark, num_workers=4, seed=None,
                 count_overhead=False):
        self.benchmark = benchmark
        self.num_workers = d2lhpo.check_integer('num_workers', num_workers, 1)
        self.count_overhead = d2lhpo.check_flag('count_overhead',
                                                count_overhead)
        self.rng = random.Random(d2lhpo.check_seed('seed', seed))
        self.now = 0.0                  # the simulated clock (s)
        self.free = list(range(self.num_workers))  # a heap of free workers
        self.queue = []                 # heap of (time, key, trial_id)
        self.running = {}               # trial_id -> SimulatedTrial
        self.completed = []             # trials whose last result is out
        self.curves = {}                # trial_id -> its learning curve
        self.training_seeds = {}        # trial_id -> the seed it reads
        self.keys = itertools.count()   # tie-breaker, stale-event check
        self.mark = None                # wall-clock time of the last call

    def time(self):
        return self.now

    def set_time(self, now):
        self.now = max(self.now, now)

    def free_worker(self):
        return self.free[0] if self.free else None

    def close(self):
        self.running.clear()  # simulated workers hold no resources
        self.queue.clear()
        self.completed.clear()
        self.free = list(range(self.num_workers))

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def start_trial(self, trial):
        self.charge_overhead()
        if trial.worker not in self.free:
            raise RuntimeError(f'worker {trial.worker} is busy')
        curve = self.curves.get(trial.trial_id)
        if curve is None:
            seeds, drawn = self.benchmark.seeds, self.training_seeds
            while len(drawn) <= trial.trial_id:  # trial i reads draw i
                drawn[len(drawn)] = seeds[self.rng.randrange(len(seeds))]
            curve = self.curves[trial.trial_id] = self.benchmark.learning_curve(
                trial.config, drawn[trial.trial_id])
        self.free.remove(trial.worker)
        heapq.heapify(self.free)
        state = SimulatedTrial(curve, trial.epochs, trial.worker, 0)
        self.running[trial.trial_id] = state
        if trial.epochs < len(curve['error']):
            self.schedule(trial.trial_id, state, self.now)
        else:  # continued after its last epoch (a resumed run): it completes
            self.completed.append(trial.trial_id)
        self.mark = time.perf_counter() if self.count_overhead else None

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def schedule(self, trial_id, state, start):
        """Queue the end of the trial's next epoch, which begins at `start`."""
        state.key = next(self.keys)
        end = start + state.curve['epoch_time'][state.epoch]
        heapq.heappush(self.queue, (end, state.key, trial_id))

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def stop_trial(self, trial_id):
        state = self.running.pop(trial_id, None)
        if state is not None:  # (after `close`, nothing is running)
            heapq.heappush(self.free, state.worker)

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def charge_overhead(self):
        if self.count_overhead:
            tic = time.perf_counter()
            if self.mark is not None:
                self.now += tic - self.mark
            self.mark = tic

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def next_event(self, until=None):  # (a simulated clock jumps to events)
        self.charge_overhead()
        event = None
        while self.completed and event is None:
            trial_id = self.completed.pop()
            state = self.running.pop(trial_id, None)
            if state is not None:  # not stopped after its last result
                heapq.heappush(self.free, state.worker)
                event = TrialEvent('complete', trial_id)
        while self.queue and event is None:
            end, key, trial_id = self.queue[0]
            if until is not None and end > until:  # it stays in the queue
                self.now = max(self.now, until)
                break
            heapq.heappop(self.queue)
            state = self.running.get(trial_id)
            if state is None or state.key != key:
                continue  # the trial was stopped: a stale event
            self.now = max(self.now, end)  # overhead may have passed it
            result = {'error': state.curve['error'][state.epoch], 'time': self.now}
            event = TrialEvent('result', trial_id, result)
            state.epoch += 1
            if state.epoch < len(state.curve['error']):
                self.schedule(trial_id, state, end)
            else:
                self.completed.append(trial_id)
        self.mark = time.perf_counter() if self.count_overhead else None
        return event


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
class AsyncTuner(d2lhpo.HPOTuner):
    """Runs trials on the workers of a backend, asynchronously: a free
    worker gets a trial at once, results are booked as they arrive."""
    def __init__(self, scheduler, backend, board=None, metric='error',
                 mode='min', constraints=None, incumbent='best'):
        super().__init__(scheduler, None, board, metric, mode, constraints,
                         incumbent=incumbent)
        self.backend = d2lhpo.check_component('backend', backend)
        self.running = set()    # ids of the trials on the backend
        self.since = {}         # trial_id -> when it last (re)started
        self.last_results = {}  # trial_id -> its latest result
        self.restarts = []      # trials to continue after a resume
        self.log = None         # a log of trial events (set by `log_to`)

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def fill_workers(self, budget):
        """Start a trial on every free worker; count the new ones."""
        backend = self.backend
        while backend.free_worker() is not None:
            if self.restarts:
                trial = self.restart(self.restarts.pop(0), backend.free_worker())
            elif not budget.may_start():
                return
            else:
                suggestion = self.scheduler.suggest(len(self.records))
                if suggestion is None:
                    return
                budget.trials += not isinstance(suggestion, d2lhpo.Resume)
                trial = self.start_trial(suggestion, backend.time(),
                                         backend.free_worker())
            self.since.setdefault(trial.trial_id, backend.time())  # (restarts)
            backend.start_trial(trial)
            self.running.add(trial.trial_id)

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def handle(self, event):
        """Book a `TrialEvent`; return 1 for a result, 0 otherwise."""
        trial = self.records[event.trial_id]
        event = d2lhpo.checked_event(event, self.metric, self.mode,
                                     self.constraints)
        if event.kind == 'result':
            self.last_results[trial.trial_id] = event.result
            decision = self.report(trial, event.result)
            if decision != d2lhpo.CONTINUE:
                self.backend.stop_trial(trial.trial_id)
                self.running.discard(trial.trial_id)
                status = 'paused' if decision == d2lhpo.PAUSE else 'stopped'
                self.end_trial(trial, status, event.result['time'])
            return 1
        self.running.discard(trial.trial_id)
        self.backend.stop_trial(trial.trial_id)  # a result that failed checks
        self.end_trial(trial, 'completed' if event.kind == 'complete' else
                       'failed', self.backend.time(), event.message,
                       self.last_results.pop(trial.trial_id, None))
        return 0

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def end_trial(self, trial, status, time, message='', result=None):
        """`finish` a trial, adding the time it ran since it (re)started."""
        trial.runtime += time - self.since.pop(trial.trial_id, time)
        self.finish(trial, status, time, message, result)

    # Added in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
    def run(self, number_of_trials=None, max_time=None, max_epochs=None,
            target=None, patience=None, verbose=True):
        """Run until a budget is spent; return the incumbent."""
        budget = self.budget = d2lhpo.Budget(
            self, number_of_trials, max_time, max_epochs, target, patience,
            verbose)
        if self.log is not None:  # one writer: lock the log while running
            self.log.open()
        message, backend = 'budget exhausted', self.backend
        try:
            backend.wait_until_ready()  # start-up is no part of `max_time`
            budget.start(backend.time())
            while not budget.spent(backend.time()):
                self.fill_workers(budget)
                event = (backend.next_event(until=budget.deadline)
                         if self.running else None)
                if event is None or budget.late(backend.time()):
                    break  # nothing runs, or the event came after the deadline
                self.handle(event)
        except BaseException:  # e.g. Ctrl-C: end every worker at once
            message = 'interrupted'
            backend.close()
            raise
        finally:
            now = backend.time()
            self.clock = now if budget.deadline is None else min(
                now, budget.deadline)
            self.stop_reason = budget.end(now, message == 'interrupted')
            for trial_id in sorted(self.running):  # stop the rest
                self.backend.stop_trial(trial_id)
                self.end_trial(self.records[trial_id], 'stopped', self.clock,
                               message, self.last_results.pop(trial_id, None))
            self.running.clear()
            if self.log is not None:  # (see the appendix on logs)
                self.release_log()
        return copy.deepcopy(self.incumbent)

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def write_log(self, event=None):
        """Append `event` as a JSON line to the log (if there is one)."""
        if self.log is None:
            return
        try:
            if event is None:
                self.log.flush()
            else:
                self.log.append(event)
        except (TypeError, ValueError, OSError, RecursionError) as err:
            event = getattr(err, 'event', event) or {}  # the one that failed
            warnings.warn(f'{self.log.path}: logging stops at a '
                          f'{event.get("event", "write")} of trial '
                          f'{event.get("trial_id")} ({err}); the run goes on, '
                          'and a run resumed from this log continues the trials '
                          'that it does not show as ended')
            self.close_log()

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def release_log(self):
        """Write what is queued and unlock the log until the next run."""
        self.write_log()
        if self.log is not None:
            self.log.close()

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def close_log(self):
        """Stop logging and release the log for other tuners."""
        if self.log is not None:
            self.log.close()
            self.log = None

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def start_trial(self, suggestion, time, worker=0):
        trial = d2lhpo.HPOTuner.start_trial(self, suggestion, time, worker)
        self.write_log({'event': 'start', 'trial_id': trial.trial_id,
                        'config': trial.config, 'time': time, 'worker': worker,
                        'resume': isinstance(suggestion, d2lhpo.Resume)})
        return trial

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def report(self, trial, result):
        decision = d2lhpo.HPOTuner.report(self, trial, result)
        if self.log is not None:  # (converting back costs time in a simulation)
            self.write_log({'event': 'result', 'trial_id': trial.trial_id,
                            'result': d2lhpo.reported_result(
                                result, self.metric, self.mode)})
        return decision

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def finish(self, trial, status, time, message='', result=None):
        d2lhpo.HPOTuner.finish(self, trial, status, time, message, result)
        self.write_log({'event': trial.status, 'trial_id': trial.trial_id,
                        'time': time, 'message': trial.message})

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def restart(self, trial, worker):
        """Continue `trial` on `worker` after the epochs it booked."""
        trial.status, trial.end_time, trial.worker = 'running', math.nan, worker
        self.write_log({'event': 'start', 'trial_id': trial.trial_id,
                        'config': trial.config, 'time': self.backend.time(),
                        'worker': worker, 'resume': trial.epochs > 0})
        return trial

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def log_to(self, path):
        """Append trial events to the JSON-lines file `path`; if it holds
        events, first replay them, so that this tuner resumes the run."""
        if self.records or self.log is not None:
            raise RuntimeError('call log_to once, before the first run')
        domains = space_of(self.scheduler)
        check_loggable(domains)
        # a simulated run is cheap to redo: its lines go out 1,000 at a time
        simulated = isinstance(self.backend, d2lhpo.SimulatedBackend)
        log = TrialLog(path, batch=1000 if simulated else 1)
        data = log.open()
        if getattr(self.backend, 'checkpoint_dir', '') is None:  # beside it
            self.backend.checkpoint_dir = os.path.abspath(path) + '.checkpoints'
        try:
            if not data:  # a new log: its first line names metric and mode
                log.append(run_line(self.metric, self.mode, self.constraints))
                log.flush()
            undone = self.replay(read_events(data, log.path, self.metric,
                                             self.mode, self.constraints),
                                 log.path, domains)
        except BaseException:
            log.close()
            raise
        self.log = log
        for trial, decision in undone:  # the tuner died before it wrote them
            self.end_trial(trial, 'paused' if decision == d2lhpo.PAUSE
                           else 'stopped', self.clock, '',
                           self.last_results.get(trial.trial_id))

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def replay(self, events, path='the log', domains=None):
        """Feed checked log events to the scheduler as if they happened now;
        a ValueError names the line that does not fit the run. Return the
        cut-short trials whose last decision (pause, stop) is not logged."""
        differs, decisions = False, {}  # trial_id -> decision on its last result
        for number, event in enumerate(events, 1):
            if event['event'] == 'run':  # the first line, checked when read
                continue
            try:
                differs |= self.replay_event(event, decisions, domains)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f'{path}, line {number}: {err}') from None
            self.clock = max(self.clock, event['time'] if 'time' in event
                             else event['result']['time'])
        if differs:
            warnings.warn('the scheduler proposes other trials than the logged '
                          'run did; the logged trials were kept')
        self.backend.set_time(self.clock)
        cut = [r for r in self.records if r.status == 'running']
        self.restarts = [r for r in cut if decisions.get(
            r.trial_id, d2lhpo.CONTINUE) == d2lhpo.CONTINUE]
        return [(r, decisions[r.trial_id]) for r in cut
                if r not in self.restarts]

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def replay_event(self, event, decisions, domains=None):
        """Book one logged event; return whether the scheduler proposed another
        trial than the log holds. A ValueError if it does not fit the run."""
        kind, trial_id, n = event['event'], event['trial_id'], len(self.records)
        trial = self.records[trial_id] if 0 <= trial_id < n else None
        state = 'not started' if trial is None else trial.status
        if kind == 'start' and trial is None:
            if trial_id != n or event['resume']:
                raise ValueError(f'trial {trial_id} starts; the next is {n}')
            if domains is not None:
                d2lhpo.check_config(domains, event['config'])
            proposed = self.scheduler.suggest(n)  # keeps it in step
            self.start_trial(event['config'], event['time'], event['worker'])
            self.since[trial_id] = event['time']  # for the trial's runtime
            return proposed != event['config']
        if kind == 'start' and event['config'] != trial.config:
            raise ValueError(f'trial {trial_id} starts again with another config')
        if kind == 'start' and state == 'running':  # a restart
            trial.worker = event['worker']
        elif kind == 'start':  # resumes a paused trial (or raises)
            proposed = self.scheduler.suggest(n)
            self.start_trial(d2lhpo.Resume(trial_id), event['time'],
                             event['worker'])
            self.since[trial_id] = event['time']
            return proposed != d2lhpo.Resume(trial_id)
        elif state != 'running':
            raise ValueError(f'a {kind} of trial {trial_id}, which is {state}')
        elif kind == 'result':  # as reported: back to the minimized 'error'
            result = d2lhpo.as_result(event['result'], self.metric, self.mode,
                                      self.constraints)
            if (result.get('trial_id'), result['epoch']) != (trial_id,
                                                             trial.epochs + 1):
                raise ValueError(f'trial {trial_id} is at epoch {trial.epochs}; '
                                 f'this result is not the next one')
            self.last_results[trial_id] = result
            decisions[trial_id] = self.report(trial, dict(result))
        else:
            self.end_trial(trial, kind, event['time'], event['message'],
                           self.last_results.get(trial_id))
        return False


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
def true_trajectory(tuner, benchmark):
    """The true error of the incumbent after each result of `tuner`:
    `benchmark.true_error` of the configuration it would return then."""
    ids = [i for i in set(tuner.incumbent_ids) if i is not None]
    worth = {i: benchmark.true_error(tuner.records[i].config) for i in ids}
    return [worth.get(i, math.nan) for i in tuner.incumbent_ids]


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
@dataclasses.dataclass
class PairedComparison:
    """Final errors of methods `a` and `b` on the same seeds, compared."""
    names: tuple
    differences: np.ndarray  # a - b per seed: negative means a is better
    wins: int                # seeds where a is better
    ties: int
    losses: int
    median: float            # median difference
    interval: tuple          # bootstrap interval of the median difference
    p_value: float           # two-sided Wilcoxon signed-rank test

    def verdict(self, alpha=0.05):
        """'better', 'worse' (for `a`) or 'no significant difference'."""
        if self.p_value >= alpha:
            return 'no significant difference'
        return 'better' if np.mean(self.differences) < 0 else 'worse'

    def __str__(self):
        a, b = self.names
        return (f'{a} vs {b}: wins/ties/losses {self.wins}/{self.ties}/'
                f'{self.losses}, median difference {self.median:+.4g} '
                f'(95% CI {self.interval[0]:+.4g} to {self.interval[1]:+.4g})'
                f', Wilcoxon p = {self.p_value:.3g}: {self.verdict()}')


# Defined in chapter_hpo/benchmarking.md (:numref:`sec_benchmarking`)
def paired_comparison(a, b, names=('a', 'b'), level=0.95, num_boot=10_000,
                      seed=0):
    """Compare final errors `a` and `b` (lower is better), entry i of
    each from seed i."""
    a, b = d2lhpo.check_paired(a, b)  # 1-D, finite, one entry per seed
    d = a - b
    rng = np.random.default_rng(seed)
    medians = np.median(d[rng.integers(len(d), size=(num_boot, len(d)))],
                        axis=1)
    interval = tuple(np.quantile(medians, [(1 - level) / 2,
                                           (1 + level) / 2]).tolist())
    p = 1.0 if np.all(d == 0) else float(stats.wilcoxon(a, b).pvalue)
    return PairedComparison(tuple(names), d, int(np.sum(d < 0)),
                            int(np.sum(d == 0)), int(np.sum(d > 0)),
                            float(np.median(d)), interval, p)


# Defined in chapter_hpo/async_random_search.md (:numref:`sec_async_random_search`)
import math

import numpy as np
import torch


# Defined in chapter_hpo/async_random_search.md (:numref:`sec_async_random_search`)
class SynchronousScheduler(d2lhpo.SchedulerWrapper):
    """Runs the trials of `scheduler` in batches of `batch_size`: a batch
    starts only when every trial of the previous one has ended."""
    def __init__(self, scheduler, batch_size):
        super().__init__(scheduler)
        self.batch_size = d2lhpo.check_integer('batch_size', batch_size, 1)
        self.started, self.running = 0, set()

    def suggest(self, trial_id):
        if self.started == self.batch_size:
            if self.running:
                return None  # wait for the batch to end
            self.started = 0
        suggestion = self.scheduler.suggest(trial_id)
        self.started += suggestion is not None
        return suggestion

    def on_trial_start(self, trial):
        self.running.add(trial.trial_id)
        self.scheduler.on_trial_start(trial)

    def on_trial_result(self, trial, result):
        decision = self.scheduler.on_trial_result(trial, result)
        if decision != d2lhpo.CONTINUE:
            self.running.discard(trial.trial_id)
        return decision

    def on_trial_complete(self, trial, result):
        self.running.discard(trial.trial_id)
        self.scheduler.on_trial_complete(trial, result)

    def on_trial_error(self, trial, message):
        self.running.discard(trial.trial_id)
        self.scheduler.on_trial_error(trial, message)


# Defined in chapter_hpo/async_random_search.md (:numref:`sec_async_random_search`)
def busy_intervals(tuner):
    """(start, end) of every epoch that a simulated trial computed."""
    out = []
    for r in tuner.results:
        curve = tuner.backend.curves[r['trial_id']]['epoch_time']
        out.append((r['time'] - curve[r['epoch'] - 1], r['time']))
    return np.array(out).reshape(-1, 2)

def busy_workers(tuner, grid):
    """The number of workers computing an epoch at each time of `grid`."""
    starts, ends = busy_intervals(tuner).T
    return ((starts[None] <= grid[:, None]) & (ends[None] > grid[:, None])
            ).sum(axis=1)

def utilization(tuner, num_workers):
    """The fraction of the workers' time spent computing epochs."""
    starts, ends = busy_intervals(tuner).T
    return np.sum(ends - starts) / (num_workers * tuner.clock)


# Defined in chapter_hpo/async_random_search.md (:numref:`sec_async_random_search`)
def cnn_curve(lr, batch_size=32, channels=16, num_epochs=8, seed=0):
    """`SmallCNN` on the digits, reporting the validation error after
    every epoch."""
    torch.manual_seed(seed)
    data, model = d2lhpo.load_digits_data(), d2lhpo.SmallCNN(channels)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(num_epochs):
        d2lhpo.train_epoch(model, optimizer, *data.train, batch_size,
                           generator)
        yield d2lhpo.error_rate(model, *data.val)


# Defined in chapter_hpo/async_random_search.md (:numref:`sec_async_random_search`)
def time_to_reach(times, trajectory, target):
    """The first time at which the incumbent error is <= `target` (inf if
    it never is)."""
    hits = np.flatnonzero(np.asarray(trajectory) <= target)
    return times[hits[0]] if len(hits) else math.inf


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
import copy
import math
import numbers

import numpy as np
import torch
from scipy import optimize, stats
from scipy.stats import qmc


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
def scaled_sqdist(X1, X2, lengthscales):
    """Squared distances between the rows of X1 and X2, each input
    dimension divided by its length scale."""
    diff = (X1[:, None, :] - X2[None, :, :]) / lengthscales
    return (diff ** 2).sum(dim=-1)

def as_f64(x):
    return torch.as_tensor(x, dtype=torch.float64)


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
def rbf(r2):
    """The squared exponential kernel as a function of r^2."""
    return torch.exp(-0.5 * r2)

def matern52(r2):
    """The Matern 5/2 kernel as a function of r^2."""
    return d2lhpo.Matern52.apply(r2)  # a derivative finite at r = 0

KERNELS = {'rbf': rbf, 'matern52': matern52}


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
class GaussianProcess:
    """GP regression with a zero mean, an ARD kernel and Gaussian noise.

    Inputs are rows of X, best scaled to [0, 1]; outputs are best
    standardized. The hyperparameters are the length scales (one per input
    dimension, or one for all), the signal variance and the noise variance.
    """
    def __init__(self, kernel='matern52', lengthscales=0.25, variance=1.0,
                 noise=1e-4, min_noise=1e-6,
                 ftol=1e7 * np.finfo(float).eps):  # L-BFGS-B's default stop
        if kernel not in KERNELS:
            raise ValueError(f'kernel must be one of {sorted(KERNELS)}, got '
                             f'{kernel!r}')
        self.kernel = kernel
        self.lengthscales = as_f64(lengthscales)
        self.variance, self.noise = as_f64(variance), as_f64(noise)
        self.min_noise, self.ftol = min_noise, ftol
        self.X = self.y = None  # the data it is conditioned on
        self.jitter = 0.0       # added to the diagonal at the last condition

    def k(self, X1, X2):
        """The kernel matrix between the rows of X1 and X2."""
        r2 = scaled_sqdist(X1, X2, self.lengthscales)
        return self.variance * KERNELS[self.kernel](r2)

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def condition(self, X, y):
        """Condition on the observations y at the rows of X."""
        X, y = d2lhpo.check_observations(X, y)
        K = self.k(X, X) + self.noise * torch.eye(len(X), dtype=X.dtype)
        self.L, self.jitter = d2lhpo.cholesky_with_jitter(K)
        self.alpha = torch.cholesky_solve(y[:, None], self.L)[:, 0]
        self.X, self.y = X, y
        return self

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def predict(self, X_test, full_cov=False):
        """Mean and variance (or covariance) of f at the rows of X_test."""
        X_test = as_f64(X_test)
        if self.X is None:  # no data: the prior
            mean = torch.zeros(len(X_test), dtype=torch.float64)
            if full_cov:
                return mean, self.k(X_test, X_test)
            return mean, self.variance.expand(len(X_test))
        K_s = self.k(self.X, X_test)
        V = torch.linalg.solve_triangular(self.L, K_s, upper=False)
        if full_cov:
            return K_s.T @ self.alpha, self.k(X_test, X_test) - V.T @ V
        var = self.variance - (V ** 2).sum(dim=0)
        return K_s.T @ self.alpha, var.clamp(min=1e-12 * self.variance.item())

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def log_marginal_likelihood(self, X, y):
        """log p(y | X) under the current hyperparameters."""
        X, y = as_f64(X), as_f64(y)
        K = self.k(X, X) + self.noise * torch.eye(len(X), dtype=X.dtype)
        L, _ = d2lhpo.cholesky_with_jitter(K)
        alpha = torch.cholesky_solve(y[:, None], L)[:, 0]
        return (-0.5 * y @ alpha - L.diagonal().log().sum()
                - 0.5 * len(y) * math.log(2 * math.pi))

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def log_prior(self):
        """Log density (up to a constant) of the hyperparameters' priors."""
        log_ls = self.lengthscales.log()
        return (-0.5 * ((log_ls - math.log(0.25)) ** 2).sum()    # log-normal
                + self.variance.log() - self.variance            # Gamma(2, 1)
                + 0.1 * self.noise.log() - 30 * self.noise)      # Gamma(1.1, 30)

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def fit(self, X, y, restart=False, maxiter=30):
        """Set the hyperparameters to the maximum of log p(y | X) + log prior,
        found by L-BFGS-B over their logs, then condition on (X, y)."""
        X, y = as_f64(X), as_f64(y)
        if X.ndim != 2 or len(X) < 1:
            raise ValueError('fit needs at least one observation')
        d = X.shape[1]
        lo = np.log([1e-2] * d + [1e-2, self.min_noise])
        hi = np.log([30.0] * d + [1e2, 1.0])
        sqdiff = (X[:, None, :] - X[None, :, :]) ** 2
        ls = self.lengthscales * torch.ones(d, dtype=torch.float64)
        starts = [torch.cat([ls.log(), self.variance.log()[None],
                             self.noise.log()[None]]).numpy()]
        if restart:
            starts.append(np.r_[[math.log(0.25)] * d, 0.0, math.log(1e-4)])
        best = min((optimize.minimize(  # the first of the best on ties
            lambda theta: d2lhpo.neg_log_posterior(self.kernel, as_f64(theta),
                                                   sqdiff, y),
            np.clip(theta0, lo, hi), jac=True, method='L-BFGS-B',
            bounds=list(zip(lo, hi)),
            options={'maxiter': maxiter, 'ftol': self.ftol})
            for theta0 in starts), key=lambda result: result.fun)
        theta = as_f64(best.x)
        self.lengthscales, self.variance, self.noise = (
            theta[:d].exp(), theta[d].exp(), theta[d + 1].exp())
        return self.condition(X, y)


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
def toy_function(x):
    return np.sin(9 * x) + 0.5 * np.cos(23 * x) + 2 * x


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
def expected_improvement(mean, std, best):
    """E[max(best - f, 0)] for f ~ N(mean, std^2); the direct formula."""
    z = (best - mean) / std
    return std * (z * torch.special.ndtr(z)
                  + torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi))

def log_expected_improvement(mean, std, best):
    return d2lhpo.LogEI.apply(mean, std, as_f64(best))

def log_probability_of_improvement(mean, std, best):
    return torch.special.log_ndtr((best - mean) / std)

def lower_confidence_bound(mean, std, kappa=2.0):
    return mean - kappa * std


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
class SpaceEncoder:
    """Maps configurations to points of [0, 1]^D and back."""
    def __init__(self, domains):
        self.domains = domains
        self.parts = []  # (name, kind, first column, width, levels)
        self.dim = 0
        for name, dom in domains.items():
            kind, width, levels = 'fixed', 0, None
            if dom.kind == 'float' or (dom.kind == 'int'
                                       and dom.high > dom.low):
                kind, width = dom.kind, 1
                if dom.step or (dom.kind == 'int' and not dom.log):
                    levels = dom.num_values()  # evenly spaced values
            elif dom.kind == 'categorical' and len(dom.choices) > 1:
                if all(isinstance(c, numbers.Real) and not isinstance(c, bool)
                       for c in dom.choices):
                    kind, width, levels = 'ordinal', 1, len(dom.choices)
                else:
                    kind, width = 'onehot', len(dom.choices)
            self.parts.append((name, kind, self.dim, width, levels))
            self.dim += width
        self.continuous = np.zeros(self.dim, dtype=bool)  # float columns
        self.continuous[[j for _, kind, j, _, levels in self.parts
                         if kind == 'float' and not levels]] = True

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def encode(self, config):
        """The point of [0, 1]^D of a (checked) configuration."""
        u = np.zeros(self.dim)
        for name, kind, j, width, levels in self.parts:
            dom = self.domains[name]
            if not d2lhpo.active(dom, config):  # imputed: all zero
                continue
            value = config[name]
            if kind in ('float', 'int') and dom.log:
                u[j] = math.log(value / dom.low) / math.log(dom.high / dom.low)
            elif kind in ('float', 'int'):
                u[j] = (value - dom.low) / (dom.high - dom.low)
            elif kind == 'ordinal':
                u[j] = sorted(dom.choices).index(value) / (levels - 1)
            elif kind == 'onehot':  # True == 1 in Python: compare types too
                u[j + next(i for i, c in enumerate(dom.choices)
                           if c == value and type(c) is type(value))] = 1.0
        return u

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def snap(self, U):
        """Round the rows of U to points that decode exactly."""
        U = np.clip(np.array(U, dtype=float), 0, 1)
        for name, kind, j, width, levels in self.parts:
            if levels:
                U[:, j] = np.round(U[:, j] * (levels - 1)) / (levels - 1)
            elif kind == 'int':  # on a log scale: round the integer itself
                low, ratio = self.domains[name].low, self.domains[name].high
                ratio = math.log(ratio / low)
                U[:, j] = np.log(np.round(low * np.exp(U[:, j] * ratio)) /
                                 low) / ratio
            elif kind == 'onehot':
                U[:, j:j + width] = np.eye(width)[
                    U[:, j:j + width].argmax(axis=1)]
        return d2lhpo.impute_inactive(self, U)

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def value(self, part, u):
        """The value of one part (name, kind, j, width, levels) at u."""
        name, kind, j, width, levels = part
        dom = self.domains[name]
        if kind in ('float', 'int'):  # snap: round, and clip
            return dom.snap(dom.low * (dom.high / dom.low) ** u[j] if dom.log
                            else dom.low + u[j] * (dom.high - dom.low))
        if kind == 'ordinal':
            return copy.deepcopy(sorted(dom.choices)[round(u[j] * (levels - 1))])
        if kind == 'onehot':
            return copy.deepcopy(dom.choices[int(u[j:j + width].argmax())])
        # a constant, or an int range with a single value
        return int(dom.low) if dom.kind == 'int' else copy.deepcopy(dom.choices[0])

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def decode(self, u):
        """The configuration of a point of [0, 1]^D (snapped first), without
        its inactive hyperparameters."""
        u = self.snap(np.reshape(u, (1, self.dim)))[0]
        config = {}
        for part in self.parts:  # parents come first
            if d2lhpo.active(self.domains[part[0]], config):
                config[part[0]] = self.value(part, u)
        return config


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
def standardize(y):
    """(y - mean) / std, the mean and the std (1 if y is constant)."""
    y = np.asarray(y, dtype=float)
    center, scale = y.mean(), y.std()
    if not scale > 1e-12 * max(1.0, abs(center)):
        scale = 1.0
    return (y - center) / scale, center, scale


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
class ModelBasedSearcher(d2lhpo.HPOSearcher):
    """Bookkeeping for searchers that learn from their trials: the encoded
    space, an initial design, and the observed, pending and failed trials.
    Subclasses implement `propose`."""
    def __init__(self, config_space, num_init=None, initial_config=None,
                 seed=None, points_to_evaluate=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        self.encoder = SpaceEncoder(self.domains)
        self.rng = np.random.default_rng(d2lhpo.check_seed('seed', seed))
        dim = self.encoder.dim
        self.num_init = d2lhpo.check_integer(
            'num_init', min(10, max(4, dim)) if num_init is None
            else num_init, minimum=1)
        self.points = d2lhpo.start_points(self.domains, points_to_evaluate,
                                          initial_config)
        self.design = []
        if dim:
            sobol = qmc.Sobol(dim, seed=self.rng).random_base2(
                math.ceil(math.log2(self.num_init)))
            self.design = list(self.encoder.snap(sobol[:self.num_init]))
        self.X, self.y = [], []  # observed: encoded configurations, errors
        self.fidelity = {}       # trial id -> (its level, its row in X, y)
        self.pending = {}        # trial id -> encoded configuration
        self.failed = []         # encoded configurations
        self.num_suggested = 0

    def propose(self):
        """The point of [0, 1]^D to evaluate next."""
        raise NotImplementedError

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def sample_configuration(self, trial_id):
        if self.points:  # start points count as initial design
            config = self.points.pop(0)
        elif self.encoder.dim == 0:  # nothing to choose
            config = self.encoder.decode(np.zeros(0))
        elif self.num_suggested < self.num_init or len(self.y) < 2:
            u = (self.design.pop(0) if self.design else
                 self.rng.uniform(size=self.encoder.dim))
            config = self.encoder.decode(u)
        else:  # the model's proposal, or a random point if its fit fails
            config = self.encoder.decode(d2lhpo.propose_or_random(self))
        self.num_suggested += 1
        self.pending[trial_id] = self.encoder.encode(config)
        return config

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def update(self, trial_id, config, error, result=None):
        u = self.encoder.encode(d2lhpo.check_config(self.domains, config))
        self.pending.pop(trial_id, None)
        error = math.nan if error is None else float(error)
        level = (result or {}).get('epoch') or 0  # 0: no fidelity given
        if not math.isfinite(error):  # failed: never fitted, not proposed again
            self.failed.append(u)
        elif trial_id not in self.fidelity:  # the trial's first result
            self.fidelity[trial_id] = (level, len(self.y))
            self.X.append(u)
            self.y.append(error)
        elif level >= self.fidelity[trial_id][0]:  # replaces a lower level
            i = self.fidelity[trial_id][1]
            self.fidelity[trial_id], self.y[i] = (level, i), error

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def observed(self):
        """The encoded configurations and the errors of finished trials."""
        return (np.array(self.X).reshape(-1, self.encoder.dim),
                np.array(self.y))

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def unfinished(self):
        """The encoded configurations of pending and failed trials."""
        return np.array(list(self.pending.values()) + self.failed).reshape(
            -1, self.encoder.dim)

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def warm_start(self, data, metric='error', mode='min'):
        """Add earlier results (values in the direction `mode`) to the
        observations, in place of as many initial design points; returns self."""
        configs, errors = d2lhpo.warm_start_data(data, self.domains, metric,
                                                 mode)
        self.X += [self.encoder.encode(config) for config in configs]
        self.y += errors
        self.num_init = max(self.num_init - len(configs), 0)
        return self


# Defined in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
class BayesOptSearcher(ModelBasedSearcher):
    """Bayesian optimization with a GP surrogate and the acquisition
    function 'ei' (log EI, the default), 'pi' (log PI) or 'lcb'."""
    def __init__(self, config_space, seed=None, acquisition='ei',
                 kernel='matern52', kappa=2.0, num_init=None,
                 initial_config=None, num_random=512, num_starts=4,
                 max_points=150, points_to_evaluate=None):
        super().__init__(config_space, num_init, initial_config, seed,
                         points_to_evaluate)
        if acquisition not in ('ei', 'pi', 'lcb'):
            raise ValueError("acquisition must be 'ei', 'pi' or 'lcb', got "
                             f'{acquisition!r}')
        self.acquisition = acquisition
        self.kappa = d2lhpo.check_number('kappa', kappa, minimum=0)
        self.gp = GaussianProcess(kernel)
        self.num_random = d2lhpo.check_integer('num_random', num_random, 1)
        self.num_starts = d2lhpo.check_integer('num_starts', num_starts, 1)
        self.max_points = None if max_points is None else (  # None: all
            d2lhpo.check_integer('max_points', max_points, minimum=2))
        self.best = None  # y* for EI and PI, in standardized units

    def acquisition_function(self, U):
        """The acquisition value (higher is better) at the rows of U."""
        mean, var = self.gp.predict(U)
        std = var.sqrt()
        if self.acquisition == 'ei':
            return log_expected_improvement(mean, std, self.best)
        if self.acquisition == 'pi':
            return log_probability_of_improvement(mean, std, self.best)
        return -lower_confidence_bound(mean, std, self.kappa)

    # Added in chapter_hpo/bayesian_optimization.md (:numref:`sec_bayesian_optimization`)
    def propose(self):
        X, y = d2lhpo.subsample(*self.observed(), self.max_points, self.rng)
        y, self.y_center, self.y_scale = d2lhpo.robust_standardize(y, self)
        restart = len(y) % 5 == 0 and len(y) == len(self.y)  # not subsampled
        self.gp.fit(X, y, restart=restart)
        X_u = self.unfinished()
        if len(X_u):  # kriging believer: condition on the predictions there
            with torch.no_grad():
                fantasies, _ = self.gp.predict(X_u)
            self.gp.condition(np.concatenate([X, X_u]),
                              torch.cat([as_f64(y), fantasies]))
        with torch.no_grad():
            self.best = self.gp.predict(self.gp.X)[0].min()
        return d2lhpo.maximize_acquisition(
            self.acquisition_function, self.encoder, self.rng, X_obs=X,
            exclude=X_u, num_random=self.num_random, num_starts=self.num_starts,
            ftol=self.gp.ftol)


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
import numpy as np
from scipy import special, stats
from sklearn.ensemble import RandomForestRegressor


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
class ParzenEstimator:
    """A density on the encoded space: one product kernel per row of U (a
    truncated Gaussian on each numeric column, a smoothed one-hot
    distribution on each categorical group) and a prior component."""
    def __init__(self, encoder, U, prior_weight=1.0, parts=None):
        self.encoder = encoder  # parts: of encoder.parts, by default all
        U = np.asarray(U, dtype=float).reshape(-1, encoder.dim)
        n, parts = len(U), encoder.parts if parts is None else parts
        self.numeric = [j for _, kind, j, _, _ in parts
                        if kind in ('float', 'int', 'ordinal')]
        self.groups = [(j, width) for _, kind, j, width, _ in parts
                       if kind == 'onehot']
        weights = np.append(np.ones(n), prior_weight)
        self.weights = weights / weights.sum()
        d = len(self.numeric)
        self.mus = np.vstack([U[:, self.numeric], np.full((1, d), 0.5)])
        self.sigmas = np.vstack([
            d2lhpo.neighbor_bandwidths(U[:, self.numeric]), np.ones((1, d))])
        smoothing = 1 / (n + 1)
        self.probs = [(np.vstack([U[:, j:j + w], np.full((1, w), 1 / w)])
                       + smoothing) / (1 + w * smoothing)
                      for j, w in self.groups]

    # Added in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
    def log_pdf(self, V):
        """The log density at the rows of V."""
        V = np.asarray(V, dtype=float)
        x = V[:, None, self.numeric]                   # (m, 1, d)
        mu, sigma = self.mus[None], self.sigmas[None]  # (1, n + 1, d)
        mass = stats.norm.cdf((1 - mu) / sigma) - stats.norm.cdf(-mu / sigma)
        log_k = (stats.norm.logpdf((x - mu) / sigma) - np.log(sigma)
                 - np.log(mass)).sum(axis=2)          # (m, n + 1)
        for (j, w), probs in zip(self.groups, self.probs):
            log_k = log_k + np.log(V[:, j:j + w] @ probs.T)
        return special.logsumexp(log_k + np.log(self.weights), axis=1)

    # Added in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
    def sample(self, rng, size, V=None):
        """Draw `size` points (snapped) with the numpy generator `rng`, filling
        in this estimator's columns of V (by default zeros)."""
        comp = rng.choice(len(self.weights), size=size, p=self.weights)
        V = np.zeros((size, self.encoder.dim)) if V is None else V
        mu, sigma = self.mus[comp], self.sigmas[comp]
        V[:, self.numeric] = stats.truncnorm.rvs(
            -mu / sigma, (1 - mu) / sigma, loc=mu, scale=sigma,
            random_state=rng)
        for (j, w), probs in zip(self.groups, self.probs):
            cum = probs[comp].cumsum(axis=1)
            choice = (rng.uniform(size=(size, 1)) > cum).sum(axis=1)
            V[np.arange(size), j + np.minimum(choice, w - 1)] = 1
        return self.encoder.snap(V)


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
class TreeParzenEstimator:
    """Parzen estimators along the tree of a conditional space: one over
    the unconditional hyperparameters, one per conditional hyperparameter
    fitted to the rows of U in which it is active."""
    def __init__(self, encoder, U, prior_weight=1.0):
        self.encoder = encoder
        U = np.asarray(U, dtype=float).reshape(-1, encoder.dim)
        conditional = [p for p in encoder.parts
                       if encoder.domains[p[0]].parent is not None]
        self.root = ParzenEstimator(encoder, U, prior_weight, [
            p for p in encoder.parts if p not in conditional])
        mask = d2lhpo.active_mask(encoder, U)
        self.children = [(p, ParzenEstimator(encoder, U[mask[p[0]]],
                                             prior_weight, [p]))
                         for p in conditional]

    def log_pdf(self, V):
        """The log density at the rows of V, over their active parts."""
        mask, log_p = d2lhpo.active_mask(self.encoder, V), self.root.log_pdf(V)
        for (name, *_), density in self.children:
            if mask[name].any():
                log_p[mask[name]] += density.log_pdf(V[mask[name]])
        return log_p

    # Added in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
    def sample(self, rng, size):
        """Draw `size` points (snapped), parents before children."""
        V = self.root.sample(rng, size)
        for (name, *_), density in self.children:
            rows = d2lhpo.active_mask(self.encoder, V)[name]
            if rows.any():  # its parents are drawn: they decide
                V[rows] = density.sample(rng, rows.sum(), V[rows])
        return V


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
class TPESearcher(d2lhpo.ModelBasedSearcher):
    """Tree-structured Parzen estimator (multivariate): proposes the
    candidate, drawn from the density l of good configurations, that
    maximizes l / g, where g is the density of the others."""
    def __init__(self, config_space, seed=None, gamma=0.15, max_good=25,
                 num_candidates=64, prior_weight=1.0, num_init=10,
                 initial_config=None, min_good=1, points_to_evaluate=None):
        super().__init__(config_space, num_init, initial_config, seed,
                         points_to_evaluate)
        self.gamma = d2lhpo.check_fraction('gamma', gamma)
        self.min_good = d2lhpo.check_integer('min_good', min_good, 1)
        self.max_good = d2lhpo.check_integer('max_good', max_good, 1)
        self.num_candidates = d2lhpo.check_integer('num_candidates',
                                                   num_candidates, 1)
        self.prior_weight = d2lhpo.check_positive('prior_weight', prior_weight)

    def split(self):
        """Encoded good and bad configurations; unfinished ones are bad."""
        X, y = self.observed()
        num_good = min(max(int(np.ceil(self.gamma * len(y))),
                           self.min_good), self.max_good)
        order = np.argsort(y, kind='stable')
        bad = np.concatenate([X[order[num_good:]], self.unfinished()])
        return X[order[:num_good]], bad

    def propose(self, exclude=()):
        """Never a pending or failed point, nor a row of `exclude`."""
        good, bad = self.split()
        l = TreeParzenEstimator(self.encoder, good, self.prior_weight)
        g = TreeParzenEstimator(self.encoder, bad, self.prior_weight)
        V = l.sample(self.rng, self.num_candidates)
        X_u = np.concatenate([self.unfinished(), np.reshape(
            exclude, (-1, self.encoder.dim))])
        return d2lhpo.best_not_running(V, l.log_pdf(V) - g.log_pdf(V), X_u)


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
def forest_predict(forest, U):
    """Mean and variance of a fitted RandomForestRegressor at the rows of U:
    over the trees, of the leaf means plus the variance within leaves."""
    U = np.ascontiguousarray(U, dtype=np.float32)  # what the trees expect
    total, second = 0.0, 0.0
    for tree in forest.estimators_:
        leaves = tree.tree_.apply(U)
        m = tree.tree_.value[leaves, 0, 0]
        total = total + m
        second = second + tree.tree_.impurity[leaves] + m ** 2
    mean = total / len(forest.estimators_)
    return mean, np.maximum(second / len(forest.estimators_) - mean ** 2, 0)


# Defined in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
class RFSearcher(d2lhpo.ModelBasedSearcher):
    """SMAC-style BO with a random-forest surrogate and log EI."""
    def __init__(self, config_space, seed=None, num_trees=16,
                 max_features=0.8, min_samples_leaf=1, random_fraction=0.0,
                 num_init=None, initial_config=None, num_random=512,
                 points_to_evaluate=None):
        super().__init__(config_space, num_init, initial_config, seed,
                         points_to_evaluate)
        self.num_trees = d2lhpo.check_integer('num_trees', num_trees, 1)
        self.max_features = d2lhpo.check_fraction('max_features',
                                                  max_features, include_one=True)
        self.min_samples_leaf = d2lhpo.check_integer('min_samples_leaf',
                                                     min_samples_leaf, 1)
        self.random_fraction = d2lhpo.check_number(
            'random_fraction', random_fraction, minimum=0, maximum=1)
        self.num_random = d2lhpo.check_integer('num_random', num_random, 1)

    def fit_forest(self, X, y):
        return RandomForestRegressor(
            self.num_trees, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            random_state=int(self.rng.integers(2 ** 31))).fit(X, y)

    # Added in chapter_hpo/tpe_and_forests.md (:numref:`sec_tpe_forests`)
    def propose(self):
        if self.rng.uniform() < self.random_fraction:
            return self.rng.uniform(size=self.encoder.dim)
        X, y = self.observed()
        y = d2lhpo.robust_standardize(y, self)[0]
        forest = self.fit_forest(X, y)
        X_u = self.unfinished()
        if len(X_u):  # fantasies at the forest's predictions, then refit
            forest = self.fit_forest(np.concatenate([X, X_u]), np.concatenate(
                [y, forest_predict(forest, X_u)[0]]))
        best = forest_predict(forest, np.concatenate([X, X_u]))[0].min()

        def log_ei(U):
            mean, var = forest_predict(forest, U)
            return d2lhpo.log_expected_improvement(
                d2lhpo.as_f64(mean), d2lhpo.as_f64(np.sqrt(var + 1e-12)),
                best).numpy()

        U, values = d2lhpo.random_local_search(log_ei, self.encoder, self.rng, X,
                                               self.num_random)
        return d2lhpo.best_not_running(U, values, X_u)


# Defined in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
import math

import numpy as np


# Defined in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
def rung_levels(r_min, r_max, eta):
    """The rung levels r_min * eta**k <= r_max, then r_max if it is not
    one of them (integer arithmetic: no logarithms)."""
    eta, r_min, r_max = d2lhpo.check_fidelity(eta, r_min, r_max)
    levels = [r_min]
    while levels[-1] * eta <= r_max:
        levels.append(levels[-1] * eta)
    return levels if levels[-1] == r_max else levels + [r_max]


# Defined in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
def successive_halving_rungs(n, r_min, r_max, eta):
    """(number of configurations, resource) per rung of successive halving
    started with n configurations."""
    size, rungs = d2lhpo.check_integer('n', n, minimum=1), []
    for level in rung_levels(r_min, r_max, eta):
        if size < 1:
            break
        rungs.append((size, level))
        size //= eta
    return rungs

def hyperband_brackets(r_min, r_max, eta):
    """Hyperband's brackets s = s_max, ..., 0 as (s, n, r): bracket s starts
    n = ceil((s_max + 1) * eta**s / (s + 1)) configurations at the rung
    level r, s rungs below the top."""
    levels = rung_levels(r_min, r_max, eta)
    s_max = len(levels) - 1
    return [(s, -(-(s_max + 1) * eta ** s // (s + 1)), levels[s_max - s])
            for s in range(s_max, -1, -1)]


# Defined in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
class SynchronousMultiFidelityScheduler(d2lhpo.BasicScheduler):
    """Synchronous successive halving over a cycle of `brackets`, each a
    pair (number of configurations, rung levels). A trial pauses at the
    level of its rung; a rung is promoted when it is complete."""
    def __init__(self, searcher, eta, brackets):
        super().__init__(searcher)
        self.eta, self.brackets, self.bracket_index = eta, brackets, -1
        self.running = set()  # trials of this rung not at its level yet
        self.done = False     # the searcher has nothing left
        self.start_bracket()

    def start_bracket(self):
        self.bracket_index = (self.bracket_index + 1) % len(self.brackets)
        self.size, self.levels = self.brackets[self.bracket_index]
        self.rung = 0
        # None: a new configuration (none once the searcher is spent)
        self.queue = [] if self.done else [None] * self.size
        self.rung_errors = {}  # trial_id -> error at this rung (NaN: failed)

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def suggest(self, trial_id):
        while not self.queue:
            if self.running or (self.done and not self.rung_errors):
                return None  # wait for the rung to complete, or all is done
            self.promote()
        item = self.queue.pop(0)
        if item is None:
            item = self.searcher.sample_configuration(trial_id)
            if item is None:  # the searcher is spent: finish this bracket
                self.done, self.queue = True, []
                return self.suggest(trial_id)
        return item

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def promote(self):
        """The rung is complete: resume its best trials at the next level,
        or start the next bracket after the top rung."""
        ranked = sorted((e, t) for t, e in self.rung_errors.items()
                        if not math.isnan(e))
        self.rung += 1
        keep = self.size // self.eta ** self.rung
        if self.rung >= len(self.levels) or keep < 1 or not ranked:
            return self.start_bracket()
        self.queue = [d2lhpo.Resume(t) for _, t in ranked[:keep]]
        self.rung_errors = {}

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def on_trial_start(self, trial):
        self.running.add(trial.trial_id)

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def on_trial_result(self, trial, result):
        if result['epoch'] < self.levels[self.rung]:
            return d2lhpo.CONTINUE
        self.enter_rung(trial, result['error'], result)
        return d2lhpo.STOP if result['epoch'] >= self.levels[-1] else d2lhpo.PAUSE

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def on_trial_complete(self, trial, result):
        if trial.trial_id in self.running:  # ended before its level
            self.enter_rung(trial, math.nan, result)

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def on_trial_error(self, trial, message):
        if trial.trial_id in self.running or trial.trial_id in self.rung_errors:
            self.enter_rung(trial, math.nan, None)

    # Added in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
    def enter_rung(self, trial, error, result):
        self.running.discard(trial.trial_id)
        self.rung_errors[trial.trial_id] = error
        self.inform_searcher(trial, result)


# Defined in chapter_hpo/multi_fidelity.md (:numref:`sec_multi_fidelity`)
class SuccessiveHalvingScheduler(SynchronousMultiFidelityScheduler):
    """Synchronous successive halving, repeated: `num_configs` new trials
    (by default eta**(number of rungs - 1)) start at r_min each round."""
    def __init__(self, searcher, eta=3, r_min=1, r_max=27,
                 num_configs=None):
        levels = rung_levels(r_min, r_max, eta)
        num_configs = (eta ** (len(levels) - 1) if num_configs is None else
                       d2lhpo.check_integer('num_configs', num_configs, 1))
        n = successive_halving_rungs(num_configs, r_min, r_max, eta)[0][0]
        super().__init__(searcher, eta, [(n, levels)])

class HyperbandScheduler(SynchronousMultiFidelityScheduler):
    """Hyperband: successive halving over the brackets s = s_max, ..., 0,
    from the most aggressive (many trials, r_min) to random search (few
    trials, r_max), in a cycle."""
    def __init__(self, searcher, eta=3, r_min=1, r_max=27):
        levels = rung_levels(r_min, r_max, eta)
        super().__init__(searcher, eta, [
            (n, levels[len(levels) - 1 - s:])
            for s, n, _ in hyperband_brackets(r_min, r_max, eta)])


# Defined in chapter_hpo/asha.md (:numref:`sec_asha`)
import bisect
import math

import numpy as np


# Defined in chapter_hpo/asha.md (:numref:`sec_asha`)
class ASHAScheduler(d2lhpo.BasicScheduler):
    """Asynchronous successive halving, `kind` 'stopping' or 'promotion'.
    The searcher is told each result at a rung level (with its 'epoch')."""
    def __init__(self, searcher, eta=3, r_min=1, r_max=27, kind='stopping'):
        if kind not in ('stopping', 'promotion'):
            raise ValueError(f"kind must be 'stopping' or 'promotion', got "
                             f"{kind!r}")
        super().__init__(searcher)
        self.levels = d2lhpo.rung_levels(r_min, r_max, eta)
        self.eta, self.kind, self.r_max = int(eta), kind, int(r_max)
        self.rungs = {level: [] for level in self.levels[:-1]}
        self.waiting = {level: [] for level in self.levels[:-1]}

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def suggest(self, trial_id):
        if self.kind == 'promotion':
            for level in reversed(self.levels[:-1]):
                paused_id = self.promotable(level)
                if paused_id is not None:
                    self.waiting[level].pop(0)
                    return d2lhpo.Resume(paused_id)
        return self.searcher.sample_configuration(trial_id)

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def promotable(self, level):
        """The best trial of `level`'s rung not promoted yet, if it is in the
        top n // eta of the rung; else None."""
        waiting, rung = self.waiting[level], self.rungs[level]
        if waiting and (bisect.bisect_left(rung, waiting[0])
                        < len(rung) // self.eta):
            return waiting[0][1]
        return None

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def on_trial_result(self, trial, result):
        epoch, error = result['epoch'], result['error']
        if epoch in self.rungs or epoch >= self.r_max:
            self.inform_searcher(trial, result)
        if epoch >= self.r_max:
            return d2lhpo.STOP
        if epoch not in self.rungs:
            return d2lhpo.CONTINUE
        rung, entry = self.rungs[epoch], (error, trial.trial_id)
        better = bisect.bisect_left(rung, (error, -1))  # errors < error
        bisect.insort(rung, entry)
        if self.kind == 'promotion':
            bisect.insort(self.waiting[epoch], entry)
            return d2lhpo.PAUSE
        keep = -(-len(rung) // self.eta)  # ceil(n / eta), n with this one
        return d2lhpo.CONTINUE if better < keep else d2lhpo.STOP

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def on_trial_complete(self, trial, result):
        pass


# Defined in chapter_hpo/asha.md (:numref:`sec_asha`)
class MedianStoppingRule(d2lhpo.SchedulerWrapper):
    """Stops a trial at epoch t >= `r_min` if its best error so far is
    worse than the median running average (mean error over epochs 1..t)
    of the other trials at t, once `min_trials` others reached t."""
    def __init__(self, scheduler, r_min=1, min_trials=3):
        super().__init__(scheduler)
        self.r_min = d2lhpo.check_integer('r_min', r_min, minimum=1)
        self.min_trials = d2lhpo.check_integer('min_trials', min_trials,
                                               minimum=1)
        self.sums = {}  # trial_id -> (sum of its errors, its best error)
        self.averages = {}  # epoch -> sorted running averages at it

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def on_trial_result(self, trial, result):
        decision = self.scheduler.on_trial_result(trial, result)
        epoch, error = result['epoch'], result['error']
        total, best = self.sums.get(trial.trial_id, (0.0, math.inf))
        total, best = total + error, min(best, error)
        self.sums[trial.trial_id] = (total, best)
        others = self.averages.setdefault(epoch, [])
        stop = False
        if epoch >= self.r_min and len(others) >= self.min_trials:
            n = len(others)
            stop = best > (others[(n - 1) // 2] + others[n // 2]) / 2
        bisect.insort(others, total / epoch)
        if stop and decision == d2lhpo.CONTINUE:
            self.scheduler.on_trial_complete(trial, result)
            return d2lhpo.STOP
        return decision


# Defined in chapter_hpo/asha.md (:numref:`sec_asha`)
class MultiFidelityTPESearcher(d2lhpo.HPOSearcher):
    """BOHB-style search: a TPE model per rung level, fitted on the
    results at that level; new configurations come from the model of the
    highest level with at least `min_points` results, else at random;
    a fraction `random_fraction` of them is always drawn at random.
    Levels below `min_level` get no model (default: every level)."""
    def __init__(self, config_space, min_points=None, random_fraction=1/3,
                 seed=None, min_level=1, **tpe_args):
        self.random = d2lhpo.RandomSearcher(config_space, seed=seed)
        d = len(self.random.domains)  # BOHB: l and g need d + 1 points each
        self.config_space = config_space
        self.tpe_args = {'min_good': d + 1, **tpe_args}
        d2lhpo.TPESearcher(config_space, seed=0, num_init=1,
                           **self.tpe_args)  # checks the arguments
        self.rng = np.random.default_rng(seed)
        self.random_fraction = d2lhpo.check_number(
            'random_fraction', random_fraction, minimum=0, maximum=1)
        self.min_points = d2lhpo.check_integer(
            'min_points', 2 * (d + 1) if min_points is None else min_points, 1)
        self.min_level = d2lhpo.check_number('min_level', min_level, minimum=0)
        self.models = {}  # level -> TPESearcher fitted on its results
        self.encoder = d2lhpo.SpaceEncoder(self.random.domains)
        self.suggested = np.zeros((0, self.encoder.dim))  # encoded
        self.seen = set()  # their keys
        self.grid = d2lhpo.grid_points(self.encoder, 10 ** 5)  # if finite

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def sample_configuration(self, trial_id):
        ready = [level for level, model in self.models.items()
                 if len(model.y) >= self.min_points]
        u = None
        if ready and self.rng.uniform() >= self.random_fraction:
            # The model proposes, but the trial does not run at its level yet
            # (it starts at r_min), so the model is not told it is pending.
            u = self.models[max(ready)].propose(exclude=self.suggested)
        if u is None or d2lhpo.point_key(u) in self.seen:
            u = d2lhpo.fresh_random_config(self, trial_id)
        self.suggested = np.vstack([self.suggested, u])
        self.seen.add(d2lhpo.point_key(u))
        return self.encoder.decode(u)

    # Added in chapter_hpo/asha.md (:numref:`sec_asha`)
    def update(self, trial_id, config, error, result=None):
        level = (result or {}).get('epoch')
        if level is None or not math.isfinite(error):
            return  # failed trials
        if level < self.min_level:
            return  # a level whose ranking we do not trust
        if level not in self.models:
            self.models[level] = d2lhpo.TPESearcher(
                self.config_space, seed=int(self.rng.integers(2 ** 31)),
                num_init=1, **self.tpe_args)
        self.models[level].update(trial_id, config, error, result)


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
import math

import numpy as np


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def dominance(Y):
    """D[i, j]: point i dominates point j (no worse in every objective,
    better in one). `Y` is (n points x m objectives), all minimized."""
    Y = d2lhpo.check_objectives(Y)
    no_worse = np.ones((len(Y), len(Y)), dtype=bool)
    better = np.zeros((len(Y), len(Y)), dtype=bool)
    for column in Y.T:  # one (n x n) comparison per objective
        no_worse &= column[:, None] <= column[None]
        better |= column[:, None] < column[None]
    return no_worse & better

def pareto_front(Y):
    """Mask of the points of `Y` that no other point dominates."""
    return ~dominance(Y).any(axis=0)


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def non_dominated_sort(Y):
    """The fronts of `Y` as a list of index arrays: the Pareto front
    first, then the front of the points that remain, and so on."""
    D = dominance(Y)
    count = D.sum(axis=0)  # how many points dominate each point
    fronts, left = [], np.ones(len(D), dtype=bool)
    while left.any():
        front = np.flatnonzero(left & (count == 0))
        fronts.append(front)
        left[front] = False
        count = count - D[front].sum(axis=0)
    return fronts


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def hypervolume(Y, reference):
    """The volume that the points of `Y` (n x m, minimized) dominate up to
    `reference`; points not strictly better than it in every objective add
    nothing. Exact: a sweep in 2-D, slices along the last objective above."""
    Y, reference = d2lhpo.check_objectives(Y, reference)
    P = Y[np.all(Y < reference, axis=1)]
    P = np.unique(P[pareto_front(P)], axis=0)
    if len(P) == 0:
        return 0.0
    if Y.shape[1] == 1:
        return float(reference[0] - P[0, 0])
    if Y.shape[1] == 2:  # the second objective falls as the first grows
        P = P[np.argsort(P[:, 0])]
        heights = np.r_[reference[1], P[:-1, 1]] - P[:, 1]
        return float(np.sum((reference[0] - P[:, 0]) * heights))
    P = P[np.argsort(P[:, -1])]  # the slices lie between these values
    depths = np.diff(np.r_[P[:, -1], reference[-1]])
    return float(sum(d * hypervolume(P[:i + 1, :-1], reference[:-1])
                     for i, d in enumerate(depths) if d > 0))


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
class SimulatedCostsBackend(d2lhpo.SimulatedBackend):
    """A simulated backend whose results also carry `costs`: a dict of
    arrays with one value per configuration of the table, by name."""
    def __init__(self, benchmark, costs, num_workers=4, seed=None,
                 **kwargs):
        super().__init__(benchmark, num_workers, seed, **kwargs)
        self.costs = {name: np.asarray(v, dtype=float)
                      for name, v in costs.items()}
        for name, values in self.costs.items():
            if name in ('error', 'time') or values.shape != (
                    len(benchmark.grid),):
                raise ValueError(f'cost {name!r} needs a name other than '
                                 "'error' and 'time' and one value per "
                                 f'configuration ({len(benchmark.grid)}), '
                                 f'got shape {values.shape}')
        self.trial_costs = {}  # trial id -> its costs

    def start_trial(self, trial):
        i = self.benchmark.index(trial.config)
        self.trial_costs[trial.trial_id] = {
            name: float(values[i]) for name, values in self.costs.items()}
        super().start_trial(trial)

    def next_event(self, until=None):
        event = super().next_event(until)
        if event is not None and event.kind == 'result':
            event.result.update(self.trial_costs[event.trial_id])
        return event


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def scalarize(Y, weights, rho=0.05):
    """Augmented Chebyshev scalarization of the rows of `Y` (minimized),
    each objective first normalized to [0, 1] by its min and max in `Y`."""
    Y = d2lhpo.check_objectives(Y)
    low, high = Y.min(axis=0), Y.max(axis=0)
    WZ = np.asarray(weights) * (Y - low) / np.where(high > low,
                                                     high - low, 1)
    return WZ.max(axis=1) + rho * WZ.sum(axis=1)


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
class RandomScalarization(d2lhpo.HPOSearcher):
    """ParEGO: before each suggestion, `searcher` (model-based) sees the
    augmented Chebyshev scalarization, with weights drawn uniformly from
    the simplex, of the normalized objective vectors of its trials."""
    def __init__(self, searcher, rho=0.05, seed=None):
        if not isinstance(searcher, d2lhpo.ModelBasedSearcher):
            raise TypeError('searcher must be a model-based searcher such '
                            f'as TPESearcher, got {type(searcher).__name__}')
        self.searcher = searcher
        self.rho = d2lhpo.check_number('rho', rho, minimum=0)
        self.rng = np.random.default_rng(d2lhpo.check_seed('seed', seed))
        self.objectives = {}  # trial id -> (level, objective vector)

    def sample_configuration(self, trial_id):
        if self.objectives:
            ids = list(self.objectives)
            Y = np.array([self.objectives[i][1] for i in ids])
            weights = self.rng.dirichlet(np.ones(Y.shape[1]))
            for i, value in zip(ids, scalarize(Y, weights, self.rho)):
                self.searcher.y[self.searcher.fidelity[i][1]] = float(value)
        return self.searcher.sample_configuration(trial_id)

    def update(self, trial_id, config, error, result=None):
        self.searcher.update(trial_id, config, error, result)
        if result is None or not math.isfinite(error):
            return  # failed: the searcher keeps it among its failures
        if 'objectives' not in result:
            raise ValueError("RandomScalarization needs results with "
                             "'objectives': give the tuner a list of metrics")
        level = result.get('epoch') or 0  # as the searcher: highest level
        if level >= self.objectives.get(trial_id, (-1,))[0]:
            self.objectives[trial_id] = (level, list(result['objectives']))


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
class MOTPESearcher(d2lhpo.TPESearcher):
    """TPE whose good set is the first fronts, cut by hypervolume gain."""
    def __init__(self, config_space, seed=None, **kwargs):
        super().__init__(config_space, seed, **kwargs)
        self.objectives = {}  # row of X -> objective vector

    def update(self, trial_id, config, error, result=None):
        super().update(trial_id, config, error, result)
        if result is not None and math.isfinite(error):  # not failed
            if 'objectives' not in result:
                raise ValueError("MOTPESearcher needs 'objectives' in its "
                                 'results: give the tuner a list of metrics')
            level, row = self.fidelity[trial_id]
            if level == (result.get('epoch') or 0):  # its highest so far
                self.objectives[row] = list(result['objectives'])

    def split(self):
        X, y = self.observed()
        Y = np.array([self.objectives[i] for i in range(len(y))])
        num_good = len(super().split()[0])  # TPE's number of good points
        reference = Y.max(axis=0) + 0.1 * np.ptp(Y, axis=0) + 1e-9
        good = []
        for front in non_dominated_sort(Y):
            if 0 < num_good - len(good) < len(front):  # largest gains first
                hv = [hypervolume(np.delete(Y[front], k, axis=0), reference)
                      for k in range(len(front))]
                front = front[np.argsort(hv, kind='stable')]
            good.extend(front[:num_good - len(good)])
        bad = np.setdiff1d(np.arange(len(y)), good)
        return X[good], np.concatenate([X[bad], self.unfinished()])


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def crowding_distance(Y):
    """NSGA-II's crowding distance of each point of a front `Y` (n x m):
    the sum over objectives of the normalized gap between its neighbors;
    the extreme points of each objective get infinity."""
    Y = d2lhpo.check_objectives(Y)
    distance = np.zeros(len(Y))
    for column in Y.T:
        order = np.argsort(column, kind='stable')
        values, span = column[order], column.max() - column.min()
        distance[order[[0, -1]]] = np.inf
        if len(Y) > 2 and span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance

def num_ahead(Y, i):
    """How many points of `Y` rank strictly ahead of point `i`: in an
    earlier front, or in its front with a larger crowding distance."""
    fronts = non_dominated_sort(Y)
    k = next(k for k, front in enumerate(fronts) if i in front)
    distance = crowding_distance(Y[fronts[k]])
    mine = distance[np.flatnonzero(fronts[k] == i)[0]]
    return sum(map(len, fronts[:k])) + int(np.sum(distance > mine))


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
class MOASHAScheduler(d2lhpo.ASHAScheduler):
    """ASHA for several objectives, `kind` 'stopping' or 'promotion': a
    rung ranks its results by non-dominated sorting, then crowding
    distance. Stopping: a trial goes on if fewer than ceil(n / eta) of the
    rung's n results rank ahead of it. Promotion: a paused trial resumes if
    it ranks among the top n // eta."""
    def __init__(self, searcher, eta=3, r_min=1, r_max=27, kind='stopping'):
        super().__init__(searcher, eta, r_min, r_max, kind)
        self.ids = {level: [] for level in self.rungs}  # trial of each row
        self.rank = {}  # level -> {trial: place in rank_order}, until it grows

    def on_trial_result(self, trial, result):
        epoch = result['epoch']
        if epoch in self.rungs or epoch >= self.r_max:
            self.inform_searcher(trial, result)
        if epoch >= self.r_max:
            return d2lhpo.STOP
        if epoch not in self.rungs:
            return d2lhpo.CONTINUE
        rung = self.rungs[epoch]  # objective vectors, in arrival order
        rung.append(result.get('objectives', [result['error']]))
        self.ids[epoch].append(trial.trial_id)
        self.rank.pop(epoch, None)
        if self.kind == 'promotion':
            self.waiting[epoch].append(trial.trial_id)
            return d2lhpo.PAUSE
        ahead = num_ahead(np.array(rung), len(rung) - 1)
        keep = -(-len(rung) // self.eta)  # ceil(n / eta)
        return d2lhpo.CONTINUE if ahead < keep else d2lhpo.STOP

    # Added in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
    def promotable(self, level):
        waiting = self.waiting[level]
        if not waiting:
            return None
        top = len(self.rungs[level]) // self.eta  # how many may go on
        if level not in self.rank:
            rows = rank_order(np.array(self.rungs[level]), top)
            self.rank[level] = {self.ids[level][r]: k for k, r in enumerate(rows)}
        place = lambda trial_id: self.rank[level].get(trial_id, top)
        waiting.sort(key=place)  # suggest promotes waiting[0]
        return waiting[0] if place(waiting[0]) < top else None


# Defined in chapter_hpo/multi_objective.md (:numref:`sec_multi_objective`)
def rank_order(Y, top=None):
    """The rows of `Y`, best first: front by front, and within a front by
    decreasing crowding distance of its distinct vectors; ties go to the
    earlier row. With `top`, only the fronts that hold the first `top`."""
    order = []
    for front in non_dominated_sort(Y):
        if top is not None and len(order) >= top:
            break
        distinct, which = np.unique(Y[front], axis=0, return_inverse=True)
        distance = crowding_distance(distinct)[which.ravel()]
        order.extend(front[np.argsort(-distance, kind='stable')].tolist())
    return order


# Defined in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
import math

import numpy as np
import torch


# Defined in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
class ConstrainedBayesOptSearcher(d2lhpo.BayesOptSearcher):
    """Constrained EI: log EI over the best feasible observation plus the
    log probability that each constraint (its own GP) is <= 0; before the
    first feasible observation, that log probability alone."""
    def __init__(self, config_space, seed=None, min_noise=1e-8, **kwargs):
        super().__init__(config_space, seed, acquisition='ei', **kwargs)
        self.gp.min_noise = d2lhpo.check_positive('min_noise', min_noise)
        self.gp.ftol = 1e-7  # about the precision of its numbers (see text)
        self.constraint_values = {}  # row of X and y -> its constraints
        self.constraint_gps = []     # one GP per constraint, kept between fits

    def update(self, trial_id, config, error, result=None):
        super().update(trial_id, config, error, result)
        if result is None or not math.isfinite(error):
            return  # failed: the base class keeps it among its failures
        if 'constraints' not in result:
            raise ValueError(f'{type(self).__name__} needs results with '
                             "'constraints': give the tuner constraints=")
        level, row = self.fidelity[trial_id]
        if level == (result.get('epoch') or 0):  # the row took this result
            self.constraint_values[row] = list(result['constraints'])

    # Added in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
    def propose(self):
        X, y = self.observed()
        C = np.array([self.constraint_values[i] for i in range(len(y))])
        self.X_feasible = X[np.all(C <= 0, axis=1)]  # NaN: infeasible
        while len(self.constraint_gps) < C.shape[1]:
            self.constraint_gps.append(d2lhpo.GaussianProcess(
                self.gp.kernel, min_noise=self.gp.min_noise, ftol=self.gp.ftol))
        self.zeros = []  # where each standardized constraint value is 0
        for gp, c in zip(self.constraint_gps, C.T):
            seen = c[~np.isnan(c)]
            fill = seen.max() if len(seen) and seen.max() > 0 else 1.0
            z, center, scale = d2lhpo.standardize(np.nan_to_num(c, nan=fill))
            if gp.X is None or len(y) % 5 == 0:  # hyperparameters: refit
                gp.fit(X, z, restart=gp.X is not None)
            else:  # new data, the last hyperparameters
                gp.condition(X, z)
            self.zeros.append(-center / scale)
        self.best_feasible = None  # the incumbent, at the first acquisition
        return d2lhpo.BayesOptSearcher.propose(self)

    # Added in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
    def acquisition_function(self, U):
        log_pf = 0.0
        for gp, zero in zip(self.constraint_gps, self.zeros):
            mean, var = gp.predict(U)
            log_pf = log_pf + torch.special.log_ndtr((zero - mean) / var.sqrt())
        if not len(self.X_feasible):
            return log_pf
        if self.best_feasible is None:  # the lowest mean at a feasible point
            with torch.no_grad():
                self.best_feasible = self.gp.predict(self.X_feasible)[0].min()
        mean, var = self.gp.predict(U)
        return (d2lhpo.log_expected_improvement(mean, var.sqrt(),
                                                self.best_feasible) + log_pf)


# Defined in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
class ConstrainedTPESearcher(d2lhpo.TPESearcher):
    """TPE whose ranking puts the feasible observations first (by error),
    then the infeasible ones (by their violation)."""
    def __init__(self, config_space, seed=None, **kwargs):
        super().__init__(config_space, seed, **kwargs)
        self.violations = {}  # row of X and y -> its violation

    def update(self, trial_id, config, error, result=None):
        super().update(trial_id, config, error, result)
        if result is not None and math.isfinite(error):
            if 'violation' not in result:
                raise ValueError(f'{type(self).__name__} needs results with '
                                 "'violation': give the tuner constraints=")
            level, row = self.fidelity[trial_id]
            if level == (result.get('epoch') or 0):
                self.violations[row] = result['violation']

    def split(self):
        X, y = self.observed()
        violation = np.array([self.violations[i] for i in range(len(y))])
        num_good = min(max(int(np.ceil(self.gamma * len(y))),
                           self.min_good), self.max_good)
        order = np.lexsort((y, violation))  # by violation, then by error
        bad = np.concatenate([X[order[num_good:]], self.unfinished()])
        return X[order[:num_good]], bad


# Defined in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
class CostAwareBayesOptSearcher(d2lhpo.BayesOptSearcher):
    """EI per unit cost: log EI minus the log cost predicted by a GP on
    the log of the cost that the results report under the key `cost`."""
    def __init__(self, config_space, seed=None, cost='cost', **kwargs):
        super().__init__(config_space, seed, acquisition='ei', **kwargs)
        if not isinstance(cost, str) or not cost:
            raise TypeError(f'cost must be a key of the results, got {cost!r}')
        self.cost, self.log_costs = cost, {}  # row of X and y -> log cost

    def update(self, trial_id, config, error, result=None):
        super().update(trial_id, config, error, result)
        if result is None or not math.isfinite(error):
            return
        if self.cost not in result:
            raise KeyError(f'{type(self).__name__} reads the cost from the '
                           f'key {self.cost!r}, which the result lacks: '
                           f'{sorted(result)}')
        value = d2lhpo.check_positive(f'the cost {self.cost!r}',
                                      result[self.cost])
        level, row = self.fidelity[trial_id]
        if level == (result.get('epoch') or 0):
            self.log_costs[row] = math.log(value)

    # Added in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
    def propose(self):
        X, y = self.observed()
        log_cost = [self.log_costs[i] for i in range(len(y))]
        z, self.cost_center, self.cost_scale = d2lhpo.standardize(log_cost)
        self.cost_model = d2lhpo.GaussianProcess(self.gp.kernel).fit(X, z)
        return d2lhpo.BayesOptSearcher.propose(self)

    # Added in chapter_hpo/constrained_cost.md (:numref:`sec_constrained_cost`)
    def acquisition_function(self, U):
        mean, _ = self.cost_model.predict(U)  # of the standardized log cost
        return (d2lhpo.BayesOptSearcher.acquisition_function(self, U)
                - (self.cost_center + self.cost_scale * mean))


# Defined in chapter_hpo/hpo_in_practice.md (:numref:`sec_hpo_in_practice`)
import numpy as np
import pandas as pd


# Defined in chapter_hpo/hpo_in_practice.md (:numref:`sec_hpo_in_practice`)
def range_check(tuner, config_space, top=5, margin=0.1):
    """Where the best trial and the mean of the `top` best lie in each
    numerical range, on its own scale from 0 to 1; 'edge' names the end
    that the best trial is within `margin` of."""
    domains = d2lhpo.parse_config_space(config_space)
    best = sorted((t for t in tuner.records if np.isfinite(t.error)),
                  key=lambda t: t.error)[:top]
    rows = {}
    for name, d in domains.items():
        if d.kind in ('float', 'int') and d.low < d.high:
            scale = np.log if d.log else (lambda v: v)
            pos = [(scale(t.config[name]) - scale(d.low))
                   / (scale(d.high) - scale(d.low)) for t in best]
        elif d.kind == 'categorical' and len(d.choices) > 2 and all(
                isinstance(c, (int, float)) for c in d.choices):
            order = sorted(d.choices)  # numbers in a list: their ranks
            pos = [order.index(t.config[name]) / (len(order) - 1)
                   for t in best]
        else:
            continue
        edge = ('high' if pos[0] >= 1 - margin else
                'low' if pos[0] <= margin else '')
        rows[name] = {'best': pos[0], f'top {len(best)}': np.mean(pos),
                      'edge': edge}
    return pd.DataFrame.from_dict(rows, orient='index')


# Defined in chapter_hpo/pbt.md (:numref:`sec_pbt`)
import copy
import glob
import math
import os
import shutil

import numpy as np


# Defined in chapter_hpo/pbt.md (:numref:`sec_pbt`)
def check_factors(factors):
    """The perturbation factors: a non-empty list of positive numbers."""
    if not isinstance(factors, (list, tuple)) or not factors:
        raise ValueError('perturbation_factors must be a non-empty list of '
                         f'positive numbers, got {factors!r}')
    return [d2lhpo.check_positive('perturbation_factors', f) for f in factors]


# Defined in chapter_hpo/pbt.md (:numref:`sec_pbt`)
class PBTScheduler(d2lhpo.BasicScheduler):
    """Population based training on trials that save checkpoints."""
    def __init__(self, searcher_or_space, population_size,
                 perturbation_interval, quantile_fraction=0.25,
                 resample_probability=0.25, perturbation_factors=(0.8, 1.2),
                 max_t=None, synchronous=True, seed=None):
        searcher = searcher_or_space  # or a config space: random search
        if isinstance(searcher, dict):
            searcher = d2lhpo.RandomSearcher(searcher, seed=seed)
        super().__init__(searcher)
        self.population_size = d2lhpo.check_integer(
            'population_size', population_size, 2)
        self.interval = d2lhpo.check_integer(
            'perturbation_interval', perturbation_interval, 1)
        self.quantile = d2lhpo.check_number(
            'quantile_fraction', quantile_fraction, 0, 0.5)
        if self.quantile == 0:
            raise ValueError('quantile_fraction must be in (0, 0.5], got 0')
        self.resample_probability = d2lhpo.check_number(
            'resample_probability', resample_probability, 0, 1)
        self.factors = check_factors(perturbation_factors)
        self.max_t = (None if max_t is None
                      else d2lhpo.check_integer('max_t', max_t, 1))
        self.synchronous = d2lhpo.check_flag('synchronous', synchronous)
        self.rng = np.random.default_rng(d2lhpo.check_seed('seed', seed))
        self.members, self.trials = {}, {}  # member -> trial; id -> trial
        self.founded = 0      # members sampled from the searcher so far
        self.pending = {}     # suggested trial id -> (member, source, epoch)
        self.children = []    # (member, config, source, epoch) to start
        self.vacant = []      # members whose trial failed: sampled anew
        self.retired = set()  # trials that a child replaced
        self.released = set()  # retired trials whose files are deleted
        self.lineage = {}     # trial id -> (member, source id, epoch)
        self.scores = {}      # trial id -> error at its last perturbation
        self.generation = 0   # epoch of the last synchronous selection
        self.copy_errors = {}  # child's trial id -> why its copy failed
        self.told = set()     # trials whose end the searcher learned

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def suggest(self, trial_id):
        if self.children:
            member, config, source, epoch = self.children.pop(0)
            self.pending[trial_id] = (member, source, epoch)
            return config
        if self.vacant or self.founded < self.population_size:
            config = self.searcher.sample_configuration(trial_id)
            if config is not None:
                if self.vacant:
                    member = self.vacant.pop(0)
                else:
                    member, self.founded = self.founded, self.founded + 1
                self.pending[trial_id] = (member, None, 0)
                return config
            self.population_size, self.vacant = self.founded, []  # no more
            if self.synchronous and self.end_generation():
                return self.suggest(trial_id)  # a child, if the selection made one
        self.release_retired()
        live = [t for t in self.members.values() if t.trial_id not in self.retired]
        paused = [t for t in live if t.status == 'paused']
        behind = [t.epochs for t in live if t.status == 'running']
        if not paused or min(behind + [math.inf]) < min(t.epochs for t in paused):
            return None  # (on workers, wait for the running members to catch up)
        return d2lhpo.Resume(min(paused, key=lambda t: (t.epochs, t.trial_id))
                             .trial_id)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def on_trial_start(self, trial):
        if trial.trial_id in self.trials:  # a resumed trial
            return
        if trial.checkpoint is None:
            raise ValueError('PBTScheduler needs an objective with a '
                             '`checkpoint` parameter (and a tuner or backend '
                             'that gives it a file): a member that exploits '
                             "continues from another member's checkpoint")
        member, source, epoch = self.pending.pop(trial.trial_id)
        self.members[member] = self.trials[trial.trial_id] = trial
        self.lineage[trial.trial_id] = (
            member, None if source is None else source.trial_id, epoch)
        if source is not None:
            trial.epochs = epoch  # it continues after the source's epochs
            state = (source.checkpoint if self.synchronous  # paused there
                     else f'{source.checkpoint}.epoch{epoch}')  # its snapshot
            target = f'{trial.checkpoint}.epoch{epoch}'
            try:
                if os.path.lexists(target):  # a stale file in a reused folder
                    os.remove(target)
                d2lhpo.copy_atomically(state, target)
            except OSError as err:  # the child fails alone, and says why
                self.copy_errors[trial.trial_id] = f'{type(err).__name__}: {err}'

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def on_trial_result(self, trial, result):
        if not self.synchronous and len(self.trials) == 1 < self.population_size:
            raise ValueError('PBTScheduler(synchronous=False) ranks members that '
                             'train side by side: run it on AsyncTuner with a '
                             'worker per member (on HPOTuner, use synchronous=True)')
        epoch = result['epoch']
        if self.max_t is not None and epoch >= self.max_t:
            self.inform_searcher(trial, result)  # the tuner ends it silently
            return d2lhpo.STOP  # trained to the end
        if (epoch - self.lineage[trial.trial_id][2]) % self.interval:
            return d2lhpo.CONTINUE  # (counted from the epoch the trial started at)
        self.scores[trial.trial_id] = trial.error
        if not self.synchronous:
            return self.select_one(trial)
        self.end_generation(trial)
        return d2lhpo.PAUSE

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def end_generation(self, trial=None):
        """`select` once all live members stand paused at one epoch (`trial`,
        which reports, counts as paused); return whether it did."""
        live = [t for t in self.members.values() if t.trial_id not in
                self.retired and t.status in ('running', 'paused')]
        epochs = {t.epochs for t in live}
        if (self.founded < self.population_size or self.pending or self.children
                or self.vacant or len(epochs) != 1 or epochs == {self.generation}
                or any(t is not trial and t.status != 'paused' for t in live)):
            return False
        self.generation = epochs.pop()
        self.select(live, self.generation)
        return True

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def ranked(self, trials):
        """`trials` best score first, and the size of a quantile."""
        ranked = sorted(trials, key=lambda t: (self.scores[t.trial_id], t.trial_id))
        return ranked, min(math.ceil(len(ranked) * self.quantile), len(ranked) // 2)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def select(self, live, epoch):
        """Truncation selection among the `live` trials, all at `epoch`."""
        ranked, k = self.ranked(live)
        for trial in ranked[len(ranked) - k:]:
            self.replace(trial, self.exploit(trial, ranked[:k]))

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def select_one(self, trial):
        """The asynchronous rule: STOP `trial` for a child if its score is in
        the bottom quantile of the running members' scores."""
        live = [t for t in self.members.values() if t.status == 'running' and
                t.trial_id not in self.retired and t.trial_id in self.scores and
                math.isfinite(self.scores[t.trial_id])]
        ranked, k = self.ranked(live)
        if trial.trial_id not in [t.trial_id for t in ranked[len(ranked) - k:]]:
            return d2lhpo.CONTINUE
        self.replace(trial, self.exploit(trial, ranked[:k]))
        return d2lhpo.STOP

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def replace(self, trial, source):
        """Retire `trial`; its member continues as a child of `source`."""
        self.retired.add(trial.trial_id)
        self.inform_searcher(trial, {'error': trial.error, 'epoch': trial.epochs})
        self.children.append((self.lineage[trial.trial_id][0],
                              self.explore(source.config), source, source.epochs))

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def exploit(self, trial, top):
        """The trial whose state `trial`'s member copies: one of `top`."""
        return top[int(self.rng.integers(len(top)))]

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def explore(self, config):
        """A perturbed copy of `config`."""
        new = {}
        for name, value in config.items():
            domain = self.searcher.domains.get(name)
            if domain is None or domain.kind == 'constant':
                new[name] = copy.deepcopy(value)
            elif self.rng.random() < self.resample_probability:
                new[name] = domain.sample(self.rng)
            elif domain.kind == 'categorical':  # a neighbouring choice
                i = domain.choices.index(value) + self.rng.choice([-1, 1])
                i = min(max(i, 0), len(domain.choices) - 1)
                new[name] = copy.deepcopy(domain.choices[i])
            else:
                factor = self.factors[int(self.rng.integers(len(self.factors)))]
                new[name] = domain.snap(value * factor)
                step = domain.step or (domain.kind == 'int')  # a grid's step
                if new[name] == value and step and factor != 1:  # move a step
                    new[name] = domain.snap(value + math.copysign(step, factor - 1))
        return new

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def inform_searcher(self, trial, result):
        if trial.trial_id not in self.told:  # once per trial
            self.told.add(trial.trial_id)
            d2lhpo.BasicScheduler.inform_searcher(self, trial, result)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def on_trial_complete(self, trial, result):
        if result is None and math.isfinite(trial.error):  # ended after a pause
            result = {'error': trial.error, 'epoch': trial.epochs}
        if result is not None:  # a child that trained nothing tells nothing
            self.inform_searcher(trial, result)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def retired_trials(self):
        return frozenset(self.retired)  # the tuner frees their paused state

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def release_retired(self):
        """Delete the checkpoint files of the retired trials that no child
        still has to copy."""
        sources = {s.trial_id for _, _, s, _ in self.children} | {
            s.trial_id for _, s, _ in self.pending.values() if s is not None}
        for trial_id in self.retired - self.released - sources:
            path = self.trials[trial_id].checkpoint
            for name in glob.glob(glob.escape(path) + '*'):
                os.remove(name)
            self.released.add(trial_id)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def on_trial_error(self, trial, message):
        if trial.trial_id in self.copy_errors:  # it had no state to start from
            trial.message += f' (copy failed: {self.copy_errors[trial.trial_id]})'
        member = self.lineage.get(trial.trial_id, (None,))[0]
        if member is not None and self.members[member] is trial:
            self.vacant.append(member)  # it starts afresh from the searcher
        self.inform_searcher(trial, None)

    # Added in chapter_hpo/pbt.md (:numref:`sec_pbt`)
    def schedule(self, trial_id):
        """The configuration in force at each epoch of `trial_id` (a list,
        epoch 1 first), the epochs it inherited included."""
        member, source, epoch = self.lineage[trial_id]
        head = [] if source is None else self.schedule(source)[:epoch]
        trial = self.trials[trial_id]
        return head + [trial.config] * (trial.epochs - epoch)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
import copy
import dataclasses
import functools
import gzip
import math
import numbers
import os
import random
import struct

import numpy as np
import torch
from scipy import stats


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def check_integer(name, value, minimum=None):
    """Return `value` as an int; a ValueError naming `name` unless it is an
    integer (not a bool) of at least `minimum`."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or (minimum is not None and value < minimum)):
        bound = '' if minimum is None else f' >= {minimum}'
        raise ValueError(f'{name} must be an integer{bound}, got {value!r}')
    return int(value)

def check_positive(name, value, allow_none=False):
    """Return `value` as a float; a ValueError naming `name` unless it is a
    finite real number > 0 (or None, if `allow_none`)."""
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not value > 0):
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def check_number(name, value, minimum=None, maximum=None,
                 allow_none=False):
    """Return `value` as a float; a ValueError naming `name` unless it is a
    finite real number in [minimum, maximum] (or None, if `allow_none`)."""
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        lo = '-inf' if minimum is None else minimum
        hi = 'inf' if maximum is None else maximum
        raise ValueError(f'{name} must be a finite number in [{lo}, {hi}], '
                         f'got {value!r}')
    return float(value)

def check_fraction(name, value, include_one=False):
    """Return `value` as a float; a ValueError unless 0 < value < 1 (or
    0 < value <= 1, if `include_one`)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not (0 < value < 1 or (include_one and value == 1))):
        shown = '(0, 1]' if include_one else '(0, 1)'
        raise ValueError(f'{name} must be a number in {shown}, got {value!r}')
    return float(value)

def check_seed(name, value):
    """Return `value`: None or a non-negative integer (not a bool)."""
    return None if value is None else check_integer(name, value, minimum=0)

def check_flag(name, value):
    """Return `value` as a bool; a ValueError unless it is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be True or False, got {value!r}')
    return bool(value)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
ROLE_METHODS = {
    'searcher': ('sample_configuration', 'update'),
    'scheduler': ('suggest', 'on_trial_start', 'on_trial_result',
                  'on_trial_complete', 'on_trial_error'),
    'backend': ('time', 'set_time', 'free_worker', 'start_trial',
                'stop_trial', 'next_event', 'close'),
    'objective': ('__call__',)}

def check_component(name, value, role=None, allow_none=False):
    """Return `value`; a TypeError naming `name` unless it has the methods
    of `role` (by default `name`) in ROLE_METHODS (or is None, if
    `allow_none`)."""
    if value is None and allow_none:
        return None
    methods = ROLE_METHODS[role or name]
    if isinstance(value, type) and methods:  # a class, not an instance
        raise TypeError(f'{name} must be an instance, got the class '
                        f'{value.__name__}; call it: {value.__name__}(...)')
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise TypeError(f'{name} must provide {", ".join(methods)} (the '
                        f'{role or name} role); got a '
                        f'{type(value).__name__} without {", ".join(missing)}')
    return value


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
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


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
FASHION_MNIST_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}

def _find_idx_file(data_dir, name):
    """The path of IDX file `name` (or `name.gz`) in `data_dir`."""
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


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def load_fashion_mnist(data_dir=os.path.join('..', 'data', 'fashion-mnist'),
                       num_val=10000):
    """Load Fashion-MNIST from its IDX files in `data_dir`.

    The last `num_val` images of a fixed permutation (seed 0) of the
    training files form the validation split; the test files are the test
    split. Images are scaled to [0, 1] with shape (1, 28, 28).
    """
    num_val = check_integer('num_val', num_val, minimum=1)
    splits = {}
    for split, (images, labels) in FASHION_MNIST_FILES.items():
        X = read_idx(_find_idx_file(data_dir, images))
        y = read_idx(_find_idx_file(data_dir, labels)).astype(np.int64)
        if len(X) != len(y):
            raise ValueError(f'{split}: {len(X)} images but {len(y)} labels')
        X = X.astype(np.float32)[:, None] / 255.0
        splits[split] = (torch.tensor(X), torch.tensor(y))
    X, y = splits['train']
    if num_val >= len(y):
        raise ValueError(f'num_val={num_val} must be below the {len(y)} '
                         'training images')
    perm = torch.tensor(np.random.default_rng(0).permutation(len(y)))
    train, val = perm[:-num_val], perm[-num_val:]
    return d2lhpo.DataSplits('fashion-mnist', (X[train], y[train]),
                             (X[val], y[val]), splits['test'])


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
@functools.lru_cache(maxsize=None)
def _mnist1d_arrays(num_samples, num_val, num_test, seed):
    """MNIST-1D as numpy arrays, generated and split once per process."""
    from mnist1d.data import get_dataset_args, make_dataset
    from sklearn.model_selection import train_test_split
    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    states = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:  # make_dataset seeds the global generators: restore them
        np.random.set_state(states[0])
        random.setstate(states[1])
    X = np.concatenate([data['x'], data['x_test']]).astype(np.float32)
    y = np.concatenate([data['y'], data['y_test']]).astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X[:, None, :], y, test_size=num_test, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=num_val, stratify=y_rest, random_state=0)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def load_mnist1d(num_samples=10_000, num_val=1_000, num_test=1_000,
                 seed=42):
    """MNIST-1D with a fixed, stratified split: signals of shape (1, 40),
    standardized by the generator; labels 0 to 9. Fresh tensors each call."""
    num_samples = check_integer('num_samples', num_samples, minimum=100)
    num_val = check_integer('num_val', num_val, minimum=10)
    num_test = check_integer('num_test', num_test, minimum=10)
    seed = check_seed('seed', seed)
    if num_val + num_test >= num_samples:
        raise ValueError(f'num_val + num_test = {num_val + num_test} must be '
                         f'below num_samples = {num_samples}')
    splits = [(torch.tensor(X), torch.tensor(y)) for X, y in
              _mnist1d_arrays(num_samples, num_val, num_test, seed)]
    return d2lhpo.DataSplits('mnist1d', *splits)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _frozen_params(name, spec, names):
    """The parameters of a frozen scipy distribution, by name, each one
    real number (a ValueError naming hyperparameter `name` otherwise)."""
    params = dict(zip(names, spec.args))
    params.update(spec.kwds)
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f'hyperparameter {name!r}: {key}={value!r} must '
                             'be one real number')
    return params


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _scipy_bounds(name, spec):
    """(kind, low, high, log) of the scipy distribution `spec`."""
    family = getattr(getattr(spec, 'dist', None), 'name', None)
    if family == 'uniform':
        p = _frozen_params(name, spec, ('loc', 'scale'))
        low = p.get('loc', 0.0)
        return 'float', low, low + p.get('scale', 1.0), False
    if family in ('loguniform', 'reciprocal'):
        p = _frozen_params(name, spec, ('a', 'b', 'loc', 'scale'))
        if p.get('loc', 0) != 0 or p.get('scale', 1) != 1:
            raise ValueError(f'hyperparameter {name!r}: loguniform with '
                             'loc or scale is not supported')
        if not p['a'] > 0:
            raise ValueError(f'hyperparameter {name!r}: a log-scale range '
                             f'needs bounds > 0, got lower bound {p["a"]}')
        return 'float', p['a'], p['b'], True
    if family == 'randint':
        p = _frozen_params(name, spec, ('low', 'high', 'loc'))
        if not all(isinstance(p.get(k, 0), numbers.Integral)
                   for k in ('low', 'high', 'loc')):
            raise ValueError(f'hyperparameter {name!r}: randint needs '
                             f'integer bounds, got {spec.args}')
        loc = p.get('loc', 0)  # randint excludes `high`
        return 'int', p['low'] + loc, p['high'] + loc - 1, False
    shown = f'scipy.stats.{family}' if family else type(spec).__name__
    raise ValueError(
        f'hyperparameter {name!r}: unsupported domain {shown}; use '
        'stats.uniform, stats.loguniform, stats.randint, '
        'd2lhpo.loguniform_int, d2lhpo.quantized, a non-empty list of '
        'choices, or a constant')


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _check_range(name, kind, low, high, log):
    """Raise a ValueError naming `name` unless [low, high] is a range that
    float64 arithmetic can represent."""
    shown = f'[{low}, {high}]' if kind == 'float' else f'integers {low}..{high}'
    if kind == 'int' and max(abs(low), abs(high)) > 2 ** 53:
        problem = ('integers beyond 2**53 cannot be represented exactly in '
                   'float64')
    elif not all(abs(v) < math.inf for v in (low, high)):
        problem = 'the bounds must be finite numbers'
    elif low > high or (kind == 'float' and low == high):
        problem = ('empty or reversed range; the lower bound must be below '
                   'the upper')
    elif log and low < np.finfo(np.float64).tiny:
        problem = ('a log scale needs a lower bound of at least 2.2e-308, '
                   'the smallest normal float64')
    elif log and not high / low < math.inf:
        problem = ('high / low overflows float64; a log scale can span at '
                   'most 308 decades')
    else:
        return
    raise ValueError(f'hyperparameter {name!r}: {shown}: {problem}')


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def loguniform_int(low, high):
    """The integers low, ..., high (both included) on a log scale."""
    return d2lhpo.Domain(None, 'int', low, high, log=True)

@dataclasses.dataclass(frozen=True)
class Quantized:
    """The range `spec` restricted to low, low + step, ..., high."""
    spec: object
    step: float

def quantized(spec, step):
    """The values low, low + step, ..., high of a stats.uniform or
    stats.randint range `spec` (a whole number of steps)."""
    return Quantized(spec, step)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _checked_domain(name, domain):
    """A numerical Domain (as loguniform_int makes), checked and named."""
    if domain.kind not in ('float', 'int'):
        raise ValueError(f'hyperparameter {name!r}: a Domain given as a '
                         f"domain must be 'float' or 'int', got {domain}")
    kind, low, high = domain.kind, domain.low, domain.high
    integral = numbers.Integral if kind == 'int' else numbers.Real
    if not all(isinstance(v, integral) and not isinstance(v, bool)
               for v in (low, high)):
        raise ValueError(f'hyperparameter {name!r}: {kind} bounds must be '
                         f'{integral.__name__} numbers, got {low!r}, {high!r}')
    if domain.log and kind == 'int' and low < 1:
        raise ValueError(f'hyperparameter {name!r}: integers on a log scale '
                         f'need a lower bound of at least 1, got {low}')
    _check_range(name, kind, low, high, domain.log)
    cast = float if kind == 'float' else int
    checked = dataclasses.replace(domain, name=name, low=cast(low),
                                  high=cast(high), step=None)
    return checked if domain.step is None else _quantized(name, checked,
                                                          domain.step)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _quantized(name, domain, step):
    """`domain`, a checked range, restricted to low, low + step, ..."""
    if domain.kind not in ('float', 'int') or domain.log or domain.step:
        raise ValueError(f'hyperparameter {name!r}: quantized needs a '
                         'stats.uniform or stats.randint range, without a '
                         f'log scale or a step, got {domain}')
    integral = numbers.Integral if domain.kind == 'int' else numbers.Real
    if (isinstance(step, bool) or not isinstance(step, integral)
            or not 0 < step < math.inf):
        raise ValueError(f'hyperparameter {name!r}: the step must be a '
                         f'positive {integral.__name__} number, got {step!r}')
    steps = (domain.high - domain.low) / step
    if not (steps >= 1 - 1e-9 and abs(steps - round(steps)) <= 1e-9 * steps):
        raise ValueError(f'hyperparameter {name!r}: [{domain.low}, '
                         f'{domain.high}] is not a whole number of steps of '
                         f'{step}; adjust the bounds or the step')
    return dataclasses.replace(domain, step=(float if domain.kind == 'float'
                                             else int)(step))


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
@dataclasses.dataclass(frozen=True)
class Conditional:
    """The domain `spec`, active only where the hyperparameter `parent`
    takes one of `values` (a non-empty list)."""
    spec: object
    parent: str
    values: tuple

_MISSING = object()

def active(domain, config):
    """Whether the hyperparameter of `domain` is active in `config`, a
    configuration without its inactive hyperparameters."""
    if domain.parent is None:
        return True
    value = config.get(domain.parent, _MISSING)  # True == 1: compare types
    return any(value == v and isinstance(value, bool) == isinstance(v, bool)
               for v in domain.parent_values)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def make_domain(name, spec):
    """Check the domain `spec` of hyperparameter `name`; return a Domain."""
    if isinstance(spec, d2lhpo.Domain):  # as loguniform_int returns
        return _checked_domain(name, spec)
    if isinstance(spec, Quantized):
        return _quantized(name, make_domain(name, spec.spec), spec.step)
    if isinstance(spec, Conditional):  # the parent is checked by the space
        return _conditional(name, spec)
    if isinstance(spec, (list, tuple)):
        if len(spec) == 0:
            raise ValueError(f'hyperparameter {name!r}: the list of '
                             'categorical choices is empty')
        return d2lhpo.Domain(name, 'categorical',
                             choices=tuple(copy.deepcopy(spec)))
    if isinstance(spec, numbers.Number) and not (
            isinstance(spec, numbers.Real) and spec == spec):  # NaN != NaN
        raise ValueError(f'hyperparameter {name!r}: a constant must not be '
                         f'NaN or complex, got {spec!r}')
    if isinstance(spec, (bool, numbers.Number, str)):
        return d2lhpo.Domain(name, 'constant', choices=(spec,))
    kind, low, high, log = _scipy_bounds(name, spec)
    _check_range(name, kind, low, high, log)
    cast = float if kind == 'float' else int
    return d2lhpo.Domain(name, kind, cast(low), cast(high), log)


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
RESERVED_NAMES = ('checkpoint', 'config', 'end_time', 'epoch',
                  'epochs', 'error', 'message', 'runtime', 'start_time',
                  'status', 'time', 'trial_id', 'worker')

def parse_config_space(config_space):
    """Check a configuration space; return a dict of name -> Domain."""
    if not isinstance(config_space, dict) or not config_space:
        raise ValueError('the configuration space must be a non-empty dict '
                         f'of name -> domain, got {config_space!r}')
    for name in config_space:
        if not isinstance(name, str) or not name:
            raise ValueError(f'hyperparameter names must be strings, not '
                             f'empty, got {name!r}')
        if name in RESERVED_NAMES:
            raise ValueError(f'hyperparameter {name!r}: the name is reserved '
                             f'for the books of a run (reserved: '
                             f'{", ".join(RESERVED_NAMES)}); rename it')
    return _parents_first({name: make_domain(name, spec)
                           for name, spec in config_space.items()})


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _conditional(name, spec):
    """The Domain of a Conditional `spec`, with its condition."""
    parent, values = spec.parent, spec.values
    if not isinstance(parent, str) or parent == name:
        raise ValueError(f'hyperparameter {name!r}: the parent of a '
                         'condition must be the name of another '
                         f'hyperparameter, got {parent!r}')
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f'hyperparameter {name!r}: the values of a '
                         f'condition must be a non-empty list, got {values!r}')
    if isinstance(spec.spec, Conditional):
        raise ValueError(f'hyperparameter {name!r}: give one Conditional, '
                         'not one inside another; condition the parent')
    return dataclasses.replace(make_domain(name, spec.spec), parent=parent,
                               parent_values=tuple(copy.deepcopy(values)))


# Defined in chapter_appendix/data_and_spaces.md (:numref:`sec_appendix_data_spaces`)
def _parents_first(domains):
    """The domains, checked conditions, every parent before its children."""
    ordered, path = {}, []
    def visit(name):
        if name in path:
            cycle = ' -> '.join(path[path.index(name):] + [name])
            raise ValueError(f'the conditions form a cycle: {cycle}')
        domain = domains[name]
        if name in ordered:
            return
        path.append(name)
        if domain.parent is not None:
            if domain.parent not in domains:
                raise ValueError(f'hyperparameter {name!r}: its parent '
                                 f'{domain.parent!r} is not in the space')
            parent = domains[domain.parent]
            outside = [v for v in domain.parent_values
                       if not parent.contains(v)]
            if outside:
                raise ValueError(f'hyperparameter {name!r}: condition values '
                                 f'{outside} are outside the domain of '
                                 f'{domain.parent!r}, {parent}')
            visit(domain.parent)
        ordered[path.pop()] = domain
    for name in domains:
        visit(name)
    return ordered


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
import copy
import inspect
import math
import numbers
import sys
import threading
import time

import numpy as np
import torch
from matplotlib import pyplot as plt, ticker
from scipy import stats
from tqdm import tqdm


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
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
    for name, domain in domains.items():  # parents first
        if not d2lhpo.active(domain, checked):
            if name in config:
                raise ValueError(
                    f'hyperparameter {name!r} is inactive: it exists only '
                    f'when {domain.parent!r} is one of '
                    f'{list(domain.parent_values)}; leave it out')
        elif name not in config:
            if domain.kind != 'constant':
                raise ValueError(f'hyperparameter {name!r} is missing')
            checked[name] = domain.choices[0]
        elif not domain.contains(config[name]):
            raise ValueError(f'hyperparameter {name!r}: {config[name]!r} is '
                             f'outside its domain {domain}')
        else:
            checked[name] = copy.deepcopy(config[name])
    return checked


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def start_points(domains, points_to_evaluate=None, initial_config=None):
    """Checked copies of the configurations that a searcher tries first:
    the list `points_to_evaluate`, or `[initial_config]`."""
    if initial_config is not None:
        if points_to_evaluate is not None:
            raise ValueError('give initial_config or points_to_evaluate, '
                             'not both')
        points_to_evaluate, shown = [initial_config], 'initial_config'
    else:
        shown = 'points_to_evaluate[{}]'
    if points_to_evaluate is None:
        return []
    if not isinstance(points_to_evaluate, (list, tuple)):
        raise ValueError('points_to_evaluate must be a list of '
                         f'configurations (dicts), got {points_to_evaluate!r}')
    points = []
    for i, config in enumerate(points_to_evaluate):
        try:
            points.append(check_config(domains, config))
        except ValueError as err:
            raise ValueError(f'{shown.format(i)}: {err}') from None
    return points


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def warm_start_pair(i, pair, domains):
    """(checked configuration, value) of the pair `data[i]` of warm-start
    data, or None for a failed trial (a value None, NaN or infinite)."""
    if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
        raise ValueError(f'warm-start data[{i}] must be a (config, value) '
                         f'pair, got {pair!r}')
    config, value = pair
    if value is None or (isinstance(value, numbers.Real) and not
                         isinstance(value, bool) and not math.isfinite(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f'warm-start data[{i}]: the value must be a '
                         f'number, got {value!r}')
    try:
        return check_config(domains, config), float(value)
    except ValueError as err:
        raise ValueError(f'warm-start data[{i}]: {err}') from None


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def table_config(row, domains):
    """The configuration in a table's `row` (a dict) of the hyperparameters
    of `domains`; missing values of conditional ones are left out."""
    config = {}
    for name, domain in domains.items():
        value = row.get(name)
        if name not in row or domain.parent is not None and (value is None or (
                isinstance(value, float) and math.isnan(value))):
            continue  # not in the table, or inactive in this trial
        if (domain.parent is not None and domain.kind == 'int'
                and isinstance(value, float) and value.is_integer()):
            value = int(value)
        config[name] = value
    return config


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def warm_start_data(data, domains, metric='error', mode='min'):
    """(checked configurations, errors to minimize) of earlier results: a
    DataFrame with a column per hyperparameter and the column `metric`,
    or a list of (config, value) pairs; mode='max' negates the values."""
    sign = metric_sign(metric, mode)
    if hasattr(data, 'to_dict') and hasattr(data, 'columns'):  # a table
        if metric not in data.columns:
            raise ValueError(f'the table has no column {metric!r} (the '
                             f'metric); it has {list(data.columns)}')
        data = [(table_config(row, domains), row[metric])
                for row in data.to_dict('records')]
    if not isinstance(data, (list, tuple)):
        raise ValueError('warm-start data must be a table (DataFrame) or a '
                         f'list of (config, value) pairs, got {data!r}')
    pairs = [warm_start_pair(i, pair, domains) for i, pair in enumerate(data)]
    pairs = [pair for pair in pairs if pair is not None]
    return [c for c, _ in pairs], [sign * value for _, value in pairs]


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
MAX_GRID_POINTS = 10 ** 6

def points_per_axis(domains, num_points, default=5):
    """Grid points per hyperparameter from an int or a dict by name (names
    left out of a dict get `default`); a ValueError if one is not valid."""
    if isinstance(num_points, dict):
        unknown = sorted(set(num_points) - set(domains))
        if unknown:
            raise ValueError(f'num_points names unknown hyperparameters '
                             f'{unknown}')
        sizes = {name: num_points.get(name, default) for name in domains}
    else:
        sizes = dict.fromkeys(domains, num_points)
    return {name: d2lhpo.check_integer(f'num_points of {name!r}', n, 1)
            for name, n in sizes.items()}


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def grid_sizes(domains, num_points, default=5):
    """`points_per_axis`, checked: a ValueError for a grid of more than
    `MAX_GRID_POINTS` points."""
    sizes = points_per_axis(domains, num_points, default)
    lengths = {name: d.num_values() if d.kind in ('constant', 'categorical')
               else min(sizes[name], d.num_values())
               for name, d in domains.items()}
    longest = max(lengths, key=lengths.get)
    if lengths[longest] > MAX_GRID_POINTS:  # too long to lay out
        raise ValueError(f'{longest!r} alone would have {lengths[longest]} '
                         f'grid values (sizes {sizes}); at most '
                         f'{MAX_GRID_POINTS} points are allowed: lower '
                         'num_points or use random search')
    tree = d2lhpo.GridTree(domains, {  # counts its leaves up to the limit
        name: d.grid(sizes[name]) for name, d in domains.items()},
        limit=MAX_GRID_POINTS)
    if tree.size > MAX_GRID_POINTS:  # exact without conditions
        many = (math.prod(lengths.values()) if all(
            d.parent is None for d in domains.values())
            else f'more than {MAX_GRID_POINTS}')
        raise ValueError(f'the grid would have {many} points (sizes '
                         f'{sizes}); at most {MAX_GRID_POINTS} are allowed: '
                         'lower num_points or use random search')
    return sizes


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
class GridTree:
    """The points of a grid over parsed `domains` with the values
    `axes[name]` per hyperparameter, inactive hyperparameters left out;
    with a `limit`, `size` is limit + 1 for a grid of more points."""
    def __init__(self, domains, axes, limit=math.inf):
        self.domains, self.axes, self.names = domains, axes, list(domains)
        self.parents = [  # the parents that decide activity from k on
            sorted({d.parent for d in list(domains.values())[k:]
                    if d.parent is not None})
            for k in range(len(domains) + 1)]
        self.decided = [  # from k on, those whose parent comes before k
            [d for d in list(domains.values())[k:] if d.parent is not None
             and self.names.index(d.parent) < k]
            for k in range(len(domains) + 1)]
        self.cache = {}
        self.size = self.count(0, {}, limit)

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def count(self, k, digits, limit=math.inf):
        """How many points complete the choices `digits` of the first k;
        limit + 1 as soon as they are more than `limit`."""
        if k == len(self.names):
            return 1
        config = {p: self.axes[p][i] for p, i in digits.items()}
        key = (k, tuple(d2lhpo.active(d, config) for d in self.decided[k]))
        if key not in self.cache:
            name, n = self.names[k], len(self.axes[self.names[k]])
            if not d2lhpo.active(self.domains[name], config):
                total = self.count(k + 1, digits, limit)
            elif name in self.parents[k + 1]:  # its value decides the rest
                total = 0
                for i in range(n):  # each adds at least one point
                    total += self.count(k + 1, {**digits, name: i},
                                        limit - total)
                    if total > limit:
                        return limit + 1  # not cached: a partial sum
            else:  # a mixed-radix digit
                total = n * self.count(k + 1, digits, limit / n)
            if total > limit:
                return limit + 1
            self.cache[key] = total
        return min(self.cache[key], limit + 1)

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def point(self, index):
        """The configuration (a new dict) at position `index` of the grid."""
        digits, config = {}, {}
        for k, name in enumerate(self.names):
            if not d2lhpo.active(self.domains[name], config):
                continue
            if name in self.parents[k + 1]:  # its value decides what follows
                for i in range(len(self.axes[name])):
                    size = self.count(k + 1, {**digits, name: i})
                    if index < size:
                        break
                    index -= size
            else:  # as many points follow each value: a mixed-radix digit
                i, index = divmod(index, self.count(k + 1, digits))
            digits[name], config[name] = i, self.axes[name][i]
        return copy.deepcopy(config)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def as_error(value):
    """Convert what an objective returned into a Python float."""
    if type(value) is float:  # the common case, checked fast
        return value
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if math.prod(value.shape) != 1:
            raise TypeError('the objective returned an array of shape '
                            f'{tuple(value.shape)}; return one number')
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError('the objective must return a number, got '
                        f'{type(value).__name__}')
    return float(value)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def as_result(value, metric='error', mode='min',
              constraints=()):
    """Turn a reported value (a number, which is an 'error', or a dict with
    the `metric`) into a result dict whose 'error' is the finite float that
    the tuner minimizes: the metric, negated for `mode='max'`; with
    `constraints` (keys), also their values and feasibility."""
    if constraints:  # feasible when <= 0 (the section on constraints)
        return d2lhpo.with_feasibility(as_result(value, metric, mode),
                                       constraints)
    if not isinstance(metric, str):  # a list: several objectives
        return d2lhpo.as_objectives(value, metric, mode)
    result = dict(value) if isinstance(value, dict) else {'error': value}
    if metric not in result:
        raise KeyError(f'the result {value!r} has no {metric!r} (a plain '
                       "number counts as an 'error'): report a dict with "
                       f'the key {metric!r}')
    if metric != 'error' and 'error' in result:
        raise ValueError(f"the result has an 'error' besides the metric "
                         f"{metric!r}; the tuner keeps the value it minimizes "
                         "under 'error': report it under another name")
    number = as_error(result[metric])
    if not math.isfinite(number):
        raise ValueError(f'the objective returned {number}')
    for key, value in result.items():  # tensors and arrays: plain values
        if type(value) not in PLAIN_TYPES and isinstance(
                value, (torch.Tensor, np.ndarray, np.generic)):
            result[key] = value.tolist()
    result[metric] = number
    result['error'] = number if mode == 'min' else -number
    return result


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
PLAIN_TYPES = {float, int, str, bool, type(None)}


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def metric_sign(metric, mode):
    """Check a tuner's metric and mode; return 1 for 'min', -1 for 'max'."""
    if isinstance(metric, (list, tuple)):  # several: the first's sign
        return d2lhpo.objective_signs(metric, mode)[0]
    if not isinstance(metric, str) or not metric:
        raise ValueError(f'metric must be a non-empty string (the key of '
                         f'the reported dict), got {metric!r}')
    if mode not in ('min', 'max'):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return 1 if mode == 'min' else -1

def reported_result(result, metric='error', mode='min'):
    """A tuner's result as reported: the metric in its own direction."""
    if not isinstance(metric, str):  # several: without the vector
        result = {k: v for k, v in result.items() if k != 'objectives'}
        metric, mode = metric[0], ('min' if metric_sign(metric, mode) == 1
                                   else 'max')
    if metric != 'error':
        return {k: v for k, v in result.items() if k != 'error'}
    if mode == 'min':  # as reported (the same dict: do not change it)
        return result
    return dict(result, error=result['error'] * metric_sign(metric, mode))

def metric_names(metric):
    """A tuner's metric, or its list of metrics, as a list of names."""
    return [metric] if isinstance(metric, str) else list(metric)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def plain_result(value):
    """What an objective reported as a dict of plain values (a number is
    an 'error'); the tuner's `as_result` checks the rest."""
    if not isinstance(value, dict):
        return {'error': as_error(value)}
    return {key: v.tolist() if isinstance(v, (torch.Tensor, np.ndarray,
                                               np.generic)) else v
            for key, v in value.items()}

def checked_event(event, metric='error', mode='min',
                  constraints=()):
    """A result event with its result converted by `as_result`, or a
    failed event that says why it cannot be; other events unchanged."""
    if event.kind != 'result':
        return event
    try:
        result = as_result(event.result, metric, mode, constraints)
    except (KeyError, TypeError, ValueError) as err:
        return d2lhpo.TrialEvent('failed', event.trial_id,
                                 message=f'{type(err).__name__}: {err}')
    return d2lhpo.TrialEvent('result', event.trial_id, result)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def objective_steps(objective, config):
    """Iterate over what `objective(**config)` reports: the values that a
    generator yields, or the one value that a function returns."""
    value = objective(**copy.deepcopy(config))
    if inspect.isgenerator(value):
        yield from value
    else:
        yield value


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def check_budgets(number_of_trials=None, max_time=None, max_epochs=None,
                  target=None, patience=None):
    """Check the budgets of a run; number_of_trials, max_time or
    max_epochs must be given."""
    for name, count in (('number_of_trials', number_of_trials),
                        ('max_epochs', max_epochs), ('patience', patience)):
        if count is not None:
            d2lhpo.check_integer(name, count, minimum=1)
    d2lhpo.check_positive('max_time', max_time, allow_none=True)
    d2lhpo.check_number('target', target, allow_none=True)
    if number_of_trials is None and max_time is None and max_epochs is None:
        raise ValueError('give at least one budget: number_of_trials, '
                         'max_time or max_epochs (a target or a patience '
                         'alone might never be reached)')


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
class Budget:
    """The budgets of one run of a tuner; the first one spent ends it."""
    def __init__(self, tuner, number_of_trials=None, max_time=None,
                 max_epochs=None, target=None, patience=None, verbose=True):
        check_budgets(number_of_trials, max_time, max_epochs, target,
                      patience)
        if (target is not None or patience is not None) and (
                not isinstance(tuner.metric, str)):
            raise ValueError('target and patience need a single metric, '
                             f'the tuner has {tuner.metric!r}')
        self.tuner, self.number_of_trials = tuner, number_of_trials
        self.max_time, self.max_epochs = max_time, max_epochs
        self.goal = None if target is None else tuner.sign * target
        self.patience = patience
        self.verbose = d2lhpo.check_flag('verbose', verbose)
        self.trials = 0        # new trials started by this run
        self.plateau = 0       # trials ended in a row without the incumbent
        self.reason = None     # the budget that ended the run
        self.deadline = None   # max_time: the end on the tuner's clock
        self.bar = None        # a progress bar outside Jupyter

    def may_start(self):
        """Whether the run may start another new trial."""
        return self.number_of_trials is None or (
            self.trials < self.number_of_trials)

    def trial_ended(self, trial):
        """Count `trial`, which ended, for the patience."""
        self.plateau = (0 if trial.trial_id == self.tuner.incumbent_id
                        else self.plateau + 1)

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def start(self, now):
        """Start the run at `now` on the tuner's clock."""
        self.start_time, self.first_result = now, len(self.tuner.results)
        if self.max_time is not None:
            self.deadline = now + self.max_time
        if self.verbose and draws_text_bar():
            self.bar = RunProgress(self)

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def spent(self, now):
        """Whether a budget is spent, given what the tuner booked by `now`; the
        first one found is kept as `reason`."""
        if self.bar is not None:
            self.bar.show(now)
        if self.reason is None:  # (called after every event: kept cheap)
            tuner = self.tuner
            if (self.goal is not None and tuner.incumbent_error <= self.goal
                    and tuner.incumbent_violation <= 0):  # feasible
                self.reason = 'target'
            elif self.max_epochs is not None and (
                    len(tuner.results) - self.first_result >= self.max_epochs):
                self.reason = 'max_epochs'
            elif self.deadline is not None and now > self.deadline:
                self.reason = 'max_time'
            elif self.patience is not None and self.plateau >= self.patience:
                self.reason = 'patience'
        return self.reason is not None

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def late(self, now):
        """Whether `now` is past the deadline of `max_time`."""
        return self.deadline is not None and now > self.deadline

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def end(self, now, interrupted=False):
        """The reason why the run ended at `now`; close the progress bar."""
        if self.bar is not None:
            self.bar.close(now)
        if interrupted:
            self.reason = 'interrupted'
        elif self.reason is None:  # nothing left to run, or no time
            self.reason = ('max_time' if self.deadline is not None
                           and now >= self.deadline else 'number_of_trials'
                           if not self.may_start() else 'searcher exhausted')
        return self.reason


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def in_notebook():
    """Whether this code runs in a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), 'kernel', None) is not None

def draws_text_bar():
    """Whether a run draws a text bar: on a terminal, outside Jupyter."""
    return sys.stderr.isatty() and not in_notebook()

class TextBar(tqdm):
    """tqdm with a lock of this process only, and no monitor thread."""
    monitor_interval = 0

TextBar.set_lock(threading.RLock())


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
class RunProgress:
    """A tqdm bar of a run's budget, redrawn at most every `interval` s
    and only once the run has taken `delay` s."""
    def __init__(self, budget, interval=0.25, delay=2.0):
        self.budget, self.interval = budget, interval
        self.metric = metric_names(budget.tuner.metric)[0]
        self.next_draw = time.perf_counter() + delay
        self.drawn = False
        self.bar = TextBar(total=1.0, delay=delay, bar_format=(
            '{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}'),
            desc='budget', dynamic_ncols=True)

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def show(self, now, final=False):
        tic = time.perf_counter()
        if tic < self.next_draw and not (final and self.drawn):
            return
        self.next_draw, self.drawn = tic + self.interval, True
        b, tuner = self.budget, self.budget.tuner
        done = [b.trials / b.number_of_trials if b.number_of_trials else 0,
                (len(tuner.results) - b.first_result) / b.max_epochs
                if b.max_epochs else 0,
                (now - b.start_time) / b.max_time if b.max_time else 0]
        self.bar.n = min(1.0, max(done))
        best = (tuner.sign * tuner.incumbent_error
                if math.isfinite(tuner.incumbent_error) else math.nan)
        self.bar.set_postfix_str(
            f'{b.trials} trials, {len(tuner.results) - b.first_result} '
            f'results, {now - b.start_time:.1f} s, {self.metric} {best:.4g}',
            refresh=False)
        self.bar.refresh()

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
    def close(self, now):
        self.show(now, final=True)  # the last state, if the bar is shown
        self.bar.close()


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def make_searcher(name, config_space, seed=None, **options):
    """A searcher of the book by name: 'random', 'grid', 'bo', 'tpe' or
    'rf'."""
    classes = {'random': d2lhpo.RandomSearcher, 'grid': d2lhpo.GridSearcher,
               'bo': d2lhpo.BayesOptSearcher, 'tpe': d2lhpo.TPESearcher,
               'rf': d2lhpo.RFSearcher}
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f'unknown searcher {name!r}; the searchers are '
                         f'{list(classes)}')
    return classes[name](config_space, seed=seed, **options)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
SCHEDULERS = ('fifo', 'sh', 'hyperband', 'asha', 'median')

def make_scheduler(name, searcher, r_min=1, r_max=None, eta=3,
                   **options):
    """A scheduler of the book by name, around `searcher`: 'fifo', 'sh',
    'hyperband', 'asha' or 'median'."""
    if not isinstance(name, str) or name not in SCHEDULERS:
        raise ValueError(f'unknown scheduler {name!r}; the schedulers are '
                         f'{list(SCHEDULERS)}')
    if name == 'fifo':
        return d2lhpo.BasicScheduler(searcher, **options)
    if name == 'median':
        return d2lhpo.MedianStoppingRule(d2lhpo.BasicScheduler(searcher),
                                         r_min=r_min, **options)
    if r_max is None:
        raise ValueError(f'the scheduler {name!r} needs r_max, the most '
                         'epochs a trial reports')
    cls = {'sh': d2lhpo.SuccessiveHalvingScheduler,
           'hyperband': d2lhpo.HyperbandScheduler,
           'asha': d2lhpo.ASHAScheduler}[name]
    return cls(searcher, eta=eta, r_min=r_min, r_max=r_max, **options)


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def tune(objective, config_space, searcher='random', scheduler='fifo',
         n_workers=1, metric='error', mode='min', seed=None, r_min=1,
         r_max=None, eta=3, number_of_trials=None, max_time=None,
         max_epochs=None, target=None, patience=None, verbose=True,
         searcher_options=None, scheduler_options=None):
    """Tune `objective` over `config_space` with a searcher and a scheduler
    of the book, chosen by name, until a budget is spent (see `Budget`);
    return the tuner."""
    n_workers = d2lhpo.check_integer('n_workers', n_workers, minimum=1)
    check_budgets(number_of_trials, max_time, max_epochs, target, patience)
    scheduler = make_scheduler(
        scheduler, make_searcher(searcher, config_space, seed,
                                 **(searcher_options or {})),
        r_min, r_max, eta, **(scheduler_options or {}))
    budgets = dict(number_of_trials=number_of_trials, max_time=max_time,
                   max_epochs=max_epochs, target=target, patience=patience,
                   verbose=verbose)
    if n_workers == 1:
        tuner = d2lhpo.HPOTuner(scheduler, objective, metric=metric,
                                mode=mode)
        tuner.run(**budgets)
        return tuner
    backend = d2lhpo.LocalBackend(objective, n_workers)
    try:
        tuner = d2lhpo.AsyncTuner(scheduler, backend, metric=metric,
                                  mode=mode)
        tuner.run(**budgets)
    finally:
        backend.close()
    return tuner


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def check_paired(a, b):
    """`a` and `b` as float arrays: 1-D, finite, of one length >= 2."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError('a and b must be 1-D with one entry per seed (at '
                         f'least 2), got shapes {a.shape} and {b.shape}')
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError('a and b must be finite')
    return a, b


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def simulate(make_scheduler, benchmark, seeds, num_workers=4,
             score='observed', tuners=None, incumbent='best',
             **budget):
    """Run a fresh scheduler per seed on a simulated backend; return the
    any-time curves as a list of (times, incumbent trajectory) pairs, with
    the incumbent's observed error or, for `score='true'`, its true error.
    The tuners pick their incumbent by the rule `incumbent` and are
    appended to the list `tuners` if one is given."""
    if score not in ('observed', 'true'):
        raise ValueError(f"score must be 'observed' or 'true', got {score!r}")
    runs = []
    for seed in seeds:
        backend = d2lhpo.SimulatedBackend(benchmark, num_workers, seed=seed)
        tuner = d2lhpo.AsyncTuner(make_scheduler(seed), backend,
                                  incumbent=incumbent)
        tuner.run(**budget)
        if tuners is not None:
            tuners.append(tuner)
        runs.append((tuner.cumulative_runtime, tuner.incumbent_trajectory
                     if score == 'observed'
                     else d2lhpo.true_trajectory(tuner, benchmark)))
    return runs


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def anytime_band(curves, stat='median', level=0.95, num_boot=1000,
                 seed=0):
    """Center and confidence band of any-time curves (one row per run):
    Student's t for the mean, a bootstrap percentile band for the median."""
    curves = np.asarray(curves, dtype=float)
    n = len(curves)
    if stat == 'mean':
        center = curves.mean(axis=0)
        sem = curves.std(axis=0, ddof=1) / np.sqrt(n)
        half = stats.t.ppf((1 + level) / 2, n - 1) * sem
        return center, center - half, center + half
    if stat != 'median':
        raise ValueError(f"stat must be 'mean' or 'median', got {stat!r}")
    rng = np.random.default_rng(seed)
    medians = np.median(curves[rng.integers(n, size=(num_boot, n))], axis=1)
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2],
                            axis=0)
    return np.median(curves, axis=0), low, high


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def normalized_regret(errors, best, worst):
    """(errors - best) / (worst - best): 0 at the best, 1 at the worst."""
    return (np.asarray(errors, dtype=float) - best) / (worst - best)

def average_ranks(curves):
    """Mean rank (1 = best) of each method at each time, over runs.

    `curves` maps a method's name to an array (runs x times); run i of
    every method must share seed i. Ties get the mean of their ranks.
    """
    names = list(curves)
    ranks = stats.rankdata(np.stack([curves[n] for n in names]), axis=0)
    return {name: ranks[i].mean(axis=0) for i, name in enumerate(names)}


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def incumbent_at(times, trajectory, grid):
    """Incumbent error at each time of `grid` (NaN before the first)."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(trajectory, dtype=float)
    idx = np.searchsorted(times, grid, side='right') - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
class ProgressBoard:
    """Plots step curves of (x, y) points, redrawn live in Jupyter."""
    def __init__(self, xlabel='wall-clock time (s)',
                 ylabel='incumbent validation error', xscale='linear',
                 yscale='linear', figsize=(5, 3.2), live=True, every_n=1):
        self.xlabel, self.ylabel = xlabel or '', ylabel or ''
        self.xscale, self.yscale, self.figsize = xscale, yscale, figsize
        self.live = d2lhpo.check_flag('live', live)
        self.every_n = d2lhpo.check_integer('every_n', every_n, minimum=1)
        self.lines, self.num_points = {}, 0  # label -> (list of x, of y)

    def draw(self, x, y, label):
        """Add the point (x, y) to the line `label`."""
        xs, ys = self.lines.setdefault(label, ([], []))
        xs.append(float(x))
        ys.append(float(y))
        self.num_points += 1
        if self.live and self.num_points % self.every_n == 0:
            self.show()

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
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

    # Added in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
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


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def name_board(board, metric):
    """Label `board` (if any) 'incumbent <metric>' unless the metric is
    the error or the user chose a label; return it."""
    metric = metric_names(metric)[0]  # several: the first
    if (board is not None and metric != 'error'
            and board.ylabel == 'incumbent validation error'):  # default
        board.ylabel = f'incumbent {metric}'
    return board


# Defined in chapter_appendix/api_tools.md (:numref:`sec_appendix_api_tools`)
def plot_anytime(runs, grid, ax=None, xlabel='wall-clock time (s)',
                 ylabel='incumbent validation error'):
    """Plot mean any-time curves with a band of one standard error.

    `runs` maps a method's name to a list of (times, trajectory) pairs, one
    per repetition.
    """
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    for name, pairs in runs.items():
        curves = np.stack([d2lhpo.incumbent_at(t, y, grid)
                           for t, y in pairs])
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

def log_ticks(axis, ticks):
    """Label exactly `ticks` on a log-scaled `axis`, as plain numbers."""
    axis.set_major_locator(ticker.FixedLocator(ticks))
    axis.set_major_formatter(ticker.FormatStrFormatter('%g'))
    axis.set_minor_formatter(ticker.NullFormatter())


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
import functools
import json
import math
import numbers
import os

import time

import numpy as np
import torch
from matplotlib import pyplot as plt
from scipy import stats
from torch import nn


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
class MLP(nn.Module):
    """A multilayer perceptron on flattened images.

    `depth` hidden layers of `width` ReLU units, each followed by dropout.
    """
    def __init__(self, width=64, depth=2, dropout=0.0, num_inputs=64,
                 num_classes=10):
        super().__init__()
        layers, fan_in = [nn.Flatten()], num_inputs
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU(),
                       nn.Dropout(dropout)]
            fan_in = width
        layers.append(nn.Linear(fan_in, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def digits_model(config):
    """The model and optimizer of the digits table: `MLP`, SGD with
    momentum 0.9 and L2 weight decay."""
    model = MLP(config['width'], config['depth'], config['dropout'])
    return model, torch.optim.SGD(model.parameters(), lr=config['lr'],
                                  momentum=0.9,
                                  weight_decay=config['weight_decay'])


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
MNIST1D_SPACE = {
    'model': ['mlp', 'cnn'],
    'depth': [1, 2, 3],
    'width': [32, 64, 128],
    'lr': [0.001, 0.003, 0.01, 0.03],
    'batch_size': [64, 256],
    'weight_decay': [0.0, 0.1],
    'dropout': [0.0, 0.3],
}
MNIST1D_TABLE = os.path.join(os.path.dirname(d2lhpo.__file__), 'data',
                             'mnist1d.npz')


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
class ConvNet1d(nn.Module):
    """`depth` layers of `width` channels (kernel 5, stride 2, ReLU) on
    signals of shape (1, `length`), then dropout and a linear layer."""
    def __init__(self, width=32, depth=2, dropout=0.0, length=40,
                 num_classes=10):
        super().__init__()
        layers, channels = [], 1
        for _ in range(depth):
            layers += [nn.Conv1d(channels, width, 5, stride=2, padding=2),
                       nn.ReLU()]
            channels, length = width, (length + 1) // 2
        layers += [nn.Flatten(), nn.Dropout(dropout),
                   nn.Linear(channels * length, num_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)

def mnist1d_model(config):
    """The model and optimizer of the MNIST-1D table (AdamW)."""
    net = ConvNet1d if config['model'] == 'cnn' else functools.partial(
        MLP, num_inputs=40)
    model = net(config['width'], config['depth'], config['dropout'])
    return model, torch.optim.AdamW(model.parameters(), lr=config['lr'],
                                    weight_decay=config['weight_decay'])


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def count_macs(model, example):
    """Multiply-adds of `model` for one `example` (linear and 1-D
    convolutional layers, which hold almost all of the work)."""
    macs = []
    def hook(layer, inputs, output):
        if isinstance(layer, nn.Linear):
            macs.append(layer.in_features * layer.out_features)
        elif isinstance(layer, nn.Conv1d):
            macs.append(output.shape[-1] * layer.out_channels
                        * layer.in_channels // layer.groups
                        * layer.kernel_size[0])
    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model.eval()(example[None])
    for h in handles:
        h.remove()
    return sum(macs)

def cpu_latency(model, X, repeats=3):
    """CPU seconds (of this process) to predict the examples `X`, the
    fastest of `repeats` passes."""
    times = []
    with torch.no_grad():
        model.eval()
        for _ in range(repeats):
            tic = time.process_time()
            model(X)
            times.append(time.process_time() - tic)
    return min(times)


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def validation_loss(model, X, y, batch_size=1024):
    """Mean cross-entropy of `model` on (X, y), over the whole split."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            total += nn.functional.cross_entropy(
                model(X[i:i + batch_size]), y[i:i + batch_size],
                reduction='sum').item()
    return total / len(y)

CURVE_KEYS = ('val_error', 'train_loss', 'epoch_time', 'val_loss')


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def record_learning_curve(config, seed, num_epochs=30, data=None,
                          device=None, make_model=digits_model,
                          clock=time.perf_counter):
    """Train `make_model(config)`; per-epoch lists 'val_error',
    'train_loss', 'epoch_time', 'val_loss' (not timed), and the final
    'test_error', 'num_params', 'macs' and 'latency'."""
    data = d2lhpo.load_digits_data() if data is None else data
    device = d2lhpo.get_device() if device is None else device
    torch.manual_seed(seed)
    model, optimizer = make_model(config)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    X, y = (t.to(device) for t in data.train)
    X_val, y_val = (t.to(device) for t in data.val)
    curve = {key: [] for key in CURVE_KEYS}
    for _ in range(num_epochs):
        tic = clock()
        loss = d2lhpo.train_epoch(model, optimizer, X, y,
                                  config['batch_size'], generator)
        error = d2lhpo.error_rate(model, X_val, y_val)
        curve['epoch_time'].append(clock() - tic)
        curve['train_loss'].append(loss)
        curve['val_error'].append(error)
        curve['val_loss'].append(validation_loss(model, X_val, y_val))
    curve['test_error'] = d2lhpo.error_rate(model, *(t.to(device)
                                                     for t in data.test))
    curve['num_params'] = sum(p.numel() for p in model.parameters())
    curve['macs'] = count_macs(model, X_val[0])
    curve['latency'] = cpu_latency(model, X_val[:1000])
    return curve


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
REGENERATE_HINT = ('regenerate it from the repository root with `python '
                   'tools/make_digits_benchmark.py --workers 2` (digits, '
                   'about 15 minutes on 2 cores) or with `--benchmark '
                   'mnist1d` added (MNIST-1D, about 2 hours)')
TABLE_ARRAYS = ('space', 'names', 'configs', 'seeds', 'val_error',
                'train_loss', 'epoch_time', 'test_error', 'num_params',
                'metadata')
# Per configuration, and per epoch, in the tables that record them.
OPTIONAL_ARRAYS = ('macs', 'latency')
OPTIONAL_CURVES = ('val_loss',)


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def check_table_values(path, arrays):
    """A ValueError naming `path` and the field for an implausible value."""
    def refuse(field, problem):
        raise ValueError(f'the benchmark table {path} is corrupt ({field}: '
                         f'{problem}); ' + REGENERATE_HINT)
    for key in ('val_error', 'test_error', 'num_params', *OPTIONAL_ARRAYS):
        if key in arrays and not np.all(np.isfinite(arrays[key])
                                        & (arrays[key] >= 0)):
            refuse(key, 'every value must be a finite number >= 0')
    if 'val_loss' in arrays and np.any(arrays['val_loss'] < 0):  # NaN: ok
        refuse('val_loss', 'a loss must be >= 0')
    if not np.all(np.isfinite(arrays['epoch_time'])
                  & (arrays['epoch_time'] > 0)):
        refuse('epoch_time', 'every time must be a finite number > 0')
    for key in ('num_params', 'seeds'):  # (num_params >= 0: above)
        if arrays[key].dtype.kind not in 'iu':
            refuse(key, 'the values must be integers')
    for key in ('names', 'seeds'):
        if len(set(arrays[key].tolist())) < len(arrays[key]):
            refuse(key, f'repeated values in {arrays[key].tolist()}')
    space, names = arrays['space'], arrays['names'].tolist()
    if not isinstance(space, dict) or sorted(space) != sorted(names):
        refuse('names', f'{names} are not the names of the space')
    configs = arrays['configs']
    sizes = np.array([len(space[n]) for n in names])
    if configs.dtype.kind not in 'iu' or np.any(
            (configs < 0) | (configs >= sizes)):
        refuse('configs', 'a row holds an index outside the space')
    if len(np.unique(configs, axis=0)) < len(configs):
        refuse('configs', 'a configuration appears twice')


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def load_benchmark_table(path):
    """The arrays of the table at `path`, checked, with 'config_space'
    and 'metadata' decoded from JSON and 'names' and 'seeds' as lists.
    Errors say how to regenerate the table."""
    if not os.path.exists(path):
        raise FileNotFoundError(f'no benchmark table at {path}; '
                                + REGENERATE_HINT)
    try:
        with np.load(path) as table:
            arrays = {k: table[k] for k in TABLE_ARRAYS + tuple(
                k for k in OPTIONAL_ARRAYS + OPTIONAL_CURVES if k in table)}
        for key in ('space', 'metadata'):
            arrays[key] = json.loads(str(arrays[key]))
    except Exception as err:  # zip, pickle, key or JSON errors
        raise ValueError(f'the benchmark table {path} is corrupt '
                         f'({type(err).__name__}: {err}); '
                         + REGENERATE_HINT) from None
    n, s, e = arrays['val_error'].shape
    shapes = {'configs': (n, len(arrays['names'])), 'seeds': (s,),
              'train_loss': (n, s, e), 'epoch_time': (n, s, e),
              'test_error': (n, s), 'num_params': (n,),
              **{k: (n,) for k in OPTIONAL_ARRAYS if k in arrays},
              **{k: (n, s, e) for k in OPTIONAL_CURVES if k in arrays}}
    for key, shape in shapes.items():
        if arrays[key].shape != shape:
            raise ValueError(f'the benchmark table {path} is corrupt ({key} '
                             f'has shape {arrays[key].shape}, expected '
                             f'{shape}); ' + REGENERATE_HINT)
    check_table_values(path, arrays)
    arrays['names'] = [str(n) for n in arrays['names']]
    arrays['seeds'] = [int(s) for s in arrays['seeds']]
    arrays['config_space'] = arrays.pop('space')
    return arrays


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def off_grid_error(config, names, space):
    """A ValueError that says why `config` is not on the grid of `space`
    (hyperparameters `names`)."""
    if not isinstance(config, dict):
        return ValueError(f'a configuration must be a dict, got {config!r}')
    missing = [n for n in names if n not in config]
    unknown = sorted(set(config) - set(names))
    if missing or unknown:
        return ValueError(f'the benchmark has hyperparameters {names}; '
                          f'missing {missing}, unknown {unknown}')
    for name in names:
        allowed, value = space[name], config[name]
        if value not in allowed:
            nearest = allowed
            if isinstance(value, numbers.Real):  # the values around it
                below = [v for v in allowed if v < value][-1:]
                nearest = below + [v for v in allowed if v > value][:1]
            return ValueError(
                f'hyperparameter {name!r}: {value!r} is not on the grid; '
                f'the nearest allowed values are {nearest} (all: {allowed})')
    return ValueError(f'{config!r} is not on the grid')

def check_query(benchmark, seed, epoch=None):
    """Raise a clear ValueError unless `seed` was recorded and `epoch` (if
    given) is an integer in 1..max_epochs."""
    if seed not in benchmark.seed_positions:
        raise ValueError(f'seed {seed!r} was not recorded; the table has '
                         f'seeds {benchmark.seeds}')
    if epoch is not None and (
            isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral)
            or not 1 <= epoch <= benchmark.max_epochs):
        raise ValueError(f'epoch {epoch!r} is beyond the recorded range '
                         f'1..{benchmark.max_epochs}')


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def true_order(bench):
    """Configurations from best to worst by mean-over-seeds final
    validation error, ties broken by the mean final validation loss (where
    the table records it); and the errors in that order."""
    final = bench.val_error[:, :, -1].mean(axis=1)
    loss = (bench.val_loss[:, :, -1].mean(axis=1)
            if hasattr(bench, 'val_loss') else np.zeros(len(final)))
    order = np.lexsort((loss, np.round(final, 9)))  # float noise off
    return order, final[order]

def room_at_top(bench, top=20):
    """The top of a table, by mean-over-seeds final validation error."""
    order, final = true_order(bench)
    errors = np.unique(np.round(bench.val_error, 9))  # float noise off
    step = float(np.min(np.diff(errors)))  # 1 / validation examples
    num_seeds = bench.val_error.shape[1]
    levels = np.round(final[:top] / step * num_seeds)
    room = {'best': float(final[0]),
            'top 1%': (float(final[0]), float(final[len(final) // 100])),
            'top 10%': (float(final[0]), float(final[len(final) // 10])),
            f'distinct among top {top}': len(np.unique(levels)),
            'step': step / num_seeds}
    if hasattr(bench, 'val_loss'):
        loss = bench.val_loss[order[:top], :, -1].mean(axis=1)
        room[f'places among top {top}, loss breaking ties'] = len(
            set(zip(levels, loss)))
    return room


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
class SyntheticFunction:
    """A test function on a box, with its known minimum; call it with
    keyword arguments x0, x1, ... or `evaluate` an array of points."""
    def __init__(self, name, function, bounds, min_value, argmins):
        self.name, self.function = name, function
        self.bounds = np.asarray(bounds, dtype=float)
        self.min_value, self.argmins = min_value, np.asarray(argmins)
        self.names = [f'x{i}' for i in range(len(self.bounds))]
        self.config_space = {n: stats.uniform(lo, hi - lo) for n, (lo, hi)
                             in zip(self.names, self.bounds)}

    def evaluate(self, X):
        return self.function(np.atleast_2d(np.asarray(X, dtype=float)))

    def __call__(self, **config):
        return float(self.evaluate([[config[n] for n in self.names]])[0])

    def __repr__(self):
        return f'{self.name} on {self.bounds.tolist()}, min {self.min_value}'


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def branin_function(X):
    x1, x2 = X[:, 0], X[:, 1]
    b, c, t = 5.1 / (4 * np.pi ** 2), 5 / np.pi, 1 / (8 * np.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10

def hartmann_function(A, P):
    alpha = np.array([1.0, 1.2, 3.0, 3.2])
    A, P = np.asarray(A, dtype=float), 1e-4 * np.asarray(P, dtype=float)
    def f(X):
        inner = np.sum(A * (X[:, None, :] - P) ** 2, axis=2)
        return -np.sum(alpha * np.exp(-inner), axis=1)
    return f


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
BRANIN = SyntheticFunction(
    'Branin', branin_function, [(-5, 10), (0, 15)], 0.397887,
    [(-np.pi, 12.275), (np.pi, 2.275), (9.42478, 2.475)])
HARTMANN3 = SyntheticFunction(
    'Hartmann3', hartmann_function(
        [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]],
        [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
         [381, 5743, 8828]]),
    [(0, 1)] * 3, -3.86278, [(0.114614, 0.555649, 0.852547)])
HARTMANN6 = SyntheticFunction(
    'Hartmann6', hartmann_function(
        [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
         [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]],
        [[1312, 1696, 5569, 124, 8283, 5886],
         [2329, 4135, 8307, 3736, 1004, 9991],
         [2348, 1451, 3522, 2883, 3047, 6650],
         [4047, 8828, 8732, 5743, 1091, 381]]),
    [(0, 1)] * 6, -3.32237,
    [(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)])


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def plot_timeline(records, ax=None, xlabel='simulated time (s)'):
    """Draw the trials on each worker as bars over time, by status."""
    if ax is None:
        ax = plt.subplots(figsize=(6, 2.4))[1]
    colors = {'completed': 'C0', 'stopped': 'C1', 'paused': 'C2',
              'failed': 'C3', 'running': 'C7'}
    for r in records:
        end = r.end_time if math.isfinite(r.end_time) else r.start_time
        ax.barh(r.worker, end - r.start_time, left=r.start_time, height=0.8,
                color=colors[r.status], edgecolor='white', linewidth=0.5)
    workers = sorted({r.worker for r in records})
    ax.set_yticks(workers)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('worker')
    return ax


# Defined in chapter_appendix/benchmark_tools.md (:numref:`sec_appendix_benchmark_tools`)
def plot_anytime_band(runs, grid, stat='median', level=0.95, ax=None,
                      transform=None, xlabel='simulated time (s)',
                      ylabel='incumbent validation error'):
    """Plot each method's any-time `stat` with its confidence band.

    `runs` maps a name to (times, trajectory) pairs; `transform` maps the
    (runs x times) array of incumbent errors, e.g. to regret. Times before
    every run has a result are left out.
    """
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    for name, pairs in runs.items():
        curves = np.stack([d2lhpo.incumbent_at(t, y, grid) for t, y in pairs])
        if transform is not None:
            curves = transform(curves)
        ok = ~np.isnan(curves).any(axis=0)
        center, low, high = d2lhpo.anytime_band(curves[:, ok], stat, level)
        line, = ax.plot(grid[ok], center, label=name)
        ax.fill_between(grid[ok], low, high, color=line.get_color(),
                        alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
import bisect
import collections
import ctypes
import glob
import inspect
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from multiprocessing import connection

import cloudpickle
import torch


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
class TrialRunner:
    """Runs trials of an objective on a worker, one result per call.

    `start` begins a trial and `step` computes its next result. Both
    return ('result', result dict), ('complete', None) or ('failed',
    message).
    """
    def __init__(self, objective_bytes, num_threads=1):
        self.objective = cloudpickle.loads(objective_bytes)
        torch.set_num_threads(num_threads)
        self.steps, self.cwd = None, os.getcwd()

    def start(self, config, checkpoint=None, epochs=0):
        """Start a trial, or continue one after the `epochs` it booked."""
        self.stop()
        takes = d2lhpo.takes_checkpoint(self.objective)
        self.checkpoint = checkpoint if takes else None
        self.epochs = epochs
        if epochs and self.checkpoint is None:
            return 'failed', (f'cannot continue after epoch {epochs}: the '
                              'objective has no `checkpoint` parameter to '
                              'save and restore its state')
        if epochs:
            snapshot = f'{checkpoint}.epoch{epochs}'
            if not os.path.isfile(snapshot):
                return 'failed', (f'cannot continue after epoch {epochs}: '
                                  f'its checkpoint {snapshot} is missing')
            try:
                d2lhpo.copy_atomically(snapshot, checkpoint)
            except OSError as err:
                return 'failed', f'cannot restore {snapshot}: {err}'
        if self.checkpoint is not None:
            config = dict(config, checkpoint=checkpoint)
        self.steps = d2lhpo.objective_steps(self.objective, config)
        return self.step()

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def step(self):
        try:
            result = d2lhpo.plain_result(next(self.steps))
        except StopIteration:
            self.stop()
            return 'complete', None
        except Exception as err:  # the trial fails, the worker lives on
            self.stop()
            return 'failed', f'{type(err).__name__}: {err}'
        try:
            pickle.dumps(result)  # it must travel back to the tuner
        except Exception as err:
            self.stop()
            return 'failed', ('the result cannot be sent to the tuner: '
                              f'{type(err).__name__}: {err}')
        self.epochs += 1
        try:
            self.snapshot()
        except OSError as err:  # e.g. a full disk, or a folder as checkpoint
            self.stop()
            return 'failed', f'cannot snapshot the checkpoint: {err}'
        return 'result', result

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def snapshot(self):
        """Copy the checkpoint to `<checkpoint>.epoch<k>` after result k; keep
        snapshot k - 1, remove the one before."""
        if self.checkpoint is None or not os.path.exists(self.checkpoint):
            return
        path = f'{self.checkpoint}.epoch{self.epochs}'
        d2lhpo.copy_atomically(self.checkpoint, path)  # whole or absent
        old = f'{self.checkpoint}.epoch{self.epochs - 2}'
        if os.path.exists(old):
            os.remove(old)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def stop(self):
        if self.steps is not None:
            self.steps.close()
            self.steps = None
        os.chdir(self.cwd)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def ready(self):
        """Answer a ping: the runner has started up."""
        return True


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
class WorkerBackend(d2lhpo.Backend):
    """Runs trials on `num_workers` workers, one trial per worker at a time.

    A worker computes one result, sends it, and waits: the tuner's
    decision comes back as 'step' (continue) or 'stop'.
    """
    def __init__(self, num_workers=2, trial_timeout=None,
                 checkpoint_dir=None):
        self.num_workers = d2lhpo.check_integer('num_workers', num_workers, 1)
        self.trial_timeout = d2lhpo.check_positive(
            'trial_timeout', trial_timeout, allow_none=True)
        self.started, self.offset = time.perf_counter(), 0.0
        self.free = list(range(self.num_workers))  # sorted
        self.trial_of = {}     # busy worker -> its trial_id
        self.deadlines = {}    # busy worker -> perf_counter() limit
        self.waiting = set()   # workers that sent a result, await a decision
        self.ready = set()     # workers that have finished starting up
        self.inbox = collections.deque()  # (worker, message) not yet seen
        self.checkpoint_dir = (None if checkpoint_dir is None  # a temporary one
                               else os.fspath(checkpoint_dir))
        self.saves_checkpoints = False  # set by a subclass that knows

    def time(self):
        return self.offset + time.perf_counter() - self.started

    def set_time(self, now):
        self.offset = now - (time.perf_counter() - self.started)

    def free_worker(self):
        return self.free[0] if self.free else None

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def checkpoint_file(self, trial_id):
        """The path of trial `trial_id`'s checkpoint; makes its folder."""
        if self.checkpoint_dir is None:  # deleted when the backend is
            self.temporary_dir = tempfile.TemporaryDirectory(  # garbage-collected
                prefix='d2lhpo-checkpoints-')
            self.checkpoint_dir = self.temporary_dir.name
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        return os.path.join(self.checkpoint_dir, f'trial_{trial_id}.pt')

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def checkpoint_path(self, trial):
        return (self.checkpoint_file(trial.trial_id) if self.saves_checkpoints
                else None)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def start_trial(self, trial):
        path = self.checkpoint_file(trial.trial_id)
        if not trial.epochs:  # this trial starts afresh: remove old files
            for old in glob.glob(glob.escape(path) + '*'):
                if os.path.isdir(old):  # a checkpoint must be a file
                    shutil.rmtree(old)
                else:
                    os.remove(old)
        worker = trial.worker
        self.free.remove(worker)
        self.trial_of[worker] = trial.trial_id
        if worker in self.ready:  # else the clock starts when it is ready
            self._set_deadline(worker)
        self._send(worker, ('start', trial.config, path, trial.epochs))

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _set_deadline(self, worker):
        if self.trial_timeout is not None:
            self.deadlines[worker] = time.perf_counter() + self.trial_timeout

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def stop_trial(self, trial_id):
        """A worker still computing is killed and replaced."""
        worker = next((w for w, t in self.trial_of.items() if t == trial_id),
                      None)
        if worker is None:  # it already ended (or the backend was closed)
            return
        self._release(worker)
        if worker in self.waiting:
            self.waiting.discard(worker)
            self._send(worker, ('stop',))
        else:
            self._kill(worker)
            self._launch(worker)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def close(self):
        """End every worker; a later trial starts fresh ones on demand."""
        for worker in range(self.num_workers):
            self._kill(worker)
        self.trial_of.clear()
        self.deadlines.clear()
        self.waiting.clear()
        self.inbox.clear()
        self.free = list(range(self.num_workers))

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _release(self, worker):
        del self.trial_of[worker]
        self.deadlines.pop(worker, None)
        bisect.insort(self.free, worker)
        # unread news of the released trial is stale: it must never be booked
        # to the next trial on this worker (a 'ready' is about the worker)
        self.inbox = collections.deque(
            (w, m) for w, m in self.inbox
            if w != worker or (m is not None and m[0] == 'ready'))

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def next_event(self, until=None):
        for worker in self.waiting:  # no stop came: the trial continues
            self._send(worker, ('step',))
        self.waiting.clear()
        while self.trial_of:
            if not self.inbox:
                limits = [d - time.perf_counter() for d in self.deadlines.values()]
                if until is not None:
                    limits.append(until - self.time())
                timeout = max(0.0, min(limits)) if limits else None
                self.inbox.extend(self._wait(timeout))
                if not self.inbox and until is not None and self.time() >= until:
                    return None  # the run's time is up
            if self.inbox:
                event = self._on_message(*self.inbox.popleft())
            else:
                event = self._on_deadline()
            if event is not None:
                return event
        return None

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _on_deadline(self):
        """A failed event for a trial past its deadline, or None."""
        if not self.deadlines:
            return None
        worker = min(self.deadlines, key=self.deadlines.get)
        if self.deadlines[worker] > time.perf_counter():
            return None  # woken up early: nothing to see yet
        trial_id = self.trial_of[worker]
        self._release(worker)
        self._kill(worker)
        self._launch(worker)
        return d2lhpo.TrialEvent(
            'failed', trial_id, message=f'timed out after {self.trial_timeout:g} s')

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _on_message(self, worker, message):
        """The event for a worker's message, or None if it makes none."""
        trial_id = self.trial_of.get(worker)
        if message is None:  # the worker process died
            reason = self._death(worker)
            self._kill(worker)
            self._launch(worker)
            if trial_id is None:
                return None
            self._release(worker)
            return d2lhpo.TrialEvent('failed', trial_id,
                                     message=f'the worker died ({reason})')
        if message[0] == 'ready':  # start-up is not part of the time limit
            self.ready.add(worker)
            if trial_id is not None:
                self._set_deadline(worker)
            return None
        if trial_id is None:
            return None  # news of a trial that was stopped
        kind, payload = message
        if kind == 'result':
            self.waiting.add(worker)
            payload['time'] = self.time()
            return d2lhpo.TrialEvent('result', trial_id, payload)
        self._release(worker)
        return d2lhpo.TrialEvent(kind, trial_id, message=payload or '')


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
def die_with_parent(parent):
    """Kill this process's group as soon as the process `parent` is gone."""
    def end(*_):
        if os.getppid() != parent:  # re-parented: the tuner is gone
            os.killpg(os.getpgrp(), signal.SIGKILL)

    def watchdog():
        while True:
            end()
            time.sleep(1.0)
    if sys.platform.startswith('linux'):
        signal.signal(signal.SIGUSR1, end)
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGUSR1)
    threading.Thread(target=watchdog, daemon=True).start()


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
def local_worker_main():
    """A worker process of `LocalBackend`. Arguments: the file descriptor
    of its end of the pipe, the tuner's process id, the number of threads
    and the file of the pickled objective."""
    fd, parent, num_threads = map(int, sys.argv[1:4])
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the tuner's
    conn = connection.Connection(fd)
    with open(sys.argv[4], 'rb') as f:
        runner = TrialRunner(f.read(), num_threads)
    conn.send(('ready', None))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the tuner has gone
            return
        if message[0] == 'start':
            conn.send(runner.start(*message[1:]))
        elif message[0] == 'step':
            conn.send(runner.step())
        elif message[0] == 'stop':
            runner.stop()
        else:
            return


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
def usable_cores():
    """The number of cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # macOS and Windows have no affinity call


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
class LocalBackend(WorkerBackend):
    """Runs trials in `num_workers` worker processes on this machine.

    The objective travels to the workers with cloudpickle, so functions
    defined in a notebook or a script work. Each worker uses
    `num_threads` threads (by default the usable cores divided among
    the workers).
    """
    def __init__(self, objective, num_workers=2, trial_timeout=None,
                 num_threads=None, checkpoint_dir=None):
        super().__init__(num_workers, trial_timeout, checkpoint_dir)
        self.folder = tempfile.TemporaryDirectory(prefix='d2lhpo-workers-')
        self.objective_file = os.path.join(self.folder.name, 'objective.pkl')
        with open(self.objective_file, 'wb') as f:  # each worker reads it
            f.write(cloudpickle.dumps(
                d2lhpo.check_component('objective', objective)))
        self.saves_checkpoints = d2lhpo.takes_checkpoint(objective)
        self.num_threads = (max(1, usable_cores() // self.num_workers)
                            if num_threads is None else d2lhpo.check_integer(
                                'num_threads', num_threads, minimum=1))
        self.processes = [None] * self.num_workers
        self.conns = [None] * self.num_workers
        self.sentinels = [None] * self.num_workers  # ready when one exits
        for worker in range(self.num_workers):
            self._launch(worker)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _launch(self, worker):
        self.ready.discard(worker)  # until it says 'ready'
        conn, child_conn = connection.Pipe()
        fd = child_conn.fileno()
        path = os.pathsep.join(p for p in sys.path if p)
        process = subprocess.Popen(
            [sys.executable, '-c', 'import d2lhpo; d2lhpo.local_worker_main()',
             str(fd), str(os.getpid()), str(self.num_threads),
             self.objective_file], pass_fds=[fd], start_new_session=True,
            env=dict(os.environ, PYTHONPATH=path))
        child_conn.close()
        self.processes[worker], self.conns[worker] = process, conn
        try:  # Linux 5.3 and later: a file that the exit makes readable
            self.sentinels[worker] = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            self.sentinels[worker] = None  # the pipe's end-of-file will do

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _send(self, worker, message):
        process = self.processes[worker]
        if message[0] == 'start' and process is not None and (
                process.poll() is not None):  # died after its last trial
            self._kill(worker)
            self.deadlines.pop(worker, None)  # the clock starts when ready
        if self.processes[worker] is None:  # after `close`, or dead
            self._launch(worker)
        try:
            self.conns[worker].send(message)
        except (BrokenPipeError, OSError):  # dead: _wait will notice
            pass

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _wait(self, timeout):
        """Messages of busy workers; (worker, None) for a dead worker."""
        busy = list(self.trial_of)
        conns = {self.conns[w]: w for w in busy}
        sentinels = {self.sentinels[w]: w for w in busy
                     if self.sentinels[w] is not None}
        arrived = []
        for ready in connection.wait(list(conns) + list(sentinels), timeout):
            worker = conns.get(ready, sentinels.get(ready))
            if any(w == worker for w, _ in arrived):
                continue
            try:
                while self.conns[worker].poll():
                    arrived.append((worker, self.conns[worker].recv()))
                dead = self.processes[worker].poll() is not None
            except (EOFError, OSError):  # the worker closed its end: it exits
                dead = True
            except Exception as err:  # a message that cannot be unpickled
                arrived.append((worker, ('failed', 'a message of the worker '
                                         f'cannot be read: {err!r}')))
                continue
            if dead:
                arrived.append((worker, None))
        return arrived

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _death(self, worker):
        try:
            code = self.processes[worker].wait(timeout=1)
        except subprocess.TimeoutExpired:  # it closed its pipe, yet lives
            self._kill(worker)
            return 'it closed its pipe to the tuner'
        if code < 0:
            return f'killed by signal {signal.Signals(-code).name}'
        return f'exit code {code}'

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def wait_until_ready(self):
        """Block until every idle worker has started up."""
        for worker in range(self.num_workers):
            if worker not in self.trial_of and self.processes[worker] is None:
                self._launch(worker)  # ended by `close`
            if worker in self.ready or worker in self.trial_of:
                continue
            try:
                if self.conns[worker].recv()[0] == 'ready':
                    self.ready.add(worker)
            except (EOFError, OSError):  # it died while starting up
                pass

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _kill(self, worker):
        process = self.processes[worker]
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its group: a session
        except (ProcessLookupError, PermissionError):  # already gone
            pass
        process.wait()
        self.conns[worker].close()
        if self.sentinels[worker] is not None:
            os.close(self.sentinels[worker])
            self.sentinels[worker] = None
        self.processes[worker] = None  # `_send` launches a new one if needed


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
def start_local_ray(ray, **kwargs):
    """Start a Ray instance of this process's own, reachable only from
    this machine (it listens on 127.0.0.1)."""
    from ray._private import ray_constants  # Ray's own switch, see above
    name = 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'
    saved = os.environ.get(name), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[name], ray_constants.ENABLE_RAY_CLUSTER = '0', False
    try:
        ray.init(address='local', include_dashboard=False,
                 log_to_driver=False, **kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]
        if saved[0] is None:
            del os.environ[name]
        else:
            os.environ[name] = saved[0]


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
class RayBackend(WorkerBackend):
    """Runs trials on `num_workers` Ray actors, on one machine or a cluster.

    With `address` (e.g. 'auto' on a node of a running cluster, or
    'ray://head:10001'), or after the user's own `ray.init`, the actors run
    on that cluster; otherwise on a local Ray instance that listens on
    127.0.0.1 only. Each actor holds a `TrialRunner` and reserves
    `num_cpus` CPUs. On a cluster, `checkpoint_dir` must be a folder that
    every node sees (a shared file system). `wait_until_ready` waits at
    most `startup_timeout` seconds for the actors to start (None: for
    ever).
    """
    def __init__(self, objective, num_workers=2, trial_timeout=None,
                 num_cpus=1, address=None, checkpoint_dir=None,
                 startup_timeout=300.0):
        import ray  # an optional dependency: pip install -e '.[ray]'
        super().__init__(num_workers, trial_timeout, checkpoint_dir)
        d2lhpo.check_component('objective', objective)
        d2lhpo.check_positive('num_cpus', num_cpus)
        self.startup_timeout = d2lhpo.check_positive(
            'startup_timeout', startup_timeout, allow_none=True)
        self.saves_checkpoints = d2lhpo.takes_checkpoint(objective)
        self.ray = ray
        if address is not None and ray.is_initialized():
            raise RuntimeError('Ray is already initialized; pass address '
                               'to ray.init, or leave it out here')
        if address is not None:
            ray.init(address=address, log_to_driver=False)
        elif not ray.is_initialized():
            start_local_ray(ray)
        self.objective_bytes = cloudpickle.dumps(objective)
        self.actor_class = ray.remote(num_cpus=num_cpus)(TrialRunner)
        self.num_threads = max(1, int(num_cpus))
        self.actors = [None] * self.num_workers
        self.pending = {}  # ObjectRef of a step -> worker
        self.pings = {}    # ObjectRef of a ping of a starting actor -> worker
        self.deaths = {}   # worker -> why its actor died
        for worker in range(self.num_workers):
            self._launch(worker)

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _launch(self, worker):
        self.ready.discard(worker)  # until its ping comes back
        actor = self.actor_class.remote(self.objective_bytes, self.num_threads)
        self.actors[worker] = actor
        self.pings[actor.ready.remote()] = worker

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _started(self, refs):
        """Book the answered pings `refs`; the workers whose actor died."""
        died = []
        for ref in refs:
            worker = self.pings.pop(ref)
            try:
                self.ray.get(ref)
                self.ready.add(worker)
            except self.ray.exceptions.RayError as err:  # it died starting up
                self.deaths[worker] = ray_error_reason(err)
                died.append(worker)
                self._kill(worker)  # `_send` launches a new one
        return died

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def wait_until_ready(self):
        """Block until every idle actor has started up (its ping came back),
        or `startup_timeout` seconds have passed; warn of actors that died."""
        for worker in range(self.num_workers):
            if worker not in self.trial_of and self.actors[worker] is None:
                self._launch(worker)  # ended by `close`
        waiting = {ref: w for ref, w in self.pings.items()
                   if w not in self.trial_of}
        if not waiting:
            return
        done, _ = self.ray.wait(list(waiting), num_returns=len(waiting),
                                timeout=self.startup_timeout)
        died = self._started(done)
        if died:
            why = (f'{len(died)} Ray actors died starting up: '
                   f'{self.deaths[died[0]]}')
            if len(died) == self.num_workers:
                raise RuntimeError(why)
            warnings.warn(why + '; they are replaced when a trial needs them')
        if len(done) < len(waiting):
            warnings.warn(f'{len(waiting) - len(done)} Ray actors did not start '
                          f'within {self.startup_timeout:g} s (not enough CPUs?);'
                          ' their start-up counts against the time budget')

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _send(self, worker, message):
        if self.actors[worker] is None:  # after `close`
            self._launch(worker)
        actor = self.actors[worker]
        if message[0] == 'start':
            self.pending[actor.start.remote(*message[1:])] = worker
        elif message[0] == 'step':
            self.pending[actor.step.remote()] = worker
        else:
            actor.stop.remote()

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _wait(self, timeout):
        refs = list(self.pings) + list(self.pending)  # 'ready' before results
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        arrived = []
        for ref in ready:
            ping = ref in self.pings
            worker = self.pings.pop(ref) if ping else self.pending.pop(ref)
            try:
                message = self.ray.get(ref)
                arrived.append((worker, ('ready', None) if ping else message))
            except self.ray.exceptions.RayError as err:
                why = ray_error_reason(err)
                if ping or isinstance(err, self.ray.exceptions.RayActorError):
                    self.deaths[worker] = why  # the actor died
                    arrived.append((worker, None))
                else:  # the call failed
                    arrived.append((worker, ('failed', why)))
        return arrived

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _death(self, worker):
        return self.deaths.pop(worker, 'the Ray actor died')

    # Added in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
    def _kill(self, worker):
        for calls in (self.pending, self.pings):
            for ref in [r for r, w in calls.items() if w == worker]:
                del calls[ref]
        self.ready.discard(worker)  # a new actor must start up first
        if self.actors[worker] is not None:
            self.ray.kill(self.actors[worker])
            self.actors[worker] = None


# Defined in chapter_appendix/worker_backends.md (:numref:`sec_appendix_worker_backends`)
def ray_error_reason(err):
    """The first and the last line of a Ray error's message (what died,
    and the exception that killed it), without colour codes."""
    lines = [line.strip() for line in re.sub(
        r'\x1b\[[0-9;]*m', '', str(err)).splitlines() if line.strip()]
    return ' ... '.join(lines[:1] + lines[1:][-1:]) or type(err).__name__


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
import fcntl
import json
import math
import numbers
import os
import warnings

import numpy as np
import orjson
import torch


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
class TrialLog:
    """A JSON-lines file of trial events with one writer at a time:
    `open` locks it and cuts a torn last line, `close` unlocks it."""
    def __init__(self, path, batch=1):
        self.path, self.file, self.size = os.fspath(path), None, None
        self.batch, self.pending = batch, []  # events per system call

    def open(self):
        """Lock the file; return its complete lines as bytes."""
        if self.file is not None:  # already ours
            return None
        file = open(self.path, 'a+b', buffering=0)  # appends, unbuffered
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise RuntimeError(f'another tuner is writing {self.path}; a '
                               'log takes one writer at a time') from None
        file.seek(0)
        data = file.read()
        if self.size is not None and len(data) != self.size:
            file.close()
            raise RuntimeError(f'{self.path} changed since this tuner '
                               'wrote it; resume from it in a new tuner')
        end = data.rfind(b'\n') + 1  # after the last complete line
        if end < len(data):
            warnings.warn(f'{self.path}: cut a torn last line '
                          f'({len(data) - end} bytes)')
            file.truncate(end)
        self.file, self.size = file, end
        return data[:end]

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def append(self, event):
        self.pending.append(event)
        if len(self.pending) >= self.batch:
            self.flush()

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def flush(self):
        # one system call: the OS has the lines, and a kill cannot lose them
        events, self.pending = self.pending, []
        data, error = encode_lines(events)
        if self.file.write(data) != len(data):
            raise OSError(f'{self.path}: lines were written in part')
        self.size += len(data)
        if error is not None:
            raise error

    # Added in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
    def close(self):
        if self.file is not None:
            self.file.close()  # and the lock with it
            self.file = None


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
def json_default(value):
    """Numbers and arrays of numpy and torch as JSON values."""
    if isinstance(value, (np.generic, np.ndarray, torch.Tensor)):
        return value.tolist()
    raise TypeError(f'{type(value).__name__} is not JSON serializable')

LOG_ENCODER = json.JSONEncoder(default=json_default,
                               separators=(',', ':'))

def line_encoder():
    """A function from an event to its JSON text, as `LOG_ENCODER.encode`
    writes it but faster: `encode` builds the `json` module's C encoder
    anew for every call, which costs a quarter of a short line; we build it
    once, where Python has it. (Without the check for circular
    references: a result that contains itself is a RecursionError.)"""
    make = getattr(json.encoder, 'c_make_encoder', None)
    if make is None:  # a Python without the C accelerator
        return LOG_ENCODER.encode
    encode = make(None, json_default, json.encoder.encode_basestring_ascii,
                  None, ':', ',', False, False, True)
    return lambda event: ''.join(encode(event, 0))

encode_line = line_encoder()


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATACLASS
                  | orjson.OPT_PASSTHROUGH_DATETIME)  # as `json`: refused

def fast_lines(events):
    """The JSON lines of `events` (dicts whose first key is 'event') as
    bytes, from one call of orjson; None where `json` must write them."""
    try:
        text = orjson.dumps(events, default=json_default,
                            option=ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return None
    if b'null' in text:  # a NaN may hide behind it
        return None
    pieces = text[1:-1].split(b'},{"event":')
    if len(pieces) != len(events):  # an event looks like two
        return None
    return b'}\n{"event":'.join(pieces) + b'\n'


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
def encode_lines(events):
    """The JSON lines of `events` as bytes, and the error of the first
    event that JSON cannot write (the lines stop before it), or None."""
    data = fast_lines(events) if events else b''
    if data is not None:
        return data, None
    lines = []
    for event in events:  # one at a time: stop at the first that fails
        try:
            lines.append(encode_line(event) + '\n')
        except (TypeError, ValueError, RecursionError) as err:
            err.event = event
            return ''.join(lines).encode(), err
    return ''.join(lines).encode(), None


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
def space_of(scheduler):
    """The parsed space (name -> Domain) of the searcher that `scheduler`
    asks, looking through wrappers; None if none is found."""
    while scheduler is not None:
        for owner in (scheduler, getattr(scheduler, 'searcher', None)):
            if isinstance(getattr(owner, 'domains', None), dict):
                return owner.domains
            if isinstance(getattr(owner, 'config_space', None), dict):
                return d2lhpo.parse_config_space(owner.config_space)
        scheduler = getattr(scheduler, 'scheduler', None)
    return None

def check_loggable(domains):
    """Refuse a choice that would not come back equal from JSON."""
    for name, domain in (domains or {}).items():
        for choice in domain.choices or ():
            plain = (isinstance(choice, (str, numbers.Number, type(None)))
                     and not isinstance(choice, complex))
            if not plain or json.loads(json.dumps(
                    choice, default=json_default)) != choice:
                raise TypeError(
                    f'hyperparameter {name!r}: the choice {choice!r} cannot '
                    'be written to a JSON log; use names or numbers as '
                    'choices and map them to objects in the objective')


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
EVENT_KEYS = {
    'start': {'trial_id': int, 'config': dict, 'time': numbers.Real,
              'worker': int, 'resume': bool},
    'result': {'trial_id': int, 'result': dict},
    **dict.fromkeys(('completed', 'failed', 'paused', 'stopped'), {
        'trial_id': int, 'time': numbers.Real, 'message': str})}

RESULT_KEYS = {'time': numbers.Real, 'epoch': int}

def check_fields(values, fields):
    """Each key of `fields` in `values`, of its type (ValueError if not)."""
    names = {int: 'an integer', numbers.Real: 'a finite number',
             bool: 'true or false', dict: 'an object', str: 'a string'}
    for key, kind in fields.items():
        value = values.get(key)
        ok = isinstance(value, kind) and (
            kind is bool or not isinstance(value, bool))  # True is an int
        if not ok or (kind is numbers.Real and not math.isfinite(value)):
            raise ValueError(f'{key!r} must be {names[kind]}, got {value!r}')


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
def check_event(event, metric='error'):
    """Check one decoded line of a log on its own (ValueError if bad)."""
    if not isinstance(event, dict):
        raise ValueError(f'not a JSON object: {event!r}')
    if event.get('event') not in EVENT_KEYS:
        raise ValueError(f'unknown event {event.get("event")!r}')
    check_fields(event, EVENT_KEYS[event['event']])
    if event['event'] == 'result':  # the metrics, then time and epoch
        check_fields(event['result'], {
            **dict.fromkeys(d2lhpo.metric_names(metric), numbers.Real),
            **RESULT_KEYS})

def read_events(data, path, metric='error', mode='min',
                constraints=()):
    """Decode and check every line of a log's bytes; the first line, if
    it is a 'run' line, must name the tuner's metric, mode and
    constraints."""
    events = []
    for number, line in enumerate(data.split(b'\n')[:-1], 1):
        try:
            events.append(json.loads(line))
            if number == 1 and isinstance(events[0], dict) and events[0].get(
                    'event') == 'run':
                check_run_line(events[0], metric, mode, constraints)
            else:
                check_event(events[-1], metric)
        except ValueError as err:  # JSONDecodeError is a ValueError
            raise ValueError(f'{path}, line {number}: {err}') from None
    return events


# Defined in chapter_appendix/trial_logs.md (:numref:`sec_appendix_trial_logs`)
def run_line(metric, mode, constraints=()):
    """The first line of a new log: what its tuner optimizes."""
    return {'event': 'run', 'metric': metric, 'mode': mode,
            'constraints': list(constraints)}

def check_run_line(event, metric, mode, constraints=()):
    """Refuse to replay a log written for another metric, mode or
    constraints."""
    ours = json.loads(json.dumps(run_line(metric, mode, constraints)))
    theirs = {key: event.get(key, []) for key in ours}
    if theirs != ours:
        raise ValueError(
            f"the log was written by a tuner with metric="
            f"{theirs['metric']!r}, mode={theirs['mode']!r}, constraints="
            f"{theirs['constraints']!r}; this tuner has metric={metric!r}, "
            f"mode={mode!r}, constraints={list(constraints)!r}")


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
import itertools
import math
import time
import warnings

import numpy as np
import torch
from matplotlib import pyplot as plt
from scipy import optimize, stats
from scipy.stats import qmc


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
class Matern52(torch.autograd.Function):
    """The Matern 5/2 kernel as a function of r^2, with a derivative that
    stays finite at r = 0."""
    @staticmethod
    def forward(ctx, r2):
        s = torch.sqrt(5 * r2)
        e = torch.exp(-s)
        ctx.save_for_backward(s, e)
        return (1 + s + s ** 2 / 3) * e

    @staticmethod
    def backward(ctx, grad):
        s, e = ctx.saved_tensors
        return grad * (-5 / 6) * (1 + s) * e

def kernel_with_slope(kernel, r2):
    """k(r^2) and its derivative dk/d(r^2), sharing the work."""
    if kernel == 'rbf':
        k = torch.exp(-0.5 * r2)
        return k, -0.5 * k
    s = torch.sqrt(5 * r2)
    e = torch.exp(-s)
    return (1 + s + s ** 2 / 3) * e, -5 / 6 * (1 + s) * e


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def cholesky_with_jitter(K, max_tries=10):
    """Lower Cholesky factor of K and the jitter (0 if none) that had to
    be added to its diagonal to make K numerically positive definite."""
    if not torch.isfinite(K).all():
        raise ValueError('the kernel matrix has NaN or infinite entries')
    eye = torch.eye(len(K), dtype=K.dtype)
    jitter, scale = 0.0, max(K.diagonal().abs().mean().item(), 1e-300)
    for _ in range(max_tries):
        L, info = torch.linalg.cholesky_ex(K + jitter * eye)
        if info.item() == 0:
            if jitter:
                warnings.warn(f'added jitter {jitter:.1e} to the diagonal '
                              'of a kernel matrix', RuntimeWarning)
            return L, jitter
        jitter = 1e-9 * scale if jitter == 0 else 10 * jitter
    raise np.linalg.LinAlgError('the kernel matrix is not positive definite '
                                f'even with jitter {jitter / 10:.1e}')

def check_observations(X, y):
    """X and y as float64 tensors; a ValueError for bad shapes or NaNs."""
    X, y = d2lhpo.as_f64(X), d2lhpo.as_f64(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f'X must have shape (n, d) and y (n,), got '
                         f'{tuple(X.shape)} and {tuple(y.shape)}')
    if not (torch.isfinite(X).all() and torch.isfinite(y).all()):
        raise ValueError('X and y must be finite; leave out the '
                         'observations of failed trials')
    return X, y


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def warn_once(owner, key, message):
    """A RuntimeWarning naming the class of `owner`, once per owner and
    key."""
    warned = vars(owner).setdefault('_warned', set())
    if key not in warned:
        warned.add(key)
        warnings.warn(f'{type(owner).__name__}: {message}', RuntimeWarning,
                      stacklevel=3)

def robust_standardize(y, owner):
    """standardize(y), or the normal scores of the ranks of y, with center
    0 and scale 1 (and a warning, once per owner), when standardizing
    overflows float64."""
    y = np.asarray(y, dtype=float)
    with np.errstate(over='ignore', invalid='ignore'):
        z, center, scale = d2lhpo.standardize(y)
    if np.isfinite([center, scale]).all() and np.isfinite(z).all():
        return z, center, scale
    warn_once(owner, 'ranks', 'errors too large or too widely spread to '
              f'standardize (the largest is {np.abs(y).max():.3g}); the '
              'surrogate is fitted to their ranks instead')
    return stats.norm.ppf((stats.rankdata(y) - 0.5) / len(y)), 0.0, 1.0


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def propose_or_random(searcher):
    """searcher.propose(), or a uniformly random point of the encoded space
    (with a warning, once per searcher) if fitting the surrogate fails."""
    try:
        return searcher.propose()
    except (ValueError, ArithmeticError, torch.linalg.LinAlgError) as err:
        warn_once(searcher, 'random', 'the surrogate could not be fitted '
                  f'({type(err).__name__}: {err}); suggesting random '
                  'configurations instead while this lasts')
        return searcher.rng.uniform(size=searcher.encoder.dim)


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def subsample(X, y, max_points, rng):
    """(X, y), or, with more than `max_points` rows, the rows of the best
    max_points // 2 errors and a random sample (drawn with `rng`) of the
    others: max_points rows in all, in their original order."""
    if max_points is None or len(y) <= max_points:
        return X, y
    order = np.argsort(y, kind='stable')
    num_best = max_points // 2
    others = rng.choice(order[num_best:], max_points - num_best,
                        replace=False)
    keep = np.sort(np.concatenate([order[:num_best], others]))
    return X[keep], y[keep]


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def neg_log_posterior(kernel, theta, sqdiff, y):
    """-(log p(y | X) + log prior) of a GP with the kernel `kernel` and
    its gradient with respect to theta, the logs of the length scales, the
    variance and the noise; `sqdiff` holds the squared differences
    (x_ij - x_kj)^2 of the inputs."""
    d = sqdiff.shape[-1]
    ls2, var, noise = theta[:d].exp() ** 2, theta[d].exp(), theta[d + 1].exp()
    r2 = sqdiff @ (1 / ls2)
    k, slope = kernel_with_slope(kernel, r2)
    K = var * k + noise * torch.eye(len(y), dtype=y.dtype)
    L, _ = cholesky_with_jitter(K)
    alpha = torch.cholesky_solve(y[:, None], L)
    mll = (-0.5 * (y @ alpha[:, 0]) - L.diagonal().log().sum()
           - 0.5 * len(y) * math.log(2 * math.pi))
    W = 0.5 * (alpha @ alpha.T - torch.cholesky_inverse(L))
    W_var = W * var
    grad = torch.cat([-2 / ls2 * (sqdiff.reshape(-1, d).T
                                  @ (W_var * slope).reshape(-1)),
                      (W_var * k).sum()[None],
                      (noise * W.diagonal().sum())[None]])
    log_ls = theta[:d]
    prior = (-0.5 * ((log_ls - math.log(0.25)) ** 2).sum()
             + var.log() - var + 0.1 * noise.log() - 30 * noise)
    prior_grad = torch.cat([-(log_ls - math.log(0.25)), (1 - var)[None],
                            (0.1 - 30 * noise)[None]])
    return -(mll + prior).item(), -(grad + prior_grad).numpy()


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def log_h(z):
    """log(phi(z) + z Phi(z)), accurate for very negative z too."""
    c1, c2 = 0.5 * math.log(2 * math.pi), 0.5 * math.log(math.pi / 2)
    z_far = -1 / math.sqrt(torch.finfo(torch.float64).eps)
    z1 = z.clamp(min=-1)  # every branch sees only inputs where it is safe
    direct = torch.log(torch.exp(-0.5 * z1 ** 2) / math.sqrt(2 * math.pi)
                       + z1 * torch.special.ndtr(z1))
    z2 = z.clamp(min=z_far, max=-1)
    u = torch.log(torch.special.erfcx(-z2 / math.sqrt(2)) * -z2) + c2
    log1mexp = torch.where(u > -math.log(2), torch.log(-torch.expm1(u)),
                           torch.log1p(-torch.exp(u)))
    tail = -0.5 * z2 ** 2 - c1 + log1mexp
    z3 = z.clamp(max=z_far)
    far = -0.5 * z3 ** 2 - c1 - 2 * torch.log(-z3)
    return torch.where(z > -1, direct, torch.where(z > z_far, tail, far))


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
class LogEI(torch.autograd.Function):
    """log EI with its derivatives with respect to the mean and std."""
    @staticmethod
    def forward(ctx, mean, std, best):
        z = (best - mean) / std
        log_hz = log_h(z)
        ctx.save_for_backward(z, std, log_hz)
        return torch.log(std) + log_hz

    @staticmethod
    def backward(ctx, grad):
        z, std, log_hz = ctx.saved_tensors
        Phi_over_h = torch.exp(torch.special.log_ndtr(z) - log_hz)
        phi_over_h = torch.exp(-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)
                               - log_hz)
        return -grad * Phi_over_h / std, grad * phi_over_h / std, None


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def active_mask(encoder, U):
    """name -> boolean array: whether each hyperparameter is active in each
    (snapped) row of U."""
    masks = {name: np.ones(len(U), dtype=bool) for name in encoder.domains}
    parents = {d.parent for d in encoder.domains.values()} - {None}
    if not parents:
        return masks
    for i, u in enumerate(U):
        config = {}
        for part in encoder.parts:  # parents first
            name = part[0]
            masks[name][i] = d2lhpo.active(encoder.domains[name], config)
            if masks[name][i] and name in parents:
                config[name] = encoder.value(part, u)
    return masks

def impute_inactive(encoder, U):
    """U, with the columns of inactive hyperparameters set to 0 in place."""
    masks = active_mask(encoder, U)
    for name, _, j, width, _ in encoder.parts:
        U[~masks[name], j:j + width] = 0
    return U


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def grid_points(encoder, limit):
    """Every point of an encoded space without float columns, or None if it
    has float columns or more than `limit` points."""
    axes = []
    for _, kind, _, width, levels in encoder.parts:
        if levels:
            axes.append(np.linspace(0, 1, levels)[:, None])
        elif kind == 'onehot':
            axes.append(np.eye(width))
        elif kind != 'fixed':  # a float, or an integer on a log scale
            return None
    if math.prod(len(a) for a in axes) > limit:
        return None
    U = impute_inactive(encoder, np.array([
        np.concatenate(p) for p in itertools.product(*axes)
    ]).reshape(-1, encoder.dim))
    if any(d.parent for d in encoder.domains.values()):  # no repeats
        U = np.unique(U, axis=0)
    return U


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def point_keys(A):
    """Hashable keys of the rows of `A` (one point: a 1-D array), rounded
    to 9 decimals with -0 read as 0, so that equal points share a key."""
    A = np.round(np.atleast_2d(np.asarray(A, dtype=float)), 9) + 0.0
    return [row.tobytes() for row in A]

def is_running(U, X_u):
    """Which rows of U coincide with a row of X_u (by their keys)."""
    if X_u is None or not len(X_u):
        return np.zeros(len(U), dtype=bool)
    X_u = np.atleast_2d(X_u)
    if X_u.shape[1] != np.shape(U)[1]:
        raise ValueError(f'points of width {X_u.shape[1]} cannot match '
                         f'candidates of width {np.shape(U)[1]}')
    taken = set(point_keys(X_u))
    return np.array([key in taken for key in point_keys(U)], dtype=bool)

def best_not_running(U, values, X_u):
    """The row of U with the largest value among those not in X_u."""
    return U[int(np.argmax(np.where(is_running(U, X_u), -np.inf, values)))]


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def point_key(u):
    """A hashable key of an encoded point (rounded: equal points match)."""
    return point_keys(u)[0]

def fresh_random_config(searcher, trial_id, tries=100):
    """A random configuration, encoded, whose key is not in
    `searcher.seen` if the space has one left."""
    grid = searcher.grid
    if grid is not None and len(searcher.seen) >= len(grid):
        tries = 1  # every point suggested: any will do
    for _ in range(tries):
        u = searcher.encoder.encode(
            searcher.random.sample_configuration(trial_id))
        if point_key(u) not in searcher.seen:
            return u
    if grid is not None:  # finite: uniformly among the points left
        left = [g for g, key in zip(grid, point_keys(grid))
                if key not in searcher.seen]
        if left:
            return left[searcher.rng.integers(len(left))]
    return u


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def grid_neighbors(encoder, u):
    """The points that differ from u by one step in one discrete column."""
    out = []
    for _, kind, j, width, levels in encoder.parts:
        if levels:
            for step in (-1, 1):
                v = u.copy()
                v[j] = round(u[j] * (levels - 1) + step) / (levels - 1)
                if 0 <= v[j] <= 1:
                    out.append(v)
        elif kind == 'onehot':
            for i in np.flatnonzero(u[j:j + width] != 1):
                v = u.copy()
                v[j:j + width] = 0
                v[j + i] = 1
                out.append(v)
    return impute_inactive(encoder, np.array(out).reshape(-1, encoder.dim))


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def polish_floats(acq, starts, cont, maxiter, ftol):
    """L-BFGS-B on the float columns `cont` of every start at once."""
    k = len(starts)

    def loss(z):
        z = torch.tensor(z.reshape(k, -1), requires_grad=True)
        U = d2lhpo.as_f64(starts).clone()
        U[:, cont] = z
        value = -acq(U).sum()
        value.backward()
        return value.item(), z.grad.numpy().ravel()

    result = optimize.minimize(
        loss, starts[:, cont].ravel(), jac=True, method='L-BFGS-B',
        bounds=[(0, 1)] * starts[:, cont].size,
        options={'maxiter': maxiter, 'ftol': ftol})
    starts = starts.copy()
    starts[:, cont] = result.x.reshape(k, -1)
    return starts


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def climb_neighbors(values, encoder, starts, num_starts, rounds=3):
    """Hill-climb from `starts` to better grid neighbors; every point
    visited and its value."""
    points, vals = [], []
    pool, pool_vals = starts, values(starts)
    for _ in range(rounds):
        nb = np.concatenate([grid_neighbors(encoder, u) for u in pool])
        if not len(nb):
            break
        points.append(nb)
        vals.append(values(nb))
        pool = np.concatenate([pool, nb])
        pool_vals = np.concatenate([pool_vals, vals[-1]])
        top = np.argsort(-pool_vals)[:num_starts]
        pool, pool_vals = pool[top], pool_vals[top]
    return points, vals


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def maximize_acquisition(acq, encoder, rng, X_obs=None, exclude=None,
                         num_random=512, num_starts=4, maxiter=25,
                         ftol=1e7 * np.finfo(float).eps):
    """The point of the encoded space (snapped) that maximizes `acq`, a
    function of an (m, D) tensor that returns m values."""
    def values(U):
        with torch.no_grad():
            return acq(d2lhpo.as_f64(U)).numpy()

    U = grid_points(encoder, limit=4 * num_random)
    exhaustive = U is not None
    if not exhaustive:
        U = qmc.Sobol(encoder.dim, seed=rng).random(num_random)
        if X_obs is not None:
            U = np.concatenate([U, X_obs])
        U = encoder.snap(U)
    points, vals = [U], [values(U)]
    starts = U[np.argsort(-vals[0])[:num_starts]]
    if encoder.continuous.any():
        starts = impute_inactive(encoder, polish_floats(
            acq, starts, encoder.continuous, maxiter, ftol))
        points.append(starts)
        vals.append(values(starts))
    if not exhaustive and not encoder.continuous.all():
        more_points, more_vals = climb_neighbors(values, encoder, starts,
                                                 num_starts)
        points, vals = points + more_points, vals + more_vals
    points, vals = np.concatenate(points), np.concatenate(vals)
    vals = np.where(is_running(points, exclude), -np.inf, vals)
    return points[int(np.argmax(vals))]


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def random_local_search(score, encoder, rng, X_obs, num_random=512):
    """Candidates (snapped) and their scores: every grid point of a small
    grid, else Sobol points and a local search around the best ones."""
    U = grid_points(encoder, limit=4 * num_random)
    if U is not None:
        return U, score(U)
    U = encoder.snap(np.concatenate([qmc.Sobol(
        encoder.dim, seed=rng).random(num_random), X_obs]))
    values = score(U)
    for scale in (0.1, 0.03, 0.01):
        top = U[np.argsort(-values)[:8]]
        near = encoder.snap(np.repeat(top, 16, axis=0) + scale
                            * rng.standard_normal((len(top) * 16,
                                                   encoder.dim)))
        U, values = (np.concatenate([U, near]),
                     np.concatenate([values, score(near)]))
    return U, values


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def neighbor_bandwidths(mus):
    """Kernel widths for the rows of `mus` (n, d): per column, the distance
    to the farther neighbor among the sorted values, clipped below."""
    n, d = mus.shape
    sigmas = np.ones((n, d))
    for c in range(d):
        order = np.argsort(mus[:, c], kind='stable')
        pts = np.concatenate([[0.0], mus[order, c], [1.0]])
        gaps = np.maximum(pts[1:-1] - pts[:-2], pts[2:] - pts[1:-1])
        if n >= 2:  # the outermost points: their one inner neighbor
            gaps[0], gaps[-1] = pts[2] - pts[1], pts[-2] - pts[-3]
        sigmas[order, c] = gaps
    return np.clip(sigmas, 1 / min(100, n + 2), 1.0)


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
class FinalEpochBenchmark:
    """A learning-curve benchmark whose trials report only their final
    error, after the time that all their epochs took."""
    def __init__(self, benchmark):
        self.benchmark = benchmark
        self.config_space = benchmark.config_space
        self.seeds = benchmark.seeds

    def learning_curve(self, config, seed):
        curve = self.benchmark.learning_curve(config, seed)
        return {'error': curve['error'][-1:],
                'epoch_time': [sum(curve['epoch_time'])]}

    def true_error(self, config):
        """The mean over seeds of the final validation error of `config`."""
        return float(self.benchmark.val_error[
            self.benchmark.index(config), :, -1].mean())

    def best_error(self):
        """The lowest true error of any configuration."""
        return float(self.benchmark.val_error[:, :, -1].mean(axis=1).min())

    # Added in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
    def true_trajectory(self, tuner):
        """The times of a tuner's results and the true error of its incumbent
        (lowest observed error, the first on ties) after each of them."""
        times, trajectory, best, true = [], [], math.inf, math.nan
        for result in tuner.results:
            if result['error'] < best:
                best = result['error']
                true = self.true_error(tuner.records[result['trial_id']].config)
            times.append(result['time'])
            trajectory.append(true)
        return times, trajectory


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def regret_curves(make_searcher, function, num_evals, seeds,
                  noise=0.0):
    """Simple regret after each evaluation of `function`, one row per seed
    (a fresh searcher `make_searcher(seed)` for each): the noise-free value
    of the incumbent, the configuration with the lowest value the searcher
    saw, minus the minimum. The searcher sees the values plus Gaussian
    noise of standard deviation `noise` (none by default)."""
    curves = []
    for seed in seeds:
        searcher, rng = make_searcher(seed), np.random.default_rng(seed)
        seen, incumbent, curve = math.inf, math.nan, []
        for trial_id in range(num_evals):
            config = searcher.sample_configuration(trial_id)
            value = function(**config)
            observed = value + noise * rng.normal() if noise else value
            searcher.update(trial_id, config, observed)
            if observed < seen:  # the first of equal values stays
                seen, incumbent = observed, value
            curve.append(incumbent - function.min_value)
        curves.append(curve)
    return np.array(curves)


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def compare_on_functions(searchers, budgets, seeds, axes):
    """Regret curves of each searcher (name -> class) on each function
    (problem -> (function, num_evals)): printed, plotted and returned
    (problem -> name -> array of seeds x evaluations)."""
    results = {}
    for ax, (problem, (function, num_evals)) in zip(axes, budgets.items()):
        results[problem] = curves = {name: regret_curves(
            lambda seed: cls(function.config_space, seed=seed), function,
            num_evals, seeds) for name, cls in searchers.items()}
        d2lhpo.plot_regret_curves(curves, ax, problem)
        for name, c in curves.items():
            print(f'{problem:>9}, {name:>16}: median regret after '
                  f'{num_evals} evaluations {np.median(c[:, -1]):.2e}')
    return results


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def compare_on_table(searchers, benchmark, seeds, ax, num_trials=40,
                     label='digits'):
    """Run each searcher (name -> class) on `benchmark`, a
    FinalEpochBenchmark, with four simulated workers; print and plot the
    regret of the incumbent's true error (a run's last value holds after
    it ends); return the final regrets."""
    best, runs = benchmark.best_error(), {}
    for name, cls in searchers.items():
        runs[name] = []
        for seed in seeds:
            tuner = d2lhpo.AsyncTuner(d2lhpo.BasicScheduler(cls(
                benchmark.config_space, seed=seed)), d2lhpo.SimulatedBackend(
                    benchmark, num_workers=4, seed=seed))
            tuner.run(number_of_trials=num_trials)
            runs[name].append(benchmark.true_trajectory(tuner))
    finals = {name: np.array([trajectory[-1] for _, trajectory in pairs])
              - best for name, pairs in runs.items()}
    for name, regrets in finals.items():
        print(f'{label:>9}, {name:>16}: median final regret '
              f'{np.median(regrets):.4f}')
    end = max(times[-1] for pairs in runs.values() for times, _ in pairs)
    d2lhpo.plot_anytime_band(runs, np.linspace(0, end, 200), ax=ax,
                             transform=lambda c: c - best,
                             ylabel='regret of the true error')
    return finals


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def ms_per_suggestion(num_obs, max_points, repeats=3, seed=0):
    """Median milliseconds per suggestion of BayesOptSearcher on Hartmann6
    after `num_obs` random observations (`repeats` timed suggestions)."""
    function, rng = d2lhpo.HARTMANN6, np.random.default_rng(seed)
    searcher = d2lhpo.BayesOptSearcher(function.config_space, seed=seed,
                                       max_points=max_points)
    searcher.num_suggested = searcher.num_init  # past the initial design
    times = []
    for trial_id in range(num_obs + 1 + repeats):
        tic = time.perf_counter()
        config = (dict(zip(function.names, rng.uniform(size=6).tolist()))
                  if trial_id < num_obs else
                  searcher.sample_configuration(trial_id))
        times.append(time.perf_counter() - tic)
        searcher.update(trial_id, config, function(**config))
    return 1000 * np.median(times[num_obs + 1:])


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def plot_band(ax, x, mean, std, label=None):
    """A mean and a band of two standard deviations around it."""
    ax.plot(x, mean, 'C0', label=label)
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, color='C0',
                    alpha=0.2, label=label and 'mean $\\pm$ 2 std')

def plot_gp(gp, ax, x, num_samples=0, X=None, y=None, seed=0):
    """The posterior of `gp` on the grid `x` (an (m, 1) tensor), with
    `num_samples` functions drawn from it and the observations (X, y)."""
    mean, cov = gp.predict(x, full_cov=True)
    plot_band(ax, x[:, 0], mean, cov.diagonal().clamp(min=0).sqrt(), 'mean')
    if num_samples:
        L, _ = cholesky_with_jitter(cov + 1e-8 * torch.eye(len(x)))
        z = torch.randn(len(x), num_samples, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed))
        ax.plot(x[:, 0], mean[:, None] + L @ z, 'C1', lw=0.8, alpha=0.8)
    if X is not None:
        ax.plot(X[:, 0], y, 'k.', markersize=9, label='observations')


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def plot_bo_step(searcher, axes, x_axis, next_x, truth=None):
    """One step of BO on a space with one hyperparameter, on two axes."""
    ax, ax_acq = axes
    name = next(iter(searcher.domains))
    U = np.array([searcher.encoder.encode({name: v}) for v in x_axis])
    with torch.no_grad():
        mean, var = searcher.gp.predict(U)
        acq = searcher.acquisition_function(d2lhpo.as_f64(U)).exp()
    mean = searcher.y_center + searcher.y_scale * mean.numpy()
    std = searcher.y_scale * var.sqrt().numpy()
    if truth is not None:
        ax.plot(*truth, 'k--', lw=0.8)
    plot_band(ax, x_axis, mean, std)
    X, y = searcher.observed()
    ax.plot([searcher.encoder.decode(u)[name] for u in X], y, 'k.',
            markersize=8)
    ax_acq.plot(x_axis, acq / acq.max(), 'C2')
    for a in axes:
        a.axvline(next_x, color='C3', lw=1)


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def plot_branin(ax, observed=(), suggestions=()):
    """Contours of log Branin, its minima, observations and suggestions."""
    x0, x1 = np.meshgrid(np.linspace(-5, 10, 150), np.linspace(0, 15, 150))
    values = d2lhpo.BRANIN.evaluate(np.stack([x0.ravel(), x1.ravel()], 1))
    ax.contourf(x0, x1, np.log(values.reshape(x0.shape)), levels=30)
    ax.plot([c['x0'] for c in observed], [c['x1'] for c in observed], 'wo',
            markersize=5, markeredgecolor='k', label='observed')
    ax.plot(*d2lhpo.BRANIN.argmins.T, 'w*', markersize=11,
            markeredgecolor='k', label='minima')
    for i, config in enumerate(suggestions):
        ax.annotate(str(i + 1), (config['x0'], config['x1']), color='C3',
                    fontsize=12, fontweight='bold', ha='center', va='center')
    ax.set_xlim(-5.5, 10.5)
    ax.set_ylim(-0.5, 15.5)
    ax.set_xlabel('$x_1$')
    ax.set_ylabel('$x_2$')
    ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.02, 1))


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def plot_regret_curves(curves, ax, title='', floor=1e-8):
    """Median and 95% bootstrap band of each method's regret curves, on a
    log axis; regrets below `floor` (none in this book) are drawn at it."""
    for name, c in curves.items():
        evals = np.arange(1, c.shape[1] + 1)
        center, low, high = d2lhpo.anytime_band(np.maximum(c, floor))
        line, = ax.plot(evals, center, label=name)
        ax.fill_between(evals, low, high, color=line.get_color(), alpha=0.2)
    ax.set_yscale('log')
    ax.set_xlabel('evaluations')
    ax.set_ylabel('simple regret')
    ax.set_title(title, fontsize=10)
    ax.legend()


# Defined in chapter_appendix/bo_numerics.md (:numref:`sec_appendix_bo_numerics`)
def plot_tpe_step(axes, searcher, rng, truth, num_candidates=64):
    """One step of TPE on a space of one column, on three axes: the good
    and bad observations, l and g, and log l - log g at candidates drawn
    from l with `rng`; return the good and the bad points and the best
    candidate."""
    good, bad = searcher.split()
    l = d2lhpo.ParzenEstimator(searcher.encoder, good)
    g = d2lhpo.ParzenEstimator(searcher.encoder, bad)
    candidates = l.sample(rng, num_candidates)
    X, y = searcher.observed()
    u = np.linspace(0, 1, 300)[:, None]
    axes[0].plot(u, truth(u), 'k--', lw=0.8)  # the true function
    is_good = np.isin(X[:, 0], good[:, 0])
    axes[0].plot(X[~is_good, 0], y[~is_good], 'C0.', label='bad',
                 markersize=8)
    axes[0].plot(X[is_good, 0], y[is_good], 'C1.', label='good',
                 markersize=8)
    axes[1].plot(u, np.exp(l.log_pdf(u)), 'C1', label='$l(x)$')
    axes[1].plot(u, np.exp(g.log_pdf(u)), 'C0', label='$g(x)$')
    ratio = l.log_pdf(candidates) - g.log_pdf(candidates)
    axes[2].plot(u, l.log_pdf(u) - g.log_pdf(u), 'C2')
    axes[2].plot(candidates[:, 0], ratio, 'k|', markersize=10)
    best = candidates[np.argmax(ratio), 0]
    for ax in axes:
        ax.axvline(best, color='C3', lw=1)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    axes[2].set(ylabel='$\\log l - \\log g$', xlabel='$x$')
    return good, bad, best


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
import glob
import inspect
import math
import os
import shutil
import tempfile

import numpy as np
import torch
from matplotlib import pyplot as plt


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def cnn_checkpointed(lr, batch_size=32, channels=16, num_epochs=8, seed=0,
                     checkpoint=None):
    """`cnn_curve` that saves its state to the file `checkpoint` after
    every epoch, and continues from it if the file exists."""
    torch.manual_seed(seed)
    data, model = d2lhpo.load_digits_data(), d2lhpo.SmallCNN(channels)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    done = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        generator.set_state(state['generator'])
        torch.set_rng_state(state['torch_rng'])
        done = state['epoch']
    for epoch in range(done + 1, num_epochs + 1):
        d2lhpo.train_epoch(model, optimizer, *data.train, batch_size,
                           generator)
        error = d2lhpo.error_rate(model, *data.val)
        if checkpoint is not None:
            state = {'model': model.state_dict(), 'epoch': epoch,
                     'optimizer': optimizer.state_dict(),
                     'generator': generator.get_state(),
                     'torch_rng': torch.get_rng_state()}
            torch.save(state, checkpoint + '.tmp')
            os.replace(checkpoint + '.tmp', checkpoint)
        yield error


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def copy_atomically(source, target):
    """Copy the file `source` to `target`, which is whole or untouched."""
    part = f'{target}.part{os.getpid()}'
    try:
        shutil.copyfile(source, part)
        os.replace(part, target)
    finally:
        if os.path.exists(part):  # the copy failed half-way
            os.remove(part)


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def takes_checkpoint(objective):
    """Whether `objective` has a `checkpoint` parameter."""
    return 'checkpoint' in inspect.signature(objective).parameters

def checkpoint_path(tuner, trial):
    """The checkpoint file of the new `trial` of `tuner`, or None if the
    objective has no `checkpoint` parameter."""
    if getattr(tuner, 'backend', None) is not None:  # AsyncTuner
        return tuner.backend.checkpoint_path(trial)
    if tuner.objective is None or not takes_checkpoint(tuner.objective):
        return None
    if tuner.checkpoint_dir is None:  # deleted with the tuner
        tuner.temporary_dir = tempfile.TemporaryDirectory(
            prefix='d2lhpo-checkpoints-')
        tuner.checkpoint_dir = tuner.temporary_dir.name
    os.makedirs(tuner.checkpoint_dir, exist_ok=True)
    path = os.path.join(tuner.checkpoint_dir, f'trial_{trial.trial_id}.pt')
    for old in glob.glob(glob.escape(path) + '*'):
        os.remove(old)
    return path

def failing_steps(error):
    """A generator of results that raises `error` at once."""
    raise error
    yield


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def trial_steps(tuner, trial):
    """The generator of `trial`'s results on the sequential `tuner`."""
    config = trial.config
    if trial.checkpoint is not None:
        config = dict(config, checkpoint=trial.checkpoint)
        if trial.epochs:  # it continues a copied state
            snapshot = f'{trial.checkpoint}.epoch{trial.epochs}'
            try:
                copy_atomically(snapshot, trial.checkpoint)
            except OSError as err:  # missing: the trial fails alone
                return failing_steps(OSError(
                    f'cannot continue after epoch {trial.epochs}: {err}'))
    return d2lhpo.objective_steps(tuner.objective, config)


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def check_fidelity(eta, r_min, r_max):
    """Return eta, r_min, r_max as ints; ValueError unless they are
    integers (they count epochs) with eta >= 2 and 1 <= r_min <= r_max."""
    eta = d2lhpo.check_integer('eta', eta)
    r_min = d2lhpo.check_integer('r_min', r_min, minimum=1)
    r_max = d2lhpo.check_integer('r_max', r_max)
    if eta < 2:
        raise ValueError(f'the reduction factor eta must be >= 2, got {eta}')
    if r_min > r_max:
        raise ValueError(f'r_min ({r_min}) must not exceed r_max ({r_max})')
    return eta, r_min, r_max


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
class TracedScheduler(d2lhpo.SchedulerWrapper):
    """Forwards to `scheduler`; `log` lists ('resume', trial_id) for each
    resume it suggests and (decision, trial_id, epoch) for each decision
    other than CONTINUE."""
    def __init__(self, scheduler):
        super().__init__(scheduler)
        self.log = []

    def suggest(self, trial_id):
        suggestion = self.scheduler.suggest(trial_id)
        if isinstance(suggestion, d2lhpo.Resume):
            self.log.append(('resume', suggestion.trial_id))
        return suggestion

    def on_trial_result(self, trial, result):
        decision = self.scheduler.on_trial_result(trial, result)
        if decision != d2lhpo.CONTINUE:
            self.log.append((decision, trial.trial_id, result['epoch']))
        return decision


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def plot_learning_curves(curves, ax=None):
    """Draw learning curves, each a pair (epochs, errors), on log-log
    axes; return the axes."""
    ax = ax if ax is not None else plt.subplots(figsize=(5, 3.2))[1]
    for epochs, errors in curves:
        ax.plot(epochs, errors, color='C0', alpha=0.5, linewidth=1)
    ax.set(xscale='log', yscale='log', xlabel='epoch',
           ylabel='validation error')
    return ax


# Defined in chapter_appendix/checkpoints.md (:numref:`sec_appendix_checkpoints`)
def print_medians(runs, times):
    """Print each method's median incumbent error over its runs (pairs of
    times and incumbent trajectory) at the given times."""
    for name, pairs in runs.items():
        at = np.median([d2lhpo.incumbent_at(t, y, times) for t, y in pairs],
                       axis=0)
        print(f'{name:>18}: median error at',
              ', '.join(f'{x:g}' for x in times), 's:',
              ', '.join(f'{v:.4f}' for v in at))


# Defined in chapter_appendix/pbt_tools.md (:numref:`sec_appendix_pbt_tools`)
from matplotlib import pyplot as plt


# Defined in chapter_appendix/pbt_tools.md (:numref:`sec_appendix_pbt_tools`)
def plot_lineage(scheduler, ax=None):
    """Draw the trials of a `PBTScheduler`'s run over epochs, one row per
    member, with an arrow for each exploit; return the axes."""
    ax = ax if ax is not None else plt.subplots(figsize=(5, 2.8))[1]
    for trial_id, (member, source, epoch) in scheduler.lineage.items():
        trial, color = scheduler.trials[trial_id], f'C{member % 10}'
        retired = trial_id in scheduler.retired
        ax.plot([epoch, trial.epochs], [member, member], color=color,
                lw=5, alpha=0.4 if retired else 1, solid_capstyle='butt')
        ax.plot(epoch, member, '|', color='k', ms=9)  # where it started
        ax.text(epoch + 0.15, member + 0.12, str(trial_id), ha='left',
                va='bottom', fontsize=8)
        row = scheduler.lineage[source][0] if source is not None else member
        if row != member:  # an exploit: from the state copied to the child
            ax.plot(epoch, row, 'o', color=color, ms=4, mec='k', mew=0.5)
            ax.annotate('', xy=(epoch, member), xytext=(epoch, row),
                        arrowprops=dict(arrowstyle='->', color=color,
                                        shrinkA=3, shrinkB=4,
                                        connectionstyle='arc3,rad=0.3'))
        if trial.status == 'failed':
            ax.plot(trial.epochs, member, 'kx')
    members = sorted({m for m, _, _ in scheduler.lineage.values()})
    ax.set(xlabel='epoch', ylabel='member', yticks=members,
           ylim=(members[0] - 0.5, members[-1] + 0.6))
    return ax


# Defined in chapter_appendix/pbt_tools.md (:numref:`sec_appendix_pbt_tools`)
def plot_schedules(scheduler, name, ax=None):
    """Draw each member's schedule of hyperparameter `name`; return the
    axes."""
    ax = ax if ax is not None else plt.subplots(figsize=(4, 2.8))[1]
    members = sorted(scheduler.members.items())
    for i, (member, trial) in enumerate(members):
        values = [config[name] for config in scheduler.schedule(trial.trial_id)]
        if values:  # the first members drawn widest: equal lines show
            ax.step(range(len(values) + 1), values + values[-1:],
                    where='post', color=f'C{member % 10}',
                    lw=1 + 2 * (len(members) - i) / len(members),
                    label=f'member {member}')
    domain = scheduler.searcher.domains.get(name)
    if domain is not None and getattr(domain, 'log', False):
        ax.set_yscale('log')
    ax.set(xlabel='epoch', ylabel=name)
    return ax


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
import math

import numpy as np
from matplotlib import patches, pyplot as plt


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def check_objectives(Y, reference=None):
    """`Y` as a float array (n points, m objectives) without NaN or
    -inf; with `reference`, also that as a finite array of length m."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ValueError('objective values must be a 2-D array (points x '
                         f'objectives, at least one), got shape {Y.shape}')
    bad = np.flatnonzero((np.isnan(Y) | (Y == -np.inf)).any(axis=1))
    if len(bad):
        raise ValueError(f'objective values are NaN or -inf in rows '
                         f'{bad[:5]}; remove failed trials first')
    if reference is None:
        return Y
    reference = np.asarray(reference, dtype=float)
    if reference.shape != (Y.shape[1],):
        raise ValueError(f'the reference point must have shape '
                         f'({Y.shape[1]},), one entry per objective, got '
                         f'{reference.shape}')
    if not np.all(np.isfinite(reference)):
        raise ValueError(f'the reference point must be finite, got '
                         f'{reference}')
    return Y, reference


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def objective_signs(metrics, mode):
    """Check a list of metrics and a mode for all or a list of modes, one
    per metric; return one sign per metric (1: 'min', -1: 'max')."""
    metrics = list(metrics)
    if (not metrics or len(set(map(str, metrics))) != len(metrics)
            or not all(isinstance(m, str) and m for m in metrics)):
        raise ValueError(f'metric must be a list of distinct non-empty '
                         f'strings, got {metrics!r}')
    if 'error' in metrics[1:]:
        raise ValueError("'error' may only be the first metric: the tuner "
                         "keeps the first objective under 'error'")
    modes = [mode] * len(metrics) if isinstance(mode, str) else list(mode)
    if len(modes) != len(metrics):
        raise ValueError(f'{len(metrics)} metrics {metrics} but '
                         f'{len(modes)} modes {modes}: give one mode for '
                         'all or one per metric')
    return [d2lhpo.metric_sign(m, mo) for m, mo in zip(metrics, modes)]


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def as_objectives(value, metrics, mode):
    """`as_result` for a list of metrics: the result also gets
    'objectives', all metrics minimized; its 'error' is the first."""
    signs = objective_signs(metrics, mode)
    result = d2lhpo.as_result(value, metrics[0],
                              'min' if signs[0] == 1 else 'max')
    objectives = [result['error']]
    for metric, sign in zip(metrics[1:], signs[1:]):
        if metric not in result:
            raise KeyError(f'a reported dict needs the metric {metric!r}, '
                           f'got {value!r}')
        number = d2lhpo.as_error(result[metric])
        if not math.isfinite(number):
            raise ValueError(f'the objective returned {number} for '
                             f'{metric!r}')
        result[metric] = number
        objectives.append(sign * number)
    result['objectives'] = objectives
    return result


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def plot_front(Y, front, ax=None, xlabel='', ylabel='', label='front'):
    """All points of `Y` (n x 2) in grey, those of `front` (a mask or
    indices) in color, joined by their staircase."""
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    Y = check_objectives(Y)
    P = Y[front]
    P = P[np.argsort(P[:, 0])]
    ax.scatter(*Y.T, s=8, color='0.75', label='all configurations')
    ax.step(*P.T, where='post', color='C0', lw=1)
    ax.scatter(*P.T, s=18, color='C0', zorder=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def plot_hypervolume(Y, reference, ax=None, color='C0'):
    """Shade the region that the points of `Y` (n x 2) dominate up to
    `reference`, one rectangle per point of their front."""
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    Y, reference = check_objectives(Y, reference)
    P = Y[d2lhpo.pareto_front(Y) & np.all(Y < reference, axis=1)]
    P = P[np.argsort(P[:, 0])]
    tops = np.r_[reference[1], P[:-1, 1]]  # each box ends at the last point
    for (x, y), top in zip(P, tops):
        ax.add_patch(patches.Rectangle((x, y), reference[0] - x, top - y,
                                       color=color, alpha=0.3, lw=0))
    ax.scatter(*P.T, s=18, color=color, zorder=3)
    ax.plot(*reference, 'kx', ms=8)
    ax.annotate('reference', reference, textcoords='offset points',
                xytext=(-8, 6), ha='right')
    return ax


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def hypervolume_trajectory(tuner, true_objectives, reference, grid):
    """At each time of `grid`, the hypervolume up to `reference` of the
    true objective vectors of the trials on the tuner's front then."""
    latest, worth, curve, hv, i = {}, {}, np.zeros(len(grid)), 0.0, 0
    results = tuner.results
    for k, t in enumerate(grid):
        changed = False
        while i < len(results) and results[i]['time'] <= t:
            latest[results[i]['trial_id']] = results[i]['objectives']
            i, changed = i + 1, True
        if changed:
            ids = list(latest)
            on_front = d2lhpo.pareto_front(np.array([latest[j] for j in ids]))
            front_ids = [ids[n] for n in np.flatnonzero(on_front)]
            for j in front_ids:
                if j not in worth:
                    worth[j] = true_objectives(tuner.records[j].config)
            hv = d2lhpo.hypervolume([worth[j] for j in front_ids], reference)
        curve[k] = hv
    return curve


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def simulate_hypervolume(make_scheduler, benchmark, seeds, costs, metric,
                         true_objectives, reference, grid, num_workers=4,
                         **budget):
    """Run a fresh scheduler per seed on a `SimulatedCostsBackend`; return
    the hypervolume curves on `grid` (seeds x times)."""
    curves = []
    for seed in seeds:
        backend = d2lhpo.SimulatedCostsBackend(benchmark, costs,
                                               num_workers, seed=seed)
        tuner = d2lhpo.AsyncTuner(make_scheduler(seed), backend,
                                  metric=metric)
        tuner.run(**budget)
        curves.append(hypervolume_trajectory(tuner, true_objectives,
                                             reference, grid))
    return np.array(curves)


# Defined in chapter_appendix/multi_objective_tools.md (:numref:`sec_appendix_multi_objective_tools`)
def plot_hypervolume_band(curves, grid, ax=None, ylabel=''):
    """Median and 95% bootstrap band over seeds of each method's curves
    (`curves` maps a name to an array, seeds x times of `grid`)."""
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    for name, C in curves.items():
        center, low, high = d2lhpo.anytime_band(C)
        line, = ax.plot(grid, center, label=f'{name} ({len(C)} seeds)')
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
    ax.set(xlabel='simulated time (s)', ylabel=ylabel or 'hypervolume')
    ax.legend()
    return ax

def time_to_hypervolume(curve, grid, target):
    """The first time of `grid` at which `curve` >= `target` (inf if it
    never is)."""
    hits = np.flatnonzero(np.asarray(curve) >= target)
    return float(grid[hits[0]]) if len(hits) else math.inf


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
import math
import numbers

import numpy as np
from matplotlib import pyplot as plt


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
RESERVED_KEYS = ('error', 'time', 'epoch', 'trial_id', 'objectives',
                 'constraints', 'violation', 'feasible')

def check_constraints(constraints, metric='error'):
    """The tuner's constraint keys as a list (empty for None); a TypeError
    or ValueError unless they are distinct, non-empty strings that are
    neither a metric nor a key that the tuner writes itself."""
    if constraints is None:
        return []
    if not isinstance(constraints, (list, tuple)) or not all(
            isinstance(key, str) and key for key in constraints):
        raise TypeError('constraints must be a list of keys of the reported '
                        "dict, e.g. ['latency_excess'], got "
                        f'{constraints!r}')
    taken = set(RESERVED_KEYS) | set(d2lhpo.metric_names(metric))
    clash = [key for key in constraints if key in taken]
    if clash or len(set(constraints)) < len(constraints):
        raise ValueError(f'constraint keys must be distinct and not a metric '
                         f'or one of {RESERVED_KEYS}; got {constraints!r}')
    return list(constraints)


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
def with_feasibility(result, constraints):
    """Add 'constraints' (the values of the keys `constraints`, each
    feasible when <= 0), 'violation' (the sum of their positive parts, inf
    if one is NaN) and 'feasible' (violation == 0) to `result`."""
    values = []
    for key in constraints:
        if key not in result:
            raise KeyError(f'a reported dict needs the constraint {key!r} '
                           f'(feasible when <= 0), got keys {sorted(result)}')
        value = result[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f'the constraint {key!r} must be a number, got '
                            f'{type(value).__name__}')
        values.append(float(value))
    violation = sum(math.inf if math.isnan(v) else max(v, 0.0)
                    for v in values)
    result.update(constraints=values, violation=violation,
                  feasible=violation == 0)
    return result


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
def best_feasible_curve(tuner, worth=None):
    """After each result of `tuner`: the lowest `worth(config)` (default:
    the error) among its feasible results so far (inf before the first)."""
    best, curve = math.inf, []
    for result in tuner.results:
        if result.get('feasible', True):
            config = tuner.records[result['trial_id']].config
            value = result['error'] if worth is None else worth(config)
            best = min(best, value)
        curve.append(best)
    return np.array(curve)

def run_constrained(make_searcher, objective, seeds, num_trials,
                    constraints, worth=None):
    """Best-feasible curves (seeds x evaluations) of a fresh searcher per
    seed on `objective`, run for `num_trials` trials."""
    curves = []
    for seed in seeds:
        tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(make_searcher(seed)),
                                objective, constraints=constraints)
        tuner.run(number_of_trials=num_trials)
        curves.append(best_feasible_curve(tuner, worth))
    return np.array(curves)


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
def run_to_cost(searcher, objective, budget, cost='cost'):
    """Run trials until their reported costs sum to `budget`; return the
    cumulative cost and the incumbent error after each trial."""
    tuner = d2lhpo.HPOTuner(d2lhpo.BasicScheduler(searcher), objective)
    spent, costs = 0.0, []
    while spent < budget:
        tuner.run(number_of_trials=1)
        spent += tuner.results[-1][cost]
        costs.append(spent)
    return np.array(costs), np.array(tuner.incumbent_trajectory)

def cost_curves(make_searcher, objective, seeds, budget, grid,
                cost='cost'):
    """Incumbent errors on `grid` (costs), seeds x grid points."""
    return np.array([d2lhpo.incumbent_at(*run_to_cost(
        make_searcher(seed), objective, budget, cost), grid)
        for seed in seeds])


# Defined in chapter_appendix/constrained_cost_tools.md (:numref:`sec_appendix_constrained_cost_tools`)
def plot_best_band(curves, x, ax=None, xlabel='evaluations',
                   ylabel='best feasible true error'):
    """Median and quartiles over seeds of each method's curves (`curves`
    maps a name to an array, seeds x points of `x`)."""
    if ax is None:
        ax = plt.subplots(figsize=(5, 3.2))[1]
    for name, C in curves.items():
        with np.errstate(invalid='ignore'):  # inf - inf between seeds
            low, center, high = np.quantile(C, [0.25, 0.5, 0.75], axis=0)
        shown = lambda v: np.where(np.isfinite(v), v, np.nan)
        line, = ax.plot(x, shown(center), label=f'{name} ({len(C)} seeds)')
        ax.fill_between(x, shown(low), shown(high), color=line.get_color(),
                        alpha=0.2)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return ax


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
import copy
import itertools
import math
import time
import warnings

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt, ticker
from matplotlib.collections import LineCollection
from scipy import stats
from sklearn import base as sk_base
from sklearn import metrics as sk_metrics
from sklearn import model_selection, utils as sk_utils
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import FitFailedWarning, NotFittedError


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
FANOVA_MAX_LEVELS = 64

def fanova_parts(encoder, reference):
    """One (name, first column, width, points) per hyperparameter that is
    not constant: `points` (values x width) are the encoded values of its
    members, None for a uniform measure on [0, 1]. `reference` is any
    configuration of the space."""
    full = {n: d.grid(1)[0] for n, d in encoder.domains.items()}
    full.update(reference)  # every name has a value, active or not
    parts = []
    for name, kind, j, width, _ in encoder.parts:
        if kind == 'fixed':
            continue
        domain, points = encoder.domains[name], None
        if kind != 'float' and (kind != 'int' or domain.high - domain.low
                                < FANOVA_MAX_LEVELS):
            members = (range(domain.low, domain.high + 1) if kind == 'int'
                       else domain.choices)
            points = np.array([encoder.encode(switched_on(
                encoder.domains, dict(full, **{name: value}), name))
                [j:j + width] for value in members])
        parts.append((name, j, width, points))
    return parts


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def switched_on(domains, config, name):
    """`config` with the parents of `name` set so that it is active."""
    while domains[name].parent is not None:
        domain = domains[name]
        if not d2lhpo.active(domain, config):
            config[domain.parent] = domain.parent_values[0]
        name = domain.parent
    return config


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def fanova_trials(trials, domains, metric='error', epoch=None):
    """(list of checked configurations, array of finite values, metric
    name, positions of those trials among all) of a tuner, a table or a
    list of (config, value) pairs."""
    if epoch is not None and not isinstance(trials, d2lhpo.HPOTuner):
        raise ValueError('epoch selects the results of a tuner; a table or '
                         f'a list has none by epoch (got epoch={epoch!r})')
    if isinstance(trials, d2lhpo.HPOTuner):
        sign, metric = trials.sign, d2lhpo.metric_names(trials.metric)[0]
        if epoch is None:
            pairs = [(r.config, sign * r.error) for r in trials.records]
        else:
            d2lhpo.check_integer('epoch', epoch, minimum=1)
            pairs = [(trials.records[r['trial_id']].config,
                      sign * r['error'])
                     for r in trials.results if r['epoch'] == epoch]
    elif isinstance(trials, pd.DataFrame):
        if metric not in trials.columns:
            raise KeyError(f'the table has no column {metric!r} (the metric);'
                           f' it has {list(trials.columns)}')
        names = [name for name in domains if name in trials.columns]
        pairs = [(d2lhpo.table_config({n: row[n] for n in names}, domains),
                  row[metric]) for row in trials.to_dict('records')]
    elif isinstance(trials, (list, tuple)):
        pairs = list(trials)
    else:
        raise TypeError('trials must be a tuner, a table (DataFrame) or a '
                        'list of (config, value) pairs, got '
                        f'{type(trials).__name__}')
    configs, values, kept = [], [], []
    for i, (config, value) in enumerate(pairs):
        value = d2lhpo.as_error(value)
        if math.isfinite(value):
            configs.append(d2lhpo.check_config(domains, config))
            values.append(value)
            kept.append(i)
    return configs, np.array(values), metric, kept


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def leaf_boxes(tree, num_features):
    """(lows, highs, values) of the leaves of a fitted sklearn tree: leaf
    l holds the points with lows[l, d] < x_d <= highs[l, d] for all d."""
    lows, highs, values = [], [], []
    stack = [(0, np.full(num_features, -np.inf),
              np.full(num_features, np.inf))]
    while stack:
        node, low, high = stack.pop()
        d = tree.feature[node]
        if d < 0:  # a leaf
            lows.append(low), highs.append(high)
            values.append(tree.value[node].item())
            continue
        left_high, right_low = high.copy(), low.copy()
        left_high[d] = right_low[d] = tree.threshold[node]
        stack.append((tree.children_left[node], low, left_high))
        stack.append((tree.children_right[node], right_low, high))
    return np.array(lows), np.array(highs), np.array(values)


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def part_cells(lows, highs, j, points):
    """(points, weights): one point per cell of the hyperparameter in
    column j (or at the discrete `points`) and its share of the measure."""
    if points is not None:
        return points, np.full(len(points), 1 / len(points))
    edges = np.unique(np.clip(np.concatenate(
        [[0.0, 1.0], lows[:, j], highs[:, j]]), 0, 1))
    return ((edges[:-1] + edges[1:]) / 2)[:, None], np.diff(edges)

def covers(lows, highs, j, points):
    """covers[l, c]: leaf l holds points[c] (a row of values of the
    columns j, j + 1, ...) in all those columns, as 0 or 1."""
    columns = slice(j, j + points.shape[1])
    inside = ((lows[:, columns, None] < points.T)
              & (points.T <= highs[:, columns, None]))
    return inside.all(axis=1).astype(float)


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
class TreeANOVA:
    """The functional ANOVA of one regression tree over hyperparameters
    given as `parts` (name, first column, width, points) of `fanova_parts`;
    `dim` is the number of columns."""
    def __init__(self, tree, parts, dim):
        self.lows, self.highs, self.values = leaf_boxes(tree, dim)
        self.starts = [j for _, j, _, _ in parts]
        self.cells = [part_cells(self.lows, self.highs, j, points)
                      for _, j, _, points in parts]
        self.covers = [covers(self.lows, self.highs, j, points)
                       for j, (points, _) in zip(self.starts, self.cells)]
        self.widths = np.stack([C @ w for C, (_, w) in
                                zip(self.covers, self.cells)], axis=1)
        volume = self.widths.prod(axis=1)
        self.mean = volume @ self.values
        self.total_variance = volume @ (self.values - self.mean) ** 2

    def marginal(self, features, points=None):
        """a_U at the cells of the one or two hyperparameters `features`
        (indices of parts; at `points` of a single one, if given)."""
        others = np.delete(self.widths, features, axis=1).prod(axis=1)
        weighted = self.values * others
        if points is not None:
            return covers(self.lows, self.highs, self.starts[features[0]],
                          points).T @ weighted
        if len(features) == 1:
            return self.covers[features[0]].T @ weighted
        d, e = features
        return self.covers[d].T @ (weighted[:, None] * self.covers[e])

    def variance(self, features):
        """V_U of one hyperparameter or of a pair (beyond their single
        effects)."""
        if len(features) == 1:
            w = self.cells[features[0]][1]
            return w @ (self.marginal(features) - self.mean) ** 2
        d, e = features
        joint = self.cells[d][1] @ (self.marginal(features) - self.mean
                                    ) ** 2 @ self.cells[e][1]
        return joint - self.variance([d]) - self.variance([e])


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
class Fanova:
    """Functional ANOVA of a random forest fitted to trials (a tuner, a
    table or (config, value) pairs) of `config_space`."""
    def __init__(self, trials, config_space, metric='error', epoch=None,
                 num_trees=64, max_depth=64, seed=None):
        self.domains = d2lhpo.parse_config_space(config_space)
        configs, y, self.metric, _ = fanova_trials(trials, self.domains,
                                                   metric, epoch)
        if len(configs) < 2 or np.ptp(y) == 0:
            raise ValueError(f'fANOVA needs at least two trials with '
                             f'different finite values of {self.metric!r}, '
                             f'got {len(configs)} ({np.unique(y)[:3]})')
        self.encoder = d2lhpo.SpaceEncoder(self.domains)
        self.parts = fanova_parts(self.encoder, configs[0])
        if not self.parts:
            raise ValueError('every hyperparameter is constant: nothing can '
                             'explain the differences')
        self.names = [name for name, *_ in self.parts]
        X = np.array([self.encoder.encode(c) for c in configs])
        self.forest = RandomForestRegressor(
            d2lhpo.check_integer('num_trees', num_trees, minimum=1),
            max_depth=d2lhpo.check_integer('max_depth', max_depth, 1),
            random_state=d2lhpo.check_seed('seed', seed)).fit(X, y)
        self.trees = [TreeANOVA(t.tree_, self.parts, self.encoder.dim)
                      for t in self.forest.estimators_]
        self.trees = [t for t in self.trees if t.total_variance > 0]

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def importances(self, pairs=False):
        """The mean over trees of the fraction of variance that each
        hyperparameter (and, with `pairs`, each pair 'a:b') explains, sorted
        from the largest; constants get 0."""
        subsets = [[d] for d in range(len(self.names))]
        if pairs:
            subsets += [list(p) for p in itertools.combinations(
                range(len(self.names)), 2)]
        fractions = np.array([[t.variance(s) / t.total_variance for s in subsets]
                              for t in self.trees])
        names = [':'.join(self.names[d] for d in s) for s in subsets]
        result = pd.Series(np.clip(fractions.mean(axis=0), 0, None), names)
        constants = [n for n in self.domains if n not in self.names]
        result = pd.concat([result, pd.Series(0.0, constants)])
        return result.sort_values(ascending=False, kind='stable')

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def marginal(self, name, num_points=50):
        """DataFrame of `name`'s values and the mean and std over trees of the
        marginal prediction of the metric there."""
        if name not in self.names:
            raise ValueError(f'{name!r} is not a hyperparameter of the forest; '
                             f'those are {self.names}')
        d = self.names.index(name)
        _, j, width, points = self.parts[d]
        if points is None:
            points = np.linspace(0, 1, d2lhpo.check_integer(
                'num_points', num_points, minimum=2))[:, None]
        curves = np.array([t.marginal([d], points) for t in self.trees])
        u, values = np.zeros(self.encoder.dim), []
        for point in points:  # back to the hyperparameter's scale
            u[j:j + width] = point
            values.append(self.encoder.decode(u)[name])
        return pd.DataFrame({name: values, 'mean': curves.mean(axis=0),
                             'std': curves.std(axis=0)})


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def fanova_importances(trials, config_space, metric='error', epoch=None,
                       pairs=False, num_trees=64, max_depth=64,
                       seed=None):
    """The fraction of the variance of the metric that each hyperparameter
    explains (functional ANOVA on a random forest), sorted."""
    return Fanova(trials, config_space, metric, epoch, num_trees, max_depth,
                  seed).importances(pairs)


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def plot_importances(importances, ax=None, top=None):
    """Horizontal bars of the `top` largest importances (a Series)."""
    shown = importances.sort_values(ascending=False).iloc[:top][::-1]
    if ax is None:
        ax = plt.subplots(figsize=(4.5, 0.3 * len(shown) + 1))[1]
    ax.barh([str(name) for name in shown.index], shown.values)
    ax.set(xlabel='fraction of variance explained', xlim=(0, max(
        1e-3, 1.05 * shown.max())))
    return ax

def plot_marginal(fanova, name, ax=None, num_points=50):
    """The marginal of hyperparameter `name`, mean +- std over trees."""
    table = fanova.marginal(name, num_points)
    if ax is None:
        ax = plt.subplots(figsize=(4, 3))[1]
    domain = fanova.domains[name]
    if fanova.parts[fanova.names.index(name)][3] is None:  # continuous
        ax.plot(table[name], table['mean'])
        ax.fill_between(table[name], table['mean'] - table['std'],
                        table['mean'] + table['std'], alpha=0.3)
        if domain.log:
            ax.set_xscale('log')
    else:
        ax.errorbar([str(v) for v in table[name]], table['mean'],
                    table['std'], fmt='o', capsize=3)
    ax.set(xlabel=name, ylabel=f'marginal {fanova.metric}')
    return ax


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def plotted_trials(trials, config_space, metric='error', mode='min',
                   epoch=None):
    """(domains of the hyperparameters that are not constant, checked
    configurations, array of finite values as reported, array of trial ids
    or None, metric, mode) of a tuner, a table, a list of TrialRecords or
    of (config, value) pairs."""
    domains = d2lhpo.parse_config_space(config_space)
    shown = {n: d for n, d in domains.items() if d.kind != 'constant'}
    if not shown:
        raise ValueError('every hyperparameter of the space is a constant: '
                         'there is nothing to plot the metric against')
    sign, ids = d2lhpo.metric_sign(metric, mode), None
    if isinstance(trials, d2lhpo.HPOTuner):  # its own metric and mode
        sign = trials.sign
        ids = [r.trial_id for r in trials.records] if epoch is None else [
            r['trial_id'] for r in trials.results if r['epoch'] == epoch]
    elif isinstance(trials, pd.DataFrame) and 'trial_id' in trials.columns:
        ids = list(trials['trial_id'])
    elif isinstance(trials, (list, tuple)) and trials and all(
            isinstance(t, d2lhpo.TrialRecord) for t in trials):
        ids = [t.trial_id for t in trials]
        trials = [(t.config, sign * t.error) for t in trials]
    configs, values, metric, kept = fanova_trials(trials, domains, metric,
                                                  epoch)
    if not configs:
        raise ValueError(f'no trial has a finite value of {metric!r}')
    ids = None if ids is None else np.asarray(ids)[kept]
    return shown, configs, values, ids, metric, 'min' if sign == 1 else 'max'


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def choice_index(domain, value):
    """The position of `value` among the choices of `domain`."""
    return next(i for i, c in enumerate(domain.choices) if c == value
                and isinstance(c, bool) == isinstance(value, bool))

def axis_positions(domain, configs):
    """Where each configuration's value of `domain` lies on its axis, from
    0 (the low end, the first choice) to 1 (the high end, the last), on a
    log scale where the domain has one; NaN where it is inactive."""
    def position(value):
        if domain.kind == 'categorical':
            k = len(domain.choices)
            return choice_index(domain, value) / (k - 1) if k > 1 else 0.5
        scale = math.log if domain.log else float
        low, high = scale(domain.low), scale(domain.high)
        return (scale(value) - low) / (high - low) if high > low else 0.5
    return np.array([position(c[domain.name]) if domain.name in c
                     else np.nan for c in configs])


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def coordinate_matrix(domains, configs, values):
    """trials x axes: the positions on each hyperparameter's axis, then
    the value scaled from the lowest (0) to the highest (1)."""
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low) if high > low else 0 * values + .5
    return np.column_stack([axis_positions(d, configs)
                            for d in domains.values()] + [scaled])

def axis_ticks(domain, num_ticks=3):
    """(positions, labels) of an axis: every choice, or up to `num_ticks`
    distinct values from the low to the high end on the domain's scale."""
    if domain.kind == 'categorical':
        k = len(domain.choices)
        positions = np.linspace(0, 1, k) if k > 1 else np.array([0.5])
        return positions, [str(c) for c in domain.choices]
    if not domain.high > domain.low:  # one value, in the middle
        return np.array([0.5]), [f'{domain.low:.3g}']
    values = (np.geomspace if domain.log else np.linspace)(
        domain.low, domain.high, num_ticks)
    if domain.kind == 'int':  # integers, each once (1..2 has two)
        values = np.unique(np.round(values)).astype(int)
        positions = axis_positions(domain, [{domain.name: int(v)}
                                            for v in values])
        return positions, [str(v) for v in values]
    return np.linspace(0, 1, num_ticks), [f'{v:.3g}' for v in values]


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def plot_parallel_coordinates(trials, config_space, metric='error',
                              mode='min', epoch=None, ax=None):
    """A line per trial through an axis per hyperparameter and one for the
    metric, coloured by the metric; inactive values are gaps, counted in
    the axis's label."""
    domains, configs, values, _, metric, mode = plotted_trials(
        trials, config_space, metric, mode, epoch)
    Y = coordinate_matrix(domains, configs, values)
    x = np.arange(Y.shape[1])
    worst_first = np.argsort(-values if mode == 'min' else values)
    lines = LineCollection([np.column_stack([x, Y[i]]) for i in worst_first],
                           array=values[worst_first], linewidths=1, alpha=0.7,
                           cmap='viridis' if mode == 'min' else 'viridis_r')
    if ax is None:
        ax = plt.subplots(figsize=(1.4 * len(x) + 1.5, 3.2))[1]
    ax.add_collection(lines)
    ticks = [axis_ticks(d) for d in domains.values()] + [axis_ticks(
        d2lhpo.Domain(metric, 'float', values.min(), values.max()))]
    for j, (positions, labels) in enumerate(ticks):
        ax.axvline(j, color='black', linewidth=0.8)
        for y, label in zip(positions, labels):
            ax.text(j - 0.03, y, label, ha='right', va='center', fontsize=8,
                    bbox=dict(facecolor='white', edgecolor='none', pad=0.5))
    inactive = np.isnan(Y).sum(axis=0)
    ax.set(xlim=(-0.45, x[-1] + 0.1), ylim=(-0.05, 1.05), yticks=[],
           xticks=x, xticklabels=[f'{n}\n({k} inactive)' if k else n for n, k
                                  in zip([*domains, metric], inactive)])
    better = 'lower' if mode == 'min' else 'higher'
    ax.figure.colorbar(lines, ax=ax, label=f'{metric} ({better} is better)')
    return ax


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def slice_limits(domain, margin=0.03):
    """The x-limits of a numeric domain's slice: from its low to its high
    end, `margin` of the range wider on each side, on its scale."""
    if domain.log:
        wider = (domain.high / domain.low) ** margin
        return domain.low / wider, domain.high * wider
    wider = margin * (domain.high - domain.low) or 0.5
    return domain.low - wider, domain.high + wider


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def plot_slices(trials, config_space, metric='error', mode='min',
                epoch=None, axes=None, yscale='linear'):
    """The metric against each hyperparameter over its whole domain, a
    panel each, the points coloured by trial id; inactive values left out."""
    domains, configs, values, ids, metric, mode = plotted_trials(
        trials, config_space, metric, mode, epoch)
    if axes is None:
        axes = plt.subplots(1, len(domains), sharey=True, squeeze=False,
                            figsize=(2.4 * len(domains) + 1.2, 2.8))[1]
    axes = np.ravel(np.atleast_1d(axes))  # one Axes, a row or a grid
    if len(axes) != len(domains):
        raise ValueError(f'{len(domains)} panels are needed, for '
                         f'{list(domains)}; got {len(axes)} axes')
    colour = np.arange(len(configs)) if ids is None else ids
    for ax, (name, domain) in zip(axes, domains.items()):
        on = np.array([name in c for c in configs])
        x = [c[name] for c in configs if name in c]
        if domain.kind == 'categorical':
            x = [choice_index(domain, v) for v in x]
            ax.set_xticks(range(len(domain.choices)),
                          [str(c) for c in domain.choices], fontsize=8,
                          rotation=45 if len(domain.choices) > 4 else 0)
            ax.set_xlim(-0.5, len(domain.choices) - 0.5)
        else:  # the whole domain, a little wider
            ax.set_xscale('log' if domain.log else 'linear')
            ax.set_xlim(*slice_limits(domain))
        points = ax.scatter(x, values[on], c=colour[on], s=12,
                            cmap='cividis', vmin=colour.min(),
                            vmax=colour.max())
        ax.set_xlabel(name if on.all() else f'{name} ({sum(~on)} inactive)')
        ax.set_yscale(yscale)
        if yscale == 'logit':
            ax.yaxis.set_major_formatter(ticker.StrMethodFormatter('{x:g}'))
    better = 'lower' if mode == 'min' else 'higher'
    axes[0].set_ylabel(f'{metric} ({better} is better)')
    axes[0].figure.colorbar(points, ax=axes, label='trial id' if ids is not
                            None else 'position in the list')
    return axes


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def scheduler_levels(scheduler):
    """The sorted rung levels at which `scheduler` (or the scheduler it
    wraps) decides, or None: ASHA's levels, or those of every bracket of
    synchronous successive halving and Hyperband."""
    while not hasattr(scheduler, 'levels') and hasattr(scheduler,
                                                       'scheduler'):
        scheduler = scheduler.scheduler  # a SchedulerWrapper
    if hasattr(scheduler, 'brackets'):
        return sorted({level for _, levels in scheduler.brackets
                       for level in levels})
    levels = getattr(scheduler, 'levels', None)
    return None if levels is None else sorted(set(levels))


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def subsampled_splits(splits, y, fraction, stratify, seed):
    """The (train, test) index pairs with each training part subsampled
    to `fraction` of its size (stratified by `y` if `stratify`)."""
    rng = np.random.RandomState(seed)
    subsampled = []
    for train, test in splits:
        size = max(1, round(fraction * len(train)))
        if size < len(train):
            train = np.sort(sk_utils.resample(
                train, replace=False, n_samples=size, random_state=rng,
                stratify=y[train] if stratify else None))
        subsampled.append((train, test))
    return subsampled


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
class HPOSearchCV(sk_base.MetaEstimatorMixin, sk_base.BaseEstimator):
    """Tune `estimator` over `config_space` by k-fold cross-validation
    with a searcher and scheduler of the book, the scikit-learn way."""
    def __init__(self, estimator, config_space, searcher=None,
                 scheduler=None, n_trials=10, cv=5, scoring=None,
                 refit=True, min_resources='smallest', seed=None):
        self.estimator, self.config_space = estimator, config_space
        self.searcher, self.scheduler = searcher, scheduler
        self.n_trials, self.cv, self.scoring = n_trials, cv, scoring
        self.refit, self.min_resources, self.seed = refit, min_resources, seed

    def __sklearn_tags__(self):  # a classifier if the estimator is one
        tags = super().__sklearn_tags__()
        inner = sk_utils.get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        return tags

    @property
    def classes_(self):
        return self.refitted('classes_')

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def check_search(self):
        """The parsed space; a clear error for what cannot be searched."""
        if isinstance(self.estimator, type) or not all(
                callable(getattr(self.estimator, m, None))
                for m in ('fit', 'get_params', 'set_params')):
            raise TypeError('estimator must be a scikit-learn estimator '
                            '(an instance with fit, get_params and set_params), '
                            f'got {self.estimator!r}')
        domains = d2lhpo.parse_config_space(self.config_space)
        known = self.estimator.get_params(deep=True)
        unknown = [name for name in domains if name not in known]
        if unknown:
            raise ValueError(f'{unknown} are not parameters of '
                             f'{type(self.estimator).__name__}; it has '
                             f'{sorted(known)}')
        d2lhpo.check_integer('n_trials', self.n_trials, minimum=1)
        d2lhpo.check_flag('refit', self.refit)
        d2lhpo.check_seed('seed', self.seed)
        if self.min_resources != 'smallest':
            d2lhpo.check_integer('min_resources', self.min_resources, minimum=1)
        if not (self.scoring is None or isinstance(self.scoring, str)
                or callable(self.scoring)):
            raise ValueError('scoring must be None, the name of one scorer or a '
                             f'callable scorer (one metric), got {self.scoring!r}')
        return domains

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def make_scheduler(self):
        """A fresh scheduler (with its searcher) for one `fit`."""
        scheduler, searcher = self.scheduler, self.searcher
        if scheduler is not None and not isinstance(scheduler, type) and hasattr(
                scheduler, 'suggest'):  # an instance with its own searcher
            if searcher is not None:
                raise ValueError('a scheduler instance brings its own searcher; '
                                 'pass searcher=None, or the scheduler as a '
                                 'factory (e.g. the class d2lhpo.ASHAScheduler)')
            return d2lhpo.check_component('scheduler', copy.deepcopy(scheduler))
        if searcher is None or isinstance(searcher, str):  # a name, as in tune
            searcher = d2lhpo.make_searcher(searcher or 'random',
                                            self.config_space, self.seed)
        elif isinstance(searcher, type) or not hasattr(
                searcher, 'sample_configuration'):
            if not callable(searcher):
                raise TypeError('searcher must be a searcher, a factory called '
                                'as searcher(config_space, seed=seed), or None; '
                                f'got {searcher!r}')
            searcher = searcher(self.config_space, seed=self.seed)
        else:
            searcher = copy.deepcopy(searcher)
        d2lhpo.check_component('searcher', searcher)
        if scheduler is None:
            return d2lhpo.BasicScheduler(searcher)
        if not callable(scheduler):
            raise TypeError('scheduler must be a scheduler, a factory called as '
                            f'scheduler(searcher), or None; got {scheduler!r}')
        return d2lhpo.check_component('scheduler', scheduler(searcher))

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def cv_result(self, estimator, X, y, splits, n_resources):
        """The reported dict of one cross-validation."""
        scores = model_selection.cross_validate(
            estimator, X, y, cv=splits, scoring=self.scorer_,
            error_score='raise')
        return {'score': float(np.mean(scores['test_score'])),
                'split_scores': scores['test_score'].tolist(),
                'fit_time': float(np.mean(scores['fit_time'])),
                'score_time': float(np.mean(scores['score_time'])),
                'n_resources': n_resources}

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def make_objective(self, X, y, splits, levels):
        """objective(**config): one CV result, or (with rung `levels`) a
        generator of one result per level 1..r_max, fitted at rung levels."""
        n = len(splits[0][0]) + len(splits[0][1])
        if levels is None:
            return lambda **config: self.cv_result(sk_base.clone(
                self.estimator).set_params(**config), X, y, splits, n)
        r_max, classifier = levels[-1], sk_base.is_classifier(self.estimator)
        def n_resources(level):
            return min(n, max(self.min_resources_, round(level / r_max * n)))
        level_splits = {level: subsampled_splits(
            splits, y, n_resources(level) / n, classifier, self.seed)
            for level in levels}

        def objective(**config):
            estimator = sk_base.clone(self.estimator).set_params(**config)
            result, fitted_level = None, None
            for r in range(1, r_max + 1):
                level = max([l for l in levels if l <= r], default=levels[0])
                if level != fitted_level:
                    result = self.cv_result(estimator, X, y, level_splits[level],
                                            n_resources(level))
                    fitted_level = level
                yield dict(result)
        return objective

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def fit(self, X, y=None):
        """Tune on (X, y) by cross-validation; return self."""
        self.check_search()
        X, y = sk_utils.indexable(X, y)
        y_array = None if y is None else np.asarray(y)
        classifier = sk_base.is_classifier(self.estimator)
        cv = model_selection.check_cv(self.cv, y, classifier=classifier)
        splits = list(cv.split(X, y))
        self.n_splits_ = len(splits)
        self.scorer_ = sk_metrics.check_scoring(self.estimator, self.scoring)
        if self.min_resources == 'smallest':
            classes = len(np.unique(y_array)) if classifier else 1
            self.min_resources_ = 2 * self.n_splits_ * classes
        else:
            self.min_resources_ = self.min_resources
        scheduler = self.make_scheduler()
        levels = scheduler_levels(scheduler)
        self.tuner_ = d2lhpo.HPOTuner(TrialLimit(scheduler, self.n_trials),
                                      self.make_objective(X, y_array, splits,
                                                          levels),
                                      metric='score', mode='max')
        self.tuner_.run(self.n_trials + 1)  # TrialLimit ends it after resumes
        self.cv_results_ = self.results_of(self.tuner_)
        self.best_index_ = int(np.argmin(self.cv_results_['rank_test_score']))
        self.best_params_ = self.cv_results_['params'][self.best_index_]
        self.best_score_ = float(
            self.cv_results_['mean_test_score'][self.best_index_])
        if self.refit:
            tic = time.perf_counter()
            self.best_estimator_ = sk_base.clone(self.estimator).set_params(
                **self.best_params_).fit(X, y)
            self.refit_time_ = time.perf_counter() - tic
        return self

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def results_of(self, tuner):
        """cv_results_ (a dict of arrays, one entry per trial) of a run."""
        last = {result['trial_id']: result for result in tuner.results}
        n = len(tuner.records)
        failed = [r for r in tuner.records if r.trial_id not in last]
        if len(failed) == n:
            raise ValueError(f'all {n} trials failed; the first: '
                             f'{failed[0].message}')
        if failed:
            warnings.warn(f'{len(failed)} of {n} trials failed, e.g. '
                          f'{failed[0].message}', FitFailedWarning)
        nan_result = {'score': np.nan, 'fit_time': np.nan, 'score_time': np.nan,
                      'n_resources': 0, 'split_scores': [np.nan] * self.n_splits_}
        rows = [last.get(r.trial_id, nan_result) for r in tuner.records]
        splits = np.array([row['split_scores'] for row in rows], dtype=float)
        results = {'params': [r.config for r in tuner.records]}
        for name in self.config_space:
            column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=False)
            column[:] = [r.config[name] for r in tuner.records]
            results[f'param_{name}'] = column
        for k in range(self.n_splits_):
            results[f'split{k}_test_score'] = splits[:, k]
        results['mean_test_score'] = np.array([row['score'] for row in rows])
        results['std_test_score'] = splits.std(axis=1)
        results['rank_test_score'] = rank_by_resources_then_score(
            np.array([row['n_resources'] for row in rows]),
            results['mean_test_score'])
        for key in ('fit_time', 'score_time'):
            results[f'mean_{key}'] = np.array([row[key] for row in rows])
            results[f'std_{key}'] = np.zeros(n)  # one mean per trial is kept
        results['n_resources'] = np.array([row['n_resources'] for row in rows])
        return results

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def refitted(self, method):
        """The method `method` of best_estimator_; a clear error without it."""
        if not hasattr(self, 'best_estimator_'):
            why = ('it was fitted with refit=False' if hasattr(self, 'tuner_')
                   else 'it is not fitted yet: call fit(X, y)')
            raise NotFittedError(
                f'{method} needs best_estimator_, and this HPOSearchCV has none: '
                f'{why}')
        return getattr(self.best_estimator_, method)

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def predict(self, X):
        return self.refitted('predict')(X)

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def predict_proba(self, X):
        return self.refitted('predict_proba')(X)

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def decision_function(self, X):
        return self.refitted('decision_function')(X)

    # Added in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
    def score(self, X, y=None):
        self.refitted('predict')
        return self.scorer_(self.best_estimator_, X, y)


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
class TrialLimit(d2lhpo.SchedulerWrapper):
    """Starts at most `n` new trials; after them, only resumes."""
    def __init__(self, scheduler, n):
        super().__init__(scheduler)
        self.n, self.started = d2lhpo.check_integer('n', n, minimum=1), 0

    def suggest(self, trial_id):
        suggestion = self.scheduler.suggest(trial_id)
        if isinstance(suggestion, d2lhpo.Resume):
            return suggestion
        if suggestion is None or self.started == self.n:
            return None  # the run ends (a configuration drawn is dropped)
        self.started += 1
        return suggestion


# Defined in chapter_appendix/practice_tools.md (:numref:`sec_appendix_practice_tools`)
def rank_by_resources_then_score(resources, scores):
    """Ranks (1 = best; ties share the best rank): more resources first,
    then the higher score; NaN scores last."""
    scores = np.where(np.isnan(scores), -np.inf, scores)
    better = (resources[None, :] > resources[:, None]) | (
        (resources[None, :] == resources[:, None])
        & (scores[None, :] > scores[:, None]))
    return 1 + better.sum(axis=1).astype(np.int32)


__all__ = [
    'ASHAScheduler',
    'AsyncTuner',
    'BRANIN',
    'Backend',
    'BasicScheduler',
    'BayesOptSearcher',
    'Budget',
    'CNN_SPACE',
    'CONTINUE',
    'CURVE_KEYS',
    'Conditional',
    'ConstrainedBayesOptSearcher',
    'ConstrainedTPESearcher',
    'ConvNet1d',
    'CostAwareBayesOptSearcher',
    'DIGITS_MLP_SPACE',
    'DIGITS_MLP_TABLE',
    'DataSplits',
    'Domain',
    'EVENT_KEYS',
    'FANOVA_MAX_LEVELS',
    'FASHION_MNIST_FILES',
    'Fanova',
    'FinalEpochBenchmark',
    'GaussianProcess',
    'GridSearcher',
    'GridTree',
    'HARTMANN3',
    'HARTMANN6',
    'HPOScheduler',
    'HPOSearchCV',
    'HPOSearcher',
    'HPOTuner',
    'HyperbandScheduler',
    'IDX_DTYPES',
    'KERNELS',
    'LOG_ENCODER',
    'LocalBackend',
    'LogEI',
    'MAX_GRID_POINTS',
    'MLP',
    'MNIST1D_SPACE',
    'MNIST1D_TABLE',
    'MOASHAScheduler',
    'MOTPESearcher',
    'Matern52',
    'MedianStoppingRule',
    'ModelBasedSearcher',
    'MultiFidelityFunction',
    'MultiFidelityTPESearcher',
    'OPTIONAL_ARRAYS',
    'OPTIONAL_CURVES',
    'ORJSON_OPTIONS',
    'PAUSE',
    'PBTScheduler',
    'PLAIN_TYPES',
    'PairedComparison',
    'ParzenEstimator',
    'ProgressBoard',
    'Quantized',
    'REGENERATE_HINT',
    'RESERVED_KEYS',
    'RESERVED_NAMES',
    'RESULT_KEYS',
    'RFSearcher',
    'ROLE_METHODS',
    'RandomScalarization',
    'RandomSearcher',
    'RayBackend',
    'Resume',
    'RunProgress',
    'SCHEDULERS',
    'STOP',
    'SchedulerWrapper',
    'SimulatedBackend',
    'SimulatedCostsBackend',
    'SimulatedTrial',
    'SmallCNN',
    'SpaceEncoder',
    'SuccessiveHalvingScheduler',
    'SynchronousMultiFidelityScheduler',
    'SynchronousScheduler',
    'SyntheticFunction',
    'TABLE_ARRAYS',
    'TPESearcher',
    'TabularBenchmark',
    'TextBar',
    'TracedScheduler',
    'TreeANOVA',
    'TreeParzenEstimator',
    'TrialEvent',
    'TrialLimit',
    'TrialLog',
    'TrialRecord',
    'TrialRunner',
    'WorkerBackend',
    'active',
    'active_mask',
    'add_to_class',
    'anytime_band',
    'as_error',
    'as_f64',
    'as_objectives',
    'as_result',
    'average_ranks',
    'axis_positions',
    'axis_ticks',
    'best_feasible_curve',
    'best_not_running',
    'branin_function',
    'busy_intervals',
    'busy_workers',
    'check_budgets',
    'check_component',
    'check_config',
    'check_constraints',
    'check_event',
    'check_factors',
    'check_fidelity',
    'check_fields',
    'check_flag',
    'check_fraction',
    'check_integer',
    'check_loggable',
    'check_number',
    'check_objectives',
    'check_observations',
    'check_paired',
    'check_positive',
    'check_query',
    'check_run_line',
    'check_seed',
    'check_table_values',
    'checked_event',
    'checkpoint_path',
    'choice_index',
    'cholesky_with_jitter',
    'climb_neighbors',
    'cnn_checkpointed',
    'cnn_curve',
    'cnn_objective',
    'compare_on_functions',
    'compare_on_table',
    'coordinate_matrix',
    'copy_atomically',
    'cost_curves',
    'count_macs',
    'covers',
    'cpu_latency',
    'crowding_distance',
    'die_with_parent',
    'digits_model',
    'dominance',
    'draws_text_bar',
    'encode_line',
    'encode_lines',
    'error_rate',
    'expected_improvement',
    'failing_steps',
    'fanova_importances',
    'fanova_parts',
    'fanova_trials',
    'fast_lines',
    'forest_predict',
    'fresh_random_config',
    'get_device',
    'grid_neighbors',
    'grid_points',
    'grid_sizes',
    'hartmann_function',
    'hyperband_brackets',
    'hypervolume',
    'hypervolume_trajectory',
    'impute_inactive',
    'in_notebook',
    'incumbent_at',
    'incumbent_window',
    'is_running',
    'json_default',
    'kernel_with_slope',
    'leaf_boxes',
    'line_encoder',
    'load_benchmark_table',
    'load_digits_data',
    'load_fashion_mnist',
    'load_mnist1d',
    'local_worker_main',
    'log_expected_improvement',
    'log_h',
    'log_probability_of_improvement',
    'log_ticks',
    'loguniform_int',
    'lower_confidence_bound',
    'make_domain',
    'make_scheduler',
    'make_searcher',
    'matern52',
    'maximize_acquisition',
    'metric_names',
    'metric_sign',
    'mnist1d_model',
    'ms_per_suggestion',
    'name_board',
    'neg_log_posterior',
    'neighbor_bandwidths',
    'non_dominated_sort',
    'normalized_regret',
    'num_ahead',
    'objective_signs',
    'objective_steps',
    'off_grid_error',
    'paired_comparison',
    'pareto_front',
    'parse_config_space',
    'part_cells',
    'plain_result',
    'plot_anytime',
    'plot_anytime_band',
    'plot_band',
    'plot_best_band',
    'plot_bo_step',
    'plot_branin',
    'plot_front',
    'plot_gp',
    'plot_hypervolume',
    'plot_hypervolume_band',
    'plot_importances',
    'plot_learning_curves',
    'plot_lineage',
    'plot_marginal',
    'plot_parallel_coordinates',
    'plot_regret_curves',
    'plot_schedules',
    'plot_slices',
    'plot_timeline',
    'plot_tpe_step',
    'plotted_trials',
    'point_key',
    'point_keys',
    'points_per_axis',
    'polish_floats',
    'print_medians',
    'propose_or_random',
    'quantized',
    'random_local_search',
    'range_check',
    'rank_by_resources_then_score',
    'rank_order',
    'ray_error_reason',
    'rbf',
    'read_events',
    'read_idx',
    'record_learning_curve',
    'regret_curves',
    'reported_result',
    'robust_standardize',
    'room_at_top',
    'run_constrained',
    'run_line',
    'run_to_cost',
    'rung_levels',
    'sample_config',
    'scalarize',
    'scaled_sqdist',
    'scheduler_levels',
    'simulate',
    'simulate_hypervolume',
    'slice_limits',
    'softmax_objective',
    'softmax_regression',
    'space_of',
    'standardize',
    'start_local_ray',
    'start_points',
    'subsample',
    'subsampled_splits',
    'successive_halving_rungs',
    'switched_on',
    'table_config',
    'takes_checkpoint',
    'time_to_hypervolume',
    'time_to_reach',
    'toy_function',
    'train_epoch',
    'train_model',
    'trial_steps',
    'true_order',
    'true_trajectory',
    'tune',
    'usable_cores',
    'utilization',
    'validation_loss',
    'warm_start_data',
    'warm_start_pair',
    'warn_once',
    'with_feasibility',
]
