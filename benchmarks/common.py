"""Helpers shared by the benchmark scripts."""
import os
import platform
import time

import numpy as np


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line():
    """One line describing this machine, for the head of a report."""
    return (f'machine: {platform.platform()}, {cpu_model()}, '
            f'{os.cpu_count()} CPUs, Python {platform.python_version()}')


def suggestion_seconds(runs, configs, repeats=20):
    """Median and largest seconds per `sample_configuration` of each run.

    `runs` maps a name to (searcher, tell, model): each searcher is first
    told `configs` (observations it never suggested) with
    `tell(trial_id, config)`; `model` (the searcher itself if None, or the
    model-based searcher a wrapper drives) is then set past its initial
    design. The `repeats` timed suggestions alternate between the runs (in
    turn forwards and backwards), so that other load on the machine hits
    them alike; each is told before the next, so the last one sees
    len(configs) + repeats - 1 observations. Returns name -> (median,
    largest).
    """
    for searcher, tell, model in runs.values():
        for trial_id, config in enumerate(configs):
            tell(trial_id, config)
        model = searcher if model is None else model
        model.num_suggested = model.num_init  # past the initial design
    seconds = {name: [] for name in runs}
    names = list(runs)
    for trial_id in range(len(configs), len(configs) + repeats):
        for name in names if trial_id % 2 else names[::-1]:  # no favorite
            searcher, tell, _ = runs[name]
            tic = time.perf_counter()
            config = searcher.sample_configuration(trial_id)
            seconds[name].append(time.perf_counter() - tic)
            tell(trial_id, config)
    return {name: (float(np.median(s)), max(s)) for name, s in seconds.items()}


def report_checks(checks, check, tic):
    """Print the wall-clock since `tic` and PASS/FAIL per (ok, text) check;
    the exit code: 1 if `check` and a check failed, else 0."""
    print(f'\n({time.perf_counter() - tic:.0f} s of wall-clock)')
    for ok, text in checks:
        print(('PASS: ' if ok else 'FAIL: ') + text)
    return 1 if check and not all(ok for ok, _ in checks) else 0
