# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each first runs `make setup` (idempotent; decides in seconds when nothing is to do).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python

# DDS stays on loopback, on a private domain per run (override ROS_DOMAIN_ID to pin one).
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export RMW_IMPLEMENTATION := rmw_fastrtps_cpp
ROS_DOMAIN_ID ?= $(shell python3 -c 'import os, random; print(random.Random(os.getpid()).randint(1, 100))')
export ROS_DOMAIN_ID
# Models come from the repo or installed packages, never from a hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
export MPLBACKEND := Agg

.PHONY: help setup test demo lint bench bench-ltm bench-stm bench-sim bench-tasks bench-alfred bench-prompt \
	bench-ros bench-perception bench-replay bench-reliability bench-lm bench-fleet clean

help:
	@echo 'make demo    run the main job (sets up first)'
	@echo 'make fleet-demo   two robots share one memory (PostgreSQL) in one simulated home'
	@echo 'make test    run the whole test suite (sets up first)'
	@echo 'make setup   create .venv, install pinned packages, build embodied_memory_msgs'
	@echo 'make lint    ruff + flake8 + pydocstyle (also run as tests)'
	@echo 'make bench-ltm | bench-stm | bench-sim | bench-tasks | bench-alfred | bench-prompt |'
	@echo '     bench-ros | bench-perception | bench-replay | bench-reliability | bench-lm |'
	@echo '     bench-fleet'
	@echo '     benchmarks (QUICK=1: short run);'
	@echo '     make bench: all'

setup:
	@scripts/setup.sh

test: setup
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

# PLANNER=lm: the planner gets each task's instruction alone, read by the language model.
# SAY="...": your own instruction instead of the episode's tasks, read by the model.
# DETECTOR=yolo: the learned detector shipped in models/detector instead of the sim's masks.
demo: setup
	$(PY) -m memory_nodes.commands.main demo $(if $(PLANNER),--planner $(PLANNER)) \
		$(if $(SAY),--say "$(SAY)") $(if $(DETECTOR),--detector $(DETECTOR))

.PHONY: fleet-demo
fleet-demo: setup
	$(PY) -m memory_nodes.commands.main fleet-demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m flake8 memory_nodes sim tests bench launch

bench-ltm: setup
	$(PY) bench/ltm.py

bench-stm: setup
	$(PY) bench/stm.py

bench-sim: setup
	$(PY) bench/sim.py

bench-perception: setup
	$(PY) bench/perception.py

bench-tasks: setup
	$(PY) bench/tasks.py

bench-alfred: setup
	$(PY) bench/alfred.py

bench-prompt: setup
	$(PY) bench/prompt.py

bench-ros: setup
	$(PY) bench/ros.py

bench-replay: setup
	$(PY) bench/replay.py

bench-reliability: setup
	$(PY) bench/reliability.py

bench-lm: setup
	$(PY) bench/lm.py

bench-fleet: setup
	$(PY) bench/fleet.py

bench: bench-ltm bench-stm bench-sim bench-prompt bench-ros bench-perception bench-tasks \
	bench-alfred bench-replay bench-reliability bench-lm bench-fleet

clean:
	rm -rf .venv .setup build bench/out .models
