"""tools/cell_lengths.py on small chapter folders written here."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import cell_lengths  # noqa: E402


def code(lines, name='f'):
    """A Python input cell of ``lines`` lines."""
    body = [f'def {name}():'] + [f'    x = {i}' for i in range(lines - 1)]
    return '```{.python .input}\n' + '\n'.join(body) + '\n```\n'


def write_folder(folder, sections):
    """A chapter folder; ``sections`` maps a name to its cells' lengths."""
    folder.mkdir(parents=True)
    toc = '\n'.join(sections)
    (folder / 'index.md').write_text(
        f'# Chapter\n\n```toc\n:maxdepth: 2\n\n{toc}\n```\n')
    for name, lengths in sections.items():
        text = f'# {name}\n\nProse.\n\n'
        # a non-Python fence is not a code cell
        text += '```toc\n:maxdepth: 1\n```\n\n'
        text += '\nProse.\n\n'.join(code(n, f'f{i}')
                                    for i, n in enumerate(lengths))
        (folder / f'{name}.md').write_text(text)
    return folder


def run(capsys, *argv):
    status = cell_lengths.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_short_cells_pass_and_are_counted(tmp_path, capsys):
    main = write_folder(tmp_path / 'chapter_hpo',
                        {'a': [3, 5, 10], 'b': [31] + [4] * 36})
    appendix = write_folder(tmp_path / 'chapter_appendix', {'c': [40, 2]})
    # 2 of 42 cells (4.8%) are over 30 lines, none over 45
    status, out, err = run(capsys, main, appendix)
    assert status == 0, err
    assert err == ''
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line and not line.startswith('-')}
    # cells, lines, median, max, >30, >45
    assert rows['chapter_hpo/a.md'] == ['3', '18', '5', '10', '0', '0']
    assert rows['chapter_hpo/b.md'] == ['37', '175', '4', '31', '1', '0']
    assert rows['chapter_appendix/c.md'] == ['2', '42', '21', '40', '1',
                                             '0']
    assert rows['chapter_hpo'] == ['(main', 'text)', '40', '193', '4',
                                   '31', '1', '0']
    assert rows['chapter_appendix'] == ['(appendix)', '2', '42', '21', '40',
                                        '1', '0']
    assert rows['all'] == ['42', '235', '4', '40', '2', '0']


def test_too_many_cells_over_30_lines_fail(tmp_path, capsys):
    # 2 of 20 cells (10%) are over 30 lines
    main = write_folder(tmp_path / 'chapter_hpo', {'a': [31, 35] + [5] * 18})
    status, _, err = run(capsys, main)
    assert status == 1
    assert '2 of 20 cells (10.0%) are over 30 lines' in err
    assert 'chapter_hpo/a.md:10: 31 lines: def f0():' in err
    assert ': 35 lines: def f1():' in err
    assert 'over 45' not in err


def test_a_cell_over_45_lines_fails(tmp_path, capsys):
    main = write_folder(tmp_path / 'chapter_hpo', {'a': [5] * 30})
    appendix = write_folder(tmp_path / 'chapter_appendix',
                            {'b': [46] + [5] * 9})
    status, _, err = run(capsys, main, appendix)
    assert status == 1
    assert err.splitlines() == [
        '1 cells are over 45 lines:',
        '  chapter_appendix/b.md:10: 46 lines: def f0():']


def test_max_lines_limits_the_main_text_only(tmp_path, capsys):
    main = write_folder(tmp_path / 'chapter_hpo', {'a': [10, 10]})
    appendix = write_folder(tmp_path / 'chapter_appendix', {'b': [20]})
    assert run(capsys, main, appendix, '--max-lines', 20)[0] == 0
    status, _, err = run(capsys, main, appendix, '--max-lines', 19)
    assert status == 1
    assert err.strip() == ('the main text (chapter_hpo) has 20 code lines, '
                           'more than --max-lines 19')


def test_an_empty_appendix_toc(tmp_path, capsys):
    main = write_folder(tmp_path / 'chapter_hpo', {'a': [3]})
    appendix = write_folder(tmp_path / 'chapter_appendix', {})
    status, out, _ = run(capsys, main, appendix)
    assert status == 0
    assert 'chapter_appendix (appendix)' in out
    row = next(line for line in out.splitlines()
               if line.startswith('chapter_appendix'))
    assert row.split()[2:] == ['0', '0', '-', '0', '0', '0']


def test_the_book_is_measured_by_default(capsys):
    # the chapters do not pass yet: only the table is checked here
    cell_lengths.main([])
    out = capsys.readouterr().out
    assert 'chapter_hpo/asha.md' in out
    assert 'chapter_hpo (main text)' in out
    assert 'chapter_appendix (appendix)' in out
