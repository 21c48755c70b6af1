"""tools/finish_html.py: the notebooks of every folder, the appendix's
included, are copied next to their pages and zipped."""
import pathlib
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import finish_html  # noqa: E402


def test_notebooks_of_the_main_text_and_the_appendix_are_zipped(tmp_path):
    notebooks, html = tmp_path / 'ipynb', tmp_path / 'html'
    for name in ['index.ipynb', 'chapter_hpo/asha.ipynb',
                 'chapter_appendix/trial_logs.ipynb', 'img/a.svg',
                 'chapter_hpo/.ipynb_checkpoints/asha.ipynb']:
        (notebooks / name).parent.mkdir(parents=True, exist_ok=True)
        (notebooks / name).write_text('{}')
    assert finish_html.copy_notebooks(notebooks, html) == 3
    assert (html / 'chapter_appendix' / 'trial_logs.ipynb').exists()
    with zipfile.ZipFile(html / finish_html.NOTEBOOK_ZIP) as archive:
        names = sorted(archive.namelist())
    assert names == ['d2lhpo-notebooks/chapter_appendix/trial_logs.ipynb',
                     'd2lhpo-notebooks/chapter_hpo/asha.ipynb',
                     'd2lhpo-notebooks/img/a.svg',
                     'd2lhpo-notebooks/index.ipynb']
