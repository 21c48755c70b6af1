# Two commands for a newcomer: `make html` (execute the book, build its HTML)
# and `make test` (the test suite). Each sets itself up on a fresh machine.
# `make test` is `make unit` (the library's tests alone: no browser, MathJax
# or TeX), nbval, check-html and `make book-tests` (the tests of the book's
# tooling, which need Chromium and MathJax). `make pdf` builds and checks
# the PDF.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
STAMP := $(VENV)/.installed
# d2lbook and nbval start kernels and tools from PATH: use the venv's.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export MPLBACKEND ?= Agg
export PYTHONHASHSEED := 0
# The models are tiny: one thread per process is as fast, and two chapters
# executing side by side do not fight over the two cores.
export OMP_NUM_THREADS ?= 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# d2lbook's eval build: a folder of executed notebooks per chapter folder
# (config.ini builds every */*.md): the main text and the appendix.
EVAL := _build/eval
# On a GPU, numerics differ from the outputs stored by the CPU build:
# `make test NBVAL_FLAGS=--nbval-lax` then checks that every cell runs.
NBVAL_FLAGS ?= --nbval
# MathJax, served from the HTML build so that the maths renders offline.
MATHJAX_VERSION := 3.2.2
VENDOR := _build/vendor
MATHJAX := $(VENDOR)/mathjax-$(MATHJAX_VERSION)
# Debian packages. PDF: TeX Live with XeLaTeX and the packages that Sphinx's
# and d2lbook's preambles load (fonts-recommended has the ZapfDingbats that
# hyperref needs), the FreeSerif/FreeSans/FreeMono fonts that Sphinx's
# XeLaTeX preamble asks for, rsvg-convert for SVG figures, pdftotext for the
# check.
APT_HTML := pandoc
APT_BROWSER := chromium
APT_PDF := texlive-xetex texlive-latex-extra texlive-fonts-recommended \
           latexmk fonts-freefont-otf librsvg2-bin poppler-utils
# $(call apt-install,PACKAGES): install those not installed yet, with no
# recommended extras and no questions.
apt-install = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' \
	  $$p 2>/dev/null | grep -q ' installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q --no-install-recommends $$missing; fi

.PHONY: setup apt-html apt-browser apt-pdf mathjax rst lib lib-check unit eval \
        nbval test html check-html pdf book-tests cell-lengths \
        chapter-times bench-simulator bench-parallel clean

# ---------------------------------------------------------------- set-up
$(STAMP): setup.py
	@python3 -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -q \
	  && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  python3-venv; }
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=23'
	# The CPU wheel of PyTorch that these machines offer; any other spec
	# pulls several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP)

apt-html:
	@$(call apt-install,$(APT_HTML))

apt-browser:          ## headless Chromium for tools/check_html.py
	@$(call apt-install,$(APT_BROWSER))

apt-pdf:
	@$(call apt-install,$(APT_PDF))

# The npm registry's MathJax; only the parts that pages load are copied
# into the HTML build (tools/finish_html.py).
mathjax: $(MATHJAX)/tex-chtml.js

$(MATHJAX)/tex-chtml.js:
	@command -v npm >/dev/null || { $(call apt-install,npm); }
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	cd $(VENDOR) && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	tar -xzf $(VENDOR)/mathjax-$(MATHJAX_VERSION).tgz -C $(MATHJAX) \
	  --strip-components=2 package/es5

# ---------------------------------------------------------------- library
lib: setup            ## regenerate d2lhpo/book.py from the chapters
	$(PY) tools/build_lib.py

lib-check: setup      ## fail if d2lhpo/book.py differs from the chapters
	$(PY) tools/build_lib.py --check

# ---------------------------------------------------------------- book
eval: setup           ## execute every chapter into _build/eval
	d2lbook build eval
	$(PY) tools/check_eval.py $(EVAL)

# d2lbook's rst, then labels and captions for the figures that code cells
# draw (tools/code_figures.py), which the HTML and the PDF share.
rst: setup eval
	d2lbook build rst
	$(PY) tools/code_figures.py _build/rst

html: setup apt-html mathjax rst
	d2lbook build html
	$(PY) tools/finish_html.py --mathjax $(MATHJAX)
	@echo "The book is in _build/html/index.html"

check-html: html apt-browser  ## open every page in headless Chromium
	$(PY) tools/check_html.py _build/html

# latexmk trusts what it recorded of an earlier run, failed ones included:
# the LaTeX is regenerated from scratch (a few seconds).
pdf: setup apt-pdf rst  ## build the PDF, then check it
	rm -rf _build/pdf
	LATEXOPTS='-interaction=nonstopmode -halt-on-error' d2lbook build pdf
	$(PY) tools/check_pdf.py _build/pdf/d2lhpo.pdf
	@echo "The book is in _build/pdf/d2lhpo.pdf"

# ---------------------------------------------------------------- tests
# Tests marked `book` (tests/conftest.py) need Chromium and MathJax: unit
# leaves them out, so the library's tests need neither apt nor npm.
# Two test processes (pytest-xdist); the tests that start Ray share the
# group 'ray', which runs in one process, one Ray instance at a time.
unit: setup lib-check cell-lengths  ## the library's tests: no browser, MathJax or TeX
	$(PY) -m pytest tests -q -m 'not book' -n 2 --dist loadgroup

# --require-book-tools: a book test whose tool is missing fails, not skips.
book-tests: setup apt-browser mathjax  ## the book tooling's tests
	$(PY) -m pytest tests -q -m book --require-book-tools

# The main text's sections, whose prose rests on their outputs. The
# appendix's sections (library tools) are executed once, by the eval build,
# which fails on any cell that raised (tools/check_eval.py); re-running them
# here too cost about half a minute of a CI run near its 20-minute limit.
# Two notebooks execute at a time (pytest-xdist; all cells of a notebook go
# to the same worker and kernel), as in d2lbook's eval build.
nbval: eval           ## re-execute the main text and compare outputs
	$(PY) -m pytest $(NBVAL_FLAGS) $(EVAL)/chapter_hpo -q -p no:cacheprovider \
	  --nbval-cell-timeout=300 -n 2 --dist loadfile

test: unit nbval check-html book-tests

# Cells a reader takes in at a glance: at most 5% of code cells over 30
# lines, none over 45; and the main text's code stays lean: issue 12 cut
# the eight sections from 4,000 lines to 2,561 (cap 2,666); issue 14 adds
# the evidence every claim needs (paired tests, asserts) and the MNIST-1D
# benchmark, within 2,850; issue 15 adds 119 lines: the tuners' metric and
# mode and AsyncTuner's runtime (17) and the multi-objective section (102);
# the BOHB-style searcher's memory of what it suggested and BOHB's minimum
# number of points add 17 (asha.md); the multi-objective section's tuners
# with several metrics, ParEGO, MO-ASHA and the comparison add 237; the
# constrained and cost-aware section and the tuners' constraints add 225;
# MOTPE adds 37; constrained EI's kept constraint GPs and incumbent add 8;
# issue 16's budgets shared by both tuners (target, patience, max_time
# from the start of a run, the simulator's clock stopping at a run's end,
# workers ready before the clock starts) and their example add 28; the
# section "HPO in Practice" (budgets, range checks, cross-validation,
# fANOVA, transfer) adds 101; start points and warm starts of the
# searchers add 30; log-scaled integers and steps in Domain and
# SpaceEncoder add 32; the warm-start comparison of the practice section
# adds 27; its review fixes (range_check on ranked lists, the plateau, test
# standard error, fANOVA pairs, asserts) add 23; conditional spaces (the
# condition in Domain and sample_config with their example, SpaceEncoder's
# imputation and decoding per hyperparameter, TPE's tree of Parzen
# estimators; GridSearcher's point moved to the appendix's GridTree) add 47;
# issue 17's population based training (PBTScheduler, its lineage and
# schedules, the toy problem of the PBT paper with its ablations) adds 256,
# and the sequential tuner's checkpoint files 3; the review fixes of the
# PBT section (paired ablation, the ceiling, the factors check) and the
# practice section's scikit-learn row add 19; the practice section's slice
# plot of the SVC search, with its asserted plateau in C, adds 8; PBT on
# the asynchronous tuner (synchronous=False, select_one, replace, failed
# members sampled anew, atomic copies) adds 40; generations of PBT that
# wait on workers, the schedulers' retired_trials that the sequential
# tuner releases, and the PBT lineage figure add 18; the PBT review fixes
# (a searcher that runs out, the libraries' asynchronous ranking, retired
# checkpoints deleted, the tie and the ceiling printed) add 50; the slice
# plot's review fixes (logit scale, the projection's odd trial, late
# trials) add 7; the PBT section's benchmark results (against Ray Tune,
# ASHA and random search, read from benchmarks/results/pbt.json, and the
# schedules' figure) add 50; its review fixes (the test error of each
# run's pick, the runs stuck at the start on the toy problem) add 12;
# the table lookup's per-epoch optional columns (the validation loss) add 2;
# the GP's L-BFGS-B tolerance (ftol), passed to the polish and set by the
# constrained searcher, adds 5; the ties of the MNIST-1D table broken by
# its validation loss, with the checks of how the loss orders the table, add
# 16; PBT telling the searcher, once, of the trials it stops itself adds 8;
# the BOHB-style searcher's min_level and the asha section's rank
# correlations of early and final errors, which motivate it, add 17; the
# check that a missed seed's incumbent holds the table's lowest error adds 1;
# MO-ASHA's promotion form (rank_order, the re-ranked waiting list), its hand
# example and its place in the section's comparison add 50; the tuner's
# incumbent rules ('last', 'last-<k>-avg': incumbent_window,
# update_incumbent's heap and order-free mean), their demonstration and
# the asha section's comparison of the rules (rescored runs) add 101.
CELL_LENGTHS_FLAGS ?= --max-lines 4444
cell-lengths: setup   ## code cells per section; fails on overlong cells
	$(PY) tools/cell_lengths.py $(CELL_LENGTHS_FLAGS)

chapter-times: setup  ## time each chapter's execution
	$(PY) benchmarks/chapter_times.py

bench-parallel: setup  ## throughput and overhead of the parallel backends
	$(PY) benchmarks/parallel_speed.py

bench-simulator: setup  ## simulator speed, side by side with Syne Tune 0.16
	$(PY) -m pip install --quiet -e '.[compare]'
	$(PY) benchmarks/simulator_speed.py

clean:
	rm -rf _build
