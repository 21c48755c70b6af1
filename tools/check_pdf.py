"""Check the PDF book: every section, its figures and its bibliography.

Extracts the PDF's text with ``pdftotext`` (Debian's poppler-utils) and
fails, naming what is wrong, unless

* the title of the chapter and of the appendix, and every section's title
  (the ``# `` heading of each file in the toc of ``chapter_hpo/index.md``
  and of ``chapter_appendix/index.md``) appear, each at least twice: in the
  table of contents and as a heading;
* there is a bibliography, with the title of every entry of ``d2lhpo.bib``
  that the chapter or the appendix cites;
* no reference is left unresolved (LaTeX prints ``??``);
* XeLaTeX found a glyph for every character (its log has no "Missing
  character") and every figure of both folders reached the LaTeX source.

Text is compared with letters and digits only, lower-cased, so that line
breaks and hyphenation in the PDF do not matter.

Usage: python tools/check_pdf.py [_build/pdf/d2lhpo.pdf]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from build_lib import BOOK_DIRS, ROOT, chapter_files  # noqa: E402

CITATION = re.compile(r':cite[pt]?:`([^`]+)`')
FIGURE = re.compile(r'^!\[[^\]]*\]\([^)]+\)', re.MULTILINE)
IMAGE_TYPES = ('image/png', 'image/svg+xml', 'image/jpeg')


def normalize(text: str) -> str:
    """Letters and digits only, lower case."""
    return re.sub(r'[^0-9a-z]', '', text.lower())


def pdf_text(pdf: pathlib.Path) -> str:
    """The text of a PDF, by ``pdftotext``."""
    return subprocess.run(['pdftotext', '-enc', 'UTF-8', str(pdf), '-'],
                          check=True, capture_output=True,
                          text=True).stdout


def page_count(pdf: pathlib.Path) -> int:
    """The number of pages, by ``pdfinfo``."""
    info = subprocess.run(['pdfinfo', str(pdf)], check=True,
                          capture_output=True, text=True).stdout
    return int(re.search(r'^Pages:\s+(\d+)', info, re.MULTILINE).group(1))


def title_of(md: pathlib.Path) -> str:
    """The text of the first ``# `` heading of a Markdown file."""
    for line in md.read_text().splitlines():
        if line.startswith('# '):
            return line[2:].strip()
    raise ValueError(f'{md}: no "# " heading')


def book_dirs(dirs=BOOK_DIRS) -> list[pathlib.Path]:
    """The folders of ``dirs`` (or the one folder ``dirs``) that exist.

    A tree without an appendix folder is checked as the main text alone.
    """
    if isinstance(dirs, pathlib.Path):
        dirs = [dirs]
    return [d for d in dirs if (d / 'index.md').exists()]


def expected_titles(dirs=BOOK_DIRS) -> list[str]:
    """Each folder's title and its sections' titles, in toc order."""
    titles = []
    for chapter_dir in book_dirs(dirs):
        titles.append(title_of(chapter_dir / 'index.md'))
        titles += [title_of(md) for md in chapter_files(chapter_dir)]
    return titles


def cited_keys(dirs=BOOK_DIRS) -> set[str]:
    """The bibliography keys that the chapter and the appendix cite."""
    keys = set()
    for md in (md for d in book_dirs(dirs) for md in d.glob('*.md')):
        for group in CITATION.findall(md.read_text()):
            keys.update(key.strip() for key in group.split(','))
    return keys


def bib_titles(bib: pathlib.Path, keys: set[str]) -> dict[str, str]:
    """The title of each of ``keys`` in a BibTeX file."""
    with warnings.catch_warnings():  # pybtex imports pkg_resources
        warnings.simplefilter('ignore', DeprecationWarning)
        from pybtex.database import parse_file  # installed with d2lbook
    entries = parse_file(str(bib)).entries
    missing = keys - set(entries)
    if missing:
        raise KeyError(f'{bib}: no entry for {sorted(missing)}')
    return {key: entries[key].fields['title'] for key in keys}


def expected_figures(dirs, eval_root: pathlib.Path) -> int:
    """Figures in the sections' Markdown plus images among their outputs.

    The outputs of ``chapter_x/y.md`` are in ``eval_root/chapter_x/y.ipynb``.
    """
    count = 0
    for md in (md for d in book_dirs(dirs) for md in chapter_files(d)):
        count += len(FIGURE.findall(md.read_text()))
        notebook = eval_root / md.parent.name / (md.stem + '.ipynb')
        if notebook.exists():
            for cell in json.loads(notebook.read_text())['cells']:
                for output in cell.get('outputs', []):
                    data = output.get('data', {})
                    count += any(kind in data for kind in IMAGE_TYPES)
    return count


def problems(text: str, titles: list[str], references: dict[str, str]):
    """Yield what is missing from or wrong in the PDF's text."""
    flat = normalize(text)
    for title in titles:
        found = flat.count(normalize(title))
        if found < 2:
            yield (f'title {title!r} appears {found} times (expected in the '
                   'contents and as a heading)')
    if 'Bibliography' not in text:
        yield 'no bibliography'
    for key, title in sorted(references.items()):
        if normalize(title.replace('{', '').replace('}', '')) not in flat:
            yield f'bibliography lacks {key} ({title!r})'
    for line in text.splitlines():
        if '??' in line:
            yield f'unresolved reference: {line.strip()!r}'


def latex_problems(tex: pathlib.Path, figures: int):
    """Yield missing glyphs (from the log) and figures lost on the way."""
    log = tex.with_suffix('.log')
    if log.exists():
        for line in log.read_text(errors='replace').splitlines():
            if line.startswith('Missing character'):
                yield f'{log.name}: {line}'
    if tex.exists():
        included = tex.read_text().count('\\sphinxincludegraphics')
        if included < figures:
            yield (f'{tex.name} includes {included} graphics, but the '
                   f'chapters have {figures} figures')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pdf', nargs='?', type=pathlib.Path,
                        default=ROOT / '_build' / 'pdf' / 'd2lhpo.pdf')
    parser.add_argument('--bib', type=pathlib.Path,
                        default=ROOT / 'd2lhpo.bib')
    parser.add_argument('--eval-dir', type=pathlib.Path,
                        default=ROOT / '_build' / 'eval',
                        help="d2lbook's eval build, a folder per chapter")
    args = parser.parse_args(argv)
    if not args.pdf.exists():
        print(f'{args.pdf}: no such file (make pdf)', file=sys.stderr)
        return 1
    text = pdf_text(args.pdf)
    references = bib_titles(args.bib, cited_keys())
    found = list(problems(text, expected_titles(), references))
    found += latex_problems(args.pdf.with_suffix('.tex'),
                            expected_figures(BOOK_DIRS, args.eval_dir))
    for problem in found:
        print(f'{args.pdf.name}: {problem}', file=sys.stderr)
    size = args.pdf.stat().st_size / 2**20
    print(f'{args.pdf}: {page_count(args.pdf)} pages, {size:.1f} MiB; '
          f'{len(expected_titles())} titles and {len(references)} cited '
          f'references checked: {"FAILED" if found else "ok"}')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
