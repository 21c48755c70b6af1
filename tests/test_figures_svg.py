"""img/*.svg: every label lies inside the picture, inside the box it sits
in, and clear of the other labels.

Text widths are measured with matplotlib's DejaVu Sans, the font that
both renderers of the book (Chromium for HTML, rsvg-convert for the PDF)
fall back to when Helvetica and Arial are missing; it is wider than
either, so a label that fits here fits with them too.
"""
import functools
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

IMG = pathlib.Path(__file__).resolve().parent.parent / 'img'
SVGS = sorted(IMG.glob('*.svg'))
NS = '{http://www.w3.org/2000/svg}'
# px a label keeps from the edge of the picture or of a box, across and down
MX, MY = 6.0, 2.0


@functools.lru_cache(maxsize=None)
def _width(text, size, bold):
    prop = FontProperties(family='DejaVu Sans', size=size,
                          weight='bold' if bold else 'normal')
    return TextToPath().get_text_width_height_descent(text, prop, False)[0]


def _size(value, parent):
    if value is None:
        return parent
    if value.endswith('em'):
        return parent * float(value[:-2])
    return float(value)


def _labels(path):
    """(text, box) pairs; box = (x0, y0, x1, y1) of the label's ink."""
    root = ET.parse(path).getroot()
    base = _size(root.get('font-size'), 16.0)
    labels = []
    for el in root.iter(NS + 'text'):
        size = _size(el.get('font-size'), base)
        bold = el.get('font-weight') == 'bold'
        runs = [(el.text or '', size, bold)]
        for span in el.iter(NS + 'tspan'):
            runs.append((span.text or '', _size(span.get('font-size'), size),
                         bold or span.get('font-weight') == 'bold'))
            runs.append((span.tail or '', size, bold))
        if el.get('{http://www.w3.org/XML/1998/namespace}space') != 'preserve':
            runs = [(re.sub(r'\s+', ' ', t), s, b) for t, s, b in runs]
        width = sum(_width(t, s, b) for t, s, b in runs if t)
        width += sum(float(span.get('dx', 0))
                     for span in el.iter(NS + 'tspan'))
        x, y = float(el.get('x')), float(el.get('y'))
        anchor = el.get('text-anchor', 'start')
        x0 = {'start': x, 'middle': x - width / 2, 'end': x - width}[anchor]
        labels.append((''.join(t for t, _, _ in runs),
                       (x0, y - 0.75 * size, x0 + width, y + 0.22 * size)))
    return root, labels


def _view_box(root):
    return tuple(float(v) for v in root.get('viewBox').split())


def _boxes(root):
    """Rectangles drawn in the picture, except its background."""
    vx, vy, vw, vh = _view_box(root)
    boxes = []
    for el in root.iter(NS + 'rect'):
        if el.get('x') is None:  # a pattern tile
            continue
        x, y = float(el.get('x')), float(el.get('y'))
        w, h = float(el.get('width')), float(el.get('height'))
        if w >= vw and h >= vh:
            continue
        boxes.append((x, y, x + w, y + h))
    return boxes


def _inside(inner, outer, mx=0.0, my=0.0):
    return (inner[0] >= outer[0] + mx and inner[1] >= outer[1] + my
            and inner[2] <= outer[2] - mx and inner[3] <= outer[3] - my)


def test_there_are_figures():
    assert len(SVGS) >= 6


@pytest.mark.parametrize('path', SVGS, ids=lambda p: p.name)
def test_labels_lie_inside_the_picture(path):
    root, labels = _labels(path)
    vx, vy, vw, vh = _view_box(root)
    assert root.get('width') == str(int(vw)), 'width differs from viewBox'
    assert root.get('height') == str(int(vh)), 'height differs from viewBox'
    out = [text for text, box in labels
           if not _inside(box, (vx, vy, vx + vw, vy + vh), MX, MY)]
    assert not out, f'{path.name}: cut off: {out}'


@pytest.mark.parametrize('path', SVGS, ids=lambda p: p.name)
def test_labels_do_not_cross_a_box_edge(path):
    """A label is either well inside a box or clear of it."""
    root, labels = _labels(path)
    over = []
    for text, box in labels:
        for rect in _boxes(root):
            near = (box[0] - MX, box[1] - MY, box[2] + MX, box[3] + MY)
            touches = (min(near[2], rect[2]) > max(near[0], rect[0])
                       and min(near[3], rect[3]) > max(near[1], rect[1]))
            if touches and not _inside(box, rect, MX, MY):
                over.append((text, rect))
    assert not over, f'{path.name}: crosses the edge of a box: {over}'


@pytest.mark.parametrize('path', SVGS, ids=lambda p: p.name)
def test_labels_do_not_collide(path):
    _, labels = _labels(path)
    hits = []
    for i, (a, p) in enumerate(labels):
        for b, q in labels[i + 1:]:
            if (min(p[2], q[2]) - max(p[0], q[0]) > 0
                    and min(p[3], q[3]) - max(p[1], q[1]) > 0):
                hits.append((a, b))
    assert not hits, f'{path.name}: overlapping labels: {hits}'
