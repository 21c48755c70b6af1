"""tools/check_eval.py on executed notebooks written here: the sections of
the main text and of the appendix are both checked."""
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_eval  # noqa: E402


def write_folder(folder, sections):
    """A chapter folder whose toc lists ``sections``."""
    folder.mkdir(parents=True)
    toc = '\n'.join(sections)
    (folder / 'index.md').write_text(
        f'# Chapter\n\n```toc\n:maxdepth: 2\n\n{toc}\n```\n')
    for name in sections:
        (folder / f'{name}.md').write_text(f'# {name}\n')
    return folder


def write_notebook(path, outputs, execution_count=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = nbformat.v4.new_code_cell('x = 1', outputs=outputs,
                                     execution_count=execution_count)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


def test_main_text_and_appendix_are_checked(tmp_path):
    dirs = (write_folder(tmp_path / 'chapter_hpo', ['a']),
            write_folder(tmp_path / 'chapter_appendix', ['b', 'c']))
    eval_root = tmp_path / '_build' / 'eval'
    write_notebook(eval_root / 'chapter_hpo' / 'a.ipynb', [])
    write_notebook(eval_root / 'chapter_appendix' / 'b.ipynb', [
        nbformat.v4.new_output('error', ename='ValueError', evalue='bad',
                               traceback=[])])
    found = list(check_eval.problems(eval_root, dirs))
    assert found == [
        f'{eval_root}/chapter_appendix/b.ipynb: code cell 0 raised '
        'ValueError: bad',
        f'{eval_root}/chapter_appendix/c.ipynb: missing (did the section '
        'fail to execute?)']
    write_notebook(eval_root / 'chapter_appendix' / 'b.ipynb', [])
    write_notebook(eval_root / 'chapter_appendix' / 'c.ipynb', [], None)
    assert list(check_eval.problems(eval_root, dirs)) == [
        f'{eval_root}/chapter_appendix/c.ipynb: code cell 0 was not executed']


def test_an_empty_appendix_toc_is_fine(tmp_path):
    dirs = (write_folder(tmp_path / 'chapter_hpo', ['a']),
            write_folder(tmp_path / 'chapter_appendix', []))
    write_notebook(tmp_path / 'eval' / 'chapter_hpo' / 'a.ipynb', [])
    assert list(check_eval.problems(tmp_path / 'eval', dirs)) == []
