#!/bin/sh
# tests/integration/on_stack.sh TEST [ARGS...] — runs an integration test on the test stack
# ctest gave it. ops/test starts several test stacks (var/test, var/test2, ...) and gives
# ctest a resource spec with one "stacks" slot each; every integration test asks for one
# (RESOURCE_GROUPS stacks:1), so two run at once, each alone on its own stack (its own
# Kafka consumer groups, its own processes to kill). ctest says which stack in
# CTEST_RESOURCE_GROUP_0_STACKS ("id:test2,slots:1"): the id is the stack's folder under
# FOFAL_TEST_VAR (ops/test exports it), whose stack.env and secrets.env this sources
# before running the test. Without a resource (ctest run by hand, one stack in the
# environment), the test runs as it is.
set -eu
spec=${CTEST_RESOURCE_GROUP_0_STACKS:-}
if [ -n "$spec" ] && [ -n "${FOFAL_TEST_VAR:-}" ]; then
	id=${spec#id:}
	id=${id%%,*}
	dir=$FOFAL_TEST_VAR/$id
	if [ ! -f "$dir/stack.env" ]; then
		echo "on_stack.sh: ctest gave stack '$id' but $dir/stack.env does not exist" >&2
		exit 1
	fi
	# shellcheck disable=SC1091
	. "$dir/stack.env"
	# shellcheck disable=SC1091
	[ ! -f "$dir/secrets.env" ] || . "$dir/secrets.env"
fi
exec "$@"
