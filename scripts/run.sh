#!/usr/bin/env bash
# Builds the server and runs it in demo mode on 127.0.0.1:50051.
#
#   bash scripts/run.sh [extra server flags, e.g. --listen 0.0.0.0:50051]
#
# Installs the Debian packages it needs first (idempotent). State lives in
# ./data (embedded SQLite). The demo workspace's key is sk_demo_local_only;
# the server prints grpcurl examples when it starts.
#
# Admin key: SEGMENTS_ADMIN_KEY if set, else the key file data/admin.key,
# generated with a random key on first run. There is no default admin key.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target segments_server_main

mkdir -p data
admin_flags=()
if [ -n "${SEGMENTS_ADMIN_KEY:-}" ]; then
  echo "Admin key: from SEGMENTS_ADMIN_KEY."
else
  key_file=data/admin.key
  if [ ! -s "$key_file" ]; then
    # 32 random bytes, hex; readable by this user only.
    (umask 077 && printf 'sk_admin_%s' \
      "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$key_file")
    echo "Generated a random admin key in $PWD/$key_file"
  fi
  echo "Admin key file: $PWD/$key_file (use: -H \"authorization: Bearer \$(cat $key_file)\")"
  admin_flags=(--admin_key_file "$key_file")
fi

exec build/server/segments-server --demo --data_dir ./data "${admin_flags[@]}" "$@"
