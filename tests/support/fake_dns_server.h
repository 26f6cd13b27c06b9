// fake_dns_server.h: a small authoritative DNS server for tests.
//
// Test support only. Listens on 127.0.0.1, UDP port 0, in its own thread,
// and answers A, AAAA, MX, NS and TXT questions from a map filled by the test. A
// name absent from the map gets NXDOMAIN; a name present without records of
// the asked type gets an empty NOERROR answer (NODATA). A name can instead
// be set to answer SERVFAIL or REFUSED, or to drop its queries (the client
// times out). Every question is counted. Only one question per query, no
// compression in questions, no TCP: enough for c-ares talking to it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace posthaste::testing {

class FakeDnsServer {
 public:
  enum class Failure { kNone, kServFail, kRefused, kDrop };

  FakeDnsServer();
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", for DnsResolverOptions::servers.
  std::string address() const;

  // Names are case-insensitive, without the trailing dot. Adding any record
  // makes the name exist.
  void AddA(const std::string& name, const std::string& ipv4);
  void AddAaaa(const std::string& name, const std::string& ipv6);
  // host "" is the root name (a null MX).
  void AddMx(const std::string& name, uint16_t preference, const std::string& host);
  // An NS record.
  void AddNs(const std::string& name, const std::string& server);
  // A TXT record (sent as 255-byte character-strings).
  void AddTxt(const std::string& name, const std::string& text);
  // Makes `name` exist with no records.
  void AddName(const std::string& name);
  void SetFailure(const std::string& name, Failure failure);

  // Questions received for (name, type) with type "A", "AAAA", "MX", "NS" or "TXT".
  int Queries(const std::string& name, const std::string& type) const;

 private:
  struct Entry {
    std::vector<std::string> a;     // 4-byte strings
    std::vector<std::string> aaaa;  // 16-byte strings
    std::vector<std::pair<uint16_t, std::string>> mx;
    std::vector<std::string> txt;
    std::vector<std::string> ns;
    Failure failure = Failure::kNone;
  };

  void Serve();
  // The reply to one query, or "" for no reply.
  std::string Answer(const std::string& query);

  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, Entry> names_;
  std::map<std::pair<std::string, int>, int> queries_;
  std::thread thread_;
};

}  // namespace posthaste::testing
