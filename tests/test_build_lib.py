"""tools/build_lib.py: extracting #@save cells into the d2lhpo package."""
import ast
import pathlib
import subprocess
import sys
import textwrap
import types

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'tools'))
import build_lib  # noqa: E402


def cell(code):
    return '```{.python .input}\n' + textwrap.dedent(code).strip('\n') + \
        '\n```\n'


def write_chapter(directory, sections):
    """Write index.md with a toc and one .md file per section.

    `sections` maps a section name to a list of code cells (strings).
    """
    directory.mkdir(parents=True, exist_ok=True)
    toc = '\n'.join(sections)
    (directory / 'index.md').write_text(
        f'# A Chapter\n\n```toc\n:maxdepth: 2\n\n{toc}\n```\n')
    for name, cells in sections.items():
        body = f'# {name}\n:label:`sec_{name}`\n\nSome prose.\n\n'
        body += '\nMore prose.\n\n'.join(cell(c) for c in cells)
        (directory / f'{name}.md').write_text(body)
    return directory


@pytest.fixture
def chapter(tmp_path, monkeypatch):
    """A chapter directory; the build treats tmp_path as the repository."""
    monkeypatch.setattr(build_lib, 'ROOT', tmp_path)
    return tmp_path / 'chapter'


def build(directory):
    return build_lib.build_source(build_lib.chapter_files(directory))


def load(source, monkeypatch, name='fake_d2lhpo_book'):
    """Execute generated source as a module and return it."""
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(source, f'<{name}>', 'exec'), module.__dict__)
    return module


# ------------------------------------------------------------ chapter_files
def test_chapter_files_follow_the_toc_order(chapter):
    write_chapter(chapter, {'second': ['x = 1'], 'first': ['y = 2']})
    files = build_lib.chapter_files(chapter)
    assert [f.name for f in files] == ['second.md', 'first.md']


def test_chapter_files_without_toc_raise_build_error(chapter):
    chapter.mkdir()
    (chapter / 'index.md').write_text('# No toc here\n')
    with pytest.raises(build_lib.BuildError, match='toc'):
        build_lib.chapter_files(chapter)


def test_chapter_files_with_missing_section_raise_build_error(chapter):
    write_chapter(chapter, {'present': ['x = 1']})
    index = chapter / 'index.md'
    index.write_text(index.read_text().replace('present', 'present\nabsent'))
    with pytest.raises(build_lib.BuildError, match='absent'):
        build_lib.chapter_files(chapter)


# ------------------------------------------------------------ build_source
def test_build_source_accepts_chapters_outside_the_repository(tmp_path):
    # No monkeypatching of ROOT: build_source(files) is documented to take
    # any list of chapter files.
    directory = write_chapter(tmp_path / 'chapter', {
        'sec': ['#@save\ndef f():\n    return 1']})
    source = build_lib.build_source(build_lib.chapter_files(directory))
    assert 'def f():' in source


def test_cell_starting_with_save_mark_is_saved_whole(chapter, monkeypatch):
    write_chapter(chapter, {'sec': ['''
        #@save
        import math
        RATE = 0.5

        def half(x):
            return x * RATE

        helper_value = math.sqrt(4)
    ''']})
    source = build(chapter)
    assert '#@save' not in source[len(build_lib.HEADER):]  # marks stripped
    module = load(source, monkeypatch)
    assert module.half(4) == 2.0
    assert module.helper_value == 2.0
    assert 'sec.md' in source and 'sec_sec' in source


def test_marked_def_in_a_mixed_cell_is_saved_alone(chapter, monkeypatch):
    write_chapter(chapter, {'sec': ['''
        import os
        demo = 41

        def f():  #@save
            return 42

        print(f())
        def g():
            return 0
    ''']})
    source = build(chapter)
    module = load(source, monkeypatch)
    assert module.f() == 42
    for unsaved in ('demo', 'g', 'os'):
        assert not hasattr(module, unsaved), unsaved
    assert 'print(' not in source


def test_marked_plain_statement_is_saved(chapter, monkeypatch):
    write_chapter(chapter, {'sec': ['''
        TABLE = {'a': 1,
                 'b': 2}  #@save
        other = 3
    ''']})
    module = load(build(chapter), monkeypatch)
    assert module.TABLE == {'a': 1, 'b': 2}
    assert not hasattr(module, 'other')


def test_unmarked_cells_are_not_saved(chapter):
    write_chapter(chapter, {'sec': [
        'def not_saved():\n    return 0',
        '#@save\ndef saved():\n    return 1',
        'also_not_saved = 5',
    ]})
    source = build(chapter)
    assert 'def saved' in source
    assert 'not_saved' not in source
    assert 'also_not_saved' not in source


def test_add_to_class_methods_are_folded_into_the_class(chapter,
                                                       monkeypatch):
    write_chapter(chapter, {
        'one': ['''
            class A:  #@save
                """A class taught in pieces."""
                def __init__(self):
                    self.value = 1

            a = A()
        '''],
        'two': ['''
            @d2lhpo.add_to_class(A)  #@save
            def m(self):
                return self.value + 1
        ''', '''
            @add_to_class(A)  #@save
            def n(self, k=2):
                """Another method."""
                return self.m() * k
        '''],
    })
    source = build(chapter)
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body
               if isinstance(node, ast.ClassDef)}
    methods = [node.name for node in classes['A'].body
               if isinstance(node, ast.FunctionDef)]
    assert methods == ['__init__', 'm', 'n']
    top_level_defs = [node.name for node in tree.body
                      if isinstance(node, ast.FunctionDef)]
    assert 'm' not in top_level_defs and 'n' not in top_level_defs
    assert 'add_to_class' not in source
    assert '#@save' not in source[len(build_lib.HEADER):]
    module = load(source, monkeypatch)
    assert module.A().m() == 2
    assert module.A().n() == 4
    assert 'm' in module.A.__dict__
    assert not hasattr(module, 'a')  # the unmarked demo line


def test_add_to_class_on_unknown_class_raises_build_error(chapter):
    write_chapter(chapter, {'sec': ['''
        @d2lhpo.add_to_class(Missing)  #@save
        def m(self):
            return 0
    ''']})
    with pytest.raises(build_lib.BuildError, match='Missing'):
        build(chapter)


def test_add_to_class_before_the_class_is_saved_raises_build_error(chapter):
    write_chapter(chapter, {
        'early': ['@d2lhpo.add_to_class(B)  #@save\ndef m(self):\n'
                  '    return 0'],
        'late': ['class B:  #@save\n    pass'],
    })
    with pytest.raises(build_lib.BuildError, match='B'):
        build(chapter)


def test_all_lists_public_saved_names_only(chapter, monkeypatch):
    write_chapter(chapter, {'sec': ['''
        #@save
        import math
        CONSTANT = 1
        _PRIVATE = 2

        def public_function():
            return CONSTANT

        def _helper():
            return _PRIVATE

        class Public:
            pass
    ''', '''
        def unsaved():
            return 0
    ''']})
    source = build(chapter)
    module = load(source, monkeypatch)
    assert module.__all__ == ['CONSTANT', 'Public', 'public_function']
    assert all(hasattr(module, name) for name in module.__all__)


def test_saved_cell_that_does_not_parse_raises_build_error(chapter):
    write_chapter(chapter, {'sec': ['def f(:  #@save\n    return 1']})
    with pytest.raises(build_lib.BuildError):
        build(chapter)


# ------------------------------------------------------------ the appendix
def test_appendix_code_comes_after_the_main_text(tmp_path, monkeypatch):
    """Appendix code may subclass a main-text class and add methods to it;
    main-text code may call appendix code inside a function."""
    monkeypatch.setattr(build_lib, 'ROOT', tmp_path)
    main = write_chapter(tmp_path / 'chapter_hpo', {'intro': ['''
        class Scheduler:  #@save
            def __init__(self):
                self.loader = 'plain'

            def describe(self):
                # appendix code, looked up when this runs
                return describe_loader(self)
    ''']})
    appendix = write_chapter(tmp_path / 'chapter_appendix', {'systems': ['''
        #@save
        class RayScheduler(Scheduler):
            """A main-text class, extended in the appendix."""
            def __init__(self):
                super().__init__()
                self.loader = 'ray'

        def describe_loader(scheduler):
            return f'{type(scheduler).__name__} with {scheduler.loader}'
    ''', '''
        @d2lhpo.add_to_class(Scheduler)  #@save
        def workers(self):
            return 1 if self.loader == 'plain' else 4
    ''']})
    files = build_lib.book_files((main, appendix))
    assert [f.parent.name for f in files] == ['chapter_hpo',
                                              'chapter_appendix']
    source = build_lib.build_source(files)
    assert source.index('class Scheduler') < source.index('class RayScheduler')
    assert '# Defined in chapter_hpo/intro.md (:numref:`sec_intro`)' in source
    assert ('# Defined in chapter_appendix/systems.md '
            '(:numref:`sec_systems`)') in source
    assert '# Added in chapter_appendix/systems.md' in source
    assert source.startswith(build_lib.header({'chapter_appendix'}))
    assert '``chapter_appendix/``' in source.split('"""')[1]
    module = load(source, monkeypatch)
    assert 'workers' in module.Scheduler.__dict__  # folded into the class
    assert module.Scheduler().workers() == 1
    assert module.RayScheduler().workers() == 4
    assert module.Scheduler().describe() == 'Scheduler with plain'
    assert module.RayScheduler().describe() == 'RayScheduler with ray'
    assert module.__all__ == ['RayScheduler', 'Scheduler', 'describe_loader']


def test_empty_appendix_toc_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(build_lib, 'ROOT', tmp_path)
    main = write_chapter(tmp_path / 'chapter_hpo', {
        'sec': ['#@save\ndef f():\n    return 1']})
    appendix = write_chapter(tmp_path / 'chapter_appendix', {})
    assert build_lib.chapter_files(appendix) == []
    with_appendix = build_lib.build_source(
        build_lib.book_files((main, appendix)))
    without = build_lib.build_source(build_lib.chapter_files(main))
    assert with_appendix == without
    assert with_appendix.startswith(build_lib.header({'chapter_hpo'}))
    assert 'chapter_appendix' not in with_appendix
    # a tree with no appendix folder at all builds the same
    assert build_lib.book_files((main, tmp_path / 'absent')) == \
        build_lib.chapter_files(main)


def test_the_book_has_an_appendix_after_the_main_text():
    index = (REPO / 'index.md').read_text()
    assert index.index('chapter_hpo/index') < \
        index.index('chapter_appendix/index')
    assert build_lib.BOOK_DIRS == (build_lib.CHAPTER_DIR,
                                   build_lib.APPENDIX_DIR)
    appendix = build_lib.chapter_files(build_lib.APPENDIX_DIR)
    assert build_lib.book_files() == \
        build_lib.chapter_files(build_lib.CHAPTER_DIR) + appendix


# ----------------------------------------------------- the real package
def test_committed_package_matches_the_chapters():
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'build_lib.py'), '--check'],
        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_source_of_the_chapters_equals_committed_book():
    assert build_lib.build_source() == \
        (REPO / 'd2lhpo' / 'book.py').read_text()


def test_public_api_imports():
    from d2lhpo import (BasicScheduler, GridSearcher, HPOScheduler,
                        HPOSearcher, HPOTuner, ProgressBoard, RandomSearcher)
    assert issubclass(RandomSearcher, HPOSearcher)
    assert issubclass(GridSearcher, HPOSearcher)
    assert issubclass(BasicScheduler, HPOScheduler)
    assert callable(HPOTuner) and callable(ProgressBoard)


def test_every_documented_name_is_exported():
    import d2lhpo
    names = ['HPOSearcher', 'RandomSearcher', 'GridSearcher',
             'HPOScheduler', 'BasicScheduler', 'HPOTuner', 'ProgressBoard',
             'TrialRecord', 'Domain', 'parse_config_space', 'make_domain',
             'sample_config', 'check_config', 'as_error', 'incumbent_at',
             'plot_anytime', 'load_digits_data', 'load_fashion_mnist',
             'read_idx', 'DataSplits', 'SmallCNN', 'softmax_regression',
             'train_model', 'error_rate', 'softmax_objective',
             'cnn_objective', 'get_device', 'add_to_class']
    missing = [n for n in names if n not in d2lhpo.__all__
               or not hasattr(d2lhpo, n)]
    assert missing == []


def test_tuner_methods_are_defined_in_the_class_body():
    from d2lhpo import HPOTuner
    for method in ('run', 'run_trial', 'start_trial', 'report', 'finish',
                   'records_table', 'results_table'):
        assert method in HPOTuner.__dict__, method
    tree = ast.parse((REPO / 'd2lhpo' / 'book.py').read_text())
    tuner = next(node for node in tree.body
                 if isinstance(node, ast.ClassDef)
                 and node.name == 'HPOTuner')
    body_defs = {node.name for node in tuner.body
                 if isinstance(node, ast.FunctionDef)}
    assert {'__init__', 'run', 'run_trial', 'report', 'finish',
            'records_table'} <= body_defs


def test_package_add_to_class_attaches_a_method():
    from d2lhpo import add_to_class

    class C:
        pass

    @add_to_class(C)
    def double(self, x):
        return 2 * x

    assert C().double(3) == 6
    assert double(None, 1) == 2  # the function itself is returned
