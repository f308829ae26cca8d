# Foresight: one entry point. `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The MLflow server of the registry tests, in a virtualenv of its own: Foresight talks to it
# over REST, and mlflow's cachetools pin clashes with drain3's.
MLFLOW_VENV := .venv-mlflow
SCENARIO ?= memory-leak
SPEED ?= 400
# The NAB v1.1 folder (data/, labels/, config/) and its scorer, for `make bench`.
NAB_DIR ?= ../shared/datasets/nab
NAB_SCORER ?= ../shared/tools/nab_score.py

.PHONY: help setup system-deps demo lint generate test test-unit bench scale-e2e fuzz overload clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# Prometheus, promtool, Alertmanager and amtool come from Debian's packages.
system-deps:  ## install Prometheus and Alertmanager (Debian packages) if missing
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
		echo "Installing prometheus and prometheus-alertmanager from Debian's packages..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			prometheus prometheus-alertmanager >/dev/null; \
	fi

$(STAMP): predictors/pyproject.toml predictors/dev/pyproject.toml loadgen/pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e './predictors[test,train,prophet]' -e ./predictors/dev -e './loadgen[test]'
	python3 -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q --upgrade pip
	$(MLFLOW_VENV)/bin/pip install -q 'mlflow>=3,<4'
	touch $(STAMP)

setup: system-deps $(STAMP)  ## create .venv and install everything

demo: setup  ## play a failure scenario through the local stack (SCENARIO=memory-leak SPEED=400)
	$(VENV)/bin/foresight demo --scenario $(SCENARIO) --speed $(SPEED)

lint: setup  ## static checks (pyflakes), and generated rules and dashboards up to date with their sources
	$(PY) -m pyflakes predictors loadgen bench tests
	$(VENV)/bin/foresight rules -c predictors/config/predictors.yaml --output prometheus/rules/foresight.rules.yml --check
	$(VENV)/bin/foresight dashboards --output grafana/dashboards --check

generate: setup  ## regenerate the alert rules and dashboards from predictors.yaml and the dashboard code
	$(VENV)/bin/foresight rules -c predictors/config/predictors.yaml --output prometheus/rules/foresight.rules.yml
	$(VENV)/bin/foresight dashboards --output grafana/dashboards

test: setup lint  ## lint, then every test (unit, config checks, integration with real servers)
	$(PY) -m pytest -q predictors/tests loadgen/tests bench/tests tests

test-unit: setup  ## fast tests only
	$(PY) -m pytest -q -m "not integration" predictors/tests loadgen/tests bench/tests tests

bench: setup  ## benchmarks: exhaustion vs predict_linear, crash runs vs node-mixin, pod churn, JVM heaps, 10k-series cost, NAB (NAB_DIR=...), log mining (results in bench/bench-results)
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/run.py exhaustion                      # loadgen, seeds 1-3: the tuning set
	$(PY) bench/run.py exhaustion --first-seed 4       # loadgen, seeds 4-6: held out
	$(PY) bench/run.py exhaustion --first-seed 7       # loadgen, seeds 7-9: held out
	$(PY) bench/run.py exhaustion --first-seed 10      # loadgen, seeds 10-12: held out
	$(PY) bench/run.py exhaustion --first-seed 13      # loadgen, seeds 13-15: held out
	$(PY) bench/run.py exhaustion --first-seed 19      # loadgen, seeds 19-21: held out
	$(PY) bench/run.py exhaustion --generator second   # the independent generator: held out
	$(PY) bench/run.py exhaustion --generator second --first-seed 4  # the independent generator, seeds 4-6: held out
	$(PY) bench/crashruns/run.py --seeds 1 2 3 --note "Design set: Foresight's anomaly persistence rule (anomaly/persistence.py) and its young targets' peer rule (predictors/peers.py) were designed after these seeds' false alerts were seen; their constants were set beforehand and not tuned. Judge Foresight on seeds 7-9."
	$(PY) bench/crashruns/run.py --seeds 4 5 6 --note "Seen: held out until the peer rule for young targets, whose design read these seeds' false pages (nothing was tuned on them). Judge Foresight on seeds 7-9."
	$(PY) bench/crashruns/run.py --seeds 7 8 9 --note "Held out: nothing in Foresight was designed or tuned on these seeds, first run when the peer rule was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 78 79 80 81 82 83 84 85 --name crashruns-tables-seeds-78-85 --note "Held out: the kernel tables' generator (bench/crashruns/tables.py) and the three predictors were written before any of these seeds was run; nothing was changed after."
	$(PY) bench/kubechurn/run.py --seeds 1 2 3 --name kubechurn-seeds-1-3 --note "Development seeds: the change to the levelling test was checked on these."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 11 20) --name kubechurn-seeds-11-20 --note "Held out: the generator and the change were written before these seeds were run (seeds 1-3 were the development set)."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 41 45) --name kubechurn-seeds-41-45 --note "Held out: first run when the change was done."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 46 50) --name kubechurn-seeds-46-50 --note "Held out: first run when the change was done."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 51 55) --name kubechurn-seeds-51-55 --note "Held out: first run when the change was done."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 56 60) --name kubechurn-seeds-56-60 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 61 65) --name kubechurn-seeds-61-65 --note "Seen: first run on a first version of the change (kubechurn-seeds-61-65-firstgrowth.md), whose misses here led to the version kept; this is the kept version."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 66 70) --name kubechurn-seeds-66-70 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/kubechurn/run.py --seeds $$(seq 71 75) --name kubechurn-seeds-71-75 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 1 8) --name jvmheap-seeds-1-8 --note "Development seeds: written before any result, first run on the staircase change; the same-service peers, the levelling split, the held-update filters and the one-hour first-alert gate were chosen after their results were seen. Judge Foresight on seeds 25-32."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 9 16) --name jvmheap-seeds-9-16 --note "Development seeds since the held-update filters: they and the one-hour first-alert gate were chosen on seeds 1-16 (held out before). Judge Foresight on seeds 25-32."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 17 24) --name jvmheap-seeds-17-24 --note "Seen: held out until the held-update filters, whose design read these seeds' results (nothing was tuned on them). Judge Foresight on seeds 25-32."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 25 32) --name jvmheap-seeds-25-32 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the held-update filters and the one-hour first-alert gate were done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 33 40) --name jvmheap-seeds-33-40 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 41 48) --name jvmheap-seeds-41-48 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 49 56) --name jvmheap-seeds-49-56 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 57 64) --name jvmheap-seeds-57-64 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 65 72) --name jvmheap-seeds-65-72 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 73 80) --name jvmheap-seeds-73-80 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/jvmheap/run.py --seeds $$(seq 81 88) --name jvmheap-seeds-81-88 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 102 103 104 --name crashruns-exhaustion-seeds-102-104 --note "Held out: no run had been made on seeds 102-104 before this change; first run when it was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 105 106 --name crashruns-exhaustion-seeds-105-106 --note "Held out: first run when the change was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 107 --name crashruns-exhaustion-seeds-107 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 102 103 104 105 106 --name crashruns-exhaustion-seeds-102-106 --note "Tuning seeds: the peer rule's use-growth test was designed on these seeds' false pages, and the 30-minute hold of a young target's warning apart from its peers on their false warnings (each had been run before)."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 108 109 110 111 --name crashruns-exhaustion-seeds-108-111 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/crashruns/run.py --kinds exhaustion --seeds 112 113 114 115 --name crashruns-exhaustion-seeds-112-115 --note "Held out: nothing in Foresight was designed or tuned on these seeds; first run when the change was done."
	$(PY) bench/run.py cost
	$(PY) bench/forecasters/bench.py                   # forecaster candidates: fit cost, rolling-origin error (Prophet)
	$(PY) bench/nab/run.py $(NAB_DIR) --scorer $(NAB_SCORER)
	$(PY) bench/logs/bench.py
	$(PY) bench/logs/loghub.py $(LOGHUB_DIR)          # Loghub 2k samples (LOGHUB_DIR=...); skipped without
	$(PY) bench/scale/ingest.py                        # ingest: decode -> store vs the raw protobuf parse

scale-e2e: setup  ## end to end: events/hour held by 1, 2 and 4 replicas through rotel and tansu (~8 min; bench/bench-results/scale-e2e.md)
	$(PY) bench/scale/e2e.py

fuzz: setup  ## a million hostile OTLP messages through tansu into `foresight run` (~15 min; bench/bench-results/fuzz.md)
	$(PY) bench/fuzz/fuzz.py -n 1000000

overload: setup  ## 10x the normal load for 10 min through tansu, then normal: sidecar RSS and lag (~18 min; bench/bench-results/overload.md)
	$(PY) bench/scale/overload.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) $(MLFLOW_VENV) .pytest_cache predictors/src/*.egg-info loadgen/src/*.egg-info
