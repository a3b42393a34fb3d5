# Shortcut Lessons: every target does its own set-up (a .venv under constraints.txt).
#   make lab    open the lessons in JupyterLab
#   make test   ruff + unit tests + nbval over every lesson (+ browser tests when Chromium is here)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Jupyter refuses to run as root unless told; containers and CI often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: lab test notebooks slides slides-offline handouts assignments formgrade autograde bench bench-browser test-torch-next constraints clean help

help:
	@echo "make lab            open the lessons in JupyterLab"
	@echo "make test           ruff, unit tests, nbval over every notebook, browser tests"
	@echo "make soak           20 hostile determinism runs of every lesson: any stall shows"
	@echo "make notebooks      re-execute every lesson in place, top to bottom, in a fresh kernel"
	@echo "make slides         export every lesson to a reveal.js deck under build/slides/"
	@echo "make slides-offline the same decks under build/slides-offline/, scripts copied locally"
	@echo "make handouts       one PDF per lesson, one page per slide, under build/handouts/"
	@echo "make assignments    nbgrader generate_assignment: students' versions in release/"
	@echo "make formgrade [ARGS=\"--no-browser --port 8899\"]  JupyterLab in notebooks/assignments: Nbgrader -> Formgrader"
	@echo "make autograde A=A1 JOBS=2  grade every submission of A1 with 2 processes"
	@echo "make bench          speed benchmarks, printed side by side"
	@echo "make bench-browser  every explorer control in JupyterLab + Chromium: key press -> new"
	@echo "                    image (p50/p95), beside the kernel's own redraw time"
	@echo "make test-torch-next  the notebook suite again under torch 2.14.1 (second venv)"

# Re-running when nothing changed skips the install: the stamp is newer than its inputs.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[lab,test]"
	@# A .venv from before sliveshow still has jupyterlab-rise, which takes the same
	@# slideshow:* commands (and its MathJax 3 extension turns Lab's own off): pip never
	@# uninstalls what a project stopped asking for, so say it here.
	$(PY) -m pip uninstall --quiet --yes jupyterlab-rise jupyterlab-mathjax3 2>/dev/null || true
	touch $@

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=notebooks

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n auto --dist loadscope --no-loadscope-reorder \
		--nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval-sanitize.cfg

# Every lesson's hostile determinism run, 20 times each, with per-run wall times; fails on a
# run that missed a wake-up or was slow enough to have waited a cell timeout.
.PHONY: soak
soak: $(STAMP)
	$(PY) -m tools.soak --runs 20

# Committed notebooks carry their outputs (nbval compares against them): this
# rewrites them from a fresh kernel, top to bottom. Only run it when you mean to.
notebooks: $(STAMP)
	$(PY) -m tools.execute_notebooks $(NOTEBOOKS)

slides: $(STAMP)
	$(PY) -m tools.build_slides

slides-offline: $(STAMP)
	$(PY) -m tools.build_slides --offline

handouts: $(STAMP)
	$(PY) -m tools.build_handouts

assignments: $(STAMP)
	$(PY) -m tools.build_assignments

# The Formgrader lists the assignments only when Lab runs in the course directory.
formgrade: $(STAMP)
	$(PY) -m tools.build_assignments --formgrade $(ARGS)

# Parallel autograde: one gradebook per job, merged into gradebook.db by one writer.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
autograde: $(STAMP)
	@test -n "$(A)" || { echo "usage: make autograde A=A1 [JOBS=2]"; exit 2; }
	$(PY) -m tools.autograde $(A) --jobs $(JOBS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Needs Debian's Chromium (apt-get install chromium); ~2-5 minutes, more on a loaded machine.
bench-browser: $(STAMP)
	$(PY) benchmarks/browser.py

test-torch-next: $(STAMP)
	bash tools/test_torch_next.sh

# Rewrites constraints.txt from the current .venv (after a deliberate upgrade).
constraints: $(STAMP)
	@{ echo "# Exact versions tested (Python 3.11, CPU). Regenerate with: make constraints"; \
	  echo "# torch==2.13.0 resolves to the local CPU wheel; an unpinned torch pulls a 5 GB CUDA build."; \
	  $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > constraints.txt

clean:
	rm -rf build .pytest_cache .ruff_cache
