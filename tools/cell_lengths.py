"""Measure the code cells of the book: how many, how long, which too long.

A reader takes in a short cell at a glance; a long one is a page of code to
scroll through.  This script counts the Python input cells (d2lbook's
```` ```{.python .input} ```` fences, found with ``build_lib.CELL_RE``) of
every section in the toc of ``chapter_hpo/`` and of the appendix,
``chapter_appendix/``, and prints one row per section: the number of
cells, the code lines (every line inside those cells), the median and the
longest cell, and the cells over 30 and over 45 lines.  Totals follow for
the main text (the first folder) and for the appendix, separately.

It exits with status 1, naming each offending cell (file, the line where
its code starts, its length and its first line), if

* more than 5% of all cells are over 30 lines (the cells over 30 lines are
  named), or
* any cell is over 45 lines, or
* with ``--max-lines N``, the main text has more than N code lines.

Usage::

    python tools/cell_lengths.py [--max-lines N] [FOLDER ...]

The folders default to ``chapter_hpo chapter_appendix``; the first is the
main text, the others the appendix.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from build_lib import (BOOK_DIRS, CELL_RE, ROOT, SAVE_MARK,  # noqa: E402
                       BuildError, chapter_files)

LONG = 30          # a cell over this many lines is long ...
MAX_LONG_SHARE = 0.05  # ... and at most this share of the cells may be
TOO_LONG = 45      # no cell may be over this many lines


@dataclasses.dataclass
class Cell:
    """A Python input cell: where its code starts and how long it is."""
    path: str       # the section, relative to the repository when inside it
    line: int       # 1-based line of the cell's first line of code
    length: int     # lines of code, blank lines included
    first: str      # the cell's first line of code, to recognise it by


def _name(path: pathlib.Path) -> str:
    """``chapter_x/y.md``: relative to the repository, or folder/file."""
    if path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    return f'{path.parent.name}/{path.name}'


def section_cells(md: pathlib.Path) -> list[Cell]:
    """The Python input cells of one section, in order."""
    text = md.read_text()
    cells = []
    for match in CELL_RE.finditer(text):
        lines = match.group(1).splitlines()
        # the first line that says something: not blank, not a bare mark
        first = next((line.strip() for line in lines
                      if line.strip() not in ('', SAVE_MARK)), '')
        cells.append(Cell(_name(md), text.count('\n', 0, match.start(1)) + 1,
                          len(lines), first))
    return cells


def stats(cells: list[Cell]) -> tuple:
    """Cells, code lines, median, longest, over LONG, over TOO_LONG."""
    lengths = [cell.length for cell in cells]
    return (len(lengths), sum(lengths),
            f'{statistics.median(lengths):g}' if lengths else '-',
            max(lengths, default=0),
            sum(n > LONG for n in lengths), sum(n > TOO_LONG for n in lengths))


def table(folders) -> tuple[list[str], dict[pathlib.Path, list[Cell]]]:
    """The printed rows, and each folder's cells."""
    width = 44
    head = (f'{"section":{width}} {"cells":>5} {"lines":>6} {"median":>6} '
            f'{"max":>4} {">" + str(LONG):>4} {">" + str(TOO_LONG):>4}')
    rows, by_folder = [head, '-' * len(head)], {}

    def row(name, cells):
        n, lines, median, longest, long, too_long = stats(cells)
        return (f'{name:{width}} {n:5} {lines:6} {median:>6} {longest:4} '
                f'{long:4} {too_long:4}')

    for folder in folders:
        cells = []
        for md in chapter_files(folder):
            found = section_cells(md)
            rows.append(row(_name(md), found))
            cells += found
        by_folder[folder] = cells
    rows.append('-' * len(head))
    for i, (folder, cells) in enumerate(by_folder.items()):
        kind = 'main text' if i == 0 else 'appendix'
        rows.append(row(f'{folder.name} ({kind})', cells))
    if len(by_folder) > 1:
        rows.append(row('all', [c for cs in by_folder.values() for c in cs]))
    return rows, by_folder


def problems(by_folder: dict, max_lines: int | None = None) -> list[str]:
    """What is wrong with the cells' lengths, one line each."""
    cells = [cell for found in by_folder.values() for cell in found]
    found = []

    def named(cell):
        return (f'  {cell.path}:{cell.line}: {cell.length} lines: '
                f'{cell.first[:60]}')

    long = [cell for cell in cells if cell.length > LONG]
    if cells and len(long) > MAX_LONG_SHARE * len(cells):
        found.append(f'{len(long)} of {len(cells)} cells '
                     f'({len(long) / len(cells):.1%}) are over {LONG} lines '
                     f'(at most {MAX_LONG_SHARE:.0%} may be):')
        found += [named(cell) for cell in long]
    too_long = [cell for cell in cells if cell.length > TOO_LONG]
    if too_long:
        found.append(f'{len(too_long)} cells are over {TOO_LONG} lines:')
        found += [named(cell) for cell in too_long]
    if max_lines is not None and by_folder:
        main, main_cells = next(iter(by_folder.items()))
        lines = sum(cell.length for cell in main_cells)
        if lines > max_lines:
            found.append(f'the main text ({main.name}) has {lines} code '
                         f'lines, more than --max-lines {max_lines}')
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folders', nargs='*', type=pathlib.Path,
                        help='chapter folders, the main text first '
                             '(default: chapter_hpo chapter_appendix)')
    parser.add_argument('--max-lines', type=int, metavar='N',
                        help="fail if the main text's code lines exceed N")
    args = parser.parse_args(argv)
    # Without an appendix folder, the main text is measured alone.
    folders = args.folders or [d for d in BOOK_DIRS
                               if (d / 'index.md').exists()]
    try:
        rows, by_folder = table(folders)
    except (BuildError, OSError) as err:
        print(f'cell_lengths: {err}', file=sys.stderr)
        return 2
    print('\n'.join(rows))
    found = problems(by_folder, args.max_lines)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
