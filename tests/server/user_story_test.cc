// The whole story of a user, through a real channel: an admin creates a
// workspace, the workspace imports contacts, builds a segment, counts and
// lists it, changes a contact so that it leaves, and everything is still there
// after the server restarts on the same data directory.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int kContacts = 250;

// Contact i (0-based, id i+1): German for i % 3 == 0, customer for i even.
bool InGermanCustomers(int i) { return i % 3 == 0 && i % 2 == 0; }

class UserStoryTest : public ::testing::Test {
 protected:
  uint64_t Count(uint64_t segment_id) {
    v1::CountSegmentMembersRequest request;
    request.set_segment_id(segment_id);
    v1::CountSegmentMembersResponse response;
    EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(key_).get(), request,
                                                       &response),
                GrpcOk());
    return response.member_count();
  }

  // Every member id, page by page; checks ascending order across pages.
  std::vector<uint64_t> ListIds(uint64_t segment_id, int page_size,
                                int* pages) {
    std::vector<uint64_t> ids;
    std::string token;
    *pages = 0;
    do {
      v1::ListSegmentMembersRequest request;
      request.set_segment_id(segment_id);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::ListSegmentMembersResponse response;
      EXPECT_THAT(server_.segments().ListSegmentMembers(Ctx(key_).get(),
                                                        request, &response),
                  GrpcOk());
      EXPECT_LE(response.contact_ids_size(), page_size);
      EXPECT_THAT(response.contacts(), IsEmpty());
      ids.insert(ids.end(), response.contact_ids().begin(),
                 response.contact_ids().end());
      token = response.next_page_token();
      ++*pages;
      if (*pages > 1000) break;  // A token that never ends is a failure.
    } while (!token.empty());
    return ids;
  }

  std::vector<v1::Contact> ListFull(uint64_t segment_id, int page_size) {
    std::vector<v1::Contact> contacts;
    std::string token;
    int pages = 0;
    do {
      v1::ListSegmentMembersRequest request;
      request.set_segment_id(segment_id);
      request.set_page_size(page_size);
      request.set_page_token(token);
      request.set_view(v1::FULL);
      v1::ListSegmentMembersResponse response;
      EXPECT_THAT(server_.segments().ListSegmentMembers(Ctx(key_).get(),
                                                        request, &response),
                  GrpcOk());
      EXPECT_THAT(response.contact_ids(), IsEmpty());
      contacts.insert(contacts.end(), response.contacts().begin(),
                      response.contacts().end());
      token = response.next_page_token();
    } while (!token.empty() && ++pages < 1000);
    return contacts;
  }

  TestServer server_;
  std::string key_;
};

TEST_F(UserStoryTest, ImportSegmentCountListUpdateRestart) {
  // An admin creates the workspace and hands out its key.
  TestServer::CreatedWorkspace ws =
      server_.CreateWorkspace("Acme", v1::STARTER);
  ASSERT_THAT(ws.api_key, Not(IsEmpty()));
  EXPECT_EQ(ws.api_key.rfind("sk_", 0), 0u);
  EXPECT_EQ(ws.workspace.plan(), v1::STARTER);
  EXPECT_EQ(ws.workspace.display_name(), "Acme");
  key_ = ws.api_key;

  // Batch import, with historical created_at.
  v1::BatchUpsertContactsRequest import;
  std::vector<uint64_t> expected;
  for (int i = 0; i < kContacts; ++i) {
    v1::Contact* c = import.add_contacts();
    *c = MakeContact(absl::StrCat("Person", i, "@Example.com "),
                     i % 3 == 0 ? "Germany" : "France",
                     i % 2 == 0 ? v1::CUSTOMER : v1::LEAD);
    c->add_tags(i % 5 == 0 ? "Newsletter" : "webinar");
    c->mutable_created_at()->set_seconds(1600000000 + i);
    if (InGermanCustomers(i)) expected.push_back(static_cast<uint64_t>(i) + 1);
  }
  v1::BatchUpsertContactsResponse imported;
  ASSERT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key_).get(), import,
                                                     &imported),
              GrpcOk());
  EXPECT_EQ(imported.created_count(), static_cast<uint32_t>(kContacts));
  EXPECT_EQ(imported.updated_count(), 0u);
  ASSERT_EQ(imported.contacts_size(), kContacts);
  for (int i = 0; i < kContacts; ++i) {
    EXPECT_EQ(imported.contacts(i).id(), static_cast<uint64_t>(i) + 1);
    EXPECT_EQ(imported.contacts(i).email(),
              absl::StrCat("person", i, "@example.com"));
    EXPECT_EQ(imported.contacts(i).created_at().seconds(), 1600000000 + i);
  }

  // A segment: German customers (values in any case).
  v1::CreateSegmentRequest create;
  *create.mutable_segment() =
      MakeSegment("German customers",
                  {MakeCondition("country", v1::Condition::EQUALS,
                                 {StringValue("germany")}),
                   MakeCondition("lifecycle_stage", v1::Condition::EQUALS,
                                 {StringValue("customer")})});
  v1::Segment segment;
  ASSERT_THAT(
      server_.segments().CreateSegment(Ctx(key_).get(), create, &segment),
      GrpcOk());
  EXPECT_GT(segment.id(), 0u);
  EXPECT_EQ(segment.kind(), v1::STANDARD);
  EXPECT_EQ(segment.state(), v1::ACTIVE);
  EXPECT_EQ(segment.member_count(), expected.size());
  ASSERT_EQ(segment.filter().conditions_size(), 2);
  EXPECT_EQ(segment.filter().conditions(0).field(), "country");

  EXPECT_EQ(Count(segment.id()), expected.size());

  // Ids, in pages of 7: every member exactly once, ascending.
  int pages = 0;
  std::vector<uint64_t> ids = ListIds(segment.id(), 7, &pages);
  EXPECT_THAT(ids, ElementsAreArray(expected));
  EXPECT_EQ(pages, static_cast<int>((expected.size() + 6) / 7));

  // Full contacts, in pages of 10.
  std::vector<v1::Contact> full = ListFull(segment.id(), 10);
  ASSERT_EQ(full.size(), expected.size());
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(full[i].id(), expected[i]);
    EXPECT_EQ(full[i].country(), "Germany");
    EXPECT_EQ(full[i].lifecycle_stage(), v1::CUSTOMER);
  }

  // A member moves to Spain: it leaves at once (read-your-writes).
  const uint64_t mover = expected[3];
  v1::UpdateContactRequest update;
  update.mutable_contact()->set_id(mover);
  update.mutable_contact()->set_country("Spain");
  update.mutable_update_mask()->add_paths("country");
  v1::Contact updated;
  ASSERT_THAT(
      server_.contacts().UpdateContact(Ctx(key_).get(), update, &updated),
      GrpcOk());
  EXPECT_EQ(updated.country(), "Spain");
  EXPECT_EQ(updated.lifecycle_stage(), v1::CUSTOMER);  // not in the mask: kept
  EXPECT_EQ(updated.created_at().seconds(),
            1600000000 + static_cast<int64_t>(mover) - 1);
  expected.erase(expected.begin() + 3);
  EXPECT_EQ(Count(segment.id()), expected.size());
  EXPECT_THAT(ListIds(segment.id(), 1000, &pages), ElementsAreArray(expected));

  // The server restarts on the same data directory: nothing is lost.
  server_.Restart();
  EXPECT_EQ(Count(segment.id()), expected.size());
  EXPECT_THAT(ListIds(segment.id(), 9, &pages), ElementsAreArray(expected));
  v1::GetContactRequest get;
  get.set_id(mover);
  v1::Contact after_restart;
  ASSERT_THAT(
      server_.contacts().GetContact(Ctx(key_).get(), get, &after_restart),
      GrpcOk());
  EXPECT_EQ(after_restart.country(), "Spain");
  v1::GetSegmentRequest get_segment;
  get_segment.set_id(segment.id());
  v1::Segment segment_after;
  ASSERT_THAT(server_.segments().GetSegment(Ctx(key_).get(), get_segment,
                                            &segment_after),
              GrpcOk());
  EXPECT_EQ(segment_after.display_name(), "German customers");
  EXPECT_EQ(segment_after.member_count(), expected.size());

  // Ids keep counting after the restart; a new German customer enters.
  v1::CreateContactRequest create_contact;
  *create_contact.mutable_contact() =
      MakeContact("new@example.com", "GERMANY", v1::CUSTOMER);
  v1::Contact created;
  ASSERT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), create_contact,
                                               &created),
              GrpcOk());
  EXPECT_EQ(created.id(), static_cast<uint64_t>(kContacts) + 1);
  EXPECT_EQ(Count(segment.id()), expected.size() + 1);

  // Deleting it makes it leave again.
  v1::DeleteContactRequest del;
  del.set_id(created.id());
  google::protobuf::Empty empty;
  ASSERT_THAT(server_.contacts().DeleteContact(Ctx(key_).get(), del, &empty),
              GrpcOk());
  EXPECT_EQ(Count(segment.id()), expected.size());
  get.set_id(created.id());
  EXPECT_THAT(
      server_.contacts().GetContact(Ctx(key_).get(), get, &after_restart),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(UserStoryTest, MemberThatStaysIsListedOnceWhileOthersChange) {
  key_ = server_.CreateWorkspace("Paging", v1::STARTER).api_key;
  v1::BatchUpsertContactsRequest import;
  for (int i = 0; i < 40; ++i) {
    v1::Contact* c = import.add_contacts();
    c->set_email(absl::StrCat("p", i, "@example.com"));
    c->add_tags("vip");
  }
  v1::BatchUpsertContactsResponse imported;
  ASSERT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key_).get(), import,
                                                     &imported),
              GrpcOk());
  v1::CreateSegmentRequest create;
  *create.mutable_segment() = MakeSegment(
      "VIPs",
      {MakeCondition("tags", v1::Condition::HAS_ANY, {StringValue("VIP")})});
  v1::Segment segment;
  ASSERT_THAT(
      server_.segments().CreateSegment(Ctx(key_).get(), create, &segment),
      GrpcOk());
  ASSERT_EQ(segment.member_count(), 40u);

  // Page 1, then contacts 1 and 30 leave and a new one (id 41) enters.
  v1::ListSegmentMembersRequest request;
  request.set_segment_id(segment.id());
  request.set_page_size(10);
  v1::ListSegmentMembersResponse page;
  ASSERT_THAT(
      server_.segments().ListSegmentMembers(Ctx(key_).get(), request, &page),
      GrpcOk());
  std::vector<uint64_t> seen(page.contact_ids().begin(),
                             page.contact_ids().end());
  for (uint64_t id : {1u, 30u}) {
    v1::UpdateContactRequest update;
    update.mutable_contact()->set_id(id);
    update.mutable_update_mask()->add_paths("tags");
    v1::Contact out;
    ASSERT_THAT(server_.contacts().UpdateContact(Ctx(key_).get(), update, &out),
                GrpcOk());
  }
  v1::CreateContactRequest add;
  *add.mutable_contact() = MakeContact("late@example.com");
  add.mutable_contact()->add_tags("vip");
  v1::Contact late;
  ASSERT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), add, &late),
              GrpcOk());

  while (!page.next_page_token().empty()) {
    request.set_page_token(page.next_page_token());
    page.Clear();
    ASSERT_THAT(
        server_.segments().ListSegmentMembers(Ctx(key_).get(), request, &page),
        GrpcOk());
    seen.insert(seen.end(), page.contact_ids().begin(),
                page.contact_ids().end());
  }
  std::set<uint64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a member was listed twice";
  for (uint64_t id = 2; id <= 40; ++id) {
    if (id == 30) continue;
    EXPECT_TRUE(unique.count(id)) << "member " << id << " missing";
  }
  EXPECT_FALSE(unique.count(30)) << "left before its page was read";
  EXPECT_TRUE(unique.count(late.id())) << "entered before its page was read";
}

}  // namespace
}  // namespace segments::testing
