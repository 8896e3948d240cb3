# One-command set-up and runs. `make run` and `make test` build the virtual environment
# (.venv, exact pins from requirements.txt, CPU build of torch) on first use.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
SNAKEMAKE = $(VENV)/bin/snakemake
# The HTCondor plugin's library warns at every start when no pool is configured; it then
# reads /dev/null anyway, so say so and keep the output clean. A configured pool wins.
export CONDOR_CONFIG ?= /dev/null

.PHONY: setup run variations report test test-fast bench learning-curve domain-study seed-study docs clean

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
	$(VENV)/bin/python -m minerva_vertex.headline results results/report.zip

# The systematic variations (config section `variations`): shifted samples scored by every
# finder of the default run; their tables, plots and a report of their own.
variations: setup
	$(SNAKEMAKE) --cores $(CORES) variations
	$(SNAKEMAKE) --cores $(CORES) variations --report results/variations/report.zip

test: setup
	$(VENV)/bin/python -m pytest -q

test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not slow"

# bench_cluster.py also needs the test SLURM (tests/slurm/start_cluster.sh): run it by hand.
bench: setup
	for bench in simulation images training allocator tracking; do $(VENV)/bin/python benchmarks/bench_$$bench.py || exit 1; done

# Test accuracy against training events and CPU seconds for the default recipe and two
# alternatives (benchmarks/bench_learning_curve.py; about 20 minutes on 2 cores).
# The plot goes to docs/, where docs/results.md shows it.
LEARNING_CURVE = results/learning_curve
learning-curve: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/presets/learning_curve.yaml --until images
	$(VENV)/bin/python benchmarks/bench_learning_curve.py --images $(LEARNING_CURVE)/images/simulation \
		--target-images $(LEARNING_CURVE)/images/data_like --every 20000 \
		--recipe "default (sqrt pixels)" --recipe "log1p pixels:input_transform=log1p" \
		--recipe "raw pixels:input_transform=none" \
		--mark "default run=160000" --csv $(LEARNING_CURVE)/learning_curve.csv --plot docs/learning_curve.png

# Per target domain (MINERvA's data-like, no-FSI and low-energy-beam samples and a shift
# scan) and seed: the CNN, the oracle, the DANN, MCC and the control (config section
# domain_study; docs/domain-study.md). About 2 hours on 2 cores after the default run (1 h 43 min
# measured with 120,000-event trainings; 1 h 57 min estimated with today's 160,000).
domain-study: setup
	$(SNAKEMAKE) --cores $(CORES) domain_study
	$(VENV)/bin/python -c 'import sys; print(open(sys.argv[1]).read())' results/domain_study/domain_study.md

# The default CNN and oracle retrained from seeds 2-5 beside the default run's (config section
# seed_study; each training is a job of its own, so an interrupted study resumes).
seed-study: setup
	$(SNAKEMAKE) --cores $(CORES) seed_study
	$(VENV)/bin/python -c 'import sys; print(open(sys.argv[1]).read())' results/seed_study/seed_study.md

# The configuration reference, written from workflow/schemas/ (a test checks it is current).
docs: setup
	$(VENV)/bin/python -m minerva_vertex.config_reference docs/configuration.md

clean:
	rm -rf results .snakemake
