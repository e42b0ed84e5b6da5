# Set-up and entry points. `make tables` and `make test` work on a fresh machine (Python 3.11, no GPU).
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: setup tables test lint clean-results

# torch==2.13.0 first: it is the CPU build; a bare `torch` requirement would pull several GB of CUDA packages.
# (Byte-compiling at install is kept: with PYTHONDONTWRITEBYTECODE set, as on these machines, --no-compile made every
# job compile torch again: set-up 24 s instead of 74 s, but `make tables` 18 min 36 s instead of 15 min 45 s.)
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# --rerun-incomplete: after a Ctrl-C, the same command redoes the jobs that were cut off (as the SLURM profile does)
tables: setup
	snakemake --cores 8 --rerun-incomplete all_tables

test: lint
	pytest

# ruff, Snakemake's linter, and dvc.yaml being what `ctm dvc-yaml` writes from params.yaml
lint: setup
	ruff check ctm tests benchmarks
	snakemake --lint
	ctm dvc-yaml --check

clean-results:
	rm -rf results logs .snakemake
