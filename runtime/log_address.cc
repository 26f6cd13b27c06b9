// log_address.cc: see log_address.h.
#include "runtime/log_address.h"

namespace posthaste::runtime {

std::string ExternalLogForm(std::string_view addr) {
  if (addr.empty()) return "";
  size_t at = addr.rfind('@');
  std::string_view local = at == std::string_view::npos ? addr : addr.substr(0, at);
  bool atom = !local.empty() && local.front() != '.' && local.back() != '.';
  for (size_t i = 0; atom && i < local.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c <= ' ' || c == 0x7f || std::string_view("()<>@,;:\\\".[]").find(static_cast<char>(c)) !=
                                      std::string_view::npos)
      atom = c == '.' && i + 1 < local.size() && local[i + 1] != '.';
  }
  if (atom) return std::string(addr);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  if (at != std::string_view::npos) out.append(addr.substr(at));
  return out;
}

}  // namespace posthaste::runtime
