#!/usr/bin/env bash
# tests/bench/smoke.sh — a short run of one benchmark, as a ctest test (label bench), so
# that a benchmark cannot silently break again: ops/bench --test-stack on the stack and
# build tree of the running ops/test, checked for what a run must print, not its figures.
#
#   smoke.sh BENCHMARK --expect NAME[,NAME...] [-- OPTIONS...]
#
# Passes when ops/bench exits 0, every line it printed on stdout is a JSON object with a
# "bench" name and no "error", and each expected name has at least one line. Its stdout
# and a pointer to its logs are shown either way (ctest --output-on-failure).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
bench=${1:?usage: smoke.sh BENCHMARK --expect NAMES [-- OPTIONS...]}
shift
[[ ${1:-} == --expect ]] || { echo "smoke.sh: --expect NAMES is required" >&2; exit 2; }
expect=${2:?--expect needs a value}
shift 2
[[ ${1:-} == -- ]] && shift

# As the integration harness does for the processes it starts: leak checks belong to the
# unit tests, and a process stopped with SIGTERM would report what it still held.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
rc=0
"$root/ops/bench" --test-stack "$bench" "$@" >"$out" || rc=$?
echo "--- ops/bench $bench: exit $rc; its JSON lines:"
cat -- "$out"
echo "--- logs: ${FOFAL_STACK_DIR:-?}/logs/bench-$bench/"

python3 - "$out" "$expect" "$rc" <<'EOF'
import json
import sys

path, expect, rc = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
problems, seen = [], {}
with open(path) as f:
    for n, line in enumerate(f, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"line {n} is not JSON: {line.strip()[:200]}")
            continue
        name = obj.get("bench") if isinstance(obj, dict) else None
        if not isinstance(name, str):
            problems.append(f"line {n} has no \"bench\" name")
            continue
        if "error" in obj:
            problems.append(f"measurement {name} failed: {obj['error']}")
        seen[name] = seen.get(name, 0) + 1
for name in expect:
    if name not in seen:
        problems.append(f"no {name} line")
if rc:
    problems.append(f"ops/bench exited {rc}")
for p in problems:
    print(f"smoke.sh: {p}")
if problems:
    sys.exit(1)
print("smoke.sh: ok: " + ", ".join(f"{k} x{v}" for k, v in seen.items()))
EOF
