#!/usr/bin/env bash
# Checks the API's protos (protos/, configured by protos/buf.yaml) with buf:
#   1. `buf lint`: the STANDARD rules, with the AIP exceptions of buf.yaml;
#   2. `buf breaking`: the protos as they are in the work tree against the
#      previous state of main, so a change that would break a generated
#      client (wire, JSON or generated code: the FILE category) fails.
#
#   bash scripts/check-protos.sh              # against the previous main
#   SEGMENTS_BREAKING_AGAINST=<ref> bash scripts/check-protos.sh
#
# The previous state of main is, in this order: $SEGMENTS_BREAKING_AGAINST;
# the merge base with origin/main, else with main, when HEAD is not on it (a
# branch is compared with where it left main); else HEAD~1 (a commit on main,
# a merge's first parent, is compared with the main it was made on). A
# shallow clone is deepened by one commit if it lacks that commit; a
# repository whose only commit is HEAD has nothing to compare with.
# Installs buf first (scripts/install-buf.sh). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-buf.sh
buf=tools/buf/node_modules/.bin/buf

"$buf" lint protos
echo "buf lint: ok"

has_commit() { git rev-parse --verify --quiet "$1^{commit}" >/dev/null; }

# Prints the ref to compare with; nothing when there is none.
previous_main() {
  if [ -n "${SEGMENTS_BREAKING_AGAINST:-}" ]; then
    echo "$SEGMENTS_BREAKING_AGAINST"
    return
  fi
  local head main base
  head=$(git rev-parse HEAD)
  for main in origin/main main; do
    has_commit "$main" || continue
    base=$(git merge-base HEAD "$main" 2>/dev/null) || continue
    if [ "$base" != "$head" ]; then
      echo "$base"
      return
    fi
    break
  done
  if ! has_commit HEAD~1 && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    git fetch --quiet --deepen=1 2>/dev/null || true
  fi
  if has_commit HEAD~1; then
    git rev-parse HEAD~1
  elif [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    echo "check-protos: a shallow clone without the commit before HEAD, and" \
         "it cannot be fetched; fetch more history (git fetch --deepen=1)" \
         "or set SEGMENTS_BREAKING_AGAINST" >&2
    exit 1
  fi
}

# Compares the work tree's protos with those of commit $1.
breaking_against() {
  local against=$1 old
  if ! has_commit "$against"; then
    echo "check-protos: $against is not a commit here" >&2
    exit 1
  fi
  old=$(mktemp -d)
  # The old protos as committed, read from git itself: no checkout, no
  # network, and the same in a worktree or a clean clone.
  git archive "$against" protos | tar -x -C "$old"
  if ! "$buf" breaking protos --against "$old/protos"; then
    rm -rf "$old"
    exit 1
  fi
  rm -rf "$old"
  echo "buf breaking: ok against $(git rev-parse --short "$against")"
}

# The main that clients were last built against: a submission of several
# commits lands together, so comparing with HEAD~1 alone would miss a break
# in an earlier one of them. Recorded by hand (docs/testing.md); an older
# one than the newest landing is still a released state to stay
# compatible with.
landed=$(grep -v '^#' .ci/landed-main 2>/dev/null | head -n 1 || true)
if [ -n "$landed" ]; then
  if ! has_commit "$landed" && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    git fetch --quiet --unshallow 2>/dev/null || true
  fi
  breaking_against "$landed"
fi

against=$(previous_main)
if [ -z "$against" ]; then
  echo "buf breaking: skipped, HEAD is the repository's first commit"
  exit 0
fi
breaking_against "$against"
