// A crash loop (issue 11): the real server binary in a child process
// (server_process.h) takes concurrent single writes (CreateContact,
// UpdateContact, DeleteContact) and batches (BatchUpsertContacts of 300)
// from several clients, and is killed with SIGKILL at a random moment, again
// and again, each time restarted on the same data directory. After every
// restart:
//   - every acknowledged write is there, field for field (the last
//     acknowledged state of each contact, unless its client's write in
//     flight at the kill may have landed: then either state);
//   - a batch in flight is all or nothing (each batch marks its contacts
//     with its own `source`);
//   - no contact exists that no client wrote;
//   - every segment's members (ListSegmentMembers) equal a recompute by the
//     brute-force evaluator (tests/testing/brute_force.h) over all contacts,
//     and CountSegmentMembers agrees;
//   - no segment's as_of_sequence is below one a client has seen before;
//   - no acknowledged new contact ever got an id seen before.
// Each client owns its emails, so a contact has at most one write in flight.
//
// Every contact is listed through an "everyone" segment (view FULL): there
// is no contact listing; GetContact checks a sample of ids against it.
// Rules use fixed values and timestamps only (no relative date rules).
//
// Parameters (environment): SEGMENTS_CRASH_KILLS (default 20),
// SEGMENTS_CRASH_SEED (default 11; the seed is printed), and
// SEGMENTS_CRASH_MAX_DELAY_MS, the longest run between kills (default 400;
// each run lasts a uniform 20 ms..max).
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "tests/server/server_process.h"
#include "tests/server/test_server.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/temp_dir.h"

namespace segments::testing {
namespace {

using ::google::protobuf::util::MessageDifferencer;

constexpr UnixSeconds kT0 = 1'700'000'000;
constexpr int kSingleClients = 2;
constexpr int kSingleEmails = 100;  // per single-write client
constexpr int kBatchClients = 2;
constexpr int kBatchEmails = 600;  // per batch client
constexpr int kBatchSize = 300;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// ------------------------------------------------------------ the model

// One email, as its client knows it.
struct Entry {
  std::string email;
  std::optional<v1::Contact> acked;  // last acknowledged state; none: absent
  // A write whose reply never came, and the state it asked for (none: a
  // delete); its id is 0 for a create.
  bool pending = false;
  std::optional<v1::Contact> pending_state;
  uint64_t pending_batch = 0;  // 0: a single write
};

// The contact `email` should be after a write that replaces every field.
v1::Contact RandomState(std::mt19937_64& rng, const std::string& email,
                        const std::string& source) {
  static const char* const kCountries[] = {"de", "fr", "us", "br", ""};
  static const char* const kCities[] = {"berlin", "paris", "lima", ""};
  static const char* const kTags[] = {"a", "b", "vip", "x"};
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  v1::Contact c;
  c.set_email(email);
  c.set_country(kCountries[pick(5)]);
  c.set_city(kCities[pick(4)]);
  if (pick(3) != 0) c.set_company(absl::StrCat("co", pick(5)));
  c.set_source(source);
  for (const char* tag : kTags) {  // sorted, as the service stores them
    if (pick(3) == 0) c.add_tags(tag);
  }
  c.set_lifecycle_stage(static_cast<v1::LifecycleStage>(1 + pick(5)));
  c.set_lead_score(pick(100));
  c.set_engagement_score(pick(101));
  c.set_engagement_trend(static_cast<v1::EngagementTrend>(pick(4)));
  c.set_conversion_likelihood(static_cast<v1::ConversionLikelihood>(pick(5)));
  c.mutable_created_at()->set_seconds(kT0 - pick(1000) * 3600);
  if (pick(2) == 0) c.mutable_last_engaged_at()->set_seconds(kT0 - pick(500));
  return c;
}

bool SameContact(const v1::Contact& a, const v1::Contact& b,
                 bool compare_id = true) {
  v1::Contact x = a, y = b;
  if (!compare_id) x.set_id(0), y.set_id(0);
  return MessageDifferencer::Equals(x, y);
}

std::string Show(const std::optional<v1::Contact>& c) {
  return c.has_value() ? c->ShortDebugString() : "(absent)";
}

// The core's Contact for the brute force.
Contact CoreContact(const v1::Contact& proto) {
  Violations violations;
  ContactDraft draft = ContactDraftFromProto(proto, "contact", &violations);
  Contact c = ReferenceApplyDraft(draft, {}, nullptr, 0);
  c.id = proto.id();
  return c;
}

// A gRPC error that a killed server explains.
bool IsKillError(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::CANCELLED ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::INTERNAL ||
         s.error_code() == grpc::StatusCode::UNKNOWN;
}

std::vector<v1::Segment> TestSegments() {
  using C = v1::Condition;
  v1::Value before;
  before.mutable_timestamp_value()->set_seconds(kT0 - 500 * 3600);
  std::vector<v1::Segment> s;
  s.push_back(MakeSegment(
      "everyone", {MakeCondition("email", C::CONTAINS, {StringValue("@")})}));
  s.push_back(MakeSegment(
      "germany", {MakeCondition("country", C::EQUALS, {StringValue("DE")})}));
  s.push_back(MakeSegment(
      "vip mql+", {MakeCondition("tags", C::HAS_ANY, {StringValue("vip")}),
                   MakeCondition("lifecycle_stage", C::GREATER_OR_EQUAL,
                                 {StringValue("MQL")})}));
  s.push_back(MakeSegment("mid score",
                          {MakeCondition("lead_score", C::BETWEEN,
                                         {NumberValue(20), NumberValue(60)})}));
  s.push_back(MakeSegment(
      "engaged or likely",
      {MakeCondition("engagement_score", C::GREATER_THAN, {NumberValue(80)}),
       MakeCondition("conversion_likelihood", C::GREATER_OR_EQUAL,
                     {StringValue("LIKELY")})},
      v1::Filter::ANY));
  s.push_back(
      MakeSegment("old", {MakeCondition("created_at", C::BEFORE, {before})}));
  s.push_back(
      MakeSegment("no company, not lima",
                  {MakeCondition("company", C::IS_NOT_SET, {}),
                   MakeCondition("city", C::NOT_IN, {StringValue("lima")})}));
  s.push_back(MakeSegment(
      "rising or engaged",
      {MakeCondition("engagement_trend", C::EQUALS, {StringValue("RISING")}),
       MakeCondition("last_engaged_at", C::IS_SET, {})},
      v1::Filter::ANY));
  return s;
}

// ------------------------------------------------------------ the test

class CrashLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(EnvInt("SEGMENTS_CRASH_SEED", 11));
    kills_ = EnvInt("SEGMENTS_CRASH_KILLS", 20);
    max_delay_ms_ = EnvInt("SEGMENTS_CRASH_MAX_DELAY_MS", 400);
    std::printf("crash loop: seed %llu, %d kills, runs of 20..%d ms\n",
                static_cast<unsigned long long>(seed_), kills_, max_delay_ms_);
    rng_.seed(seed_);
    ASSERT_FALSE(dir_.path().empty());
    data_dir_ = dir_.path() + "/data";
    key_file_ = dir_.path() + "/admin_key";
    std::ofstream(key_file_) << kTestAdminKey << "\n";
    for (int t = 0; t < kSingleClients; ++t) {
      singles_.emplace_back();
      for (int k = 0; k < kSingleEmails; ++k) {
        {
          Entry e;
          e.email = absl::StrCat("s", t, "-", k, "@crash.example");
          singles_[t].push_back(std::move(e));
        }
      }
    }
    for (int t = 0; t < kBatchClients; ++t) {
      batches_.emplace_back();
      for (int k = 0; k < kBatchEmails; ++k) {
        {
          Entry e;
          e.email = absl::StrCat("b", t, "-", k, "@crash.example");
          batches_[t].push_back(std::move(e));
        }
      }
    }
  }

  void Start() {
    ServerProcess::Options options;
    options.data_dir = data_dir_;
    options.flags = {"--admin_key_file=" + key_file_};
    server_ = std::make_unique<ServerProcess>(options);
    ASSERT_TRUE(server_->listening()) << server_->Stderr();
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    contacts_ = v1::ContactService::NewStub(channel_);
    segments_ = v1::SegmentService::NewStub(channel_);
  }

  void Kill() {
    server_->Signal(SIGKILL);
    std::optional<int> status = server_->WaitForExit(absl::Seconds(20));
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << "the server exited before the kill: " << *status << "\n"
        << server_->Stderr();
  }

  // A client of single writes on its own emails, until an error.
  void SingleClient(int t, uint64_t seed, std::vector<uint64_t>* new_ids) {
    std::mt19937_64 rng(seed);
    auto stub = v1::ContactService::NewStub(channel_);
    std::vector<Entry>& pool = singles_[t];
    while (!stop_.load()) {
      Entry& e = pool[rng() % pool.size()];
      const std::string source = absl::StrCat("single", ++write_seq_);
      e.pending = true;
      e.pending_batch = 0;
      grpc::Status status;
      if (!e.acked.has_value()) {
        v1::CreateContactRequest request;
        *request.mutable_contact() = RandomState(rng, e.email, source);
        e.pending_state = request.contact();
        v1::Contact reply;
        status = stub->CreateContact(Ctx(key_).get(), request, &reply);
        if (status.ok()) {
          EXPECT_TRUE(SameContact(reply, request.contact(), false))
              << reply.ShortDebugString();
          new_ids->push_back(reply.id());
          e.acked = reply;
        }
      } else if (rng() % 5 == 0) {
        v1::DeleteContactRequest request;
        request.set_id(e.acked->id());
        e.pending_state.reset();
        google::protobuf::Empty reply;
        status = stub->DeleteContact(Ctx(key_).get(), request, &reply);
        if (status.ok()) e.acked.reset();
      } else {
        v1::UpdateContactRequest request;
        *request.mutable_contact() = RandomState(rng, e.email, source);
        request.mutable_contact()->set_id(e.acked->id());
        e.pending_state = request.contact();
        v1::Contact reply;
        status = stub->UpdateContact(Ctx(key_).get(), request, &reply);
        if (status.ok()) {
          EXPECT_TRUE(SameContact(reply, request.contact()))
              << reply.ShortDebugString();
          e.acked = reply;
        }
      }
      if (!status.ok()) {
        EXPECT_TRUE(IsKillError(status))
            << e.email << ": " << status.error_code() << " "
            << status.error_message();
        return;  // e stays pending
      }
      e.pending = false;
      ++acked_writes_;
    }
  }

  // A client of batches of kBatchSize of its own emails, until an error.
  void BatchClient(int t, uint64_t seed, std::vector<uint64_t>* new_ids) {
    std::mt19937_64 rng(seed);
    auto stub = v1::ContactService::NewStub(channel_);
    std::vector<Entry>& pool = batches_[t];
    while (!stop_.load()) {
      const uint64_t batch = ++write_seq_;
      const std::string source = absl::StrCat("batch", batch);
      std::vector<int> chosen(pool.size());
      for (size_t i = 0; i < chosen.size(); ++i)
        chosen[i] = static_cast<int>(i);
      std::shuffle(chosen.begin(), chosen.end(), rng);
      chosen.resize(kBatchSize);
      v1::BatchUpsertContactsRequest request;
      for (int k : chosen) {
        Entry& e = pool[k];
        v1::Contact state = RandomState(rng, e.email, source);
        *request.add_contacts() = state;  // matched by email
        if (e.acked.has_value()) state.set_id(e.acked->id());
        e.pending = true;
        e.pending_batch = batch;
        e.pending_state = state;
      }
      v1::BatchUpsertContactsResponse reply;
      grpc::Status status =
          stub->BatchUpsertContacts(Ctx(key_).get(), request, &reply);
      if (!status.ok()) {
        EXPECT_TRUE(IsKillError(status))
            << status.error_code() << " " << status.error_message();
        return;
      }
      ++acked_batches_;
      EXPECT_EQ(reply.contacts_size(), kBatchSize);
      for (int i = 0; i < reply.contacts_size() && i < kBatchSize; ++i) {
        Entry& e = pool[chosen[i]];
        const v1::Contact& got = reply.contacts(i);
        EXPECT_TRUE(SameContact(got, *e.pending_state, e.acked.has_value()))
            << got.ShortDebugString() << " vs "
            << e.pending_state->ShortDebugString();
        if (!e.acked.has_value()) new_ids->push_back(got.id());
        e.acked = got;
        e.pending = false;
        e.pending_batch = 0;
      }
    }
  }

  // Reads counts while the writers write: the highest as_of seen.
  void Reader(uint64_t seed, std::map<uint64_t, uint64_t>* max_as_of) {
    std::mt19937_64 rng(seed);
    auto stub = v1::SegmentService::NewStub(channel_);
    while (!stop_.load()) {
      const uint64_t id = segment_ids_[rng() % segment_ids_.size()];
      v1::CountSegmentMembersRequest request;
      request.set_segment_id(id);
      v1::CountSegmentMembersResponse reply;
      if (!stub->CountSegmentMembers(Ctx(key_).get(), request, &reply).ok()) {
        return;
      }
      uint64_t& m = (*max_as_of)[id];
      m = std::max(m, reply.as_of_sequence());
      absl::SleepFor(absl::Milliseconds(2));
    }
  }

  // Every contact, through the "everyone" segment.
  std::vector<v1::Contact> AllContacts() {
    std::vector<v1::Contact> all;
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment_ids_[0]);
    request.set_page_size(1000);
    request.set_view(v1::FULL);
    while (true) {
      v1::ListSegmentMembersResponse reply;
      grpc::Status status =
          segments_->ListSegmentMembers(Ctx(key_).get(), request, &reply);
      EXPECT_THAT(status, GrpcOk());
      if (!status.ok()) break;
      for (const v1::Contact& c : reply.contacts()) all.push_back(c);
      if (reply.next_page_token().empty()) break;
      request.set_page_token(reply.next_page_token());
    }
    return all;
  }

  std::set<uint64_t> MemberIds(uint64_t segment) {
    std::set<uint64_t> ids;
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment);
    request.set_page_size(1000);
    while (true) {
      v1::ListSegmentMembersResponse reply;
      grpc::Status status =
          segments_->ListSegmentMembers(Ctx(key_).get(), request, &reply);
      EXPECT_THAT(status, GrpcOk());
      if (!status.ok()) break;
      for (uint64_t id : reply.contact_ids()) ids.insert(id);
      if (reply.next_page_token().empty()) break;
      request.set_page_token(reply.next_page_token());
    }
    return ids;
  }

  // After a restart: checks everything (see the header) and makes what the
  // server has the clients' acknowledged state.
  void Verify(int round, const std::vector<uint64_t>& new_ids) {
    SCOPED_TRACE(absl::StrCat("after kill ", round));
    // Ids handed out since the last check are new.
    std::set<uint64_t> fresh;
    for (uint64_t id : new_ids) {
      EXPECT_EQ(ids_seen_.count(id), 0u) << "id reused: " << id;
      EXPECT_TRUE(fresh.insert(id).second) << "id given twice: " << id;
    }
    const std::vector<v1::Contact> all = AllContacts();
    std::map<std::string, const v1::Contact*> by_email;
    uint64_t last_id = 0;
    for (const v1::Contact& c : all) {
      EXPECT_GT(c.id(), last_id);
      last_id = c.id();
      EXPECT_TRUE(by_email.emplace(c.email(), &c).second) << c.email();
    }
    // Each client's emails.
    std::map<uint64_t, std::pair<int, int>> batches;  // applied, total
    size_t known = 0;
    auto check = [&](Entry& e) {
      auto it = by_email.find(e.email);
      std::optional<v1::Contact> got;
      if (it != by_email.end()) {
        got = *it->second;
        ++known;
      }
      auto same = [&](const std::optional<v1::Contact>& want, bool compare_id) {
        if (!want.has_value() || !got.has_value()) {
          return want.has_value() == got.has_value();
        }
        return SameContact(*want, *got, compare_id);
      };
      const bool as_acked = same(e.acked, true);
      if (!e.pending) {
        EXPECT_TRUE(as_acked) << e.email << ": acknowledged " << Show(e.acked)
                              << "\n  found " << Show(got);
      } else {
        // A create's id is unknown until it shows up.
        const bool as_pending = same(e.pending_state, e.acked.has_value());
        EXPECT_TRUE(as_acked || as_pending)
            << e.email << ": acknowledged " << Show(e.acked) << "\n  in flight "
            << Show(e.pending_state) << "\n  found " << Show(got);
        if (as_pending && !e.acked.has_value() && got.has_value()) {
          EXPECT_EQ(ids_seen_.count(got->id()), 0u)
              << "id reused: " << got->id();
        }
        if (e.pending_batch != 0) {
          std::pair<int, int>& b = batches[e.pending_batch];
          b.first += as_pending && !as_acked ? 1 : 0;
          b.second += 1;
        }
        if (as_pending && !as_acked) ++landed_in_flight_;
        ++in_flight_;
      }
      e.acked = got;
      e.pending = false;
      e.pending_batch = 0;
      e.pending_state.reset();
    };
    for (auto& pool : singles_) {
      for (Entry& e : pool) check(e);
    }
    for (auto& pool : batches_) {
      for (Entry& e : pool) check(e);
    }
    EXPECT_EQ(known, all.size()) << "contacts that no client wrote";
    for (const auto& [batch, counts] : batches) {
      EXPECT_TRUE(counts.first == 0 || counts.first == counts.second)
          << "batch " << batch << " half applied: " << counts.first << " of "
          << counts.second;
      ++(counts.first == 0 ? batches_lost_ : batches_landed_);
    }
    for (const v1::Contact& c : all) ids_seen_.insert(c.id());
    for (uint64_t id : fresh) ids_seen_.insert(id);

    // GetContact agrees with the listing on a sample of ids.
    std::map<uint64_t, const v1::Contact*> by_id;
    for (const v1::Contact& c : all) by_id[c.id()] = &c;
    const uint64_t top = ids_seen_.empty() ? 1 : *ids_seen_.rbegin() + 5;
    for (int i = 0; i < 100; ++i) {
      v1::GetContactRequest request;
      request.set_id(1 + rng_() % top);
      v1::Contact reply;
      grpc::Status status =
          contacts_->GetContact(Ctx(key_).get(), request, &reply);
      auto it = by_id.find(request.id());
      if (it == by_id.end()) {
        EXPECT_THAT(status, GrpcIs(grpc::StatusCode::NOT_FOUND))
            << request.id();
      } else {
        EXPECT_THAT(status, GrpcOk());
        EXPECT_TRUE(SameContact(reply, *it->second)) << request.id();
      }
    }

    // Every segment equals a recompute; as_of never goes back.
    std::vector<Contact> core;
    for (const v1::Contact& c : all) core.push_back(CoreContact(c));
    const UnixSeconds now = absl::ToUnixSeconds(absl::Now());
    for (size_t s = 0; s < segment_ids_.size(); ++s) {
      const uint64_t id = segment_ids_[s];
      v1::GetSegmentRequest get;
      get.set_id(id);
      v1::Segment segment;
      ASSERT_THAT(segments_->GetSegment(Ctx(key_).get(), get, &segment),
                  GrpcOk());
      Violations violations;
      const FilterSpec spec =
          FilterSpecFromProto(segment.filter(), "filter", &violations);
      std::set<uint64_t> want;
      for (const Contact& c : core) {
        if (BruteForceMatches(spec, c, now)) want.insert(c.id);
      }
      const std::set<uint64_t> got = MemberIds(id);
      EXPECT_TRUE(want == got)
          << segment.display_name() << ": recompute " << want.size()
          << " members, listed " << got.size();
      v1::CountSegmentMembersRequest count;
      count.set_segment_id(id);
      v1::CountSegmentMembersResponse counted;
      ASSERT_THAT(
          segments_->CountSegmentMembers(Ctx(key_).get(), count, &counted),
          GrpcOk());
      EXPECT_EQ(counted.member_count(), got.size()) << segment.display_name();
      uint64_t& max = max_as_of_[id];
      EXPECT_GE(counted.as_of_sequence(), max)
          << segment.display_name() << ": as_of_sequence went back";
      max = std::max(max, counted.as_of_sequence());
    }
  }

  uint64_t seed_ = 0;
  int kills_ = 0;
  int max_delay_ms_ = 0;
  std::mt19937_64 rng_;
  TempDir dir_{"crash_loop"};
  std::string data_dir_, key_file_, key_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContactService::Stub> contacts_;
  std::unique_ptr<v1::SegmentService::Stub> segments_;
  std::vector<uint64_t> segment_ids_;  // [0]: everyone

  // Each client's emails: written by that client's thread only while it
  // runs, by Verify between runs.
  std::vector<std::vector<Entry>> singles_, batches_;
  std::atomic<bool> stop_{false};
  // Numbers every write, for its `source`.
  std::atomic<uint64_t> write_seq_{0};
  std::atomic<int64_t> acked_writes_{0}, acked_batches_{0};

  std::set<uint64_t> ids_seen_;
  std::map<uint64_t, uint64_t> max_as_of_;
  int64_t in_flight_ = 0, landed_in_flight_ = 0;
  int64_t batches_lost_ = 0, batches_landed_ = 0;
};

TEST_F(CrashLoop, AcknowledgedWritesSurviveKill9) {
  const absl::Time start = absl::Now();
  Start();
  ASSERT_FALSE(HasFatalFailure());
  {
    auto admin = v1::WorkspaceAdmin::NewStub(channel_);
    v1::CreateWorkspaceRequest request;
    request.mutable_workspace()->set_display_name("crash");
    request.mutable_workspace()->set_plan(v1::PRO);
    v1::CreateWorkspaceResponse reply;
    ASSERT_THAT(
        admin->CreateWorkspace(Ctx(kTestAdminKey).get(), request, &reply),
        GrpcOk());
    key_ = reply.api_key();
    for (const v1::Segment& s : TestSegments()) {
      v1::CreateSegmentRequest create;
      *create.mutable_segment() = s;
      v1::Segment created;
      ASSERT_THAT(segments_->CreateSegment(Ctx(key_).get(), create, &created),
                  GrpcOk())
          << s.display_name();
      segment_ids_.push_back(created.id());
    }
  }
  for (int round = 1; round <= kills_; ++round) {
    stop_ = false;
    std::vector<std::vector<uint64_t>> new_ids(kSingleClients + kBatchClients);
    std::map<uint64_t, uint64_t> seen_as_of;
    std::vector<std::thread> clients;
    for (int t = 0; t < kSingleClients; ++t) {
      const uint64_t seed = rng_();
      clients.emplace_back(
          [this, t, seed, &new_ids] { SingleClient(t, seed, &new_ids[t]); });
    }
    for (int t = 0; t < kBatchClients; ++t) {
      const uint64_t seed = rng_();
      clients.emplace_back([this, t, seed, &new_ids] {
        BatchClient(t, seed, &new_ids[kSingleClients + t]);
      });
    }
    const uint64_t reader_seed = rng_();
    clients.emplace_back(
        [this, reader_seed, &seen_as_of] { Reader(reader_seed, &seen_as_of); });
    absl::SleepFor(
        absl::Milliseconds(20 + static_cast<int>(rng_() % max_delay_ms_)));
    Kill();
    stop_ = true;
    for (std::thread& t : clients) t.join();
    for (const auto& [id, as_of] : seen_as_of) {
      max_as_of_[id] = std::max(max_as_of_[id], as_of);
    }
    ASSERT_FALSE(HasFatalFailure());
    Start();
    ASSERT_FALSE(HasFatalFailure());
    std::vector<uint64_t> all_new;
    for (const auto& ids : new_ids) {
      all_new.insert(all_new.end(), ids.begin(), ids.end());
    }
    Verify(round, all_new);
    if (HasFailure()) break;
  }
  std::printf(
      "crash loop: %d kills, %lld single writes and %lld batches "
      "acknowledged; %lld contacts written while killed (%lld landed), "
      "batches in flight: %lld lost, %lld landed; %zu ids; %.1f s\n",
      kills_, static_cast<long long>(acked_writes_.load()),
      static_cast<long long>(acked_batches_.load()),
      static_cast<long long>(in_flight_),
      static_cast<long long>(landed_in_flight_),
      static_cast<long long>(batches_lost_),
      static_cast<long long>(batches_landed_), ids_seen_.size(),
      absl::ToDoubleSeconds(absl::Now() - start));
}

}  // namespace
}  // namespace segments::testing
