#!/bin/sh
# module_names.sh — "no engine file names a module" (issue 13), as a ctest test
# (unit/module_names, label unit):
#
#     tests/unit/module_names.sh <source dir> <module>...
#
# The modules are the build's FOFAL_MODULES: the module folders found in commands/,
# projections/, api/ and schemas/*/events (CMakeLists.txt), so a new module is checked
# as soon as its folder exists. The engine files are every *.c and *.h of commands/,
# projections/, api/ and events/ outside the module folders (<layer>/<module>/). Their
# code — comments stripped by the preprocessor, string literals kept — must not hold a
# module's name as a word: an engine learns of modules from the generated tables only.
# Comments may name one as an example. A hyphenated word (an HTTP header such as
# access-control-allow-origin) is one word, not a module's name.
#
# The exceptions are module_names.allow: "<file> <module> <why>" a line. An exception
# that no longer matches anything fails too, so the list only shrinks.
#
# Exit status 0 when clean, 1 otherwise (each finding on stdout), 2 usage error.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 <source dir> <module>..." >&2; exit 2; }
root=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
allow=$here/module_names.allow
status=0
used=$(mktemp)
trap 'rm -f "$used"' EXIT

allowed() { # <file> <module>: 0 when module_names.allow excuses it
	grep -Eq "^$1[[:space:]]+$2([[:space:]]|\$)" "$allow" || return 1
	echo "$1 $2" >>"$used"
}

for layer in commands projections api events; do
	for f in $(cd "$root" && find "$layer" -name '*.[ch]' | sort); do
		dir=${f#"$layer"/}
		dir=${dir%%/*}
		skip=0
		for m in "$@"; do [ "$dir" = "$m" ] && [ "$dir" != "${f#"$layer"/}" ] && skip=1; done
		[ "$skip" = 1 ] && continue
		code=$(gcc -fpreprocessed -dD -E -P -x c "$root/$f" 2>/dev/null) || {
			echo "$f: cannot strip its comments (gcc -fpreprocessed)"
			status=1
			continue
		}
		for m in "$@"; do
			# A word, where '-' joins words: "access-control-allow-origin" names no module.
			hits=$(printf '%s\n' "$code" | grep -E -- "(^|[^A-Za-z0-9_-])$m([^A-Za-z0-9_-]|\$)" || true)
			[ -n "$hits" ] || continue
			allowed "$f" "$m" && continue
			printf '%s names module %s in its code:\n%s\n' "$f" "$m" "$(printf '%s\n' "$hits" | sed 's/^/    /')"
			status=1
		done
	done
done

while read -r file module why; do
	case $file in '' | '#'*) continue ;; esac
	if ! grep -qx "$file $module" "$used"; then
		echo "module_names.allow: \"$file $module\" excuses nothing any more (or the module is gone): remove the line"
		status=1
	fi
done <"$allow"

[ "$status" = 0 ] && echo "module_names: no engine file of commands/ projections/ api/ events/ names a module ($*)"
exit "$status"
