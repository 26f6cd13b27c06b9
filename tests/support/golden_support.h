// golden_support.h: what every golden-file runner needs.
//
// Test support only. Fixture directories are listed sorted by name; test
// names derive from them; KNOWN_DIFFERENCES files ("<fixture>\t<reason>"
// per line) name fixtures a runner reports as skipped, with the reason.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace posthaste::testing {

std::vector<std::string> ListFixtureDirs(const std::filesystem::path& root);
std::optional<std::string> ReadWholeFile(const std::filesystem::path& path);
void ReplaceAll(std::string& text, const std::string& from, const std::string& to);
// Test-name-safe form of a fixture directory name.
std::string TestName(const std::string& fixture);
// argv as a shell-like string for failure messages.
std::string Quoted(const std::vector<std::string>& argv);
// What is wrong with a corpus's fixture directory names (each must be
// NNN-short-name, numbers and test names distinct); empty when nothing is.
std::vector<std::string> FixtureNameProblems(const std::vector<std::string>& names);
std::optional<std::string> KnownDifference(const std::filesystem::path& root,
                                           const std::string& fixture);

}  // namespace posthaste::testing
