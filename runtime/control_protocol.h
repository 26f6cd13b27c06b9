// control_protocol.h: the local control socket between phctl and posthasted.
//
// Where: <queue_directory>/control/posthasted.sock, a Unix stream socket in
// a directory of mode 0700 owned by the server's user; the socket itself is
// mode 0600. Only that user and root can connect.
//
// Exchange, one per connection: the client writes one request line
// (a verb and space-separated arguments, at most kMaxRequestBytes, ended by
// LF); the server answers with a status line "ok" or "error: TEXT", then the
// body (any number of lines), and closes the connection.
//
// Verbs: reload, status, queue [--json], show ID, flush, hold ID..., release ID...,
// delete ID..., requeue ID... (ID may be ALL).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace posthaste::runtime {

inline constexpr size_t kMaxRequestBytes = 64 * 1024;
inline constexpr size_t kMaxResponseBytes = size_t{256} << 20;

std::string ControlSocketPath(std::string_view queue_directory);

struct ControlRequest {
  std::string verb;
  std::vector<std::string> args;
};

// Splits a request line; an error for empty or over-long lines.
absl::StatusOr<ControlRequest> ParseControlRequest(std::string_view line);

// Client side: connects, sends `request`, returns the body when the status
// line says ok, an error with the server's text otherwise.
absl::StatusOr<std::string> SendControlRequest(const std::string& socket_path,
                                               const std::string& request);

}  // namespace posthaste::runtime
