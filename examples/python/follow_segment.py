#!/usr/bin/python3
"""Creates a segment in a workspace and follows its member count, live.

The recipe of docs/api.md ("Enroll, then follow"): read the count and the
sequence S it is as of (CountSegmentMembers), then apply the change feed
after S for this segment only (WatchMembershipChanges): ENTERED adds one,
LEFT removes one. Prints one line per change message, e.g.

    segment 6 "Acme leads": 412 members as of sequence 2071
    sequence 2073: 413 members (+1 -0)

Uses the stubs generated from protos/ (generate_stubs.sh; Debian's
python3-grpcio and python3-protobuf, so run it with /usr/bin/python3):

    bash examples/python/generate_stubs.sh
    /usr/bin/python3 examples/python/follow_segment.py \\
        --address localhost:50051 --key sk_demo_local_only \\
        --name "Acme leads" --country DE --min-stage LEAD

Stops on Ctrl-C, or after --changes entries and exits (for tests). An
error prints its status code and every field violation or ErrorInfo.
"""

import argparse
import os
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--address", default="localhost:50051")
    p.add_argument("--key", default=os.environ.get("SEGMENTS_KEY"),
                   help="workspace key (default: $SEGMENTS_KEY)")
    p.add_argument("--name", required=True, help="the new segment's name")
    p.add_argument("--country", required=True,
                   help="members: contacts in this country")
    p.add_argument("--min-stage", default="SUBSCRIBER",
                   help="...at this lifecycle stage or later")
    p.add_argument("--stubs",
                   default=os.path.join(os.path.dirname(__file__), "gen"),
                   help="where generate_stubs.sh wrote the code")
    p.add_argument("--changes", type=int, default=0,
                   help="exit after this many entries and exits (0: never)")
    args = p.parse_args()
    if not args.key:
        p.error("--key (or $SEGMENTS_KEY) is required")
    return args


def describe(error):
    """The status code, message and google.rpc details of a failed call."""
    from google.rpc import error_details_pb2, status_pb2
    lines = ["%s: %s" % (error.code().name, error.details())]
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for detail in status_pb2.Status.FromString(value).details:
            bad_request = error_details_pb2.BadRequest()
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(bad_request):
                for v in bad_request.field_violations:
                    lines.append("  %s: %s" % (v.field, v.description))
            elif detail.Unpack(info):
                lines.append("  %s %s" % (info.reason, dict(info.metadata)))
    return "\n".join(lines)


def create_segment(segments, pb, args, metadata):
    condition = pb.Condition
    segment = pb.Segment(
        display_name=args.name,
        filter=pb.Filter(match=pb.Filter.ALL, conditions=[
            condition(field="country", operator=condition.EQUALS,
                      values=[pb.Value(string_value=args.country)]),
            condition(field="lifecycle_stage",
                      operator=condition.GREATER_OR_EQUAL,
                      values=[pb.Value(string_value=args.min_stage)]),
        ]))
    return segments.CreateSegment(pb.CreateSegmentRequest(segment=segment),
                                  metadata=metadata, timeout=30)


def follow(args):
    import grpc
    from segments.v1 import feed_pb2, feed_pb2_grpc
    from segments.v1 import segments_pb2, segments_pb2_grpc

    metadata = (("authorization", "Bearer " + args.key),)
    with grpc.insecure_channel(args.address) as channel:
        segments = segments_pb2_grpc.SegmentServiceStub(channel)
        feed = feed_pb2_grpc.ChangeFeedServiceStub(channel)
        segment = create_segment(segments, segments_pb2, args, metadata)
        # Enroll: the count, and the sequence it is exact as of.
        counted = segments.CountSegmentMembers(
            segments_pb2.CountSegmentMembersRequest(segment_id=segment.id),
            metadata=metadata, timeout=30)
        count = counted.member_count
        print('segment %d "%s": %d members as of sequence %d' %
              (segment.id, segment.display_name, count,
               counted.as_of_sequence), flush=True)
        # Follow: every change after it, of this segment only. The stream
        # never ends by itself; a real client stores last_sequence and
        # resumes after it when the stream breaks.
        stream = feed.WatchMembershipChanges(
            feed_pb2.WatchMembershipChangesRequest(
                after_sequence=counted.as_of_sequence,
                segment_ids=[segment.id]),
            metadata=metadata)
        seen = 0
        for message in stream:
            if not message.runs:
                continue  # a progress message: nothing of this segment
            entered = sum(len(r.contact_ids) for r in message.runs
                          if r.kind == feed_pb2.ENTERED)
            left = sum(len(r.contact_ids) for r in message.runs
                       if r.kind == feed_pb2.LEFT)
            if any(r.kind == feed_pb2.SEGMENT_DELETED for r in message.runs):
                print("segment %d was deleted" % segment.id, flush=True)
                return 0
            count += entered - left
            print("sequence %d: %d members (+%d -%d)" %
                  (message.last_sequence, count, entered, left), flush=True)
            seen += entered + left
            if args.changes and seen >= args.changes:
                stream.cancel()
                return 0
    return 0


def main():
    args = parse_args()
    sys.path.insert(0, args.stubs)
    import grpc
    try:
        return follow(args)
    except grpc.RpcError as e:
        print(describe(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
