// smtp_connection_cache.cc: idle outbound SMTP connections, closed by timer.
#include "runtime/smtp_connection_cache.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>

#include "asio/steady_timer.hpp"

namespace posthaste::runtime {

struct SmtpConnectionCache::State {
  struct Entry {
    uint64_t id = 0;
    std::unique_ptr<SmtpConnection> connection;
    std::shared_ptr<asio::steady_timer> timer;
  };

  explicit State(asio::any_io_executor ex) : executor(std::move(ex)) {}

  static void Close(SmtpConnection& connection) {
    asio::error_code ignored;
    connection.socket.close(ignored);
  }

  asio::any_io_executor executor;
  mutable std::mutex mu;
  std::map<std::string, std::deque<Entry>> parked;
  uint64_t next_id = 1;
  size_t count = 0;
};

SmtpConnectionCache::SmtpConnectionCache(asio::any_io_executor executor)
    : state_(std::make_shared<State>(std::move(executor))) {}

SmtpConnectionCache::~SmtpConnectionCache() { Clear(); }

void SmtpConnectionCache::Put(const std::string& key, std::unique_ptr<SmtpConnection> connection,
                              absl::Duration idle_limit,
                              std::chrono::steady_clock::time_point expiry) {
  if (!connection) return;
  auto now = std::chrono::steady_clock::now();
  auto idle_end = now + absl::ToChronoNanoseconds(std::clamp(idle_limit, absl::ZeroDuration(), absl::Hours(24 * 365)));
  auto deadline = std::min(idle_end, expiry);
  if (deadline <= now || !connection->socket.is_open()) {
    State::Close(*connection);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(state_->executor);
  timer->expires_at(deadline);
  // Every operation on a parked timer (wait, cancel) happens under the
  // mutex: deliveries on different loop threads Put and Take concurrently,
  // and an Asio timer must not be used from two threads at once.
  std::weak_ptr<State> weak = state_;
  std::lock_guard<std::mutex> lock(state_->mu);
  uint64_t id = state_->next_id++;
  state_->parked[key].push_back(State::Entry{id, std::move(connection), timer});
  ++state_->count;
  timer->async_wait([weak, key, id](const asio::error_code& ec) {
    if (ec) return;
    std::shared_ptr<State> state = weak.lock();
    if (!state) return;
    std::unique_ptr<SmtpConnection> expired;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      auto it = state->parked.find(key);
      if (it == state->parked.end()) return;
      auto& entries = it->second;
      auto e = std::find_if(entries.begin(), entries.end(),
                            [id](const State::Entry& entry) { return entry.id == id; });
      if (e == entries.end()) return;
      expired = std::move(e->connection);
      entries.erase(e);
      if (entries.empty()) state->parked.erase(it);
      --state->count;
    }
    State::Close(*expired);
  });
}

std::unique_ptr<SmtpConnection> SmtpConnectionCache::Take(const std::string& key,
                                                          const asio::any_io_executor& prefer) {
  State::Entry entry;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->parked.find(key);
    if (it == state_->parked.end()) return nullptr;
    auto& entries = it->second;
    auto newest = std::find_if(entries.rbegin(), entries.rend(), [&](const State::Entry& e) {
      return !prefer || e.connection->socket.get_executor() == prefer;
    });
    if (newest == entries.rend()) return nullptr;
    auto pick = std::prev(newest.base());
    entry = std::move(*pick);
    entries.erase(pick);
    if (it->second.empty()) state_->parked.erase(it);
    --state_->count;
    entry.timer->cancel();
  }
  return std::move(entry.connection);
}

size_t SmtpConnectionCache::size() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->count;
}

void SmtpConnectionCache::Clear() {
  std::map<std::string, std::deque<State::Entry>> parked;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    parked.swap(state_->parked);
    state_->count = 0;
    for (auto& [key, entries] : parked)
      for (State::Entry& entry : entries) entry.timer->cancel();
  }
  for (auto& [key, entries] : parked)
    for (State::Entry& entry : entries) State::Close(*entry.connection);
}

}  // namespace posthaste::runtime
