"""Kill a logged run at random points, resume it each time, and compare
its final records with those of an uninterrupted run (issue 13).

For each backend (one function per backend, in ``BACKENDS``), a child
process runs a logged search and is killed with SIGKILL after a random
delay, ``--kills`` times; each child first replays the log that the
previous ones left (torn last line included) and goes on. A last process
resumes the run to its end. The final records (trial ids, configurations,
statuses and the validation error of every epoch) must equal those of the
same search run once without interruption.

* ``local``: ASHA (promotion) on ``LocalBackend`` with 2 worker processes
  and a checkpointed toy objective; see ``local`` for what is checked.
* ``simulated``: grid search (shuffled, seeded) over
  ``d2lhpo.TabularBenchmark`` on ``SimulatedBackend`` with 4 workers; the
  grid ends the run (1,134 trials x 30 epochs). Children are forked, so a
  kill costs no start-up time.

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/kill_resume.py [--kills 20]
        [--seed 0] [--backends simulated] [--check]

Prints one summary line per backend; exits 0 (a report), or with
``--check`` 1 if the records differ.
"""
import argparse
import collections
import os
import random
import signal
import sys
import tempfile
import time
import warnings

from scipy import stats

import d2lhpo


def records(tuner):
    """trial id -> (config, status, errors of epochs 1, 2, ...)."""
    errors = collections.defaultdict(dict)
    for result in tuner.results:
        errors[result['trial_id']][result['epoch']] = result['error']
    return {r.trial_id: (r.config, r.status,
                         [errors[r.trial_id][e] for e in sorted(
                             errors[r.trial_id])])
            for r in tuner.records}


def kill_and_resume(run_to_end, kills, rng):
    """Run `run_to_end(log)` uninterrupted, then in children killed at
    random moments and resumed; return (reference, final, counts)."""
    workdir = tempfile.mkdtemp()
    tic = time.perf_counter()
    reference = records(run_to_end(os.path.join(workdir, 'reference.jsonl')))
    duration = time.perf_counter() - tic
    log = os.path.join(workdir, 'run.jsonl')
    counts = collections.Counter()
    for _ in range(kills):
        pid = os.fork()
        if pid == 0:  # the child resumes the log and runs; never returns
            try:
                warnings.simplefilter('ignore')
                run_to_end(log)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, duration / 2))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        counts['killed' if os.WIFSIGNALED(status) else 'finished'] += 1
        with open(log, 'rb') as f:
            counts['torn'] += not f.read().endswith(b'\n')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        final = records(run_to_end(log))
    return reference, final, counts


def simulated(kills, rng):
    bench = d2lhpo.TabularBenchmark()

    def run_to_end(log):
        scheduler = d2lhpo.BasicScheduler(d2lhpo.GridSearcher(
            bench.config_space, shuffle=True, seed=0))
        tuner = d2lhpo.AsyncTuner(scheduler, d2lhpo.SimulatedBackend(
            bench, num_workers=4, seed=0))
        tuner.log_to(log)
        tuner.run(number_of_trials=10 ** 6)  # the grid ends the run
        return tuner
    return kill_and_resume(run_to_end, kills, rng)


def toy_curve(x, checkpoint, calls, num_epochs=9):
    """error = x + 1 / epoch, one epoch every 50 ms; saves its epoch to
    `checkpoint` (and continues from it); notes each epoch it trains."""
    done = 0
    if os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = int(f.read())
    for epoch in range(done + 1, num_epochs + 1):
        time.sleep(0.05)
        with open(calls, 'a') as f:
            f.write(f'{x!r} {epoch}\n')
        with open(checkpoint, 'w') as f:
            f.write(str(epoch))
        yield x + 1 / epoch


def local(kills, rng):
    """ASHA (promotion: trials pause and resume from checkpoints) on two
    worker processes. Worker timing decides which trials ASHA promotes, so
    the records need not equal an uninterrupted run's; what must hold is
    that no booked result is lost or booked twice, every curve continues
    where it stopped (epoch k reports x + 1/k), and the workers train at
    most one epoch per worker and kill that was never booked."""
    workdir = tempfile.mkdtemp()
    calls = os.path.join(workdir, 'calls.txt')
    space, last = {'x': stats.uniform(0, 1)}, []

    def run_to_end(log):
        scheduler = d2lhpo.ASHAScheduler(d2lhpo.RandomSearcher(space, seed=0),
                                         eta=3, r_min=1, r_max=9,
                                         kind='promotion')
        backend = d2lhpo.LocalBackend(
            lambda x, checkpoint: toy_curve(x, checkpoint, calls), 2)
        tuner = d2lhpo.AsyncTuner(scheduler, backend)
        tuner.log_to(log)
        try:
            tuner.run(number_of_trials=27 - len(tuner.records))
        finally:
            backend.close()
        last.append(tuner)
        return tuner
    reference, final, counts = kill_and_resume(run_to_end, kills, rng)
    booked = sum(len(errors) for _, _, errors in final.values())
    with open(calls) as f:  # the reference run and the killed ones
        trained = len(f.read().splitlines()) - sum(
            len(errors) for _, _, errors in reference.values())
    counts['extra epochs'] = trained - booked
    bad = sum(errors != [config['x'] + 1 / k for k in
                         range(1, len(errors) + 1)]
              for config, _, errors in final.values())
    unfinished = sum(status == 'running' for _, status, _ in final.values())
    pairs = [(r['trial_id'], r['epoch']) for r in last[-1].results]
    return reference, final, counts, {
        'curves broken': bad, 'trials not ended': unfinished,
        'booked twice': len(pairs) - len(set(pairs))}


BACKENDS = {'simulated': simulated, 'local': local}


def compare(reference, final):
    """Counts of trials whose id set, configs, statuses or errors differ."""
    same = set(reference) & set(final)
    return {'missing': len(set(reference) ^ set(final)),
            'configs': sum(reference[t][0] != final[t][0] for t in same),
            'statuses': sum(reference[t][1] != final[t][1] for t in same),
            'errors': sum(reference[t][2] != final[t][2] for t in same)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kills', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--backends', nargs='+', default=list(BACKENDS),
                        choices=list(BACKENDS))
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    ok = True
    for name in args.backends:
        tic = time.perf_counter()
        out = BACKENDS[name](args.kills, random.Random(args.seed))
        reference, final, counts = out[:3]
        if len(out) == 3:  # deterministic: the records must be equal
            diff = compare(reference, final)
            verdict = 'EQUAL' if not any(diff.values()) else 'DIFFERENT'
            text = (f'differing from the uninterrupted run: '
                    f'{diff["missing"]} trial ids, {diff["configs"]} configs, '
                    f'{diff["statuses"]} statuses, {diff["errors"]} learning '
                    'curves')
        else:
            diff = out[3]
            verdict = 'OK' if not any(diff.values()) else 'BROKEN'
            text = (f'{sum(len(e) for _, _, e in final.values())} results, '
                    f'{diff["booked twice"]} booked twice; '
                    f'{diff["curves broken"]} curves '
                    f'broken, {diff["trials not ended"]} trials not ended, '
                    f'{counts["extra epochs"]} epochs trained but not booked')
        ok &= verdict in ('EQUAL', 'OK')
        print(f'{name}: {counts["killed"]} kills ({counts["torn"]} left a '
              f'torn line, {counts["finished"]} runs ended first), '
              f'{len(final)} trials; {text} -> {verdict} '
              f'({time.perf_counter() - tic:.0f} s)', flush=True)
    return 0 if ok or not args.check else 1


if __name__ == '__main__':
    sys.exit(main())
