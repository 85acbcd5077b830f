#!/usr/bin/python3
"""End to end: a client that knows the API only through server reflection.

Starts the real server binary in demo mode on a free loopback port with a
fresh data directory, then behaves as grpcurl does: lists the services over
grpc.reflection.v1alpha, fetches the file descriptors by symbol, builds a
descriptor pool and calls the service with dynamic messages. Nothing of
segments.v1 is compiled for Python; only reflection, health and google.rpc
error details are (by CMake, into the --stubs directory).

Finally the server gets SIGTERM and must exit 0 within a few seconds.

Run by ctest:  reflection_client_test.py --server PATH --stubs DIR
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

DEMO_KEY = "sk_demo_local_only"
# The segments.v1 services, each of whose methods the tests call.
API_SERVICES = (
    "segments.v1.SegmentService",
    "segments.v1.ContactService",
    "segments.v1.WorkspaceAdmin",
    "segments.v1.AudienceSnapshotService",
    "segments.v1.AnalyticsService",
)
EXPECTED_SERVICES = API_SERVICES + ("grpc.health.v1.Health",)
READY_TIMEOUT_S = 120  # Sanitizer builds start slowly on 2 busy cores.
STOP_TIMEOUT_S = 5  # The server's own grace for in-flight calls is 10 s.
CALL_TIMEOUT_S = 30

ARGS = None  # Set in main().
grpc = None  # Imported in main(), after sys.path has the generated stubs.


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message_class(factory, descriptor):
    """The dynamic message class for a descriptor (protobuf 3.x to 5.x)."""
    from google.protobuf import message_factory
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return factory.GetPrototype(descriptor)


class ReflectionClient:
    """What grpcurl does: learn the API over reflection, call it dynamically."""

    def __init__(self, channel, metadata):
        import reflection_pb2
        import reflection_pb2_grpc
        from google.protobuf import descriptor_pb2, descriptor_pool
        self._pb = reflection_pb2
        self._fdp = descriptor_pb2.FileDescriptorProto
        self._stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self._channel = channel
        self._metadata = metadata
        from google.protobuf import message_factory
        self.pool = descriptor_pool.DescriptorPool()
        self._factory = message_factory.MessageFactory(self.pool)
        self._added = set()

    def _ask(self, **request):
        req = self._pb.ServerReflectionRequest(**request)
        responses = list(
            self._stub.ServerReflectionInfo(iter([req]),
                                            metadata=self._metadata,
                                            timeout=CALL_TIMEOUT_S))
        assert len(responses) == 1, responses
        resp = responses[0]
        if resp.HasField("error_response"):
            raise LookupError("reflection error %d: %s for %r" %
                              (resp.error_response.error_code,
                               resp.error_response.error_message, request))
        return resp

    def list_services(self):
        resp = self._ask(list_services="")
        return [s.name for s in resp.list_services_response.service]

    def _add_files(self, serialized_files):
        """Adds files to the pool, dependencies first, asking for any missing."""
        by_name = {}
        for blob in serialized_files:
            fdp = self._fdp.FromString(blob)
            by_name[fdp.name] = fdp

        def add(name):
            if name in self._added:
                return
            if name not in by_name:
                resp = self._ask(file_by_filename=name)
                for blob in resp.file_descriptor_response.file_descriptor_proto:
                    fdp = self._fdp.FromString(blob)
                    by_name.setdefault(fdp.name, fdp)
            fdp = by_name[name]
            for dep in fdp.dependency:
                add(dep)
            self.pool.AddSerializedFile(fdp.SerializeToString())
            self._added.add(name)

        for name in list(by_name):
            add(name)

    def load_symbol(self, symbol):
        resp = self._ask(file_containing_symbol=symbol)
        self._add_files(resp.file_descriptor_response.file_descriptor_proto)
        return self.pool.FindServiceByName(symbol)

    def new(self, type_name, fields=None):
        from google.protobuf import json_format
        cls = message_class(self._factory,
                            self.pool.FindMessageTypeByName(type_name))
        msg = cls()
        if fields:
            json_format.ParseDict(fields, msg)
        return msg

    def call(self, full_method, fields=None, metadata=None):
        """Calls "pkg.Service/Method" with a request built from a dict."""
        service_name, method_name = full_method.split("/")
        method = self.pool.FindServiceByName(
            service_name).methods_by_name[method_name]
        request = self.new(method.input_type.full_name, fields)
        response_cls = message_class(self._factory, method.output_type)
        rpc = self._channel.unary_unary(
            "/%s/%s" % (service_name, method_name),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString)
        return rpc(request,
                   metadata=self._metadata if metadata is None else metadata,
                   timeout=CALL_TIMEOUT_S)


def to_dict(message):
    from google.protobuf import json_format
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


# --- A contact that satisfies a segment's filter ---------------------------
#
# Only what can be built without a rule evaluator: positive operators, each
# on its own field. A segment needing anything else is skipped, and the test
# falls back to a segment of its own.

STRING_FIELDS = ("company", "job_title", "country", "city", "source")
ORDERED_ENUMS = {
    "lifecycle_stage": ["SUBSCRIBER", "LEAD", "MQL", "SQL", "CUSTOMER"],
    "conversion_likelihood": ["LOW", "POSSIBLE", "LIKELY", "VERY_LIKELY"],
}
NUMBER_RANGES = {"lead_score": (-2**31, 2**31 - 1), "engagement_score": (0, 100)}


def _satisfy(cond, contact):
    """Sets fields of `contact` (a dict) so `cond` holds; False if it can't."""
    field = cond.get("field", "")
    op = cond.get("operator", "")
    values = cond.get("values", [])
    strings = [v["string_value"] for v in values if "string_value" in v]
    numbers = [int(v["number_value"]) for v in values if "number_value" in v]
    if field in contact:
        return False  # Two conditions on one field: too clever for this.
    if field in STRING_FIELDS:
        if op in ("EQUALS", "IN", "CONTAINS", "STARTS_WITH", "ENDS_WITH"):
            if not strings or not strings[0].strip():
                return False
            contact[field] = strings[0]
            return True
        if op == "IS_SET":
            contact[field] = "e2e"
            return True
        return False
    if field == "tags":
        if op in ("HAS_ANY", "HAS_ALL") and strings:
            contact["tags"] = strings
            return True
        if op == "IS_SET":
            contact["tags"] = ["e2e"]
            return True
        return False
    if field == "email":
        if op == "ENDS_WITH" and strings and strings[0].startswith("@"):
            contact["email"] = "e2e-%s%s" % (secrets.token_hex(6), strings[0])
            return True
        return False
    if field in ORDERED_ENUMS:
        order = ORDERED_ENUMS[field]
        if not strings or strings[0].upper() not in order:
            return False
        i = order.index(strings[0].upper())
        if op in ("EQUALS", "IN", "GREATER_OR_EQUAL", "LESS_OR_EQUAL"):
            pick = i
        elif op == "GREATER_THAN":
            pick = i + 1
        elif op == "LESS_THAN":
            pick = i - 1
        else:
            return False
        if not 0 <= pick < len(order):
            return False
        contact[field] = order[pick]
        return True
    if field == "engagement_trend":
        if op in ("EQUALS", "IN") and strings:
            contact[field] = strings[0].upper()
            return True
        return False
    if field in NUMBER_RANGES:
        if not numbers:
            return False
        n = numbers[0]
        pick = {"EQUALS": n, "GREATER_OR_EQUAL": n, "LESS_OR_EQUAL": n,
                "GREATER_THAN": n + 1, "LESS_THAN": n - 1,
                "BETWEEN": n}.get(op)
        lo, hi = NUMBER_RANGES[field]
        if pick is None or not lo <= pick <= hi:
            return False
        contact[field] = pick
        return True
    return False


def contact_matching(segment):
    """A new contact (dict) that is a member of `segment` (dict), or None."""
    flt = segment.get("filter", {})
    conds = flt.get("conditions", [])
    if not conds:
        return None
    contact = {}
    if flt.get("match") == "ANY":
        ok = any(_satisfy(c, contact) for c in conds)
    elif flt.get("match") == "ALL":
        ok = all(_satisfy(c, contact) for c in conds)
    else:
        return None
    if not ok:
        return None
    contact.setdefault("email", "e2e-%s@e2e.example" % secrets.token_hex(6))
    return contact


class ReflectionClientTest(unittest.TestCase):
    """One server for the class; tests run in name order (test_NN_...)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="segments-e2e-")
        cls.admin_key = "sk_admin_e2e_" + secrets.token_hex(16)
        cls.server = None
        cls.channel = None
        cls.log = None
        try:
            # A free port can be taken by someone else before the server
            # binds it: then try another.
            for attempt in range(3):
                if cls._start(attempt):
                    break
            else:
                raise AssertionError("server could not listen:\n" +
                                     cls.server_log())
        except BaseException:
            cls.tearDownClass()  # unittest does not when setUpClass fails.
            raise
        cls.client = ReflectionClient(
            cls.channel, (("authorization", "Bearer " + DEMO_KEY),))

    @classmethod
    def _start(cls, attempt):
        """Starts the server; False if its port was taken."""
        cls.data_dir = os.path.join(cls.tmp, "data%d" % attempt)
        os.mkdir(cls.data_dir)
        cls.address = "127.0.0.1:%d" % free_port()
        cls.log_path = os.path.join(cls.tmp, "server%d.log" % attempt)
        cls.log = open(cls.log_path, "wb")
        env = dict(os.environ, SEGMENTS_ADMIN_KEY=cls.admin_key)
        cls.server = subprocess.Popen(
            [ARGS.server, "--demo", "--listen", cls.address,
             "--data_dir", cls.data_dir],
            stdin=subprocess.DEVNULL, stdout=cls.log, stderr=subprocess.STDOUT,
            env=env)
        cls.channel = grpc.insecure_channel(cls.address)
        # Watching the connectivity state keeps the channel polled between
        # calls, as a long-lived client is: it then answers the server's
        # GOAWAY at shutdown at once. (An idle, unpolled Python channel does
        # not, and the server's Shutdown waits for it until its grace ends.)
        cls.channel.subscribe(lambda state: None)
        try:
            cls._wait_ready()
            return True
        except AssertionError:
            if cls.server.poll() is None or "cannot listen" not in cls.server_log():
                raise
            cls.channel.close()
            cls.log.close()
            return False

    @classmethod
    def _wait_ready(cls):
        """Health check until SERVING; fails fast if the server exits."""
        import health_pb2
        import health_pb2_grpc
        stub = health_pb2_grpc.HealthStub(cls.channel)
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if cls.server.poll() is not None:
                raise AssertionError(
                    "server exited with %d before serving:\n%s" %
                    (cls.server.returncode, cls.server_log()))
            try:
                resp = stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = "status %d" % resp.status
            except grpc.RpcError as e:
                last = "%s: %s" % (e.code(), e.details())
            time.sleep(0.2)
        raise AssertionError("server not SERVING after %ds (last: %s):\n%s" %
                             (READY_TIMEOUT_S, last, cls.server_log()))

    @classmethod
    def server_log(cls):
        with open(cls.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @classmethod
    def tearDownClass(cls):
        if cls.channel is not None:
            cls.channel.close()
        if cls.server is not None and cls.server.poll() is None:
            cls.server.kill()
            cls.server.wait()
        if cls.log is not None:
            cls.log.close()
            # ctest shows this only when the test fails (or with -V).
            sys.stderr.write("---- server log ----\n%s---- end of server log ----\n"
                             % cls.server_log())
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # Helpers -----------------------------------------------------------------

    def assertCode(self, code, fn, *args, **kwargs):
        """Asserts fn(...) fails with `code`; returns the RpcError."""
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def load_api(self):
        for name in API_SERVICES:
            self.client.load_symbol(name)

    def count(self, segment_id, metadata=None):
        resp = self.client.call("segments.v1.SegmentService/CountSegmentMembers",
                                {"segment_id": str(segment_id)}, metadata)
        return resp.member_count

    def list_segments(self):
        segments, token = [], ""
        while True:
            resp = self.client.call("segments.v1.SegmentService/ListSegments",
                                    {"page_size": 100, "page_token": token})
            segments.extend(resp.segments)
            token = resp.next_page_token
            if not token:
                return segments

    # Tests -------------------------------------------------------------------

    def test_01_lists_services_over_reflection(self):
        services = self.client.list_services()
        for name in EXPECTED_SERVICES:
            self.assertIn(name, services)
        self.assertIn("grpc.reflection.v1alpha.ServerReflection", services)
        # Reflection needs no key: the demo's first example is a bare
        # `grpcurl -plaintext ADDRESS list`.
        anonymous = ReflectionClient(self.channel, ())
        self.assertEqual(sorted(anonymous.list_services()), sorted(services))
        anonymous.load_symbol("segments.v1.SegmentService")

    def test_02_descriptors_describe_the_api(self):
        self.load_api()
        pool = self.client.pool
        segment = pool.FindServiceByName("segments.v1.SegmentService")
        for method in ("ListSegments", "CountSegmentMembers",
                       "ListSegmentMembers", "CreateSegment"):
            self.assertIn(method, segment.methods_by_name)
        contact = pool.FindServiceByName("segments.v1.ContactService")
        self.assertEqual(
            contact.methods_by_name["CreateContact"].output_type.full_name,
            "segments.v1.Contact")
        admin = pool.FindServiceByName("segments.v1.WorkspaceAdmin")
        self.assertIn("CreateWorkspace", admin.methods_by_name)

    def test_03_demo_segments_have_members(self):
        self.load_api()
        segments = self.list_segments()
        self.assertGreater(len(segments), 0, "demo workspace has no segments")
        counts = {}
        for s in segments:
            self.assertGreater(s.id, 0)
            self.assertTrue(s.display_name)
            counts[s.id] = self.count(s.id)
            # Time-relative rules may flip between two reads; others may not.
            ops = {c.get("operator") for c in
                   to_dict(s).get("filter", {}).get("conditions", [])}
            if not ops & {"WITHIN_LAST_DAYS", "MORE_THAN_DAYS_AGO"}:
                self.assertEqual(counts[s.id], s.member_count, s.display_name)
        self.assertGreater(max(counts.values()), 0,
                           "every demo segment is empty: %s" % counts)

    def test_04_lists_members_in_pages(self):
        self.load_api()
        best = max(self.list_segments(), key=lambda s: s.member_count)
        self.assertGreater(best.member_count, 0)
        resp = self.client.call(
            "segments.v1.SegmentService/ListSegmentMembers",
            {"segment_id": str(best.id), "page_size": 2})
        ids = list(resp.contact_ids)
        self.assertEqual(len(ids), min(2, best.member_count))
        self.assertEqual(ids, sorted(set(ids)))
        self.assertEqual(bool(resp.next_page_token), best.member_count > 2)

    def test_05_created_contact_enters_matching_segment(self):
        self.load_api()
        target, contact = None, None
        for s in self.list_segments():
            candidate = contact_matching(to_dict(s))
            if candidate and to_dict(s).get("state") == "ACTIVE":
                target, contact = s, candidate
                break
        if target is None:
            # No demo segment simple enough to aim at: make one.
            tag = "e2e-" + secrets.token_hex(4)
            target = self.client.call(
                "segments.v1.SegmentService/CreateSegment",
                {"segment": {"display_name": "e2e " + tag, "filter": {
                    "match": "ALL", "conditions": [{
                        "field": "tags", "operator": "HAS_ANY",
                        "values": [{"string_value": tag}]}]}}})
            contact = {"email": tag + "@e2e.example", "tags": [tag]}
        before = self.count(target.id)
        created = self.client.call("segments.v1.ContactService/CreateContact",
                                   {"contact": contact})
        self.assertGreater(created.id, 0)
        self.assertEqual(created.email, contact["email"].lower())
        self.assertEqual(self.count(target.id), before + 1,
                         "contact %s did not enter segment %s" %
                         (contact, to_dict(target)))

    def test_06_bad_input_is_invalid_argument_with_bad_request(self):
        self.load_api()
        err = self.assertCode(
            grpc.StatusCode.INVALID_ARGUMENT, self.client.call,
            "segments.v1.ContactService/CreateContact",
            {"contact": {"email": "not an email"}})
        details = dict(err.trailing_metadata() or ()).get(
            "grpc-status-details-bin")
        self.assertIsNotNone(details, "no grpc-status-details-bin trailer")
        from google.rpc import error_details_pb2, status_pb2
        status = status_pb2.Status.FromString(details)
        self.assertEqual(status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        fields = []
        for any_detail in status.details:
            bad = error_details_pb2.BadRequest()
            if any_detail.Unpack(bad):
                fields += [v.field for v in bad.field_violations]
        self.assertTrue(any(f.endswith("email") for f in fields),
                        "no violation names email: %s" % fields)

    def test_06b_many_violations_fit_a_default_python_client(self):
        # 10,000 bad entries with long values: the details are capped so the
        # error fits the 8 KiB metadata a default channel accepts (it was
        # RESOURCE_EXHAUSTED "received initial metadata size exceeds limit").
        self.load_api()
        contacts = [{"email": "x" * 200 + str(i) + " not an email",
                     "company": "c" * 300, "tags": ["t" * 100]}
                    for i in range(10000)]
        err = self.assertCode(
            grpc.StatusCode.INVALID_ARGUMENT, self.client.call,
            "segments.v1.ContactService/BatchUpsertContacts",
            {"contacts": contacts})
        details = dict(err.trailing_metadata() or ()).get(
            "grpc-status-details-bin")
        self.assertIsNotNone(details, "no grpc-status-details-bin trailer")
        from google.rpc import error_details_pb2, status_pb2
        status = status_pb2.Status.FromString(details)
        fields = []
        for any_detail in status.details:
            bad = error_details_pb2.BadRequest()
            if any_detail.Unpack(bad):
                fields += [v.field for v in bad.field_violations]
        self.assertEqual(fields[0], "contacts[0].email")
        self.assertEqual(fields[-1], "", "no closing 'and N more' violation")

    def test_07_missing_or_wrong_key_is_unauthenticated(self):
        self.load_api()
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, self.client.call,
                        "segments.v1.SegmentService/ListSegments", {}, ())
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, self.client.call,
                        "segments.v1.SegmentService/ListSegments", {},
                        (("authorization", "Bearer sk_wrong"),))
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, self.client.call,
                        "segments.v1.ContactService/CreateContact",
                        {"contact": {"email": "nokey@e2e.example"}}, ())

    def test_08_admin_key_creates_an_isolated_workspace(self):
        self.load_api()
        admin = (("authorization", "Bearer " + self.admin_key),)
        # The demo key is a workspace key, not the admin key.
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, self.client.call,
                        "segments.v1.WorkspaceAdmin/CreateWorkspace",
                        {"workspace": {"display_name": "nope", "plan": "PRO"}})
        created = self.client.call(
            "segments.v1.WorkspaceAdmin/CreateWorkspace",
            {"workspace": {"display_name": "e2e", "plan": "GROWTH"}}, admin)
        self.assertTrue(created.api_key)
        self.assertGreater(created.workspace.id, 0)
        other = (("authorization", "Bearer " + created.api_key),)
        resp = self.client.call("segments.v1.SegmentService/ListSegments", {},
                                other)
        self.assertEqual(len(resp.segments), 0)
        demo_segment = self.list_segments()[0]
        self.assertCode(grpc.StatusCode.NOT_FOUND, self.count,
                        demo_segment.id, other)

    def test_09_every_declared_method_is_served(self):
        # Each method reflection shows answers an empty request sensibly: it
        # is bad input or names nothing, so OK, INVALID_ARGUMENT or NOT_FOUND;
        # never UNIMPLEMENTED (declared but not served), UNKNOWN or INTERNAL.
        self.load_api()
        keys = {"segments.v1.WorkspaceAdmin": self.admin_key}
        acceptable = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT,
                      grpc.StatusCode.NOT_FOUND}
        for service_name in API_SERVICES:
            service = self.client.pool.FindServiceByName(service_name)
            key = keys.get(service_name, DEMO_KEY)
            for method in service.methods:
                full = "%s/%s" % (service_name, method.name)
                if method.client_streaming or method.server_streaming:
                    continue  # Needs a stream; covered by its own tests.
                try:
                    self.client.call(full, {},
                                     (("authorization", "Bearer " + key),))
                    code = grpc.StatusCode.OK
                except grpc.RpcError as e:
                    code = e.code()
                with self.subTest(method=full):
                    self.assertIn(code, acceptable)

    def test_10_preview_and_rule_catalog(self):
        self.load_api()
        # A preview of a saved segment's filter counts what the segment holds.
        best = max(self.list_segments(), key=lambda s: s.member_count)
        preview = self.client.call(
            "segments.v1.SegmentService/PreviewSegment",
            {"filter": to_dict(best)["filter"], "sample_size": 3})
        self.assertEqual(preview.member_count, self.count(best.id))
        ids = list(preview.sample_contact_ids)
        self.assertEqual(len(ids), min(3, preview.member_count))
        self.assertEqual(ids, sorted(set(ids)))
        # The demo workspace is on GROWTH: every field is allowed.
        catalog = to_dict(self.client.call(
            "segments.v1.SegmentService/GetRuleCatalog", {}))
        self.assertEqual(catalog.get("plan"), "GROWTH")
        fields = {f["name"]: f for f in catalog.get("fields", [])}
        for name in ("email", "country", "tags", "lifecycle_stage",
                     "lead_score", "created_at"):
            self.assertIn(name, fields)
            self.assertTrue(fields[name].get("allowed"), name)
        self.assertEqual(fields["lead_score"].get("required_plan"), "GROWTH")
        self.assertIn("HAS_ANY", fields["tags"].get("operators", []))

    def test_11_health_is_described_and_called_by_reflection(self):
        # As `grpcurl ... grpc.health.v1.Health/Check`, with no proto file.
        self.client.load_symbol("grpc.health.v1.Health")
        resp = to_dict(self.client.call("grpc.health.v1.Health/Check", {},
                                        metadata=[]))
        self.assertEqual(resp.get("status"), "SERVING")

    def test_99_sigterm_exits_zero_and_demo_printed_examples(self):
        self.server.send_signal(signal.SIGTERM)
        try:
            code = self.server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail("server still running %ds after SIGTERM" % STOP_TIMEOUT_S)
        self.assertEqual(code, 0, "exit code after SIGTERM")
        log = self.server_log()
        self.assertIn("grpcurl", log, "demo mode printed no grpcurl examples")
        self.assertIn(DEMO_KEY, log)


def main():
    global ARGS, grpc
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="segments-server binary")
    parser.add_argument("--stubs", required=True,
                        help="directory with reflection_pb2.py, health_pb2.py")
    ARGS, rest = parser.parse_known_args()
    sys.path.insert(0, ARGS.stubs)
    import grpc as grpc_module
    grpc = grpc_module
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
