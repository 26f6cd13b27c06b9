// golden_support.cc: fixture listing and small text helpers for golden runners.
#include "tests/support/golden_support.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace posthaste::testing {

namespace fs = std::filesystem;

std::vector<std::string> ListFixtureDirs(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

std::string TestName(const std::string& fixture) {
  std::string name = fixture;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

std::string Quoted(const std::vector<std::string>& argv) {
  std::string joined;
  for (const std::string& a : argv) {
    if (!joined.empty()) joined += ' ';
    joined += "'" + a + "'";
  }
  return joined;
}

std::vector<std::string> FixtureNameProblems(const std::vector<std::string>& names) {
  std::vector<std::string> problems, numbers, test_names;
  for (const std::string& name : names) {
    bool numbered = name.size() >= 5 && std::isdigit(static_cast<unsigned char>(name[0])) &&
                    std::isdigit(static_cast<unsigned char>(name[1])) &&
                    std::isdigit(static_cast<unsigned char>(name[2])) && name[3] == '-';
    if (!numbered) {
      problems.push_back("fixture directory must be named NNN-short-name: " + name);
      continue;
    }
    numbers.push_back(name.substr(0, 3));
    test_names.push_back(TestName(name));
  }
  std::sort(numbers.begin(), numbers.end());
  if (std::adjacent_find(numbers.begin(), numbers.end()) != numbers.end())
    problems.push_back("two fixtures share a number");
  std::sort(test_names.begin(), test_names.end());
  if (std::adjacent_find(test_names.begin(), test_names.end()) != test_names.end())
    problems.push_back("two fixtures map to the same test name");
  return problems;
}

std::optional<std::string> KnownDifference(const fs::path& root, const std::string& fixture) {
  std::ifstream in(root / "KNOWN_DIFFERENCES");
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab != std::string::npos && line.substr(0, tab) == fixture) return line.substr(tab + 1);
  }
  return std::nullopt;
}

}  // namespace posthaste::testing
