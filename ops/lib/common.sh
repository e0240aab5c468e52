# shellcheck shell=bash
# ops/lib/common.sh: shared helpers for the FOFAL ops scripts. Source it, don't run it.
#
# Provides:
#   ROOT                      top of the repository
#   log MSG / warn MSG / die MSG
#                             messages prefixed "fofal:"; warn and die go to stderr,
#                             die exits 1
#   load_config               ops/fofal.conf, then ops/fofal.conf.local, then the
#                             environment (the environment wins); exports FOFAL_*
#   port_in_use PORT          true if something accepts TCP connections on
#                             127.0.0.1:PORT (bounded by `timeout 1`)
#   pick_free_ports N         prints N distinct free TCP ports of 127.0.0.1
#   wait_for NAME TIMEOUT LOGFILE CMD...
#                             polls CMD every 0.2 s until it succeeds; dies after
#                             TIMEOUT seconds, showing the last 20 lines of LOGFILE.
#                             CMD may exit with 3 to mean "will never succeed"
#                             (e.g. the process died): wait_for then dies at once.
#   as_pg CMD...              runs CMD as the `postgres` account when root (runuser),
#                             directly otherwise
#   as_root CMD...            runs CMD as root (sudo when not root)
#   pid_alive PID             true if PID is a live (non-zombie) process
#   pid_cmdline PID           the command line of PID, space separated
#   pidfile_pid FILE          prints the pid recorded in FILE if that process is alive
#   pid_predates_file PID FILE
#                             true unless PID started after FILE was written (then
#                             the pid was reused by another process)
#   stop_pid PID NAME SECS    SIGTERM, wait up to SECS, then SIGKILL
#   KAFKA_VERSION, KAFKA_LIBS where ops/setup puts the Kafka broker jars
#   PYTOOLS_REQS, PYTOOLS_VENV
#                             the Python packages (PyPI, pinned) of the tests that read
#                             the topics as an analyst would, and the venv ops/setup
#                             puts them in (ops/test exports it as FOFAL_PYTOOLS)
#   ASYNCAPI_PARSER_DIR       the npm folder of @asyncapi/parser (ops/test exports it as
#                             FOFAL_ASYNCAPI_PARSER)
#   SCHEMATHESIS_VENV         the venv of schemathesis (PyPI, every package pinned by
#                             ops/schemathesis/requirements.txt); ops/test exports it as
#                             FOFAL_SCHEMATHESIS
#   H2SPEC_BIN                h2spec, built by ops/setup from the Go module proxy (versions
#                             pinned by ops/h2spec/go.mod and go.sum); ops/test exports it
#                             as FOFAL_H2SPEC
#   GO_CACHE                  the GOPATH (module cache included) ops/setup builds Go tools in
#   pg_bindir                 prints the PostgreSQL server binaries' directory

# Repository top: two levels above this file.
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
export ROOT

log() { printf 'fofal: %s\n' "$*"; }
warn() { printf 'fofal: warning: %s\n' "$*" >&2; }
die() {
	printf 'fofal: error: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Configuration

# Loads ops/fofal.conf and ops/fofal.conf.local; FOFAL_* variables already in the
# environment keep their values. Every FOFAL_* variable ends up exported.
load_config() {
	local -A from_env=()
	local name
	for name in $(compgen -e); do
		[[ $name == FOFAL_* ]] && from_env[$name]=${!name}
	done
	local f
	for f in "$ROOT/ops/fofal.conf" "$ROOT/ops/fofal.conf.local"; do
		if [[ -f $f ]]; then
			# shellcheck disable=SC1090
			source "$f" || die "cannot read $f"
		fi
	done
	for name in "${!from_env[@]}"; do
		printf -v "$name" '%s' "${from_env[$name]}"
	done
	for name in $(compgen -v FOFAL_); do
		export "${name?}"
	done
}

# ---------------------------------------------------------------------------
# Ports

port_in_use() {
	local port=$1
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null
}

# Prints N distinct TCP ports that are free on 127.0.0.1 right now (all N sockets
# are held open together while picking, so the ports differ).
pick_free_ports() {
	local n=${1:?pick_free_ports: count missing}
	python3 - "$n" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# ---------------------------------------------------------------------------
# Waiting

# Prints the last 20 lines of a log file to stderr (or says it is missing).
show_log_tail() {
	local logfile=$1
	if [[ -s $logfile ]]; then
		printf 'fofal: --- last 20 lines of %s ---\n' "$logfile" >&2
		tail -n 20 -- "$logfile" >&2
		printf 'fofal: ---\n' >&2
	else
		printf 'fofal: (%s is empty or missing)\n' "$logfile" >&2
	fi
}

wait_for() {
	local name=$1 timeout=$2 logfile=$3
	shift 3
	local deadline rc
	_now_ms
	deadline=$((_NOW_MS + timeout * 1000))
	while :; do
		rc=0
		"$@" >/dev/null 2>&1 || rc=$?
		if ((rc == 0)); then
			return 0
		elif ((rc == 3)); then
			show_log_tail "$logfile"
			die "$name exited while starting; see $logfile"
		fi
		_now_ms
		if ((_NOW_MS >= deadline)); then
			show_log_tail "$logfile"
			die "$name did not become ready within ${timeout}s; see $logfile"
		fi
		sleep 0.2
	done
}

# Sets _NOW_MS to milliseconds since the epoch (bash 5 EPOCHREALTIME, no fork).
_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	_NOW_MS=${t:0:-3}
}

# ---------------------------------------------------------------------------
# Users

as_pg() {
	if ((EUID == 0)); then
		# cd / first: the postgres account may not be able to enter the caller's cwd.
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

as_root() {
	if ((EUID == 0)); then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run as root, or install sudo)"
	fi
}

# ---------------------------------------------------------------------------
# Processes

pid_alive() {
	local pid=$1 state
	[[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) || return 1
	[[ -r /proc/$pid/stat ]] || return 1
	# Field 3 of /proc/PID/stat is the state; Z = zombie. The command name (field 2)
	# may contain spaces, so cut after its closing parenthesis.
	{ state=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
	state=${state##*) }
	[[ ${state%% *} != Z ]]
}

pid_cmdline() {
	local pid=$1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null
}

# Start time of PID in seconds since the epoch (integer; empty if unknown).
pid_start_epoch() {
	local pid=$1 stat btime tck
	{ stat=$(<"/proc/$pid/stat"); } 2>/dev/null || return 0
	stat=${stat##*) }
	# After the command name: field 3 is index 0, so starttime (field 22) is index 19.
	local -a f
	read -r -a f <<<"$stat"
	btime=$(awk '/^btime/ {print $2}' /proc/stat 2>/dev/null)
	tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
	[[ -n $btime && ${f[19]:-} =~ ^[0-9]+$ ]] || return 0
	echo $((btime + f[19] / tck))
}

# Prints the pid recorded in FILE (first line) if that process is alive.
pidfile_pid() {
	local file=$1 pid=""
	[[ -f $file ]] || return 1
	{ read -r pid <"$file"; } 2>/dev/null || [[ -n $pid ]] || return 1
	pid_alive "$pid" || return 1
	echo "$pid"
}

# False if PID started (2 s tolerance) after FILE was last written: a pid file
# written by whoever started the process always postdates it. Unknown = true.
pid_predates_file() {
	local pid=$1 file=$2 start mtime
	start=$(pid_start_epoch "$pid")
	mtime=$(stat -c %Y -- "$file" 2>/dev/null || true)
	[[ -n $start && -n $mtime ]] || return 0
	((start <= mtime + 2))
}

# Sends SIGTERM to PID, waits up to SECS seconds, then SIGKILL. Returns when gone.
stop_pid() {
	local pid=$1 name=$2 secs=${3:-10} i
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	warn "$name (pid $pid) did not stop within ${secs}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	warn "$name (pid $pid) is still there after SIGKILL"
	return 1
}

# ---------------------------------------------------------------------------
# Installed software locations

# shellcheck disable=SC2034 # used by the scripts that source this file
KAFKA_VERSION=3.9.1
_fofal_home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
# shellcheck disable=SC2034
KAFKA_LIBS=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/kafka-$KAFKA_VERSION/libs
# shellcheck disable=SC2034
KAFKA_JAR=kafka_2.13-$KAFKA_VERSION.jar
# shellcheck disable=SC2034
# Swagger UI of /api/docs/ (ops/setup: npm ci); fofal-api's FOFAL_SWAGGER_UI_DIR default.
SWAGGER_UI_DIR=$ROOT/ops/swagger-ui/node_modules/swagger-ui-dist
# The CloudEvents SDK's Kafka binding and a Kafka client (its wheels bundle librdkafka).
# The venv's name carries the pins, so changing them makes a new one.
# shellcheck disable=SC2034
PYTOOLS_REQS=(cloudevents==2.2.0 confluent-kafka==2.16.1)
# shellcheck disable=SC2034
PYTOOLS_VENV=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/pytools-$(printf '%s\n' "${PYTOOLS_REQS[@]}" | cksum | cut -d' ' -f1)
# The AsyncAPI parser the tests check /api/v1/asyncapi.json with (ops/setup: npm ci of
# ops/asyncapi/package-lock.json); the folder's name carries the lock's checksum.
# shellcheck disable=SC2034
ASYNCAPI_PARSER_DIR=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/asyncapi-parser-$(cksum <"$ROOT/ops/asyncapi/package-lock.json" | cut -d' ' -f1)
# schemathesis, the API conformance check of the tests (ops/setup: pip install -r
# ops/schemathesis/requirements.txt); the folder's name carries the file's checksum.
# shellcheck disable=SC2034
SCHEMATHESIS_VENV=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/schemathesis-$(cksum <"$ROOT/ops/schemathesis/requirements.txt" | cut -d' ' -f1)
# h2spec, the HTTP/2 conformance check of the tests (ops/setup: go build in ops/h2spec); the
# folder's name carries go.sum's checksum.
# shellcheck disable=SC2034
H2SPEC_BIN=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/h2spec-$(cksum <"$ROOT/ops/h2spec/go.sum" | cut -d' ' -f1)/h2spec
# shellcheck disable=SC2034
GO_CACHE=${XDG_CACHE_HOME:-$_fofal_home/.cache}/fofal/go
unset _fofal_home

# Debian keeps initdb/pg_ctl/postgres out of PATH, in /usr/lib/postgresql/N/bin.
pg_bindir() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			echo "$d"
			return 0
		fi
	done
	d=$(command -v pg_ctl 2>/dev/null) || return 1
	dirname -- "$(readlink -f -- "$d")"
}
