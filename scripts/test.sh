#!/usr/bin/env bash
# Builds everything and runs every test through ctest.
#
#   bash scripts/test.sh              # build/      (RelWithDebInfo)
#   bash scripts/test.sh --sanitize   # build-asan/ (AddressSanitizer + UBSan)
#   bash scripts/test.sh --tsan       # build-tsan/ (clang, ThreadSanitizer,
#                                     #   and -Wthread-safety -Werror)
#
# Installs the Debian packages it needs first (idempotent). Exits non-zero if
# the build or any test fails. CMAKE_BUILD_PARALLEL_LEVEL overrides the number
# of compile jobs (default: one per core).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
ctest_args=()
# The sanitizer builds compile at -O1 with line tables only (-g1): reports
# still name every frame's function, file and line, and the compile takes
# about half the time of -O2 -g (62 s -> 26 s of CPU for one large test file
# under ASan; 17 s -> 12 s under TSan), which is most of CI's time
# (docs/testing.md). The default build keeps -O2 -g for debuggers and perf.
sanitizer_flags=(-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
                 -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
# clang's -g1 names inlined frames without their namespace and class
# ("RunInterceptor", not grpc::experimental::ServerRpcInfo::RunInterceptor),
# so tests/tsan/tsan.supp's qualified patterns stopped matching gRPC's
# header code (CI, stop 22). -fdebug-info-for-profiling adds the linkage
# names back at the same compile cost.
tsan_flags=(-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -fdebug-info-for-profiling -DNDEBUG"
            -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -fdebug-info-for-profiling -DNDEBUG")
case "${1:-}" in
  "") ;;
  --sanitize)
    build_dir=build-asan
    cmake_args+=(-DSEGMENTS_SANITIZE=ON -DSEGMENTS_BUILD_BENCH=OFF
                 "${sanitizer_flags[@]}")
    # Leak checks on; UBSan reports with a stack (the build makes every
    # report fatal: -fno-sanitize-recover=all).
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
    ;;
  --tsan)
    # One clang build serves two checks: the thread-safety analysis
    # (-Wthread-safety, which CMakeLists.txt adds for clang, with -Werror)
    # at compile time, and ThreadSanitizer when the tests run.
    build_dir=build-tsan
    cmake_args+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
                 -DSEGMENTS_TSAN=ON -DSEGMENTS_BUILD_BENCH=OFF
                 "${tsan_flags[@]}")
    # Stop at the first report (a race is a failure, not a warning), show
    # where the other lock of a lock-order inversion was taken, and silence
    # only the third-party reports listed (and explained) in the file.
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan/tsan.supp}"
    # Left out of this run only (they run in the other two builds):
    # - QueuedCallsFinishWithinTheGracePeriod: a known open defect (issue
    #   11, item 13), not a race: when a batch takes about a second, as under
    #   TSan, gRPC 1.51's Shutdown still cancels a few calls it had received
    #   but not yet handed to a handler;
    # - the reflection and long-stream tests: they drive the callback-API
    #   reflection service (server/reflection_service.h), whose reactor gets
    #   each request from a gRPC thread through libgrpc's completion queue;
    #   Debian's libgrpc is not built for TSan, so every read of a received
    #   request in our reactor is reported as a race with its parsing
    #   (docs/testing.md); e2e_reflection_client runs the server under TSan
    #   and drives the same reactor through Python's reflection client;
    # - the change feed's gRPC tests (tests/server/feed_test.cc): their
    #   server-streaming reactors (server/feed_stream.h) are handed from
    #   gRPC thread to gRPC thread the same way, and the reports land in
    #   grpcpp's header code and our interceptors one after another (the
    #   same for server_lease_handover_test, whose nodes hand feeds over,
    #   one ctest test for its binary as it shares one PostgreSQL). The
    #   feed's core (ChangeFeed, publishing, pruning, the exactness test)
    #   runs under TSan in tests/core;
    # - the e2e tests of issue 16 that drive those same streams in a
    #   TSan-built server: e2e_buf_curl (reflection), e2e_example_client
    #   (a feed stream) and e2e_metrics (a feed stream, to gauge it). The
    #   metrics endpoint itself runs under TSan in MetricsServerTest (its
    #   scrapes, on the exporter's thread, read the registry and the feed
    #   service while calls run);
    # - AnOpenHealthWatchDoesNotDelaySigterm: gRPC's own health service
    #   serves Watch on the callback API too, here in a TSan-built server;
    #   its tag runs on one gRPC thread and is destroyed on another, ordered
    #   only through libgrpc's completion queue, so TSan reports the
    #   hand-over inside grpcpp's headers (14 runs of 20 at 686811c). It
    #   runs in the other two builds.
    # - cluster_test (issue 17): its three TSan-built server processes serve
    #   feed streams through nginx on the same callback-API reactors, and
    #   inherit halt_on_error, so the first such report would end a node in
    #   the middle of the test. It runs in the other two builds.
    ctest_args+=(-E '^(ShutdownTest\.QueuedCallsFinishWithinTheGracePeriod|ShutdownTest\.AnOpenHealthWatchDoesNotDelaySigterm|ReflectionTest\..*|LongStreamsTest\..*|BatchUpsertTest\.ReflectionShowsTheRealTypes|e2e_reflection_client|FeedTest\..*|BurstFeedTest\..*|LimitedFeedTest\..*|StallFeedTest\..*|ManyFeedTest\..*|server_lease_handover_test|cluster_test|e2e_buf_curl|e2e_example_client|e2e_metrics)$')
    ;;
  *)
    echo "usage: bash scripts/test.sh [--sanitize|--tsan]" >&2
    exit 2
    ;;
esac

bash scripts/install-deps.sh
# buf (npm, pinned): the e2e test of `buf curl` (tests/e2e) runs it.
bash scripts/install-buf.sh

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir"

cd "$build_dir"
# --no-tests=error: a build that registers no test must not pass as green.
ctest --output-on-failure -j2 --no-tests=error "${ctest_args[@]}"
