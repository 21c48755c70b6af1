"""Check the executed chapters: every section ran, and no cell errored.

d2lbook's eval build writes one executed notebook per section, in a folder
per chapter (``_build/eval/chapter_hpo``, ``_build/eval/chapter_appendix``);
this script fails (exit 1) if a section of the main text or of the appendix
is missing, a code cell was not executed, or a cell's output is an error.

Usage: python tools/check_eval.py [_build/eval]
"""
import pathlib
import sys

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from build_lib import BOOK_DIRS, book_files  # noqa: E402


def problems(eval_root, dirs=BOOK_DIRS):
    """Yield what is wrong with the notebooks of the sections of ``dirs``.

    The notebook of ``chapter_x/y.md`` is ``eval_root/chapter_x/y.ipynb``.
    """
    eval_root = pathlib.Path(eval_root)
    for md in book_files(dirs):
        nb_path = eval_root / md.parent.name / (md.stem + '.ipynb')
        if not nb_path.exists():
            yield f'{nb_path}: missing (did the section fail to execute?)'
            continue
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code' or not cell.source.strip():
                continue
            if cell.get('execution_count') is None:
                yield f'{nb_path}: code cell {i} was not executed'
            for out in cell.get('outputs', []):
                if out.get('output_type') == 'error':
                    yield (f'{nb_path}: code cell {i} raised '
                           f'{out.get("ename")}: {out.get("evalue")}')


def main(argv):
    found = list(problems(argv[1] if len(argv) > 1 else '_build/eval'))
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        print('every chapter executed without errors')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
