#!/usr/bin/python3
"""End to end: examples/python/follow_segment.py against the real server.

The example creates a segment and follows its member count (count as of a
sequence, then the change feed after it). The test makes contacts enter and
leave the segment while the example follows it, and checks that every count
the example prints is the segment's count at that sequence, ending where
CountSegmentMembers is. It also checks how the example reports a refused
call (code and field violations).

Run by ctest:  example_client_test.py --server PATH --stubs DIR --example PATH
"""

import argparse
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_server import DEMO_KEY, E2EServer  # noqa: E402

ARGS = None
TIMEOUT_S = 60
_ENROLLED = re.compile(r'^segment (\d+) "(.*)": (\d+) members as of sequence (\d+)$')
_CHANGED = re.compile(r'^sequence (\d+): (\d+) members \(\+(\d+) -(\d+)\)$')


class ExampleClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = E2EServer(ARGS.server)
        import grpc
        from segments.v1 import contacts_pb2_grpc, segments_pb2_grpc
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.contacts = contacts_pb2_grpc.ContactServiceStub(cls.channel)
        cls.segments = segments_pb2_grpc.SegmentServiceStub(cls.channel)
        cls.key = (("authorization", "Bearer " + DEMO_KEY),)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.finish()

    def example(self, *args):
        return subprocess.Popen(
            ["/usr/bin/python3", ARGS.example, "--stubs", ARGS.stubs,
             "--address", self.server.address, "--key", DEMO_KEY] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def create(self, email, country, stage):
        from segments.v1 import contacts_pb2
        return self.contacts.CreateContact(
            contacts_pb2.CreateContactRequest(contact=contacts_pb2.Contact(
                email=email, country=country,
                lifecycle_stage=contacts_pb2.LifecycleStage.Value(stage))),
            metadata=self.key, timeout=TIMEOUT_S)

    def test_follows_the_count_of_its_segment(self):
        # Two members before it starts, so the enrolled count is not 0.
        self.create("before1@example.de", "Atlantis", "MQL")
        self.create("before2@example.de", "Atlantis", "CUSTOMER")
        follower = self.example("--name", "Atlantis leads", "--country",
                                "Atlantis", "--min-stage", "LEAD",
                                "--changes", "3")
        try:
            first = follower.stdout.readline().strip()
            enrolled = _ENROLLED.match(first)
            if enrolled is None:  # it failed: its stderr says why
                self.fail(first + follower.communicate(timeout=TIMEOUT_S)[1])
            segment_id = int(enrolled.group(1))
            self.assertEqual(enrolled.group(2), "Atlantis leads")
            self.assertEqual(int(enrolled.group(3)), 2)
            # Enters; does not (stage below LEAD); enters; then leaves.
            from segments.v1 import contacts_pb2
            self.create("a@example.de", "Atlantis", "SQL")
            self.create("b@example.de", "Atlantis", "SUBSCRIBER")
            c = self.create("c@example.de", "atlantis", "LEAD")
            self.contacts.UpdateContact(
                contacts_pb2.UpdateContactRequest(
                    contact=contacts_pb2.Contact(id=c.id, country="Lemuria"),
                    update_mask={"paths": ["country"]}),
                metadata=self.key, timeout=TIMEOUT_S)
            # Three changes: the example exits after them.
            follower.wait(timeout=TIMEOUT_S)
        finally:
            if follower.poll() is None:
                follower.kill()
            out, err = follower.stdout.read(), follower.stderr.read()
            follower.stdout.close()
            follower.stderr.close()
        self.assertEqual(follower.returncode, 0, out + err)
        counts = [_CHANGED.match(line) for line in out.splitlines()]
        self.assertTrue(counts and all(counts), out + err)
        # A message may carry several changes: each line adds its entries
        # and removes its exits, and the lines add up to the three changes.
        expected = 2
        for m in counts:
            expected += int(m.group(3)) - int(m.group(4))
            self.assertEqual(int(m.group(2)), expected, out)
        self.assertEqual(sum(int(m.group(3)) for m in counts), 2, out)
        self.assertEqual(sum(int(m.group(4)) for m in counts), 1, out)
        self.assertEqual(expected, 3, out)
        from segments.v1 import segments_pb2
        now = self.segments.CountSegmentMembers(
            segments_pb2.CountSegmentMembersRequest(segment_id=segment_id),
            metadata=self.key, timeout=TIMEOUT_S)
        self.assertEqual(now.member_count, 3)
        self.assertEqual(now.as_of_sequence, int(counts[-1].group(1)))

    def test_reports_a_refused_call_with_its_violations(self):
        refused = self.example("--name", " ", "--country", "DE")
        out, err = refused.communicate(timeout=TIMEOUT_S)
        self.assertEqual(refused.returncode, 1, out + err)
        self.assertIn("INVALID_ARGUMENT", err)
        self.assertIn("  segment.display_name: ", err)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--example", required=True)
    ARGS, rest = parser.parse_known_args()
    sys.path.insert(0, ARGS.stubs)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
