# Set-up and everyday commands. `make demo` and `make test` build .venv/ themselves.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ROS_STAMP := $(VENV)/.ros-installed-stamp
OUT ?= results/demo

comma := ,
# The networks of the seed study (docs/architecture.md), shown in its own table layout in the README.
SEED_NETWORKS = pilotnet,tinypilotnet,pilotnet_stacked,pilotnet_stacked_diff,lstm_tinypilotnet,$\
  deepest_lstm_tinypilotnet,classification_7w_1v,classification_7w_4v_biased,$\
  classification_7w_4v_balanced,classification_7w_4v_imbalanced
SHIPPED = $(shell ls models/*.keras 2>/dev/null | xargs -n1 basename | sed 's/\.keras$$//' | paste -sd, -)
# The reference world (docs/guide.md "Worlds"): its networks and its circuits, held out last.
REFERENCE_SHIPPED = $(shell ls models/reference/*.keras 2>/dev/null | xargs -n1 basename | \
  sed 's/\.keras$$//' | paste -sd, -)
REFERENCE_CIRCUITS = simple,monaco,nurburgring,montmelo,montreal,lakeside,canyon

.PHONY: help demo test test-all perf ros-perf readme reference docs-networks deploy models models-reference clean

$(STAMP): requirements.txt setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

help:  ## this list of targets
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

EXTRAS = requirements-ros.txt requirements-onnx.txt requirements-ray.txt requirements-test.txt

$(ROS_STAMP): $(EXTRAS) $(STAMP)  ## optional dependencies: ROS 2 wheels, ONNX, Ray, test tools
	$(PY) -m pip install --quiet --disable-pip-version-check $(addprefix -r ,$(EXTRAS))
	touch $(ROS_STAMP)

demo: $(STAMP)  ## the expert and every shipped network on every circuit and direction
	$(VENV)/bin/follow-line bench --models expert$(if $(SHIPPED),$(comma)$(SHIPPED)) --out $(OUT)

# `make test JOBS=2`: the fast suite in 2 pytest-xdist workers, a test file per worker (each
# worker has its own ROS domains, test/conftest.py). Serial by default until measured reliable.
JOBS ?=
test: $(ROS_STAMP)  ## fast test suite (slow tests: make test-all; JOBS=2: in 2 workers)
	$(PY) -m ruff check follow_line test setup.py $(wildcard launch)
	$(PY) -m mypy
	$(PY) -m pytest -q -m "not slow" $(if $(JOBS),-n $(JOBS) --dist loadfile)

test-all: $(ROS_STAMP)  ## every test, the slow ones too
	$(PY) -m pytest -q

perf: $(STAMP)  ## performance figures (make readme writes them into docs/results.md)
	$(VENV)/bin/follow-line perf

ros-perf: $(ROS_STAMP)  ## latency, frames lost, lockstep speed through the ROS 2 graph
	mkdir -p results
	$(VENV)/bin/follow-line ros-perf --json results/ros_perf.json > results/ros_perf.md
	$(PY) -m follow_line.bench.readme docs/ros.md ros_perf=results/ros_perf.md

clean:  ## remove .venv/ and the build folders
	rm -rf $(VENV) build *.egg-info .pytest_cache

# The test dataset as config/zoo.yaml records it.
data/test/dataset.yaml: | $(STAMP)
	$(VENV)/bin/follow-line zoo --data data --datasets test --quiet

docs-networks: $(STAMP)  ## the registry table of docs/networks.md, from driving/nets/registry.py
	mkdir -p results
	$(PY) -m follow_line.driving.nets.table > results/registry.md
	$(PY) -m follow_line.bench.readme docs/networks.md registry=results/registry.md

readme: docs-networks  ## regenerate the tables, plots and figures of README.md and docs/results.md
	rm -rf results/readme results/readme-robustness results/readme-latency
	$(VENV)/bin/follow-line bench --models expert,$(SHIPPED) --out results/readme --quiet \
	  --circuits simple,monaco,nurburgring,montreal,hungaroring > /dev/null
	$(VENV)/bin/follow-line bench --models expert,$(SHIPPED) --perturb all --quiet \
	  --out results/readme-robustness > /dev/null
	$(VENV)/bin/follow-line bench --models expert,$(SHIPPED) --circuits monaco --quiet \
	  --latency 0,25,50,100,200 --out results/readme-latency > /dev/null
	cp results/readme-latency/plots/latency.png docs/bench_latency.png
	for p in lap_times trajectory_pilotnet cte_monaco; do \
	  cp results/readme/plots/$$p.png docs/bench_$$p.png; done
	cp results/readme-robustness/plots/robustness.png docs/bench_robustness.png
	$(VENV)/bin/follow-line evaluate --models $(SHIPPED) --from-cards --out results/readme \
	  > /dev/null
	$(VENV)/bin/follow-line perf --json results/readme/perf.json > results/readme/perf.md
	$(VENV)/bin/follow-line circuits --plot docs/circuits.png > /dev/null
	for c in simple monaco nurburgring; do \
	  $(VENV)/bin/follow-line frame --circuit $$c --at 30 --out docs/frame_$$c.png > /dev/null; done
	$(PY) -m follow_line.bench.report results/readme/results.json --drivers expert,$(SEED_NETWORKS) \
	  --circuits simple,monaco,nurburgring > results/readme/results_seed_networks.md
	$(PY) -m follow_line.bench.readme README.md seed=results/readme/results_seed_networks.md
	$(PY) -m follow_line.bench.readme docs/results.md driving=results/readme/results.md \
	  robustness=results/readme-robustness/robustness.md \
	  latency=results/readme-latency/latency.md \
	  metrics=results/readme/metrics.md perf=results/readme/perf.md

reference: $(STAMP)  ## the reference world's tables in docs/results.md (expert, models/reference/)
	rm -rf results/reference
	$(VENV)/bin/follow-line bench --world reference --quiet --out results/reference \
	  --models expert$(if $(REFERENCE_SHIPPED),$(comma)$(REFERENCE_SHIPPED)) \
	  --circuits $(REFERENCE_CIRCUITS) > /dev/null
	$(PY) -m follow_line.bench.report results/reference/results.json --drivers expert \
	  --circuits simple,monaco,nurburgring > results/reference/results_seed_expert.md
	$(PY) -m follow_line.bench.readme docs/results.md reference=results/reference/results.md \
	  reference_seed=results/reference/results_seed_expert.md

DEPLOY_MODELS = pilotnet,exports/pilotnet.onnx,exports/pilotnet_fp16.onnx,$\
  exports/pilotnet_int8.onnx

deploy: $(ROS_STAMP) data/test/dataset.yaml  ## pilotnet as ONNX float32/fp16/int8, judged by driving
	for q in "" fp16 int8; do $(VENV)/bin/follow-line export --model pilotnet --data data/test \
	  --out exports --quiet $${q:+--quantize $$q} > /dev/null; done
	rm -rf results/deploy results/deploy-perturbed
	$(VENV)/bin/follow-line bench --models $(DEPLOY_MODELS) --circuits simple,monaco,nurburgring \
	  --out results/deploy --quiet > /dev/null
	$(VENV)/bin/follow-line bench --models pilotnet,exports/pilotnet_int8.onnx --perturb all \
	  --circuits simple,monaco,nurburgring --out results/deploy-perturbed --quiet > /dev/null
	$(VENV)/bin/follow-line perf --networks pilotnet --onnx exports \
	  --json results/deploy/perf.json > /dev/null
	$(PY) -m follow_line.bench.deployment --network pilotnet --bench results/deploy \
	  --perturbed results/deploy-perturbed --perf results/deploy/perf.json --onnx exports \
	  > results/deploy/quantization.md
	$(PY) -m follow_line.bench.readme docs/deployment.md quantization=results/deploy/quantization.md

models: $(STAMP)  ## regenerate every shipped network of models/ (config/zoo.yaml; hours on a CPU)
	$(VENV)/bin/follow-line zoo --data data --out models

models-reference: $(STAMP)  ## regenerate models/reference/ (config/zoo.yaml worlds: reference)
	$(VENV)/bin/follow-line zoo --world reference --data data --out models/reference
