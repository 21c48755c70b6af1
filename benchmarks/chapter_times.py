"""Execute every chapter and print its execution time and the total.

Each section of ``chapter_hpo/``, then each of the appendix
(``chapter_appendix/``), is converted to a notebook with d2lbook's reader
and executed in a fresh Jupyter kernel, one after the other, so the
figures are the time a reader waits for "Run all" on this machine.  The
main text and the appendix are totalled separately, then together.

Usage (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/chapter_times.py [--timeout 600]
"""
import argparse
import os
import pathlib
import sys
import time

import nbformat
from d2lbook import notebook
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
from build_lib import BOOK_DIRS, chapter_files  # noqa: E402
from common import cpu_model  # noqa: E402


def run_chapter(md_path, timeout):
    nb = notebook.read_markdown(md_path.read_text())
    nb = nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb
    executor = ExecutePreprocessor(timeout=timeout, kernel_name='python3')
    tic = time.perf_counter()
    executor.preprocess(nb, {'metadata': {'path': str(md_path.parent)}})
    return time.perf_counter() - tic


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--timeout', type=int, default=600,
                        help='per-cell timeout in seconds')
    args = parser.parse_args()
    import torch
    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else f'CPU ({os.cpu_count()} cores, {cpu_model()})')
    print(f'device: {device}; torch {torch.__version__}; '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}')
    total = 0.0
    for folder in BOOK_DIRS:
        if not (folder / 'index.md').exists():
            continue
        subtotal = 0.0
        for md in chapter_files(folder):
            seconds = run_chapter(md, args.timeout)
            subtotal += seconds
            print(f'{md.relative_to(ROOT)!s:40} {seconds:7.1f} s',
                  flush=True)
        print(f'{folder.name + "/ total":40} {subtotal:7.1f} s')
        total += subtotal
    print(f'{"total":40} {total:7.1f} s')


if __name__ == '__main__':
    main()
