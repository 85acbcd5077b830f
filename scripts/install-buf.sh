#!/usr/bin/env bash
# Installs the buf CLI (lint, breaking-change checks, buf curl) at the version
# pinned in tools/buf/package.json and package-lock.json, into
# tools/buf/node_modules (git ignores it), from npm's @bufbuild/buf package:
# buf is not packaged for Debian. Idempotent: does nothing when that version
# is there. Installs Debian's npm first if there is none. Prints nothing on
# success; the binary is tools/buf/node_modules/.bin/buf.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=tools/buf
buf="$tools/node_modules/.bin/buf"
pinned=$(sed -n 's/.*"@bufbuild\/buf": *"\([^"]*\)".*/\1/p' "$tools/package.json")
if [ -z "$pinned" ]; then
  echo "install-buf: no @bufbuild/buf version in $tools/package.json" >&2
  exit 1
fi
if [ -x "$buf" ] && [ "$("$buf" --version 2>/dev/null)" = "$pinned" ]; then
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "Installing: npm"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

echo "Installing: buf $pinned (npm @bufbuild/buf, into $tools/node_modules)"
# `npm ci` installs exactly the lock file's packages (checked against its
# integrity hashes). --ignore-scripts: the package's postinstall only
# optimizes the launcher; .bin/buf finds the platform's binary without it.
npm ci --prefix "$tools" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
actual=$("$buf" --version)
if [ "$actual" != "$pinned" ]; then
  echo "install-buf: installed buf $actual, expected $pinned" >&2
  exit 1
fi
