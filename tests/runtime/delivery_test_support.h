// delivery_test_support.h: what the delivery agent tests share: a temp
// directory, bundles built with the real `phc build`, requests, file reads.
//
// Test support only (header-only).
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/delivery.h"
#include "tables/bundle_loader.h"
#include "tests/support/run_command.h"

namespace posthaste::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/phd-agent-XXXXXX";
    char* d = mkdtemp(tmpl);
    path_ = d ? d : "";
    // mkdtemp makes 0700; tests that switch to another uid need to pass.
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// File names in a directory, sorted; empty when it does not exist.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Builds a bundle from main.cf/master.cf text with `phc build` and loads it.
// Extra files (table sources) are written into the config directory first;
// "@CONF@" in main.cf stands for that directory.
inline std::shared_ptr<const tables::Snapshot> BuildBundle(
    const TempDir& dir, const std::string& main_cf, const std::string& master_cf,
    const std::vector<std::pair<std::string, std::string>>& files = {}) {
  static int counter = 0;
  std::string conf = dir / ("conf" + std::to_string(counter));
  std::string bundle = dir / ("bundle" + std::to_string(counter));
  ++counter;
  std::string main_text = main_cf;
  for (size_t at; (at = main_text.find("@CONF@")) != std::string::npos;)
    main_text.replace(at, 6, conf);
  WriteFile(conf + "/main.cf", main_text);
  WriteFile(conf + "/master.cf", master_cf);
  for (const auto& [name, text] : files) WriteFile(conf + "/" + name, text);
  CommandResult r = RunCommand({POSTHASTE_PHC_PATH, "build", "-c", conf, "-o", bundle});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return nullptr;
  auto snap = tables::Loader(bundle).LoadCurrent();
  EXPECT_TRUE(snap.ok()) << snap.status();
  return snap.ok() ? *snap : nullptr;
}

inline runtime::DeliveryRequest MakeRequest(std::shared_ptr<const tables::Snapshot> snap,
                                            const std::string& service,
                                            const std::vector<std::string>& recipients,
                                            const std::string& content,
                                            const std::string& sender = "sender@example.org") {
  runtime::DeliveryRequest req;
  req.queue_id = "4Q1Dtest";
  req.sender = sender;
  req.transport = service.substr(0, service.find('/'));
  req.service = service;
  for (size_t i = 0; i < recipients.size(); ++i)
    req.recipients.push_back({i, recipients[i], recipients[i]});
  req.content = std::make_shared<const std::string>(content);
  req.snapshot = std::move(snap);
  return req;
}

inline const runtime::RecipientOutcome* OutcomeFor(const runtime::DeliveryResult& r, size_t index) {
  for (const runtime::RecipientOutcome& o : r.outcomes)
    if (o.index == index) return &o;
  return nullptr;
}

inline std::string StatusName(runtime::RecipientOutcome::Status s) {
  switch (s) {
    case runtime::RecipientOutcome::Status::kSent:
      return "sent";
    case runtime::RecipientOutcome::Status::kDeferred:
      return "deferred";
    case runtime::RecipientOutcome::Status::kBounced:
      return "bounced";
  }
  return "?";
}

// "sent 2.0.0 delivered to maildir": one line per outcome, for assertions.
inline std::string Describe(const runtime::RecipientOutcome* o) {
  if (!o) return "(no outcome)";
  return StatusName(o->status) + " " + o->dsn + " " + o->text;
}

}  // namespace posthaste::testing
