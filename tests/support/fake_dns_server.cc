// fake_dns_server.cc: UDP DNS answers from a map (test support).
#include "tests/support/fake_dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

namespace posthaste::testing {

namespace {

constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeNs = 2;
constexpr int kTypeAaaa = 28;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}

// Uncompressed wire form of a dotted name; "" is the root.
std::string WireName(const std::string& name) {
  std::string out;
  size_t pos = 0;
  while (pos < name.size()) {
    size_t dot = name.find('.', pos);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - pos));
    out.append(name, pos, dot - pos);
    pos = dot + 1;
  }
  out.push_back('\0');
  return out;
}

std::string TypeName(int type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeAaaa: return "AAAA";
    case kTypeMx: return "MX";
    case kTypeTxt: return "TXT";
    case kTypeNs: return "NS";
  }
  return std::to_string(type);
}

}  // namespace

FakeDnsServer::FakeDnsServer() {
  if (pipe(stop_pipe_) != 0) return;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return;
  }
  port_ = ntohs(addr.sin_port);
  fd_ = fd;
  thread_ = std::thread([this] { Serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  if (stop_pipe_[1] >= 0) {
    char c = 'x';
    (void)!write(stop_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]);
  if (stop_pipe_[1] >= 0) close(stop_pipe_[1]);
}

std::string FakeDnsServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeDnsServer::AddA(const std::string& name, const std::string& ipv4) {
  in_addr a{};
  inet_pton(AF_INET, ipv4.c_str(), &a);
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].a.emplace_back(reinterpret_cast<const char*>(&a), 4);
}

void FakeDnsServer::AddAaaa(const std::string& name, const std::string& ipv6) {
  in6_addr a{};
  inet_pton(AF_INET6, ipv6.c_str(), &a);
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].aaaa.emplace_back(reinterpret_cast<const char*>(&a), 16);
}

void FakeDnsServer::AddMx(const std::string& name, uint16_t preference, const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].mx.emplace_back(preference, Lower(host));
}

void FakeDnsServer::AddTxt(const std::string& name, const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].txt.push_back(text);
}

void FakeDnsServer::AddNs(const std::string& name, const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].ns.push_back(Lower(server));
}

void FakeDnsServer::AddName(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)];
}

void FakeDnsServer::SetFailure(const std::string& name, Failure failure) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[Lower(name)].failure = failure;
}

int FakeDnsServer::Queries(const std::string& name, const std::string& type) const {
  std::lock_guard<std::mutex> lock(mu_);
  int total = 0;
  for (const auto& [key, count] : queries_) {
    if (key.first == Lower(name) && TypeName(key.second) == type) total += count;
  }
  return total;
}

void FakeDnsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    char buf[4096];
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n <= 0) continue;
    std::string reply = Answer(std::string(buf, static_cast<size_t>(n)));
    if (!reply.empty()) {
      (void)sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
    }
  }
}

std::string FakeDnsServer::Answer(const std::string& query) {
  if (query.size() < 12) return "";
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(query[i]); };
  uint16_t qdcount = static_cast<uint16_t>(u8(4) << 8 | u8(5));
  if (qdcount != 1) return "";
  // The question: labels, type, class.
  size_t pos = 12;
  std::string name;
  while (pos < query.size() && u8(pos) != 0) {
    size_t len = u8(pos);
    if (len > 63 || pos + 1 + len > query.size()) return "";
    if (!name.empty()) name.push_back('.');
    name.append(query, pos + 1, len);
    pos += 1 + len;
  }
  if (pos + 5 > query.size()) return "";
  size_t question_end = pos + 5;
  int type = u8(pos + 1) << 8 | u8(pos + 2);
  name = Lower(name);

  std::lock_guard<std::mutex> lock(mu_);
  ++queries_[{name, type}];
  auto it = names_.find(name);
  int rcode = 0;
  std::vector<std::string> answers;  // rdata, with the type
  std::vector<int> answer_types;
  if (it == names_.end()) {
    rcode = 3;  // NXDOMAIN
  } else if (it->second.failure == Failure::kDrop) {
    return "";
  } else if (it->second.failure == Failure::kServFail) {
    rcode = 2;
  } else if (it->second.failure == Failure::kRefused) {
    rcode = 5;
  } else if (type == kTypeA) {
    answers = it->second.a;
    answer_types.assign(answers.size(), kTypeA);
  } else if (type == kTypeAaaa) {
    answers = it->second.aaaa;
    answer_types.assign(answers.size(), kTypeAaaa);
  } else if (type == kTypeMx) {
    for (const auto& [pref, host] : it->second.mx) {
      std::string rdata;
      Put16(&rdata, pref);
      rdata += WireName(host);
      answers.push_back(rdata);
      answer_types.push_back(kTypeMx);
    }
  } else if (type == kTypeNs) {
    for (const std::string& server : it->second.ns) {
      answers.push_back(WireName(server));
      answer_types.push_back(kTypeNs);
    }
  } else if (type == kTypeTxt) {
    for (const std::string& text : it->second.txt) {
      std::string rdata;  // character-strings of at most 255 bytes
      for (size_t pos = 0; pos < text.size() || pos == 0; pos += 255) {
        std::string piece = text.substr(pos, 255);
        rdata.push_back(static_cast<char>(piece.size()));
        rdata += piece;
        if (text.empty()) break;
      }
      answers.push_back(rdata);
      answer_types.push_back(kTypeTxt);
    }
  }

  std::string out;
  out.append(query, 0, 2);  // ID
  uint8_t rd = u8(2) & 0x01;
  out.push_back(static_cast<char>(0x80 | 0x04 | rd));  // QR, AA, RD as asked
  out.push_back(static_cast<char>(0x80 | rcode));      // RA, RCODE
  Put16(&out, 1);
  Put16(&out, static_cast<uint16_t>(answers.size()));
  Put16(&out, 0);
  Put16(&out, 0);
  out.append(query, 12, question_end - 12);
  for (size_t i = 0; i < answers.size(); ++i) {
    Put16(&out, 0xc00c);  // pointer to the question's name
    Put16(&out, static_cast<uint16_t>(answer_types[i]));
    Put16(&out, 1);  // IN
    Put32(&out, 60);
    Put16(&out, static_cast<uint16_t>(answers[i].size()));
    out += answers[i];
  }
  return out;
}

}  // namespace posthaste::testing
