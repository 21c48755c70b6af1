"""Finish d2lbook's HTML build: make it work offline, keep it small, and add
the chapters as downloadable notebooks.

``d2lbook build html`` leaves a book that needs the internet and weighs
50 MB.  This script, run after it, changes ``_build/html`` in place:

* MathJax is copied into ``_static/mathjax`` (``config.ini`` points Sphinx's
  ``mathjax_path`` there), so the maths renders without a CDN;
* the theme's remote assets are removed or replaced: d2lbook's Google
  Analytics loader becomes a no-op, the copy button's icon is served from
  ``_static``, and ``fonts.css`` loses the CJK fonts it would fetch from
  Google (the book has no CJK text);
* unused files of the theme's Material Design Lite copy (one CSS file per
  colour pair, source maps) are deleted, 43 MB in all;
* the executed notebooks (``_build/ipynb``, outputs included) of every
  folder, the appendix's included, are copied next to their pages,
  ``chapter_hpo/asha.html`` beside ``chapter_hpo/asha.ipynb``, and zipped
  together into ``d2lhpo-notebooks.zip``.  The links to them are in every
  page's header (``theme/header.html``).

Running it twice is harmless.

Usage: python tools/finish_html.py --mathjax DIR [--html _build/html]
                                   [--notebooks _build/ipynb]
"""
from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
THEME_DIR = ROOT / 'theme'
# The name is also in theme/header.html, which links to it.
NOTEBOOK_ZIP = 'd2lhpo-notebooks.zip'
# What MathJax's tex-chtml component may load: itself, its fonts, the TeX
# packages it loads on demand (\boldsymbol, \color, ...), and the parts of
# its context menu (accessibility and speech, which need sre).
MATHJAX_PARTS = ['tex-chtml.js', 'output/chtml/fonts/woff-v2',
                 'input/tex/extensions', 'ui', 'a11y', 'sre']
MDL_DIR = '_static/material-design-lite-1.3.0'
GOOGLE_ANALYTICS_LOADER = re.compile(
    r"\(function\(i,s,o,g,r,a,m\)\{.*?'https://www\.google-analytics\.com"
    r"/analytics\.js','ga'\);", re.DOTALL)
COPY_BUTTON_URL = re.compile(r'https://raw\.githubusercontent\.com/'
                             r'[^"\']*/copy-button\.svg')
FONT_FACE = re.compile(r'@font-face\s*\{[^}]*\}')


def vendor_mathjax(mathjax_dir: pathlib.Path, html_dir: pathlib.Path):
    """Copy the parts of MathJax (its ``es5`` folder) that pages load."""
    target = html_dir / '_static' / 'mathjax'
    shutil.rmtree(target, ignore_errors=True)
    for part in MATHJAX_PARTS:
        source = mathjax_dir / part
        if not source.exists():
            raise FileNotFoundError(f'{source}: not in the MathJax folder')
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def remove_remote_assets(html_dir: pathlib.Path):
    """Stop the theme's JavaScript and CSS from fetching anything online."""
    static = html_dir / '_static'
    d2l_js = static / 'd2l.js'
    text = d2l_js.read_text()
    # Keep ga() callable for the handlers that d2lbook's script defines.
    text = GOOGLE_ANALYTICS_LOADER.sub(
        'window.ga = function () {};  // no analytics: the book is offline',
        text)
    text = COPY_BUTTON_URL.sub('${DOCUMENTATION_OPTIONS.URL_ROOT}'
                               '_static/copy-button.svg', text)
    d2l_js.write_text(text)
    shutil.copy2(THEME_DIR / 'copy-button.svg', static / 'copy-button.svg')

    fonts_css = static / 'fonts.css'
    css = fonts_css.read_text()
    fonts_css.write_text(FONT_FACE.sub(
        lambda m: '' if '//fonts.' in m.group(0) else m.group(0), css))


def referenced_static_files(html_dir: pathlib.Path) -> set[str]:
    """Return the ``_static/...`` paths that some page refers to."""
    pattern = re.compile(r'''(?:href|src)="(?:\.\./)*(_static/[^"?#]+)''')
    found = set()
    for page in html_dir.rglob('*.html'):
        found.update(pattern.findall(page.read_text(errors='replace')))
    return found


def prune_material_design_lite(html_dir: pathlib.Path) -> int:
    """Delete the files of the theme's MDL folder that no page uses.

    The pages link one stylesheet (``material.<primary>-<accent>.min.css``);
    the theme's own JavaScript bundles MDL's.  Returns the bytes freed.
    """
    keep = referenced_static_files(html_dir)
    freed = 0
    for path in sorted((html_dir / MDL_DIR).glob('*')):
        relative = path.relative_to(html_dir).as_posix()
        if path.is_file() and relative not in keep and path.name != 'LICENSE':
            freed += path.stat().st_size
            path.unlink()
    return freed


def copy_notebooks(notebook_dir: pathlib.Path, html_dir: pathlib.Path):
    """Copy every executed notebook next to its page; zip them all.

    The zip also holds the ``img/`` folder, which notebooks refer to as
    ``../img/...``.  Returns the number of notebooks.
    """
    notebooks = sorted(notebook_dir.rglob('*.ipynb'))
    notebooks = [nb for nb in notebooks
                 if '.ipynb_checkpoints' not in nb.parts]
    if not notebooks:
        raise FileNotFoundError(f'{notebook_dir}: no notebooks (run '
                                '`d2lbook build html` first)')
    for nb in notebooks:
        target = html_dir / nb.relative_to(notebook_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, target)
    images = sorted(p for p in (notebook_dir / 'img').rglob('*')
                    if p.is_file())
    folder = pathlib.PurePath(NOTEBOOK_ZIP).stem
    with zipfile.ZipFile(html_dir / NOTEBOOK_ZIP, 'w',
                         zipfile.ZIP_DEFLATED) as archive:
        for path in notebooks + images:
            archive.write(path, f'{folder}/'
                          f'{path.relative_to(notebook_dir).as_posix()}')
    return len(notebooks)


def folder_size(folder: pathlib.Path) -> int:
    """Return the bytes in all files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob('*') if p.is_file())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--html', type=pathlib.Path,
                        default=ROOT / '_build' / 'html')
    parser.add_argument('--notebooks', type=pathlib.Path,
                        default=ROOT / '_build' / 'ipynb')
    parser.add_argument('--mathjax', type=pathlib.Path, required=True,
                        help="MathJax's es5 folder")
    args = parser.parse_args(argv)
    vendor_mathjax(args.mathjax, args.html)
    remove_remote_assets(args.html)
    freed = prune_material_design_lite(args.html)
    count = copy_notebooks(args.notebooks, args.html)
    print(f'{args.html}: MathJax vendored, {freed / 2**20:.1f} MiB of unused '
          f'theme files removed, {count} notebooks and {NOTEBOOK_ZIP} added; '
          f'{folder_size(args.html) / 2**20:.1f} MiB in all')
    return 0


if __name__ == '__main__':
    sys.exit(main())
