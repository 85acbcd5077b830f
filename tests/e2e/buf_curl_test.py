#!/usr/bin/python3
"""End to end: `buf curl` (the pinned buf, tools/buf) calls the API by server
reflection, as the README shows, against the real server binary.

It lists the services, calls a method with a JSON body, and gets a refused
call's google.rpc.BadRequest. buf curl resolves a method's types from the
files reflection sends for its service, and the server sends
google/rpc/error_details.proto with them (server/reflection_service.h);
buf 1.75.0 still prints a detail as its type and base64 bytes (its error
printer decodes only the types compiled into buf itself), so the test
decodes those bytes with `buf convert` and error_details.proto, the recipe
docs/api.md gives.

Run by ctest:  buf_curl_test.py --server PATH --buf PATH --googleapis DIR
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_server import DEMO_KEY, E2EServer  # noqa: E402

ARGS = None
TIMEOUT_S = 60


class BufCurlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = E2EServer(ARGS.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.finish()

    def buf_curl(self, *args, data=None, verbose=False):
        """buf curl over plaintext HTTP/2 with the demo key; the result."""
        command = [ARGS.buf, "curl", "--protocol", "grpc",
                   "--http2-prior-knowledge",
                   "-H", "authorization: Bearer " + DEMO_KEY]
        if verbose:
            command.append("-v")
        if data is not None:
            command += ["-d", json.dumps(data)]
        command += list(args)
        return subprocess.run(command, capture_output=True, text=True,
                              timeout=TIMEOUT_S)

    def url(self, method=""):
        return "http://%s/%s" % (self.server.address, method)

    def test_lists_the_services(self):
        listed = self.buf_curl("--list-services", self.url())
        self.assertEqual(listed.returncode, 0, listed.stderr)
        services = listed.stdout.split()
        for name in ("segments.v1.ContactService", "segments.v1.SegmentService",
                     "segments.v1.ChangeFeedService",
                     "segments.v1.WorkspaceAdmin", "grpc.health.v1.Health"):
            self.assertIn(name, services)

    def test_calls_a_method_with_json(self):
        listed = self.buf_curl(
            self.url("segments.v1.SegmentService/ListSegments"),
            data={"page_size": 2})
        self.assertEqual(listed.returncode, 0, listed.stderr)
        reply = json.loads(listed.stdout)
        self.assertEqual(len(reply["segments"]), 2)
        self.assertIn("nextPageToken", reply)
        counted = self.buf_curl(
            self.url("segments.v1.SegmentService/CountSegmentMembers"),
            data={"segment_id": reply["segments"][0]["id"]})
        self.assertEqual(counted.returncode, 0, counted.stderr)
        self.assertGreater(int(json.loads(counted.stdout)["memberCount"]), 0)

    def test_a_refused_call_carries_a_decodable_bad_request(self):
        refused = self.buf_curl(
            self.url("segments.v1.ContactService/CreateContact"),
            data={"contact": {"email": "not an email"}}, verbose=True)
        self.assertNotEqual(refused.returncode, 0)
        # Reflection sent the error details' file along with the service's.
        self.assertIn('resolved file "google/rpc/error_details.proto"',
                      refused.stderr)
        error = json.loads(refused.stderr[refused.stderr.index("\n{") + 1:
                                          refused.stderr.index("\n}") + 2])
        self.assertEqual(error["code"], "invalid_argument")
        [detail] = error["details"]
        self.assertEqual(detail["type"], "google.rpc.BadRequest")
        # Connect's JSON: base64 without padding.
        value = detail["value"]
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
        decoded = subprocess.run(
            [ARGS.buf, "convert", "google/rpc/error_details.proto",
             "--type", "google.rpc.BadRequest", "--from", "-#format=binpb",
             "--to", "-#format=json"],
            input=raw, capture_output=True, timeout=TIMEOUT_S,
            cwd=ARGS.googleapis)
        self.assertEqual(decoded.returncode, 0, decoded.stderr.decode())
        self.assertEqual(json.loads(decoded.stdout)["fieldViolations"][0],
                         {"field": "contact.email",
                          "description": "must not contain whitespace or "
                                         "control characters"})


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--buf", required=True)
    parser.add_argument("--googleapis", required=True,
                        help="the directory holding google/rpc/*.proto")
    ARGS, rest = parser.parse_known_args()
    ARGS.buf = os.path.abspath(ARGS.buf)  # buf convert runs elsewhere
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
