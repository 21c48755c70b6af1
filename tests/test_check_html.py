"""tools/check_html.py on tiny pages written here: a good page passes, and a
page with each kind of defect fails with a message that names it.

The tests that open the pages in headless Chromium are marked ``book``:
`make unit` leaves them out, and `make book-tests` installs Chromium and
fetches MathJax (`make mathjax`), then runs them with
``--require-book-tools``, so that they fail rather than skip where their
tool is missing.  Run alone, they are skipped, saying why.
"""
import base64
import json
import pathlib
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_html  # noqa: E402

CHROMIUM = check_html.find_chromium()
MATHJAX = next(iter(sorted(ROOT.glob('_build/vendor/mathjax-*/tex-chtml.js'))),
               None)


def needs_chromium(test):
    """Mark a test that opens pages in Chromium: a book test."""
    return pytest.mark.book(pytest.mark.skipif(
        CHROMIUM is None, reason='Chromium is not installed (make '
        'book-tests installs the Debian package chromium)')(test))


def needs_mathjax(test):
    """Mark a test that renders maths with MathJax: a book test."""
    return pytest.mark.book(pytest.mark.skipif(
        MATHJAX is None, reason='MathJax is not fetched yet (make mathjax)'
        )(test))
# A 1x1 PNG.
PIXEL = base64.b64decode(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB'
    '0C8AAAAASUVORK5CYII=')
EXECUTED_NOTEBOOK = {
    'nbformat': 4, 'nbformat_minor': 5, 'metadata': {},
    'cells': [{'cell_type': 'code', 'source': 'print(1)', 'metadata': {},
               'execution_count': 1, 'outputs': [
                   {'output_type': 'stream', 'name': 'stdout',
                    'text': '1\n'}]}]}
GOOD_BODY = r'''
<h1>A good page</h1>
<p>See <a class="reference internal" href="#top"><span class="std
std-numref">Section 1.2</span></a> and the paper (<a class="reference
internal" href="#top">Bergstra and Bengio, 2012</a>).</p>
<p>Code is not Markdown: <code>**kwargs</code>, <code>$HOME</code>,
<code>[a](b)</code>, <code>\mathbf</code>.</p>
<div class="highlight-python"><pre>raise ValueError('no')  # ```
</pre></div>
<div class="output highlight-default"><pre>   trial  status  error
1      1  failed  RuntimeError: out of memory (pretend)</pre></div>
<img src="pixel.png" alt="a pixel">
<a class="notebook-download" href="good.ipynb">Notebook</a>
<a href="d2lhpo-notebooks.zip">All notebooks</a>
'''
BAD_PAGES = {
    # name: (body, words expected in one of the problems)
    'missing image': ('<img src="missing.png">',
                      'image missing.png does not display'),
    'image of width 0': ('<img src="broken.png">',
                         'image broken.png does not display'),
    'missing stylesheet': ('<link rel="stylesheet" href="missing.css">',
                           'cannot load'),
    'asset from the internet': (
        '<img src="https://cdn.example.com/a.png">',
        'loads https://cdn.example.com/a.png from the internet'),
    'script error': ('<script>throw new Error("boom")</script>',
                     'JavaScript error'),
    'unresolved ??': ('<p>See Section ??.</p>', 'unresolved reference'),
    'raw numref': ('<p>See :numref:`sec_x`.</p>', 'raw reference role'),
    'raw cite': ('<p>As shown :cite:`Li.2018`.</p>', 'raw reference role'),
    'unlinked reference': (
        '<p>See <span class="xref std std-ref">sec_x</span>.</p>',
        "unresolved reference 'sec_x'"),
    'figure reference that reads Section': (
        '<p><a class="reference internal" href="#fig-x"><span class="std '
        'std-numref">Section 1.2</span></a></p>',
        'reference to a figure that is not a figure'),
    'empty citation': ('<p>Shown by <span id="id1">()</span>.</p>',
                       'unresolved citation'),
    'problematic markup': (
        '<p><span class="problematic">:eqref:`eq_x`</span></p>',
        'markup that Sphinx could not process'),
    'raw code fence': ('<p>```python</p>', 'raw Markdown code fence'),
    'raw link': ('<p>[d2l](https://d2l.ai)</p>', 'raw Markdown link'),
    'raw bold': ('<p>**important**</p>', 'raw Markdown bold'),
    'raw label': ('<p>:label:`sec_x`</p>', 'raw reference role'),
    'raw dollar maths': ('<p>The loss $f(x)$.</p>', 'raw LaTeX'),
    'raw begin': (r'<p>\begin{aligned} x \end{aligned}</p>', 'raw LaTeX'),
    'raw mathbf': (r'<p>The vector \mathbf{x}.</p>', 'raw LaTeX'),
    'maths without MathJax': (
        r'<p><span class="math notranslate">\(x^2\)</span></p>',
        'maths not rendered by MathJax'),
    'traceback in an output': (
        '<div class="output highlight-default"><pre>Traceback (most recent '
        'call last):\n  File "x.py", line 1\nValueError: bad</pre></div>',
        'a code output shows an error'),
    'error on stderr': (
        '<div class="output highlight-default"><pre>loading...\n'
        'RuntimeError: CUDA error</pre></div>',
        'a code output shows an error'),
    'missing notebook': (
        '<a class="notebook-download" href="missing.ipynb">Notebook</a>',
        'notebook link missing.ipynb: no such file'),
    'notebook not executed': (
        '<a class="notebook-download" href="empty.ipynb">Notebook</a>',
        'notebook empty.ipynb has no outputs'),
    'broken local link': ('<a href="nowhere.html">there</a>',
                          'broken link nowhere.html'),
    'zip without notebooks': ('<a href="bad/d2lhpo-notebooks.zip">all</a>',
                              'holds no notebook'),
}


def write_page(folder: pathlib.Path, name: str, body: str,
               head: str = '') -> pathlib.Path:
    """Write a page, and the files that the good page links to."""
    (folder / 'pixel.png').write_bytes(PIXEL)
    (folder / 'broken.png').write_bytes(b'not an image')
    (folder / 'good.ipynb').write_text(json.dumps(EXECUTED_NOTEBOOK))
    unexecuted = dict(EXECUTED_NOTEBOOK, cells=[
        dict(EXECUTED_NOTEBOOK['cells'][0], outputs=[],
             execution_count=None)])
    (folder / 'empty.ipynb').write_text(json.dumps(unexecuted))
    with zipfile.ZipFile(folder / 'd2lhpo-notebooks.zip', 'w') as archive:
        archive.write(folder / 'good.ipynb', 'notebooks/good.ipynb')
    (folder / 'bad').mkdir(exist_ok=True)
    with zipfile.ZipFile(folder / 'bad' / 'd2lhpo-notebooks.zip',
                         'w') as archive:
        archive.writestr('readme.txt', 'no notebooks here')
    page = folder / name
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8">'
                    f'{head}</head><body id="top">{body}</body></html>')
    return page


@pytest.fixture(scope='module')
def browser():
    if CHROMIUM is None:
        pytest.skip('Chromium is not installed')
    with check_html.Chromium(CHROMIUM, timeout=60) as chromium:
        yield chromium


@pytest.fixture
def check(browser, tmp_path):
    """Write a page with the given body and return its problems."""
    def run(body, head='', name='page.html'):
        page = write_page(tmp_path, name, body, head)
        report = check_html.open_page(browser, page.as_uri())
        return check_html.page_problems(report, page, tmp_path)
    return run


def mathjax_head() -> str:
    return f'<script defer src="{MATHJAX.as_uri()}"></script>'


@needs_chromium
def test_good_page_passes(check):
    assert check(GOOD_BODY) == []


@needs_chromium
@pytest.mark.parametrize('body, expected', BAD_PAGES.values(),
                         ids=BAD_PAGES.keys())
def test_bad_page_fails(check, body, expected):
    problems = check(GOOD_BODY + body)
    assert any(expected in problem for problem in problems), problems


@needs_chromium
def test_page_that_does_not_load(browser, tmp_path):
    page = tmp_path / 'missing.html'
    report = check_html.open_page(browser, page.as_uri())
    problems = check_html.page_problems(report, page, tmp_path)
    assert problems == ['does not load (net::ERR_FILE_NOT_FOUND)']


@needs_chromium
def test_chapter_page_needs_a_notebook_link(check, tmp_path):
    sources = tmp_path / '_sources'
    sources.mkdir()
    (sources / 'chapter.rst.txt').write_text('A chapter')
    body = GOOD_BODY.replace('notebook-download', 'other')
    assert 'no link to its notebook' in check(body, name='chapter.html')
    assert check(GOOD_BODY, name='chapter.html') == []


@needs_chromium
@needs_mathjax
def test_maths_rendered_by_mathjax_passes(check):
    body = (GOOD_BODY + r'<p><span class="math">\(\mathbf{x}^\top '
            r'\boldsymbol{\theta}\)</span></p><div class="math">'
            r'\[\sum_{i=1}^n x_i\]</div>')
    assert check(body, head=mathjax_head()) == []


@needs_chromium
@needs_mathjax
@pytest.mark.parametrize('tex, expected', [
    (r'\(\badmacro{x}\)', 'undefined TeX macro'),
    (r'\(x}\)', 'MathJax error'),
    (r'\(\frac{1}{\)', 'maths not rendered by MathJax'),
])
def test_bad_maths_fails(check, tex, expected):
    body = GOOD_BODY + f'<p><span class="math">{tex}</span></p>'
    problems = check(body, head=mathjax_head())
    assert any(expected in problem for problem in problems), problems


def test_error_output_pattern():
    """Errors at the start of a line count; a table cell does not."""
    assert check_html.ERROR_OUTPUT.search('x\nValueError: bad')
    assert check_html.ERROR_OUTPUT.search('  torch.cuda.OutOfMemoryError')
    assert check_html.ERROR_OUTPUT.search('Traceback (most recent call last)')
    assert not check_html.ERROR_OUTPUT.search('1  failed  MemoryError: x')
    assert not check_html.ERROR_OUTPUT.search('UserWarning: slow')


def test_main_without_chromium(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(check_html, 'find_chromium', lambda: None)
    assert check_html.main([str(tmp_path)]) == 2
    assert 'Chromium is not installed' in capsys.readouterr().err
