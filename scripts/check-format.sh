#!/usr/bin/env bash
# Checks that every C++ file git knows of is formatted as .clang-format
# (Google style) says. Prints the offending files and exits non-zero if any
# is not; changes nothing. Fix with: clang-format -i <file>...
#
# Installs the Debian packages it needs first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# The Debian 12 clang-format (14). Another version may format a few
# constructs differently; CI uses this one.
clang_format="${CLANG_FORMAT:-clang-format}"

offenders=()
while IFS= read -r -d '' file; do
  if ! "$clang_format" --dry-run -Werror "$file" >/dev/null 2>&1; then
    offenders+=("$file")
  fi
done < <(git ls-files -z -- '*.h' '*.cc')

if [ ${#offenders[@]} -ne 0 ]; then
  echo "Not clang-formatted (${#offenders[@]}):" >&2
  printf '  %s\n' "${offenders[@]}" >&2
  echo "Fix with: $clang_format -i <file>..." >&2
  exit 1
fi
echo "All C++ files are clang-formatted."
