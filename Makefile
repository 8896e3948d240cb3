# One-command set-up and runs. `make run` and `make test` build the virtual environment
# (.venv, exact pins from requirements.txt, CPU build of torch) on first use.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
SNAKEMAKE = $(VENV)/bin/snakemake
# The HTCondor plugin's library warns at every start when no pool is configured; it then
# reads /dev/null anyway, so say so and keep the output clean. A configured pool wins.
export CONDOR_CONFIG ?= /dev/null

.PHONY: setup run report test test-fast bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

run: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores $(CORES) --report results/report.zip

test: setup
	$(VENV)/bin/python -m pytest -q

test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not slow"

# bench_cluster.py also needs the test SLURM (tests/slurm/start_cluster.sh): run it by hand.
bench: setup
	for bench in simulation images training tracking; do $(VENV)/bin/python benchmarks/bench_$$bench.py || exit 1; done

clean:
	rm -rf results .snakemake
