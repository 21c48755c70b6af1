"""Give the figures that code cells draw a label and a caption.

d2lbook numbers a figure only when it comes from a Markdown image
(``![caption](file)`` followed by ``:label:``). A plot drawn by a code cell
has neither caption nor label, so ``:numref:`` cannot point at it. In the
chapters, such a plot is annotated right after its code cell with an HTML
comment, which Jupyter does not show::

    ```{.python .input}
    plt.plot(...)
    plt.show()
    ```
    <!-- figure: fig_lr_curves
    Validation error per epoch for three learning rates. -->

d2lbook turns the comment into a ``.. raw:: html`` block right after the
cell's output image. This script, run on ``_build/rst`` after ``d2lbook
build rst`` and before the HTML and PDF builds, replaces each such block by
a label in front of the nearest preceding ``.. figure::`` (the cell's last
image output) and the comment's text as that figure's caption. It is
idempotent, and fails, naming file and label, on a comment with no image
before it (the cell drew nothing) or on a label given twice.

Usage: python tools/code_figures.py _build/rst
"""
import pathlib
import re
import sys

COMMENT = re.compile(
    r'\.\. raw:: html\n\n((?:   .*\n|\n)*?)(?=\S|\Z)')
FIGURE = re.compile(r'<!--\s*figure:\s*(fig_\w+)\s+(.*?)\s*-->', re.S)


def caption_figures(text, name='<rst>'):
    """Return `text` with every figure comment turned into a label and a
    caption of the figure before it, and the labels found."""
    labels = []
    while True:
        match = next((m for m in COMMENT.finditer(text)
                      if FIGURE.search(m.group(1))), None)
        if match is None:
            return text, labels
        label, caption = FIGURE.search(match.group(1)).groups()
        caption = ' '.join(caption.split())
        if label in labels:
            raise ValueError(f'{name}: figure label {label} given twice')
        labels.append(label)
        before = text[:match.start()]
        start = before.rfind('\n.. figure:: ')
        if start < 0 or '\n.. code:: ' in before[start:]:
            raise ValueError(f'{name}: no image before the figure comment '
                             f'{label} (does its code cell draw a plot?)')
        end = before.index('\n', start + 1)  # end of the directive line
        # options of the figure directive (indented lines) stay with it
        options = re.match(r'(?:\n   :\w+:.*)*', before[end:]).end()
        end += options
        before = (before[:start] + f'\n.. _{label}:\n' + before[start:end]
                  + f'\n\n   {caption}\n' + before[end:])
        text = before + text[match.end():]


def main(folder):
    total = 0
    for path in sorted(pathlib.Path(folder).rglob('*.rst')):
        text = path.read_text()
        new, labels = caption_figures(text, str(path))
        if labels:
            path.write_text(new)
            total += len(labels)
    print(f'{folder}: captioned {total} figures drawn by code cells')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
