// cidr_table.cc: cidr source parsing with Postfix's diagnostics.
#include "compiler/cidr_table.h"
#include "compiler/text.h"

#include <arpa/inet.h>

#include <cstring>

#include "compiler/config_set.h"
#include "compiler/logical_lines.h"

namespace posthaste::compiler {
namespace {

bool StartsWithWord(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  return s.size() == word.size() || !isalnum(static_cast<unsigned char>(s[word.size()]));
}

// Parses "[!]addr[/len]" into `net`; on failure returns the warning text.
std::optional<std::string> ParseNet(std::string_view pattern, tables::CidrNet* net) {
  net->negate = false;
  if (!pattern.empty() && pattern[0] == '!') {
    net->negate = true;
    pattern.remove_prefix(1);
  }
  std::string text(pattern);
  std::string addr_text = text, mask_text;
  bool has_mask = false;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    addr_text = text.substr(0, slash);
    mask_text = text.substr(slash + 1);
    has_mask = true;
  }
  if (addr_text.size() >= 2 && addr_text.front() == '[' && addr_text.back() == ']')
    addr_text = addr_text.substr(1, addr_text.size() - 2);
  int family;
  if (addr_text.find(':') != std::string::npos) {
    in6_addr a6;
    if (inet_pton(AF_INET6, addr_text.c_str(), &a6) != 1)
      return "bad address pattern: \"" + text + "\"";
    family = 6;
    std::memcpy(net->addr.data(), &a6, 16);
  } else {
    in_addr a4;
    if (inet_pton(AF_INET, addr_text.c_str(), &a4) != 1)
      return "bad address pattern: \"" + text + "\"";
    family = 4;
    net->addr.fill(0);
    std::memcpy(net->addr.data(), &a4, 4);
  }
  net->family = family;
  int bits = family == 4 ? 32 : 128;
  int prefix = bits;
  if (has_mask) {
    bool digits = !mask_text.empty() && mask_text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) return "bad mask value in \"" + text + "\"";
    if (mask_text.size() > 3 || std::stoi(mask_text) > bits)
      return "bad mask length in \"" + text + "\"";
    prefix = std::stoi(mask_text);
  }
  net->prefix = prefix;
  int bytes = family == 4 ? 4 : 16;
  std::array<uint8_t, 16> masked = net->addr;
  for (int i = 0; i < bytes; ++i) {
    int keep = std::max(0, std::min(8, prefix - 8 * i));
    masked[i] = static_cast<uint8_t>(masked[i] & (0xff << (8 - keep)));
  }
  if (masked != net->addr) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, masked.data(), buf, sizeof buf);
    return "non-null host address bits in \"" + text + "\", perhaps you should use \"" +
           std::string(buf) + "/" + std::to_string(prefix) + "\" instead";
  }
  return std::nullopt;
}

}  // namespace

std::vector<tables::CidrRule> ParseCidrRules(const std::string& path, const std::string& text,
                                             std::vector<std::string>* warnings) {
  std::vector<tables::CidrRule> rules;
  SourceSet sources;
  int id = sources.Add(path, text);
  LineStructure lines = ReadLogicalLines(sources, id, ConfigGrammar::kTableSource);
  std::string prefix = "cidr map " + path + ", line ";
  for (const LogicalLine& stray : lines.strays)
    warnings->push_back(path + ": logical line must not start with whitespace: \"" +
                        stray.text() + "\"");
  std::vector<std::pair<tables::CidrNet, int>> ifs;  // open if blocks and their lines
  for (const LogicalLine& line : lines.entries) {
    std::string where = prefix + std::to_string(line.first_line()) + ": ";
    std::string_view t = TrimView(line.text());
    if (StartsWithWord(t, "endif")) {
      if (ifs.empty()) {
        warnings->push_back(where + "ENDIF without IF: skipping this rule");
      } else {
        ifs.pop_back();
      }
      continue;
    }
    bool is_if = StartsWithWord(t, "if");
    if (is_if) t = TrimView(t.substr(2));
    size_t end = 0;
    while (end < t.size() && !IsSpace(t[end])) ++end;
    std::string_view pattern = t.substr(0, end);
    std::string_view result = TrimView(t.substr(end));
    tables::CidrNet net;
    if (std::optional<std::string> err = ParseNet(pattern, &net)) {
      warnings->push_back(where + *err + ": skipping this rule");
      continue;
    }
    if (is_if) {
      ifs.emplace_back(net, line.first_line());
      continue;
    }
    if (result.empty()) {
      warnings->push_back(where + "no lookup result: skipping this rule");
      continue;
    }
    tables::CidrRule rule;
    rule.net = net;
    for (const auto& [c, l] : ifs) rule.conditions.push_back(c);
    rule.result = std::string(result);
    rule.line = line.first_line();
    rules.push_back(std::move(rule));
  }
  for (const auto& [c, l] : ifs)
    warnings->push_back(prefix + std::to_string(l) + ": IF has no matching ENDIF");
  return rules;
}

OpenedTable OpenCidrTable(const std::string& path) {
  OpenedTable out;
  std::string text, error;
  if (!ReadFile(path, &text, &error)) {
    out.fatal = "open " + path + ": " + error;
    return out;
  }
  std::vector<tables::CidrRule> rules = ParseCidrRules(path, text, &out.warnings);
  out.table = std::make_unique<tables::CidrTable>(std::move(rules));
  return out;
}

}  // namespace posthaste::compiler
