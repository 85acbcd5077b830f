#!/usr/bin/env bash
# Generates the Python code of the segments.v1 API (messages and gRPC stubs)
# and of google.rpc's error details, with Debian's tools: protoc
# (protobuf-compiler) and grpc_python_plugin (protobuf-compiler-grpc), for
# python3-protobuf and python3-grpcio.
#
#   bash examples/python/generate_stubs.sh [OUT_DIR]   # default: examples/python/gen
#
# CMake runs the same script into build/examples/python/gen for the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
out="${1:-$here/gen}"
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis

mkdir -p "$out"
protoc -I "$root/protos" --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" \
  segments/v1/workspaces.proto segments/v1/contacts.proto \
  segments/v1/segments.proto segments/v1/feed.proto \
  segments/v1/history.proto segments/v1/snapshots.proto
# Error details (google.rpc.BadRequest, ErrorInfo) travel inside a
# google.rpc.Status; their messages only, no service.
protoc -I "$googleapis" --python_out="$out" \
  google/rpc/status.proto google/rpc/error_details.proto
