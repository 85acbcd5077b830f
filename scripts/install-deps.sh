#!/usr/bin/env bash
# Installs the Debian packages the project builds, runs and tests with.
# Idempotent: installs only what is missing, so a second run changes nothing.
#
# prometheus-cpp-dev: the server's /metrics. prometheus (19 MB download, 96 MB
# installed): only for its promtool, which the metrics test checks the
# exposition with; on a host running systemd the package also enables a
# Prometheus server on :9090 (`systemctl disable --now prometheus` stops it).
# libpq-dev: the PostgreSQL store (--store postgres://...). postgresql: only
# for its server binaries (initdb, pg_ctl), which the PostgreSQL store's
# tests start as a server of their own in a temporary directory; on a host
# running systemd the package also starts a cluster on port 5432
# (`systemctl disable --now postgresql` stops it).
# nginx (1.22: grpc_pass, hash ... consistent): only for its binary, which the
# cluster test (tests/cluster/) runs as a process of its own in a temporary
# directory in front of three nodes; on a host running systemd the package
# also starts nginx on port 80 (`systemctl disable --now nginx` stops it).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev libroaring-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  grpc-proto golang-github-gogo-googleapis-dev
  python3-grpcio python3-protobuf
  prometheus-cpp-dev
  prometheus
  clang libclang-rt-14-dev clang-format
  libpq-dev postgresql
  nginx
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
