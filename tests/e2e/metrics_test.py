#!/usr/bin/python3
"""End to end: the Prometheus metrics of a running server, over HTTP.

Starts the real server binary with --metrics_listen 127.0.0.1:0, scrapes
/metrics with urllib, checks the text with `promtool check metrics` (the
exposition format and Prometheus' naming conventions), and checks that the
counters move with the calls made: RPCs by method and code, commits, segments
by state, workspaces, feed streams. Calls go through the stubs generated from
protos/ (examples/python/generate_stubs.sh).

Run by ctest:  metrics_test.py --server PATH --stubs DIR --promtool PATH
"""

import argparse
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_server import DEMO_KEY, E2EServer  # noqa: E402

ARGS = None
ADMIN_KEY = "sk_admin_e2e_metrics_0123456789"
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset of (label, value)): float} of every sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def rpc(method, code="OK", service="segments.v1.SegmentService",
        grpc_type="unary"):
    return dict(grpc_service=service, grpc_method=method, grpc_type=grpc_type,
                grpc_code=code)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = E2EServer(ARGS.server,
                               ["--metrics_listen", "127.0.0.1:0"],
                               env={"SEGMENTS_ADMIN_KEY": ADMIN_KEY})
        import grpc
        from segments.v1 import contacts_pb2_grpc, feed_pb2_grpc
        from segments.v1 import segments_pb2_grpc, workspaces_pb2_grpc
        cls.grpc = grpc
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.segments = segments_pb2_grpc.SegmentServiceStub(cls.channel)
        cls.contacts = contacts_pb2_grpc.ContactServiceStub(cls.channel)
        cls.feed = feed_pb2_grpc.ChangeFeedServiceStub(cls.channel)
        cls.admin = workspaces_pb2_grpc.WorkspaceAdminStub(cls.channel)
        cls.key = (("authorization", "Bearer " + DEMO_KEY),)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.finish()

    def scrape(self):
        url = "http://%s/metrics" % self.server.metrics_address
        with urllib.request.urlopen(url, timeout=30) as response:
            self.assertEqual(response.status, 200)
            return response.read().decode("utf-8")

    def test_01_promtool_accepts_the_exposition(self):
        # A few calls first, so that histograms and labelled series exist.
        from segments.v1 import segments_pb2
        self.segments.ListSegments(segments_pb2.ListSegmentsRequest(),
                                   metadata=self.key, timeout=30)
        text = self.scrape()
        check = subprocess.run([ARGS.promtool, "check", "metrics"],
                               input=text.encode(), capture_output=True,
                               timeout=60)
        self.assertEqual(check.returncode, 0,
                         check.stdout.decode() + check.stderr.decode())
        # Lint findings (naming, units) are printed even when it passes.
        self.assertEqual(check.stdout.decode() + check.stderr.decode(), "")
        for name in ("grpc_server_handled_total",
                     "grpc_server_handling_seconds",
                     "segments_commit_group_size",
                     "segments_commit_duration_seconds",
                     "segments_commits_failed_total",
                     "segments_sqlite_errors_total",
                     "segments_workspaces_open",
                     "segments_workspaces_evicted_total",
                     "segments_segments",
                     "segments_time_flips_applied_total",
                     "segments_time_flip_lag_seconds",
                     "segments_feed_streams_open",
                     "segments_feed_stream_max_lag_changes",
                     "process_resident_memory_bytes"):
            self.assertIn("# TYPE %s " % name, text)

    def test_02_rpc_counters_move_with_calls(self):
        from segments.v1 import contacts_pb2, segments_pb2
        before = parse(self.scrape())
        for _ in range(3):
            self.segments.CountSegmentMembers(
                segments_pb2.CountSegmentMembersRequest(segment_id=1),
                metadata=self.key, timeout=30)
        with self.assertRaises(self.grpc.RpcError) as bad:
            self.contacts.CreateContact(
                contacts_pb2.CreateContactRequest(
                    contact=contacts_pb2.Contact(email="not an email")),
                metadata=self.key, timeout=30)
        self.assertEqual(bad.exception.code(),
                         self.grpc.StatusCode.INVALID_ARGUMENT)
        # A path the server does not serve is counted, but not by its name
        # (labels stay bounded whatever clients send).
        unknown = self.channel.unary_unary("/no.such.Service/Nothing")
        with self.assertRaises(self.grpc.RpcError) as missing:
            unknown(b"", timeout=30)
        self.assertEqual(missing.exception.code(),
                         self.grpc.StatusCode.UNIMPLEMENTED)
        after = parse(self.scrape())

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        count = rpc("CountSegmentMembers")
        self.assertEqual(delta("grpc_server_handled_total", **count), 3)
        self.assertEqual(delta("grpc_server_handling_seconds_count", **count), 3)
        self.assertGreater(delta("grpc_server_handling_seconds_sum", **count), 0)
        self.assertEqual(
            delta("grpc_server_handling_seconds_bucket", le="+Inf", **count), 3)
        invalid = rpc("CreateContact", code="INVALID_ARGUMENT",
                      service="segments.v1.ContactService")
        self.assertEqual(delta("grpc_server_handled_total", **invalid), 1)
        self.assertEqual(delta("grpc_server_handled_total",
                               **rpc("unknown", code="UNIMPLEMENTED",
                                     service="unknown", grpc_type="unknown")),
                         1)
        self.assertFalse(any("no.such" in str(key) for key in after))

    def test_03_commits_and_segments_move_with_writes(self):
        from segments.v1 import contacts_pb2, segments_pb2
        before = parse(self.scrape())
        self.contacts.CreateContact(
            contacts_pb2.CreateContactRequest(contact=contacts_pb2.Contact(
                email="metrics@example.com", country="DE")),
            metadata=self.key, timeout=30)
        cond = segments_pb2.Condition
        self.segments.CreateSegment(segments_pb2.CreateSegmentRequest(
            segment=segments_pb2.Segment(
                display_name="metrics test",
                filter=segments_pb2.Filter(match=segments_pb2.Filter.ALL,
                                           conditions=[cond(
                                               field="country",
                                               operator=cond.EQUALS,
                                               values=[segments_pb2.Value(
                                                   string_value="DE")])]))),
            metadata=self.key, timeout=30)
        after = parse(self.scrape())

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        # The contact (a group of one) and the segment: two commits.
        self.assertEqual(delta("segments_commit_group_size_count"), 1)
        self.assertEqual(delta("segments_commit_group_size_bucket", le="1"), 1)
        self.assertEqual(delta("segments_commit_duration_seconds_count"), 2)
        self.assertGreater(delta("segments_commit_duration_seconds_sum"), 0)
        self.assertEqual(delta("segments_segments", state="ACTIVE"), 1)
        self.assertEqual(value(after, "segments_commits_failed_total"), 0)

    def test_04_workspaces_and_process(self):
        from segments.v1 import workspaces_pb2
        before = parse(self.scrape())
        self.assertEqual(value(before, "segments_workspaces_open"), 1)  # demo
        self.admin.CreateWorkspace(
            workspaces_pb2.CreateWorkspaceRequest(
                workspace=workspaces_pb2.Workspace(
                    display_name="metrics", plan=workspaces_pb2.GROWTH)),
            metadata=(("authorization", "Bearer " + ADMIN_KEY),), timeout=30)
        after = parse(self.scrape())
        self.assertEqual(value(after, "segments_workspaces_open"), 2)
        self.assertEqual(value(after, "segments_workspaces_evicted_total"), 0)
        self.assertGreater(value(after, "process_resident_memory_bytes"),
                           10 * 1024 * 1024)
        self.assertGreater(value(after, "process_open_fds"), 3)
        self.assertGreater(value(after, "process_threads"), 1)

    def test_05_feed_streams_are_gauged_while_open(self):
        from segments.v1 import feed_pb2
        stream = self.feed.WatchMembershipChanges(
            feed_pb2.WatchMembershipChangesRequest(from_now=True),
            metadata=self.key)
        next(stream)  # the first message: the stream is open
        self.assertEqual(value(parse(self.scrape()),
                               "segments_feed_streams_open"), 1)
        stream.cancel()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            samples = parse(self.scrape())
            if value(samples, "segments_feed_streams_open") == 0:
                break
            time.sleep(0.1)
        self.assertEqual(value(samples, "segments_feed_streams_open"), 0)
        # The cancelled stream is counted once it is gone.
        self.assertEqual(
            value(samples, "grpc_server_handled_total",
                  **rpc("WatchMembershipChanges", code="CANCELLED",
                        service="segments.v1.ChangeFeedService",
                        grpc_type="server_stream")), 1)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--stubs", required=True,
                        help="examples/python's generated code")
    parser.add_argument("--promtool", required=True)
    ARGS, rest = parser.parse_known_args()
    sys.path.insert(0, ARGS.stubs)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
