#include "net/inet_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/fd.h"

namespace classchat::net {
namespace {

TEST(InetAddress, ParsesIpv4) {
  const auto address = InetAddress::parse("127.0.0.1", 8080);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET);
  EXPECT_EQ(address->port(), 8080);
  EXPECT_EQ(address->ip(), "127.0.0.1");
  EXPECT_EQ(address->toString(), "127.0.0.1:8080");
  EXPECT_EQ(address->length(), sizeof(sockaddr_in));
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(address->get());
  EXPECT_EQ(ntohs(v4->sin_port), 8080);
  EXPECT_EQ(ntohl(v4->sin_addr.s_addr), 0x7F000001u);
}

TEST(InetAddress, ParsesTheWildcardsAndPortExtremes) {
  const auto any4 = InetAddress::parse("0.0.0.0", 65432);
  ASSERT_TRUE(any4);
  EXPECT_EQ(any4->toString(), "0.0.0.0:65432");
  const auto any6 = InetAddress::parse("::", 0);
  ASSERT_TRUE(any6);
  EXPECT_EQ(any6->family(), AF_INET6);
  EXPECT_EQ(any6->toString(), "[::]:0");
  const auto high = InetAddress::parse("10.0.0.1", 65535);
  ASSERT_TRUE(high);
  EXPECT_EQ(high->port(), 65535);
}

TEST(InetAddress, ParsesIpv6AndBracketsItInToString) {
  const auto address = InetAddress::parse("::1", 65432);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET6);
  EXPECT_EQ(address->port(), 65432);
  EXPECT_EQ(address->ip(), "::1");
  EXPECT_EQ(address->toString(), "[::1]:65432");
  EXPECT_EQ(address->length(), sizeof(sockaddr_in6));

  const auto full = InetAddress::parse("2001:DB8:0:0:0:0:0:42", 1);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->ip(), "2001:db8::42");  // printed in canonical form
  EXPECT_EQ(full->toString(), "[2001:db8::42]:1");
}

TEST(InetAddress, Ipv4MappedIpv6PrintsAsADottedQuad) {
  const auto address = InetAddress::parse("::ffff:10.1.2.3", 4000);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET6);
  EXPECT_EQ(address->ip(), "10.1.2.3");
  EXPECT_EQ(address->toString(), "10.1.2.3:4000");
  // Not every IPv6 address containing a dotted quad is mapped.
  const auto compat = InetAddress::parse("64:ff9b::10.1.2.3", 1);
  ASSERT_TRUE(compat);
  EXPECT_NE(compat->ip(), "10.1.2.3");
  EXPECT_EQ(compat->toString().front(), '[');
}

TEST(InetAddress, RefusesNamesAndMalformedAddresses) {
  for (const char* host : {"", "localhost", "1.2.3", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                           "1.2.3.4:80", "[::1]", "::g", "1:2:3:4:5:6:7:8:9", "example.com"}) {
    EXPECT_FALSE(InetAddress::parse(host, 80)) << '"' << host << '"';
  }
}

TEST(InetAddress, WrapsAKernelSuppliedAddress) {
  // Bind to an ephemeral loopback port and read the address back as accept() would give it.
  Fd socket(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid() && errno == EAFNOSUPPORT) GTEST_SKIP() << "no IPv6 on this machine";
  ASSERT_TRUE(socket.valid()) << std::strerror(errno);
  const int off = 0;
  ASSERT_EQ(::setsockopt(socket.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off), 0);
  const auto bindTo = InetAddress::parse("::ffff:127.0.0.1", 0);
  ASSERT_TRUE(bindTo);
  ASSERT_EQ(::bind(socket.get(), bindTo->get(), bindTo->length()), 0) << std::strerror(errno);
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ASSERT_EQ(::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&storage), &length), 0);
  const InetAddress bound(storage);
  EXPECT_EQ(bound.family(), AF_INET6);
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(bound.ip(), "127.0.0.1");
  EXPECT_EQ(bound.toString(), "127.0.0.1:" + std::to_string(bound.port()));
}

}  // namespace
}  // namespace classchat::net
