"""tools/check_pdf.py on text written here: what it accepts and what it
reports, without building a PDF."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_pdf  # noqa: E402

TITLES = ['Hyperparameter Optimization', 'Multi-Fidelity Methods']
REFERENCES = {'Li.2018': 'Hyperband: a novel {bandit-based} approach'}
GOOD_TEXT = '''Contents
1 Hyperparameter Optimization 1
1.1 Multi-Fidelity Methods . . . 3
1 | Hyperparameter Optimization
1.1 Multi-
Fidelity Methods
See Section 1.1 and (Li et al., 2018).
Bibliography
Li, L. (2018). Hyperband: a novel bandit-
based approach to hyperparameter optimization.
'''


def problems(text):
    return list(check_pdf.problems(text, TITLES, REFERENCES))


def test_complete_text_passes():
    assert problems(GOOD_TEXT) == []


def test_section_missing_from_the_body():
    text = GOOD_TEXT.replace('1.1 Multi-\nFidelity Methods\n', '')
    assert problems(text) == [
        "title 'Multi-Fidelity Methods' appears 1 times (expected in the "
        'contents and as a heading)']


def test_unresolved_reference():
    text = GOOD_TEXT.replace('Section 1.1', 'Section ??')
    assert problems(text) == ["unresolved reference: 'See Section ?? and "
                              "(Li et al., 2018).'"]


def test_missing_bibliography():
    text = GOOD_TEXT.split('Bibliography')[0]
    assert problems(text) == [
        'no bibliography',
        "bibliography lacks Li.2018 ('Hyperband: a novel {bandit-based} "
        "approach')"]


def test_titles_and_citations_of_the_book():
    titles = check_pdf.expected_titles()
    assert titles[0] == 'Hyperparameter Optimization'
    assert 'Bayesian Optimization' in titles
    keys = check_pdf.cited_keys()
    assert 'Bergstra.Bengio.2012' in keys
    titles_by_key = check_pdf.bib_titles(ROOT / 'd2lhpo.bib', keys)
    assert titles_by_key['Bergstra.Bengio.2012'].startswith('Random search')


def test_latex_log_and_figures(tmp_path):
    tex = tmp_path / 'book.tex'
    tex.write_text('\\sphinxincludegraphics{a.png}\n')
    tex.with_suffix('.log').write_text(
        'Missing character: There is no \u4e2d in font FreeSerif!\n')
    assert list(check_pdf.latex_problems(tex, figures=2)) == [
        'book.log: Missing character: There is no \u4e2d in font FreeSerif!',
        'book.tex includes 1 graphics, but the chapters have 2 figures']
    assert list(check_pdf.latex_problems(tmp_path / 'none.tex', 2)) == []


def test_the_appendix_is_checked_after_the_main_text():
    titles = check_pdf.expected_titles()
    assert titles.index('Hyperparameter Optimization') < titles.index(
        'Tools and Infrastructure')


def test_titles_citations_and_figures_of_two_folders(tmp_path):
    main, appendix = tmp_path / 'chapter_hpo', tmp_path / 'chapter_appendix'
    for folder, title, section, body in [
            (main, 'Main', 'intro', '![A plot](../img/a.svg)\n'),
            (appendix, 'Appendix', 'logs', ':cite:`Li.2018, Ray.2018`\n')]:
        folder.mkdir()
        (folder / 'index.md').write_text(
            f'# {title}\n\n```toc\n:maxdepth: 2\n\n{section}\n```\n')
        (folder / f'{section}.md').write_text(f'# {section.title()}\n'
                                              + body)
    notebook = tmp_path / 'eval' / 'chapter_appendix' / 'logs.ipynb'
    notebook.parent.mkdir(parents=True)
    notebook.write_text('{"cells": [{"outputs": [{"data": '
                        '{"image/png": ""}}]}]}')
    dirs = (main, appendix, tmp_path / 'absent')
    assert check_pdf.expected_titles(dirs) == ['Main', 'Intro', 'Appendix',
                                               'Logs']
    assert check_pdf.expected_titles(main) == ['Main', 'Intro']
    assert check_pdf.cited_keys(dirs) == {'Li.2018', 'Ray.2018'}
    assert check_pdf.expected_figures(dirs, tmp_path / 'eval') == 2
    # an empty appendix toc: its title only
    (appendix / 'index.md').write_text('# Appendix\n\n```toc\n```\n')
    assert check_pdf.expected_titles(dirs)[-1] == 'Appendix'
    assert check_pdf.expected_figures(dirs, tmp_path / 'eval') == 1
