"""tools/code_figures.py: labels and captions for figures drawn by code."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent
                       / 'tools'))
import code_figures  # noqa: E402

CELL = '''.. code:: python

    plt.plot([1, 2])



.. figure:: output_x_1_0.png



.. raw:: html

   <!-- figure: fig_line
   A line, drawn by code. -->

:numref:`fig_line` shows a line.
'''


def test_comment_becomes_label_and_caption():
    text, labels = code_figures.caption_figures(CELL)
    assert labels == ['fig_line']
    assert '<!--' not in text and '.. raw:: html' not in text
    label = text.index('.. _fig_line:')
    figure = text.index('.. figure:: output_x_1_0.png')
    caption = text.index('   A line, drawn by code.')
    assert label < figure < caption < text.index(':numref:`fig_line`')
    # idempotent: a second run finds nothing left to do
    assert code_figures.caption_figures(text) == (text, [])


def test_a_comment_without_an_image_is_an_error():
    no_image = CELL.replace('.. figure:: output_x_1_0.png', 'text')
    with pytest.raises(ValueError, match='no image before .* fig_line'):
        code_figures.caption_figures(no_image)


def test_an_image_of_an_earlier_cell_is_not_taken():
    later = CELL.replace('.. raw:: html', '.. code:: python\n\n    1\n\n'
                         '.. raw:: html')
    with pytest.raises(ValueError, match='fig_line'):
        code_figures.caption_figures(later)


def test_a_label_given_twice_is_an_error():
    with pytest.raises(ValueError, match='given twice'):
        code_figures.caption_figures(CELL + CELL)


def test_other_raw_html_is_left_alone():
    other = '.. raw:: html\n\n   <b>bold</b>\n\ntext\n'
    assert code_figures.caption_figures(other) == (other, [])


def test_every_code_figure_in_the_chapters_is_annotated_once():
    # labels are unique over the whole book: main text and appendix
    labels = []
    root = pathlib.Path(__file__).resolve().parent.parent
    for path in sorted(root.glob('chapter_hpo/*.md')) + sorted(
            root.glob('chapter_appendix/*.md')):
        labels += code_figures.FIGURE.findall(path.read_text())
    names = [label for label, _ in labels]
    assert len(names) == len(set(names)) >= 30
    assert all(caption.strip() for _, caption in labels)


def test_main_captions_every_chapter_folder(tmp_path, capsys):
    """The script is folder-agnostic: it walks all of _build/rst."""
    for folder, label in [('chapter_hpo', 'fig_a'),
                          ('chapter_appendix', 'fig_b')]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / 'x.rst').write_text(
            CELL.replace('fig_line', label))
    code_figures.main(tmp_path)
    assert 'captioned 2 figures' in capsys.readouterr().out
    assert '.. _fig_b:' in (tmp_path / 'chapter_appendix' / 'x.rst'
                            ).read_text()
