#!/bin/sh
# Builds and runs tests/unit/commands/test_jsonschema.c standalone under ASan+UBSan,
# for working on commands/jsonschema.c without the CMake tree.  Fails if the
# tests fail or a sanitizer reports anything (Criterion's forked test workers
# do not turn LeakSanitizer reports into failures by themselves).
# Usage: tests/unit/commands/jsonschema_build.sh [criterion options...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${TMPDIR:-/tmp}/fofal_test_jsonschema
log=$out.log
gcc -std=c17 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror \
    -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -I"$root/commands" $(pkg-config --cflags jansson libpcre2-8 criterion) \
    "$root/commands/jsonschema.c" "$here/test_jsonschema.c" -o "$out" \
    $(pkg-config --libs jansson libpcre2-8 criterion) -lm
status=0
"$out" "$@" >"$log" 2>&1 || status=$?
cat "$log"
if grep -Eq 'Sanitizer|runtime error:' "$log"; then
    echo "jsonschema_build.sh: sanitizer reports above" >&2
    status=1
fi
exit "$status"
