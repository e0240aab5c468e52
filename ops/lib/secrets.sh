# shellcheck shell=bash
# ops/lib/secrets.sh: the per-stack development secrets. Source it after
# ops/lib/common.sh; don't run it.
#
# Provides:
#   ensure_secrets STACK_DIR  creates STACK_DIR/secrets.env once (mode 600) holding one
#                             `export NAME=<64 random hex characters>` per SECRET_NAMES:
#                             the token key FOFAL_JWT_SECRET, FOFAL_PD_MASTER_KEY (wraps
#                             the per-person keys of personal data) and the passwords of
#                             the backing services' users (FOFAL_PG_*_PASSWORD: the
#                             PostgreSQL superuser, the migrations' owner, one login role
#                             per process; FOFAL_REDIS_*PASSWORD: Redis's ACL users, the
#                             plain FOFAL_REDIS_PASSWORD being the fofal CLI's, which
#                             reads it as its setting; FOFAL_KAFKA_*PASSWORD: Kafka's
#                             SCRAM users, the broker's own, the CLI's (the plain
#                             FOFAL_KAFKA_PASSWORD) and one per process); an existing file is kept, so tokens stay valid
#                             across restarts (a name it lacks gets appended). Prints the
#                             file's path. Never prints a secret.
#   load_secrets STACK_DIR    ensure_secrets, then sources the file (the variables
#                             end up exported).
#
# The secret only signs development tokens (`fofal token`) for the stack in STACK_DIR;
# `ops/stack clean` deletes it together with the stack's data.

# The generated secrets, one name a line: 32 random bytes as 64 hex characters each.
# A name added here reaches existing stacks too (appended to their file on the next call).
SECRET_NAMES=(
	FOFAL_JWT_SECRET
	FOFAL_PD_MASTER_KEY
	FOFAL_PG_SUPERUSER_PASSWORD
	FOFAL_PG_OWNER_PASSWORD
	FOFAL_PG_API_PASSWORD
	FOFAL_PG_PROJECTOR_PASSWORD
	FOFAL_REDIS_ADMIN_PASSWORD
	FOFAL_REDIS_PASSWORD
	FOFAL_REDIS_API_PASSWORD
	FOFAL_REDIS_PROJECTOR_PASSWORD
	FOFAL_KAFKA_BROKER_PASSWORD
	FOFAL_KAFKA_PASSWORD
	FOFAL_KAFKA_API_PASSWORD
	FOFAL_KAFKA_DECIDER_PASSWORD
	FOFAL_KAFKA_PROJECTOR_PASSWORD
	FOFAL_KAFKA_REACTOR_PASSWORD
	FOFAL_KAFKA_INGEST_PASSWORD
	FOFAL_KAFKA_MACHINES_PASSWORD
	FOFAL_KAFKA_MQTT_AUTH_PASSWORD
	FOFAL_KAFKA_WEATHER_PASSWORD
	FOFAL_KAFKA_NOTIFIER_PASSWORD
)

# 32 bytes of /dev/urandom as 64 lowercase hex characters.
random_hex() {
	local hex
	hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
	[[ $hex =~ ^[0-9a-f]{64}$ ]] || die "could not read 32 random bytes from /dev/urandom"
	echo "$hex"
}

ensure_secrets() {
	local dir=${1:?ensure_secrets: stack dir missing}
	local file=$dir/secrets.env tmp name
	if [[ -s $file ]]; then
		# Repair the mode if someone loosened it; the content stays.
		chmod 600 -- "$file" || die "cannot chmod 600 $file"
		for name in "${SECRET_NAMES[@]}"; do
			grep -q "^export $name=" -- "$file" || echo "export $name=$(random_hex)" >>"$file"
		done
		echo "$file"
		return 0
	fi
	mkdir -p -- "$dir"
	tmp=$(umask 077 && mktemp -- "$dir/.secrets.env.XXXXXX") || die "cannot create a file in $dir"
	{
		echo "# Development secrets of the stack in $dir (written by ops/lib/secrets.sh)."
		echo "# Keep private. Deleted by ops/stack clean."
		for name in "${SECRET_NAMES[@]}"; do echo "export $name=$(random_hex)"; done
	} >"$tmp"
	chmod 600 -- "$tmp"
	# ln fails if the file exists: of two concurrent callers, the first one wins and
	# both end up with the same secret.
	ln -- "$tmp" "$file" 2>/dev/null || true
	rm -f -- "$tmp"
	[[ -s $file ]] || die "could not create $file"
	echo "$file"
}

load_secrets() {
	local file
	file=$(ensure_secrets "$1") || exit 1
	# shellcheck disable=SC1090
	source "$file" || die "cannot read $file"
	export "${SECRET_NAMES[@]}"
}
