# shellcheck shell=bash
# ops/lib/secrets.sh: the per-stack development secrets. Source it after
# ops/lib/common.sh; don't run it.
#
# Provides:
#   ensure_secrets STACK_DIR  creates STACK_DIR/secrets.env once (mode 600) holding
#                             `export FOFAL_JWT_SECRET=<64 random hex characters>` and
#                             `export FOFAL_PD_MASTER_KEY=<64 random hex characters>`
#                             (the key that wraps the per-person keys of personal data);
#                             an existing file is kept, so tokens stay valid across
#                             restarts (a file from before the master key gets one
#                             appended). Prints the file's path. Never prints a secret.
#   load_secrets STACK_DIR    ensure_secrets, then sources the file (the variables
#                             end up exported).
#
# The secret only signs development tokens (`fofal token`) for the stack in STACK_DIR;
# `ops/stack clean` deletes it together with the stack's data.

ensure_secrets() {
	local dir=${1:?ensure_secrets: stack dir missing}
	local file=$dir/secrets.env tmp hex
	if [[ -s $file ]]; then
		# Repair the mode if someone loosened it; the content stays.
		chmod 600 -- "$file" || die "cannot chmod 600 $file"
		if ! grep -q '^export FOFAL_PD_MASTER_KEY=' -- "$file"; then
			hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
			[[ $hex =~ ^[0-9a-f]{64}$ ]] || die "could not read 32 random bytes from /dev/urandom"
			echo "export FOFAL_PD_MASTER_KEY=$hex" >>"$file"
		fi
		echo "$file"
		return 0
	fi
	mkdir -p -- "$dir"
	# 32 bytes of /dev/urandom as 64 lowercase hex characters.
	hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
	[[ $hex =~ ^[0-9a-f]{64}$ ]] || die "could not read 32 random bytes from /dev/urandom"
	tmp=$(umask 077 && mktemp -- "$dir/.secrets.env.XXXXXX") || die "cannot create a file in $dir"
	{
		echo "# Development secrets of the stack in $dir (written by ops/lib/secrets.sh)."
		echo "# Keep private. Deleted by ops/stack clean."
		echo "export FOFAL_JWT_SECRET=$hex"
		hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
		[[ $hex =~ ^[0-9a-f]{64}$ ]] || die "could not read 32 random bytes from /dev/urandom"
		echo "export FOFAL_PD_MASTER_KEY=$hex"
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
	export FOFAL_JWT_SECRET FOFAL_PD_MASTER_KEY
}
