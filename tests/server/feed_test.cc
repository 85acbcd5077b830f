// segments.v1.ChangeFeedService through a real loopback channel (SPEC §6
// "Change feed"): replay then live without a gap or a duplicate while
// writers run, exact resumption across a restart, OUT_OF_RANGE with the
// oldest retained sequence, filters with progress, a stalled consumer ended
// with RESOURCE_EXHAUSTED while writers keep going, cancellation and
// deadlines freeing their slot, the per-workspace limit, shutdown, and idle
// streams holding no thread each.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segments/v1/feed.grpc.pb.h"
#include "segments/v1/snapshots.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;

// One client stream and what it has received.
struct Watch {
  Watch(TestServer& server, const std::string& key,
        const v1::WatchMembershipChangesRequest& request,
        absl::Duration deadline = absl::ZeroDuration(),
        std::shared_ptr<grpc::Channel> channel = nullptr)
      : context(Ctx(key)) {
    if (deadline > absl::ZeroDuration()) {
      context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    }
    stub = v1::ChangeFeedService::NewStub(
        channel != nullptr ? channel : server.channel());
    reader = stub->WatchMembershipChanges(context.get(), request);
  }
  // Reads one message into the fold; false when the stream ended.
  bool Next() {
    v1::WatchMembershipChangesResponse r;
    if (!reader->Read(&r)) return false;
    ++messages;
    EXPECT_GE(r.last_sequence(), last_sequence);
    for (const v1::MembershipChangeRun& run : r.runs()) {
      EXPECT_GT(run.first_sequence(), last_sequence) << "duplicate or reorder";
      for (int i = 0; i < run.contact_ids_size(); ++i) {
        sequences.push_back(run.first_sequence() + i);
        std::set<uint64_t>& m = members[run.segment_id()];
        if (run.kind() == v1::ENTERED) {
          EXPECT_TRUE(m.insert(run.contact_ids(i)).second);
        } else if (run.kind() == v1::LEFT) {
          EXPECT_EQ(m.erase(run.contact_ids(i)), 1u);
        } else {
          EXPECT_EQ(run.kind(), v1::SEGMENT_DELETED);
          members.erase(run.segment_id());
        }
      }
      EXPECT_LE(run.first_sequence() + run.contact_ids_size() - 1,
                r.last_sequence());
    }
    last_sequence = r.last_sequence();
    caught_up = r.caught_up();
    return true;
  }
  // Reads until the stream has reached `sequence`.
  bool ReadThrough(uint64_t sequence) {
    while (last_sequence < sequence) {
      if (!Next()) return false;
    }
    return true;
  }
  grpc::Status End() {
    while (Next()) {
    }
    return reader->Finish();
  }

  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<v1::ChangeFeedService::Stub> stub;
  std::unique_ptr<grpc::ClientReader<v1::WatchMembershipChangesResponse>>
      reader;
  uint64_t last_sequence = 0;
  bool caught_up = false;
  int messages = 0;
  std::vector<uint64_t> sequences;
  std::map<uint64_t, std::set<uint64_t>> members;
};

v1::WatchMembershipChangesRequest After(uint64_t sequence) {
  v1::WatchMembershipChangesRequest r;
  r.set_after_sequence(sequence);
  return r;
}

class FeedTest : public ::testing::Test {
 protected:
  explicit FeedTest(std::function<void(ServerOptions&)> customize = nullptr)
      : server_(std::move(customize)) {
    const auto created = server_.CreateWorkspace("Acme", v1::STARTER);
    key_ = created.api_key;
    workspace_id_ = created.workspace.id();
  }

  uint64_t Segment(const std::string& name, const std::string& country) {
    v1::CreateSegmentRequest request;
    *request.mutable_segment() =
        MakeSegment(name, {MakeCondition("country", v1::Condition::EQUALS,
                                         {StringValue(country)})});
    v1::Segment segment;
    EXPECT_THAT(
        server_.segments().CreateSegment(Ctx(key_).get(), request, &segment),
        GrpcOk());
    return segment.id();
  }

  uint64_t Contact(const std::string& email, const std::string& country) {
    v1::CreateContactRequest request;
    *request.mutable_contact() = MakeContact(email);
    request.mutable_contact()->set_country(country);
    v1::Contact contact;
    EXPECT_THAT(
        server_.contacts().CreateContact(Ctx(key_).get(), request, &contact),
        GrpcOk());
    return contact.id();
  }

  void MoveTo(uint64_t id, const std::string& country) {
    v1::UpdateContactRequest request;
    request.mutable_contact()->set_id(id);
    request.mutable_contact()->set_country(country);
    request.mutable_update_mask()->add_paths("country");
    v1::Contact contact;
    EXPECT_THAT(
        server_.contacts().UpdateContact(Ctx(key_).get(), request, &contact),
        GrpcOk());
  }

  // The newest sequence, as a count reports it.
  uint64_t Head(uint64_t segment) {
    v1::CountSegmentMembersRequest request;
    request.set_segment_id(segment);
    v1::CountSegmentMembersResponse response;
    EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(key_).get(), request,
                                                       &response),
                GrpcOk());
    return response.as_of_sequence();
  }

  std::set<uint64_t> Members(uint64_t segment) {
    std::set<uint64_t> out;
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment);
    request.set_page_size(1000);
    while (true) {
      v1::ListSegmentMembersResponse response;
      EXPECT_THAT(server_.segments().ListSegmentMembers(Ctx(key_).get(),
                                                        request, &response),
                  GrpcOk());
      out.insert(response.contact_ids().begin(), response.contact_ids().end());
      if (response.next_page_token().empty()) return out;
      request.set_page_token(response.next_page_token());
    }
  }

  TestServer server_;
  std::string key_;
  uint64_t workspace_id_ = 0;
};

TEST_F(FeedTest, ReplayThenLiveHasNoGapOrDuplicateWhileWritersRun) {
  const uint64_t de = Segment("de", "DE");
  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(
        Contact("c" + std::to_string(i) + "@x.com", i % 2 == 0 ? "DE" : "FR"));
  }
  Watch watch(server_, key_, After(0));
  ASSERT_TRUE(watch.ReadThrough(20));  // replayed: the 20 DE contacts
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) {
      if (i % 3 == 0) {
        MoveTo(ids[i % ids.size()], i % 2 == 0 ? "FR" : "DE");
      } else {
        Contact("w" + std::to_string(i) + "@x.com", i % 2 == 0 ? "DE" : "IT");
      }
    }
  });
  writer.join();
  const uint64_t head = Head(de);
  ASSERT_TRUE(watch.ReadThrough(head));
  EXPECT_TRUE(watch.caught_up);
  // Every sequence once, in order: 1..head.
  ASSERT_EQ(watch.sequences.size(), head);
  for (uint64_t i = 0; i < head; ++i) ASSERT_EQ(watch.sequences[i], i + 1);
  // Membership from nothing plus every event is the membership now.
  EXPECT_EQ(watch.members[de], Members(de));
}

// The workflow engine's recipe (docs/api.md): a snapshot's members as of
// S, then the feed after S, are the live members, while writers run
// between the snapshot and the reads.
TEST_F(FeedTest, ASnapshotPlusTheFeedAfterItsSequenceIsTheLiveMembership) {
  const uint64_t de = Segment("de", "DE");
  std::vector<uint64_t> ids;
  for (int i = 0; i < 30; ++i) {
    ids.push_back(
        Contact("c" + std::to_string(i) + "@x.com", i % 3 == 0 ? "FR" : "DE"));
  }
  auto snapshots = v1::AudienceSnapshotService::NewStub(server_.channel());
  v1::CreateAudienceSnapshotRequest create;
  create.mutable_snapshot()->set_segment_id(de);
  v1::AudienceSnapshot snapshot;
  ASSERT_THAT(
      snapshots->CreateAudienceSnapshot(Ctx(key_).get(), create, &snapshot),
      GrpcOk());
  std::thread writer([&] {
    for (int i = 0; i < 60; ++i) {
      if (i % 2 == 0) {
        MoveTo(ids[i % ids.size()], i % 4 == 0 ? "FR" : "DE");
      } else {
        Contact("w" + std::to_string(i) + "@x.com", "DE");
      }
    }
  });
  std::set<uint64_t> members;
  v1::ListAudienceSnapshotMembersRequest page;
  page.set_snapshot_id(snapshot.id());
  page.set_page_size(7);
  while (true) {
    v1::ListAudienceSnapshotMembersResponse response;
    ASSERT_THAT(snapshots->ListAudienceSnapshotMembers(Ctx(key_).get(), page,
                                                       &response),
                GrpcOk());
    members.insert(response.contact_ids().begin(),
                   response.contact_ids().end());
    if (response.next_page_token().empty()) break;
    page.set_page_token(response.next_page_token());
  }
  ASSERT_EQ(members.size(), snapshot.member_count());
  writer.join();
  v1::WatchMembershipChangesRequest follow = After(snapshot.as_of_sequence());
  follow.add_segment_ids(de);
  Watch watch(server_, key_, follow);
  watch.members[de] = members;
  ASSERT_TRUE(watch.ReadThrough(Head(de)));
  EXPECT_EQ(watch.members[de], Members(de));
  EXPECT_GT(watch.sequences.size(), 0u);
}

TEST_F(FeedTest, ResumingAfterTheLastSequenceIsExactAcrossARestart) {
  const uint64_t de = Segment("de", "DE");
  for (int i = 0; i < 10; ++i)
    Contact("a" + std::to_string(i) + "@x.com", "DE");
  uint64_t seen = 0;
  std::set<uint64_t> members;
  {
    Watch watch(server_, key_, After(0));
    ASSERT_TRUE(watch.ReadThrough(6));
    seen = watch.last_sequence;
    members = watch.members[de];
    watch.context->TryCancel();
  }
  server_.Restart();
  for (int i = 0; i < 5; ++i) Contact("b" + std::to_string(i) + "@x.com", "DE");
  Watch resumed(server_, key_, After(seen));
  ASSERT_TRUE(resumed.ReadThrough(15));
  ASSERT_FALSE(resumed.sequences.empty());
  EXPECT_EQ(resumed.sequences.front(), seen + 1);
  for (uint64_t c : resumed.members[de]) members.insert(c);
  EXPECT_EQ(members, Members(de));
}

TEST_F(FeedTest, FromNowSkipsThePastAndTheFirstMessageSaysWhere) {
  const uint64_t de = Segment("de", "DE");
  Contact("old@x.com", "DE");
  v1::WatchMembershipChangesRequest request;
  request.set_from_now(true);
  Watch watch(server_, key_, request);
  ASSERT_TRUE(watch.Next());
  EXPECT_EQ(watch.last_sequence, 1u);
  EXPECT_TRUE(watch.caught_up);
  EXPECT_TRUE(watch.sequences.empty());
  const uint64_t c = Contact("new@x.com", "DE");
  ASSERT_TRUE(watch.ReadThrough(2));
  EXPECT_EQ(watch.members[de], std::set<uint64_t>({c}));
}

TEST_F(FeedTest, AFilteredStreamGetsProgressForChangesItDoesNotWant) {
  const uint64_t de = Segment("de", "DE");
  const uint64_t fr = Segment("fr", "FR");
  v1::WatchMembershipChangesRequest request;
  request.add_segment_ids(de);
  Watch watch(server_, key_, request);
  ASSERT_TRUE(watch.Next());  // where it starts
  Contact("a@x.com", "FR");
  Contact("b@x.com", "FR");
  ASSERT_TRUE(watch.ReadThrough(2));  // progress messages only
  EXPECT_TRUE(watch.sequences.empty());
  Contact("c@x.com", "DE");
  ASSERT_TRUE(watch.ReadThrough(3));
  EXPECT_EQ(watch.sequences, std::vector<uint64_t>({3}));
  EXPECT_EQ(watch.members.count(fr), 0u);
}

TEST_F(FeedTest, ADeletedSegmentEndsWithItsDeletionEvent) {
  const uint64_t de = Segment("de", "DE");
  Contact("a@x.com", "DE");
  v1::DeleteSegmentRequest request;
  request.set_id(de);
  google::protobuf::Empty empty;
  ASSERT_THAT(
      server_.segments().DeleteSegment(Ctx(key_).get(), request, &empty),
      GrpcOk());
  Watch watch(server_, key_, After(0));
  ASSERT_TRUE(watch.ReadThrough(2));
  EXPECT_EQ(watch.members.count(de), 0u);
  EXPECT_EQ(watch.sequences, std::vector<uint64_t>({1, 2}));
}

TEST_F(FeedTest, BadRequestsAreRefusedWithTheirField) {
  Segment("de", "DE");
  Contact("a@x.com", "DE");
  {
    v1::WatchMembershipChangesRequest request;
    request.add_segment_ids(1);
    request.add_segment_ids(0);
    Watch watch(server_, key_, request);
    const grpc::Status s = watch.End();
    EXPECT_THAT(s, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(ViolationFields(s), ::testing::ElementsAre("segment_ids[1]"));
  }
  {
    Watch watch(server_, "", After(0));
    EXPECT_THAT(watch.End(), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  }
  {
    Watch watch(server_, key_, After(5));  // the newest is 1
    const grpc::Status s = watch.End();
    EXPECT_THAT(s, GrpcIs(grpc::StatusCode::OUT_OF_RANGE));
    EXPECT_THAT(s.error_message(), HasSubstr("has not been reached"));
  }
}

TEST_F(FeedTest, CancellingOrADeadlineEndsTheStreamAndFreesItsSlot) {
  Segment("de", "DE");
  {
    Watch watch(server_, key_, After(0));
    ASSERT_TRUE(watch.Next());
    watch.context->TryCancel();
    EXPECT_THAT(watch.End(), GrpcIs(grpc::StatusCode::CANCELLED));
  }
  {
    Watch watch(server_, key_, After(0), absl::Milliseconds(300));
    ASSERT_TRUE(watch.Next());
    EXPECT_THAT(watch.End(), GrpcIs(grpc::StatusCode::DEADLINE_EXCEEDED));
  }
}

TEST_F(FeedTest, AnUnparsableRequestIsBadInputOnceTheKeyIsChecked) {
  // Field 1 (after_sequence) as a varint whose bytes never end.
  const std::string bytes("\x08\xff\xff", 3);
  auto call = [&](std::string_view key) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    std::unique_ptr<grpc::ClientContext> context = Ctx(key);
    const grpc::internal::RpcMethod method(
        "/segments.v1.ChangeFeedService/WatchMembershipChanges",
        grpc::internal::RpcMethod::SERVER_STREAMING);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            server_.channel().get(), method, context.get(), request));
    grpc::ByteBuffer message;
    EXPECT_FALSE(reader->Read(&message));
    return reader->Finish();
  };
  EXPECT_THAT(call(""), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(call(key_), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
}

class BurstFeedTest : public FeedTest {
 protected:
  // Messages of 7 events: a write's changes take many messages, which the
  // streams at one position share (server/feed_message_cache.h).
  BurstFeedTest()
      : FeedTest([](ServerOptions& o) { o.feed.max_events_per_message = 7; }) {}
};

TEST_F(BurstFeedTest, StreamsThatShareMessagesEachGetTheExactLog) {
  const uint64_t de = Segment("de", "DE");
  Segment("fr", "FR");
  Segment("all", "DE");
  v1::WatchMembershipChangesRequest everything;
  everything.set_from_now(true);
  v1::WatchMembershipChangesRequest only_de = everything;
  only_de.add_segment_ids(de);
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 8; ++i) {
    watches.push_back(
        std::make_unique<Watch>(server_, key_, i < 5 ? everything : only_de));
    ASSERT_TRUE(watches.back()->Next());  // open, at the head
  }
  // Each batch: 26 DE contacts entering de and all, 14 FR entering fr.
  constexpr uint64_t kHead = 5 * (26 * 2 + 14);
  std::vector<std::thread> readers;
  for (auto& w : watches) {
    readers.emplace_back([watch = w.get()] {
      while (watch->last_sequence < kHead) {
        if (!watch->Next()) return;
      }
    });
  }
  for (int b = 0; b < 5; ++b) {
    v1::BatchUpsertContactsRequest request;
    for (int i = 0; i < 40; ++i) {
      v1::Contact* c = request.add_contacts();
      *c = MakeContact("b" + std::to_string(b) + "-" + std::to_string(i) +
                       "@x.com");
      c->set_country(i % 3 == 0 ? "FR" : "DE");
    }
    v1::BatchUpsertContactsResponse response;
    ASSERT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key_).get(), request,
                                                       &response),
                GrpcOk());
  }
  ASSERT_EQ(Head(de), kHead);
  for (std::thread& t : readers) t.join();
  const std::set<uint64_t> members = Members(de);
  for (int i = 0; i < 8; ++i) {
    const Watch& w = *watches[i];
    ASSERT_EQ(w.last_sequence, kHead) << "stream " << i;
    EXPECT_EQ(w.members.at(de), members) << "stream " << i;
    if (i < 5) {
      // Every sequence once, in order, across the shared messages.
      ASSERT_EQ(w.sequences.size(), kHead) << "stream " << i;
      for (uint64_t s = 0; s < kHead; ++s) {
        ASSERT_EQ(w.sequences[s], s + 1) << "stream " << i;
      }
      EXPECT_EQ(w.members.size(), 3u);
    } else {
      EXPECT_EQ(w.members.size(), 1u) << "only de's runs";
    }
  }
}

TEST_F(FeedTest, DeletingTheWorkspaceEndsItsOpenStreams) {
  Segment("de", "DE");
  Watch watch(server_, key_, After(0));
  ASSERT_TRUE(watch.Next());
  v1::DeleteWorkspaceRequest del;
  del.set_id(workspace_id_);
  google::protobuf::Empty empty;
  ASSERT_THAT(
      server_.admin().DeleteWorkspace(Ctx(kTestAdminKey).get(), del, &empty),
      GrpcOk());
  const grpc::Status s = watch.End();
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(s.error_message(), HasSubstr("was deleted"));
}

class LimitedFeedTest : public FeedTest {
 protected:
  LimitedFeedTest()
      : FeedTest([](ServerOptions& o) { o.limits.max_feed_streams = 2; }) {}
};

TEST_F(LimitedFeedTest, StreamsPastTheWorkspacesLimitAreRefused) {
  Segment("de", "DE");
  auto a = std::make_unique<Watch>(server_, key_, After(0));
  Watch b(server_, key_, After(0));
  ASSERT_TRUE(a->Next());
  ASSERT_TRUE(b.Next());
  {
    Watch c(server_, key_, After(0));
    const grpc::Status s = c.End();
    EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
    EXPECT_THAT(s.error_message(), HasSubstr("limit max_feed_streams"));
  }
  // Another workspace has its own.
  const std::string other =
      server_.CreateWorkspace("Other", v1::STARTER).api_key;
  Watch d(server_, other, After(0));
  EXPECT_TRUE(d.Next());
  // A cancelled stream's slot is free again once it is done.
  a->context->TryCancel();
  EXPECT_THAT(a->End(), GrpcIs(grpc::StatusCode::CANCELLED));
  a.reset();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  bool admitted = false;
  while (!admitted && absl::Now() < give_up) {
    Watch e(server_, key_, After(0));
    admitted = e.Next();
    if (!admitted) absl::SleepFor(absl::Milliseconds(20));
    e.context->TryCancel();
  }
  EXPECT_TRUE(admitted);
}

class StallFeedTest : public FeedTest {
 protected:
  StallFeedTest()
      : FeedTest([](ServerOptions& o) {
          o.feed.stall_timeout = absl::Milliseconds(200);
        }) {}
};

TEST_F(StallFeedTest, AStalledConsumerIsEndedWhileWritersKeepGoing) {
  std::vector<uint64_t> segments;
  for (int s = 0; s < 10; ++s) {
    segments.push_back(Segment("s" + std::to_string(s), "DE"));
  }
  // A client whose transport takes 64 KiB at most while it does not read
  // (gRPC's default would grow its window to megabytes).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  args.SetInt("segments.test_channel", 1);  // its own connection
  auto small = grpc::CreateCustomChannel(
      server_.dial_address(), grpc::InsecureChannelCredentials(), args);
  Watch stalled(server_, key_, After(0), absl::Seconds(60), small);
  ASSERT_TRUE(stalled.Next());  // open; then it reads nothing
  // Batches of new contacts entering all ten segments: far more than the
  // transport buffers between the server and a client that does not read.
  // The server ends a stalled stream only when the log moves on after the
  // stall timeout, so the writes go on for 5 timeouts however fast they are
  // (20 batches took under 200 ms on a fast machine, and the stream stayed).
  const absl::Time writing_until = absl::Now() + absl::Seconds(1);
  for (int b = 0; b < 20 || absl::Now() < writing_until; ++b) {
    v1::BatchUpsertContactsRequest request;
    for (int i = 0; i < 1000; ++i) {
      v1::Contact* c = request.add_contacts();
      *c = MakeContact("b" + std::to_string(b) + "-" + std::to_string(i) +
                       "@x.com");
      c->set_country("DE");
    }
    v1::BatchUpsertContactsResponse response;
    ASSERT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key_).get(), request,
                                                       &response),
                GrpcOk())
        << "batch " << b;
    absl::SleepFor(absl::Milliseconds(10));
  }
  // The client reads again: what was buffered, then the end.
  const grpc::Status s = stalled.End();
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(s.error_message(), HasSubstr("fell too far behind"));
  const uint64_t head = Head(segments[0]);
  EXPECT_LT(stalled.last_sequence, head);
  // It resumes where it was, reading at its own pace.
  Watch resumed(server_, key_, After(stalled.last_sequence));
  ASSERT_TRUE(resumed.ReadThrough(head));
  ASSERT_FALSE(resumed.sequences.empty());
  EXPECT_EQ(resumed.sequences.front(), stalled.last_sequence + 1);
  EXPECT_EQ(stalled.sequences.size() + resumed.sequences.size(), head);
}

TEST_F(FeedTest, ShutdownEndsOpenStreamsAtOnce) {
  Segment("de", "DE");
  Watch watch(server_, key_, After(0));
  ASSERT_TRUE(watch.Next());
  const absl::Time start = absl::Now();
  server_.Stop(absl::Seconds(20));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(watch.End(), GrpcIs(grpc::StatusCode::UNAVAILABLE));
}

// The files of the data directory that an open SQLite database in WAL mode
// keeps (closing the last connection checkpoints and removes them).
std::vector<std::string> OpenDatabaseFiles(const std::string& dir) {
  std::vector<std::string> open;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, "-wal") || absl::EndsWith(name, "-shm")) {
      open.push_back(entry.path().string());
    }
  }
  return open;
}

// Each stream holds its workspace and is deleted on a pump thread, just
// after the service forgets it: Shutdown must wait for the deletion before
// it closes the Registry. It did not, and a stream that dropped the last
// hold on its workspace while the Registry closed destroyed the workspace
// after the Registry's scheduler, which that unregisters from (a crash in
// about 1 run of 100).
TEST_F(FeedTest, ShutdownClosesEveryDatabaseBeforeItReturns) {
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::unique_ptr<Watch>> watches;
    for (int w = 0; w < 3; ++w) {
      const std::string key =
          server_
              .CreateWorkspace(absl::StrCat("ws", round, "-", w), v1::STARTER)
              .api_key;
      for (int s = 0; s < 2; ++s) {
        watches.push_back(std::make_unique<Watch>(server_, key, After(0)));
        ASSERT_TRUE(watches.back()->Next());
      }
    }
    ASSERT_THAT(OpenDatabaseFiles(server_.data_dir()),
                ::testing::Not(::testing::IsEmpty()));
    server_.Shutdown(absl::Seconds(5));
    EXPECT_THAT(OpenDatabaseFiles(server_.data_dir()), ::testing::IsEmpty())
        << "round " << round;
    for (auto& watch : watches) {
      EXPECT_THAT(watch->End(), GrpcIs(grpc::StatusCode::UNAVAILABLE));
    }
    server_.Restart();
  }
}

class ManyFeedTest : public FeedTest {
 protected:
  ManyFeedTest()
      : FeedTest([](ServerOptions& o) { o.limits.max_feed_streams = 1000; }) {}
};

TEST_F(ManyFeedTest, AThousandIdleStreamsHoldNoThreadEach) {
  const uint64_t de = Segment("de", "DE");
  const auto channels = SeparateChannels(server_, 10);
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchMembershipChangesResponse>>
        reader;
  };
  std::vector<Open> open;
  int before = 0;
  for (int i = 0; i < 1000; ++i) {
    auto stub = v1::ChangeFeedService::NewStub(channels[i % 10]);
    Open o{Ctx(key_), nullptr};
    o.reader = stub->WatchMembershipChanges(o.context.get(), After(0));
    v1::WatchMembershipChangesResponse r;
    ASSERT_TRUE(o.reader->Read(&r)) << i;
    open.push_back(std::move(o));
    if (i == 99) before = ProcessThreads();
  }
  const int after = ProcessThreads();
  EXPECT_LT(after - before, 40)
      << before << " threads with 100 streams, " << after << " with 1000";
  // All of them still follow: one write reaches each.
  Contact("a@x.com", "DE");
  for (Open& o : open) {
    v1::WatchMembershipChangesResponse r;
    ASSERT_TRUE(o.reader->Read(&r));
    ASSERT_EQ(r.last_sequence(), 1u);
  }
  for (Open& o : open) o.context->TryCancel();
  (void)de;
}

}  // namespace
}  // namespace segments::testing
