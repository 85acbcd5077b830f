// TLS: with --tls_cert_file/--tls_key_file the server speaks TLS only.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

// A self-signed certificate for localhost and its key, both PEM.
struct Pem {
  std::string cert;
  std::string key;
};

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Pem SelfSigned() {
  Pem pem;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x509 = X509_new();
  X509_set_version(x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), -60);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
  X509_set_pubkey(x509, key);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x509, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x509, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x509);
  pem.cert = BioString(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  pem.key = BioString(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x509);
  EVP_PKEY_free(key);
  return pem;
}

TEST(TlsTest, ServesOverTlsOnly) {
  Pem pem = SelfSigned();
  ASSERT_FALSE(pem.cert.empty());
  std::string cert_file, key_file;
  TestServer server([&](ServerOptions& o) {
    cert_file = o.data_dir + "/cert.pem";
    key_file = o.data_dir + "/key.pem";
    std::ofstream(cert_file) << pem.cert;
    std::ofstream(key_file) << pem.key;
    o.tls_cert_file = cert_file;
    o.tls_key_file = key_file;
  });
  // The helper's own channel is plaintext: a TLS server refuses it.
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  auto plaintext = Ctx("sk_whatever");
  plaintext->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(2));
  EXPECT_THAT(
      server.segments().ListSegments(plaintext.get(), request, &response),
      GrpcIs(grpc::StatusCode::UNAVAILABLE));

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.cert;
  auto channel =
      grpc::CreateChannel(server.dial_address(), grpc::SslCredentials(ssl));
  auto admin = v1::WorkspaceAdmin::NewStub(channel);
  v1::CreateWorkspaceRequest create;
  create.mutable_workspace()->set_display_name("Secure");
  v1::CreateWorkspaceResponse created;
  ASSERT_THAT(
      admin->CreateWorkspace(Ctx(kTestAdminKey).get(), create, &created),
      GrpcOk());
  auto segments = v1::SegmentService::NewStub(channel);
  EXPECT_THAT(
      segments->ListSegments(Ctx(created.api_key()).get(), request, &response),
      GrpcOk());
}

TEST(TlsTest, CertWithoutKeyIsRefused) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = ::testing::TempDir() + "/tls-half";
  options.tls_cert_file = "/nonexistent/cert.pem";
  absl::StatusOr<std::unique_ptr<SegmentsServer>> server =
      SegmentsServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace segments::testing
