#include "transport/http_request.h"

#include <string>

#include <gtest/gtest.h>

namespace classchat::transport {
namespace {

using Status = HttpRequestReader::Status;

Status readAll(HttpRequestReader& reader, std::string_view bytes) {
  reader.append(bytes);
  return reader.next();
}

TEST(HttpRequestReader, ReadsAGetWithHeadersAndQuery) {
  HttpRequestReader reader;
  ASSERT_EQ(readAll(reader, "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  text/plain \r\n\r\n"),
            Status::kComplete);
  const HttpRequest& request = reader.request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/metrics?x=1");
  EXPECT_EQ(request.path, "/metrics");
  EXPECT_EQ(request.minorVersion, 1);
  EXPECT_EQ(request.header("accept"), "text/plain");
  EXPECT_EQ(request.header("HOST"), "a");
  EXPECT_FALSE(request.header("Cookie"));
  EXPECT_TRUE(request.keepAlive);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(HttpRequestReader, WaitsForTheWholeHeadByteByByte) {
  HttpRequestReader reader;
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::size_t i = 0; i + 1 < head.size(); ++i) {
    ASSERT_EQ(readAll(reader, head.substr(i, 1)), Status::kNeedMore) << i;
  }
  ASSERT_EQ(readAll(reader, head.substr(head.size() - 1)), Status::kComplete);
  EXPECT_EQ(reader.request().path, "/healthz");
}

TEST(HttpRequestReader, AcceptsBareLineFeedsAndLeadingEmptyLines) {
  HttpRequestReader reader;
  ASSERT_EQ(readAll(reader, "\r\n\nGET / HTTP/1.0\n\n"), Status::kComplete);
  EXPECT_EQ(reader.request().minorVersion, 0);
  EXPECT_FALSE(reader.request().keepAlive);  // HTTP/1.0 closes unless asked otherwise
}

TEST(HttpRequestReader, PipelinedRequestsComeOutOneAtATime) {
  HttpRequestReader reader;
  reader.append(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\nGET /c");
  ASSERT_EQ(reader.next(), Status::kComplete);
  EXPECT_EQ(reader.request().path, "/a");
  ASSERT_EQ(reader.next(), Status::kComplete);
  EXPECT_EQ(reader.request().path, "/b");
  EXPECT_FALSE(reader.request().keepAlive);
  EXPECT_EQ(reader.next(), Status::kNeedMore);
  EXPECT_EQ(reader.buffered(), 6u);
}

TEST(HttpRequestReader, KeepAliveFollowsVersionAndConnectionTokens) {
  HttpRequestReader a;
  ASSERT_EQ(readAll(a, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), Status::kComplete);
  EXPECT_TRUE(a.request().keepAlive);
  HttpRequestReader b;
  ASSERT_EQ(readAll(b, "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade, close\r\n\r\n"),
            Status::kComplete);
  EXPECT_FALSE(b.request().keepAlive);
}

struct BadRequest {
  const char* bytes;
  int status;
};

class HttpRequestReaderRefuses : public ::testing::TestWithParam<BadRequest> {};

TEST_P(HttpRequestReaderRefuses, WithTheRightStatus) {
  HttpRequestReader reader;
  ASSERT_EQ(readAll(reader, GetParam().bytes), Status::kError) << GetParam().bytes;
  EXPECT_EQ(reader.errorStatus(), GetParam().status) << reader.errorReason();
  EXPECT_FALSE(reader.errorReason().empty());
  // An error is final: nothing more is read.
  reader.append("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reader.next(), Status::kError);
  EXPECT_EQ(reader.buffered(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, HttpRequestReaderRefuses,
    ::testing::Values(BadRequest{"garbage\r\n\r\n", 400}, BadRequest{"GET /\r\n\r\n", 400},
                      BadRequest{"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400},
                      BadRequest{"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
                      BadRequest{"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
                      BadRequest{"GET / FTP/1.1\r\nHost: x\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
                      BadRequest{"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
                      BadRequest{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", 400},
                      BadRequest{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 413},
                      BadRequest{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400},
                      BadRequest{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 501}));

TEST(HttpRequestReader, ALongRequestLineIs414BeforeItEnds) {
  HttpRequestReader reader(HttpLimits{64, 1024, 8});
  EXPECT_EQ(readAll(reader, "GET /" + std::string(100, 'a')), Status::kError);
  EXPECT_EQ(reader.errorStatus(), 414);
}

TEST(HttpRequestReader, ALargeHeadIs431BeforeItEnds) {
  HttpRequestReader reader(HttpLimits{64, 256, 8});
  reader.append("GET / HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(reader.next(), Status::kNeedMore);
  reader.append("X-Big: " + std::string(300, 'b'));
  EXPECT_EQ(reader.next(), Status::kError);
  EXPECT_EQ(reader.errorStatus(), 431);
}

TEST(HttpRequestReader, TooManyHeaderFieldsIs431) {
  HttpRequestReader reader(HttpLimits{64, 4096, 3});
  EXPECT_EQ(readAll(reader, "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Status::kError);
  EXPECT_EQ(reader.errorStatus(), 431);
}

TEST(HttpReasonPhrase, NamesTheStatusesTheServerSends) {
  EXPECT_EQ(httpReasonPhrase(200), "OK");
  EXPECT_EQ(httpReasonPhrase(408), "Request Timeout");
  EXPECT_EQ(httpReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(httpReasonPhrase(503), "Service Unavailable");
}

}  // namespace
}  // namespace classchat::transport
