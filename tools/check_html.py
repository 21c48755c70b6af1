"""Check every page of the built HTML book in headless Chromium.

Each page is opened from disk (``file://``) in Debian's Chromium, driven
through the DevTools protocol over a pipe (no network port, no extra Python
package).  Once the page has loaded and MathJax has typeset it, a script
collects what a reader would see, and the page fails, with its name and the
problem, if

* it does not load, a script on it throws, or a file it needs is missing;
* it asks for anything on the internet (the book must work offline);
* an ``<img>`` does not display (missing file, or an image of width 0);
* a reference or citation is unresolved: ``??``, a raw ``:numref:``,
  ``:ref:`` or ``:cite:``, a cross-reference that Sphinx left unlinked, an
  empty citation ``()``, or markup that Sphinx marked as problematic;
* Markdown or LaTeX is left raw in the text (code excluded): a fence
  ```` ``` ````, a link ``](``, ``**bold**``, ``:label:``, ``$...$``,
  ``\\begin{``, ``\\mathbf``; maths that MathJax did not render, or
  rendered as an error or with an undefined macro;
* a code cell's output shows an error (a traceback, or a line such as
  ``ValueError: ...``);
* a local link is broken; in particular a page built from a chapter must link
  to its notebook, which must be an executed notebook, and the zip of all
  notebooks must hold notebooks.

Usage: python tools/check_html.py [_build/html] [--timeout SECONDS]
Exit status: 0 when every page passes, 1 when some page fails, 2 when
Chromium is not installed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome')
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--no-first-run', '--no-default-browser-check', '--disable-sync',
    '--disable-background-networking', '--disable-component-update',
    '--disable-default-apps', '--disable-extensions', '--mute-audio',
    # Every host name fails at once: nothing reaches the internet, and a
    # page that asks for it is reported instead of waiting for a timeout.
    '--host-resolver-rules=MAP * ~NOTFOUND',
]

# Collects, in the page, what the checks below need; the page's own scripts
# (MathJax, the theme's copy buttons) have run when it is evaluated.
PAGE_SCRIPT = r'''
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(done => { img.onload = img.onerror = done; })));
  const textOf = (root, skip) => {
    const texts = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest(skip)) texts.push(node.textContent);
    }
    return texts.join('\n');
  };
  const all = selector => [...document.querySelectorAll(selector)];
  return {
    text: textOf(document.body, 'script, style, pre, code, textarea, ' +
                 'mjx-container, .highlight, .math'),
    images: all('img').map(img => ({
      src: img.getAttribute('src'), url: img.currentSrc || img.src,
      shown: img.complete && img.naturalWidth > 0})),
    unlinked_xrefs: all('.xref').filter(x => !x.closest('a[href]'))
      .map(x => x.textContent.trim()),
    // a :numref: to a figure label that Sphinx resolved to something else
    // (a section), as happens to a label that is not on a figure
    misplaced_figure_refs: all('a.reference[href*="#fig-"]')
      .filter(a => a.querySelector('.std-numref') &&
                   !/^Fig\./.test(a.textContent.trim()))
      .map(a => a.getAttribute('href') + ' reads ' + a.textContent.trim()),
    problematic: all('.problematic, .system-message')
      .map(x => x.textContent.trim()),
    empty_citations: all('span[id]')
      .filter(x => x.textContent.trim() === '()').length,
    unrendered_maths: all('.math').filter(x => !x.querySelector(
      'mjx-container')).map(x => x.textContent.trim()),
    maths_errors: all('mjx-merror').map(x =>
      x.getAttribute('data-mjx-error') || x.textContent),
    // MathJax shows an undefined macro such as \badmacro as red text;
    // its characters are the code points in the mjx-c classes.
    undefined_macros: all('mjx-mtext').filter(x =>
      /color:\s*red/.test(x.getAttribute('style') || '')).map(x =>
      [...x.querySelectorAll('mjx-c')].map(c => {
        const code = /mjx-c([0-9A-F]+)/.exec(c.className);
        return code ? String.fromCodePoint(parseInt(code[1], 16)) : '';
      }).join('')),
    outputs: all('.output pre, pre.output, div.highlight-default pre')
      .map(x => x.textContent),
    links: all('a[href]').map(a => ({
      href: a.getAttribute('href'), url: a.href,
      notebook: a.classList.contains('notebook-download')})),
  };
})()
'''

RAW_TEXT_PATTERNS = [
    # (what it means, regular expression on the visible text)
    ('unresolved reference', re.compile(r'\?\?')),
    ('raw reference role', re.compile(
        r':(?:numref|ref|eqref|cite|citet|citep|label):`[^`]*`?')),
    ('raw Markdown code fence', re.compile(r'```')),
    ('raw Markdown link', re.compile(r'\]\(')),
    ('raw Markdown bold', re.compile(r'\*\*[^*\n]+\*\*')),
    ('raw LaTeX', re.compile(r'\$[^$\n]+\$|\\(?:begin|end)\{|\\[A-Za-z]+'
                             r'|\\[()\[\]]')),
]
ERROR_OUTPUT = re.compile(
    r'Traceback \(most recent call last\)'
    r'|^[ \t]*(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception)'
    r'(?::|$)', re.MULTILINE)
# The header links of theme/header.html.
NOTEBOOK_ZIP = 'd2lhpo-notebooks.zip'


class DevToolsError(RuntimeError):
    """Chromium answered a DevTools command with an error."""


class Chromium:
    """A headless Chromium, driven through the DevTools protocol on a pipe.

    With ``--remote-debugging-pipe`` Chromium reads commands from its file
    descriptor 3 and writes replies and events to 4, as JSON messages that
    each end with a NUL byte.
    """

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix='check_html-')
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()

        def wire_pipes():  # in the child, before exec
            command, reply = os.dup(command_read), os.dup(reply_write)
            os.dup2(command, 3)
            os.dup2(reply, 4)

        # The four pipe ends take the lowest free descriptors, so 3 and 4
        # are open here too, as pass_fds requires.
        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, '--remote-debugging-pipe',
             f'--user-data-dir={self._profile.name}', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(3, 4),
            preexec_fn=wire_pipes)
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b''
        self._replies = {}
        self._events = []
        self._last_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Ask Chromium to quit; kill it if it does not."""
        if self._process.poll() is None:
            try:
                self.call('Browser.close', timeout=5)
            except (DevToolsError, TimeoutError, OSError):
                pass
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for fd in (self._command_write, self._reply_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def call(self, method: str, session: str | None = None,
             timeout: float | None = None, **params) -> dict:
        """Send a command and return its result."""
        self._last_id += 1
        message = {'id': self._last_id, 'method': method, 'params': params}
        if session:
            message['sessionId'] = session
        os.write(self._command_write, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + (timeout or self.timeout)
        while self._last_id not in self._replies:
            self._receive(deadline, f'reply to {method}')
        reply = self._replies.pop(self._last_id)
        if 'error' in reply:
            raise DevToolsError(f"{method}: {reply['error'].get('message')}")
        return reply.get('result', {})

    def wait_for_event(self, name: str, session: str,
                       timeout: float | None = None) -> dict:
        """Wait until the page of ``session`` sends event ``name``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for event in self._events:
                if (event['method'] == name
                        and event.get('sessionId') == session):
                    return event.get('params', {})
            self._receive(deadline, name)

    def take_events(self, session: str) -> list[dict]:
        """Remove and return the events received so far from a page."""
        mine = [e for e in self._events if e.get('sessionId') == session]
        self._events = [e for e in self._events
                        if e.get('sessionId') != session]
        return mine

    def _receive(self, deadline: float, waiting_for: str):
        """Read what Chromium has sent, waiting at most until ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f'no {waiting_for} from Chromium')
        ready, _, _ = select.select([self._reply_read], [], [], remaining)
        if not ready:
            raise TimeoutError(f'no {waiting_for} from Chromium')
        chunk = os.read(self._reply_read, 1 << 20)
        if not chunk:
            raise DevToolsError('Chromium exited')
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b'\0')
        for raw in messages:
            message = json.loads(raw)
            if 'id' in message:
                self._replies[message['id']] = message
            else:
                self._events.append(message)


@dataclasses.dataclass
class PageReport:
    """What a page did and showed when Chromium opened it."""
    url: str
    load_error: str | None = None
    requests: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    exceptions: list[str] = dataclasses.field(default_factory=list)
    dom: dict = dataclasses.field(default_factory=dict)


def open_page(browser: Chromium, url: str) -> PageReport:
    """Load ``url`` in a new tab and collect a :class:`PageReport`."""
    target = browser.call('Target.createTarget', url='about:blank')
    target_id = target['targetId']
    session = browser.call('Target.attachToTarget', targetId=target_id,
                           flatten=True)['sessionId']
    report = PageReport(url)
    try:
        for domain in ('Page', 'Network', 'Runtime'):
            browser.call(f'{domain}.enable', session)
        navigation = browser.call('Page.navigate', session, url=url)
        if navigation.get('errorText'):
            report.load_error = navigation['errorText']
            return report
        browser.wait_for_event('Page.loadEventFired', session)
        evaluation = browser.call(
            'Runtime.evaluate', session, expression=PAGE_SCRIPT,
            awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in evaluation:
            details = evaluation['exceptionDetails']
            report.exceptions.append('the checker\'s script failed: '
                                     + exception_text(details))
        else:
            report.dom = evaluation['result']['value']
    except TimeoutError as error:
        report.load_error = str(error)
    finally:
        add_events(report, browser.take_events(session))
        browser.call('Target.closeTarget', targetId=target_id)
        browser.take_events(session)
    return report


def exception_text(details: dict) -> str:
    """The message of a DevTools ``exceptionDetails``."""
    exception = details.get('exception', {})
    return exception.get('description') or details.get('text', '?')


def add_events(report: PageReport, events: list[dict]):
    """Record the requests, failed loads and uncaught errors of a page."""
    urls = {}
    for event in events:
        params = event.get('params', {})
        if event['method'] == 'Network.requestWillBeSent':
            urls[params['requestId']] = params['request']['url']
            report.requests.append(params['request']['url'])
        elif event['method'] == 'Network.loadingFailed':
            if params.get('canceled'):
                continue
            report.failed.append((urls.get(params['requestId'], '?'),
                                  params.get('errorText', '')))
        elif event['method'] == 'Runtime.exceptionThrown':
            report.exceptions.append(
                exception_text(params.get('exceptionDetails', {})))


def file_path(url: str) -> pathlib.Path | None:
    """The local file of a ``file://`` URL, or None for other URLs."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != 'file':
        return None
    return pathlib.Path(urllib.request.url2pathname(parsed.path))


def notebook_problem(path: pathlib.Path) -> str | None:
    """Why ``path`` is not an executed Jupyter notebook, or None."""
    try:
        notebook = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return f'is not a notebook ({error})'
    cells = notebook.get('cells', []) if isinstance(notebook, dict) else []
    code = [c for c in cells if c.get('cell_type') == 'code']
    if code and not any(c.get('outputs') for c in code):
        return 'has no outputs (not executed)'
    if not cells:
        return 'has no cells'
    return None


def zip_problem(path: pathlib.Path) -> str | None:
    """Why ``path`` is not a zip of notebooks, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        return f'is not a zip file ({error})'
    if not any(name.endswith('.ipynb') for name in names):
        return 'holds no notebook'
    return None


def has_source(page: pathlib.Path, html_dir: pathlib.Path) -> bool:
    """Whether Sphinx built ``page`` from a chapter (it kept the source)."""
    relative = page.relative_to(html_dir).with_suffix('.rst.txt')
    return (html_dir / '_sources' / relative).exists()


def link_problems(report: PageReport, page: pathlib.Path,
                  html_dir: pathlib.Path):
    """Yield the broken local links of a page, notebooks included."""
    links = report.dom.get('links', [])
    for link in links:
        path = file_path(link['url'])
        if path is None or path == page:
            continue
        if not path.exists():
            kind = 'notebook link' if link['notebook'] else 'broken link'
            yield f'{kind} {link["href"]}: no such file'
        elif path.suffix == '.ipynb':
            problem = notebook_problem(path)
            if problem:
                yield f'notebook {link["href"]} {problem}'
        elif path.name == NOTEBOOK_ZIP:
            problem = zip_problem(path)
            if problem:
                yield f'{link["href"]} {problem}'
    if has_source(page, html_dir) and not any(l['notebook'] for l in links):
        yield 'no link to its notebook'


def text_problems(dom: dict):
    """Yield raw Markdown, raw LaTeX and unresolved references."""
    for xref in dom.get('unlinked_xrefs', []):
        yield f'unresolved reference {xref!r}'
    for ref in dom.get('misplaced_figure_refs', []):
        yield f'reference to a figure that is not a figure: {ref}'
    for markup in dom.get('problematic', []):
        yield f'markup that Sphinx could not process: {markup[:80]!r}'
    if dom.get('empty_citations'):
        yield f'{dom["empty_citations"]} unresolved citation(s) "()"'
    text = dom.get('text', '')
    for meaning, pattern in RAW_TEXT_PATTERNS:
        for match in pattern.finditer(text):
            yield f'{meaning} in the text: {context(text, match)!r}'


def maths_problems(dom: dict):
    """Yield maths that MathJax did not render, or rendered as an error."""
    unrendered = dom.get('unrendered_maths', [])
    if unrendered:
        yield (f'maths not rendered by MathJax ({len(unrendered)} formulas, '
               f'the first {unrendered[0][:80]!r})')
    for error in dom.get('maths_errors', []):
        yield f'MathJax error: {error[:80]!r}'
    for macro in dom.get('undefined_macros', []):
        yield f'undefined TeX macro {macro!r} in the maths'


def output_problems(dom: dict):
    """Yield code outputs that show an error."""
    for output in dom.get('outputs', []):
        match = ERROR_OUTPUT.search(output)
        if match:
            yield f'a code output shows an error: {context(output, match)!r}'


def context(text: str, match: re.Match, width: int = 30) -> str:
    """The match with a little of the text around it, on one line."""
    start, end = max(match.start() - width, 0), match.end() + width
    return ' '.join(text[start:end].split())


def page_problems(report: PageReport, page: pathlib.Path,
                  html_dir: pathlib.Path) -> list[str]:
    """Every problem of one page, as short sentences."""
    if report.load_error:
        return [f'does not load ({report.load_error})']
    problems = []
    for url in report.requests:
        if urllib.parse.urlparse(url).scheme in ('http', 'https'):
            problems.append(f'loads {url} from the internet')
    for url, error in report.failed:
        if urllib.parse.urlparse(url).scheme not in ('http', 'https'):
            problems.append(f'cannot load {url} ({error})')
    problems += [f'JavaScript error: {e.splitlines()[0]}'
                 for e in report.exceptions]
    dom = report.dom
    for image in dom.get('images', []):
        if not image['shown']:
            problems.append(f'image {image["src"]} does not display')
    problems += text_problems(dom)
    problems += maths_problems(dom)
    problems += output_problems(dom)
    problems += link_problems(report, page, html_dir)
    return list(dict.fromkeys(problems))  # once each, in order


def find_chromium() -> str | None:
    """The path of a Chromium executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def check_pages(pages: list[pathlib.Path], html_dir: pathlib.Path,
                browser: Chromium) -> dict[pathlib.Path, list[str]]:
    """Open each page; return its problems (an empty list if none)."""
    return {page: page_problems(open_page(browser, page.resolve().as_uri()),
                                page.resolve(), html_dir.resolve())
            for page in pages}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('html_dir', nargs='?', type=pathlib.Path,
                        default=ROOT / '_build' / 'html')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds to wait for one page (default 60)')
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        print('Chromium is not installed (Debian: apt-get install '
              'chromium)', file=sys.stderr)
        return 2
    pages = sorted(args.html_dir.rglob('*.html'))
    if not pages:
        print(f'{args.html_dir}: no pages (build the book first: make html)',
              file=sys.stderr)
        return 1
    start = time.monotonic()
    with Chromium(executable, timeout=args.timeout) as browser:
        results = check_pages(pages, args.html_dir, browser)
    failed = 0
    for page, problems in results.items():
        name = page.relative_to(args.html_dir)
        for problem in problems:
            print(f'{name}: {problem}', file=sys.stderr)
        failed += bool(problems)
    print(f'{len(pages)} pages checked in headless Chromium in '
          f'{time.monotonic() - start:.1f} s: {len(pages) - failed} passed, '
          f'{failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
