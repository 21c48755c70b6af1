"""Build the ``d2lhpo`` package from the ``#@save`` cells of the chapters.

The convention is d2lbook's: a code cell whose first line is ``#@save``
goes into the package whole; in other cells, a def, class or
statement marked ``#@save`` on its first line goes in alone.  Code is taken
in the order of the tocs: the sections of ``chapter_hpo/index.md`` first,
then those of the appendix, ``chapter_appendix/index.md``.  The appendix
comes last, so its code may subclass main-text classes and add methods to
them; main-text code may use appendix code only at call time (inside a
function body): the package is one module, and such names are looked up
when the function runs.  A function
decorated with ``@d2lhpo.add_to_class(Cls)`` is folded into the body of
``Cls`` so that every class in the package is whole, whatever cell (or
folder) its methods were taught in.

Usage::

    python tools/build_lib.py          # write d2lhpo/book.py
    python tools/build_lib.py --check  # fail if d2lhpo/book.py is stale
"""
from __future__ import annotations

import argparse
import ast
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTER_DIR = ROOT / 'chapter_hpo'
APPENDIX_DIR = ROOT / 'chapter_appendix'
# Every folder whose toc sections go into the package, in this order.
BOOK_DIRS = (CHAPTER_DIR, APPENDIX_DIR)
TARGET = ROOT / 'd2lhpo' / 'book.py'
SAVE_MARK = '#@save'
CELL_RE = re.compile(r'^```\{\.python \.input[^}]*\}\n(.*?)^```\s*$',
                     re.MULTILINE | re.DOTALL)
LABEL_RE = re.compile(r':label:`([^`]+)`')
HEADER = '''\
"""The d2lhpo library: code saved from the chapters of the book.

GENERATED FILE, DO NOT EDIT.  Every block below comes from a ``#@save``
{where}; edit the chapter and run
``make lib`` (``python tools/build_lib.py``) to regenerate this file.
"""
import sys

# Chapters refer to saved code as ``d2lhpo.name``; inside the package those
# names live in this module.
d2lhpo = sys.modules[__name__]
'''
# HEADER's {where}: the folders that saved code comes from.  While the
# appendix saves nothing, the header reads as it did before the appendix.
WHERE_MAIN = 'cell of a chapter in ``chapter_hpo/``'
WHERE_BOTH = ('cell of a chapter in ``chapter_hpo/`` or of the appendix in\n'
              '``chapter_appendix/`` (whose code comes last)')


class BuildError(Exception):
    """A chapter's saved code cannot be assembled into the package."""


def chapter_files(chapter_dir: pathlib.Path = CHAPTER_DIR):
    """Return the section files in the order of the chapter's toc."""
    index = (chapter_dir / 'index.md').read_text()
    toc = re.search(r'```toc\n(.*?)```', index, re.DOTALL)
    if toc is None:
        raise BuildError(f'{chapter_dir / "index.md"} has no ```toc block')
    files = []
    for line in toc.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith(':'):
            continue
        path = chapter_dir / f'{line}.md'
        if not path.exists():
            raise BuildError(f'the toc names {line}, but {path} is missing')
        files.append(path)
    return files


def book_files(dirs=BOOK_DIRS):
    """Return the section files of every folder in ``dirs``, in order.

    A folder without an ``index.md`` is skipped, so that a tree without an
    appendix still builds; a folder whose toc is empty adds nothing.
    """
    return [path for directory in dirs if (directory / 'index.md').exists()
            for path in chapter_files(directory)]


def header(folders) -> str:
    """The module docstring and preamble, naming where the code is from.

    ``folders``: the names of the folders that saved cells came from.
    """
    appendix = APPENDIX_DIR.name in folders
    return HEADER.format(where=WHERE_BOTH if appendix else WHERE_MAIN)


def _header_lines(node: ast.stmt):
    """Line numbers (1-based) where a ``#@save`` mark may sit for ``node``.

    For a def or class these are the lines of its decorators and its
    signature; for any other
    statement, its first and last line.
    """
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        return range(start, max(node.lineno, node.body[0].lineno - 1) + 1)
    return {node.lineno, node.end_lineno}


def _strip_mark(line: str) -> str:
    head, mark, _ = line.partition(SAVE_MARK)
    return head.rstrip() if mark else line


def saved_cells(md_path: pathlib.Path):
    """Yield (label, source) of the saved code of each cell of a section.

    A cell whose first line is ``#@save`` alone is saved whole; in other
    cells, each top-level statement with ``#@save`` on its signature line
    (or on the first or last line of a plain statement) is saved.
    """
    text = md_path.read_text()
    label = LABEL_RE.search(text)
    label = label.group(1) if label else md_path.stem
    for match in CELL_RE.finditer(text):
        lines = match.group(1).splitlines()
        if not any(SAVE_MARK in line for line in lines):
            continue
        if lines[0].strip() == SAVE_MARK:
            kept = [_strip_mark(line) for line in lines]
        else:
            where = f'{md_path.name} ({label})'
            try:
                tree = ast.parse('\n'.join(lines))
            except SyntaxError as err:
                raise BuildError(f'{where}: a cell does not parse: {err}')
            kept = []
            for node in tree.body:
                if not any(SAVE_MARK in lines[i - 1]
                           for i in _header_lines(node)):
                    continue
                start = min([node.lineno] + [d.lineno for d in getattr(
                    node, 'decorator_list', [])])
                if kept:
                    kept.append('')
                kept.extend(_strip_mark(line)
                            for line in lines[start - 1:node.end_lineno])
        source = '\n'.join(kept).strip('\n')
        if source.strip():
            yield label, source + '\n'


def _imports_package(node) -> bool:
    """Whether ``node`` is ``import d2lhpo`` (alone)."""
    return (isinstance(node, ast.Import) and len(node.names) == 1
            and node.names[0].name == 'd2lhpo'
            and node.names[0].asname is None)


def _added_to(node: ast.stmt):
    """Return the class name if ``node`` is an ``add_to_class`` method."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for dec in node.decorator_list:
        if not (isinstance(dec, ast.Call) and len(dec.args) == 1):
            continue
        func = dec.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(
            func, 'id', None)
        if name == 'add_to_class':
            arg = dec.args[0]
            if isinstance(arg, ast.Name):
                return arg.id
            if isinstance(arg, ast.Attribute):
                return arg.attr
            raise BuildError('add_to_class expects a class name, got '
                             f'{ast.unparse(arg)}')
    return None


def _segments(source: str, where: str):
    """Split a cell into (node, text) pairs of top-level statements.

    Comments and blank lines before a statement travel with it.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise BuildError(f'{where}: saved cell does not parse: {err}')
    lines = source.splitlines()
    out, prev_end = [], 0
    for node in tree.body:
        end = node.end_lineno
        out.append((node, '\n'.join(lines[prev_end:end])))
        prev_end = end
    tail = '\n'.join(lines[prev_end:]).strip('\n')
    if tail:
        out.append((None, tail))
    return out


def _method_text(text: str) -> str:
    """Drop the one-line add_to_class decorator and indent the method."""
    keep = [line for line in text.splitlines()
            if not (line.lstrip().startswith('@')
                    and 'add_to_class' in line)]
    return '\n'.join(('    ' + l) if l.strip() else '' for l in keep)


def build_source(files=None) -> str:
    """Assemble the package module from the chapters' saved cells."""
    files = book_files() if files is None else files
    blocks = []      # (where, label, entries); an entry is [text]
    classes = {}     # class name -> the entry that holds its text
    public = []
    folders = set()  # where saved cells came from, for the header
    for path in files:
        # The stamp names the folder: chapter_hpo/x.md, chapter_appendix/y.md
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else \
            pathlib.Path(path.parent.name, path.name)
        for label, source in saved_cells(path):
            folders.add(path.parent.name)
            where = f'{rel} ({label})'
            entries = []
            for node, text in _segments(source, where):
                if _imports_package(node):
                    continue  # inside the package, d2lhpo is this module
                cls = _added_to(node) if node is not None else None
                if cls is not None:
                    if cls not in classes:
                        raise BuildError(
                            f'{where}: add_to_class({cls}) for {node.name}, '
                            f'but class {cls} is not saved earlier')
                    classes[cls][0] += (
                        f'\n\n    # Added in {rel} (:numref:`{label}`)\n'
                        + _method_text(text.strip('\n')))
                    continue
                entry = [text]  # a list, so that methods can be appended
                if isinstance(node, ast.ClassDef):
                    classes[node.name] = entry
                if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                    public.append(node.name)
                elif isinstance(node, ast.Assign):
                    public.extend(n.id for t in node.targets
                                  for n in ast.walk(t)
                                  if isinstance(n, ast.Name))
                entries.append(entry)
            if entries:
                blocks.append((where, label, entries))
    parts = [header(folders)]
    for where, label, entries in blocks:
        body = '\n'.join(e[0] for e in entries).strip('\n')
        parts.append(f'# Defined in {where.split(" ")[0]} '
                     f'(:numref:`{label}`)\n{body}\n')
    names = sorted({n for n in public if not n.startswith('_')})
    parts.append('__all__ = [\n' + ''.join(f'    {n!r},\n' for n in names)
                 + ']\n')
    return '\n\n'.join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='compare with the committed package instead '
                             'of writing it')
    args = parser.parse_args(argv)
    try:
        source = build_source()
    except BuildError as err:
        print(f'build_lib: {err}', file=sys.stderr)
        return 2
    compile(source, str(TARGET), 'exec')
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ''
        if current == source:
            print(f'{TARGET.relative_to(ROOT)} matches the chapters.')
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), source.splitlines(),
            'committed/' + str(TARGET.relative_to(ROOT)),
            'from-chapters/' + str(TARGET.relative_to(ROOT)), lineterm='')
        print('\n'.join(list(diff)[:60]))
        print(f'\n{TARGET.relative_to(ROOT)} differs from the #@save cells '
              'of the chapters: run `make lib` and commit the result.',
              file=sys.stderr)
        return 1
    TARGET.write_text(source)
    print(f'wrote {TARGET.relative_to(ROOT)} ({len(source.splitlines())} '
          'lines)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
