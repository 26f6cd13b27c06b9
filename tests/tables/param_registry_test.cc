// param_registry_test.cc: invariants of the parameter registry and its docs.
//
// Tests for tables/param_registry.cc and tables/param_docs.cc. Checks the rows
// harvested into params.def (sorted, unique, well-typed defaults within their
// bounds, service-derived templates that point at real rows) and that
// tables/params.md matches the rendered registry. Set POSTHASTE_REGEN=1 to
// rewrite tables/params.md instead of failing; review the diff like code.
// Needs no Postfix installation.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "tables/param_docs.h"
#include "tables/param_registry.h"

// CMake passes the source tree root; a hand build run from the root works too.
#ifndef POSTHASTE_SOURCE_DIR
#define POSTHASTE_SOURCE_DIR "."
#endif

namespace posthaste::tables {
namespace {

bool IsExpression(std::string_view v) {
  return v.find('$') != std::string_view::npos;
}

bool ParseInt(std::string_view v, int64_t* out) {
  if (v.empty()) return false;
  size_t i = (v[0] == '-') ? 1 : 0;
  if (i == v.size()) return false;
  int64_t n = 0;
  for (; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return false;
    n = n * 10 + (v[i] - '0');
  }
  *out = (v[0] == '-') ? -n : n;
  return true;
}

TEST(ParamRegistry, RowsAreSortedAndUnique) {
  auto params = AllParams();
  ASSERT_GT(params.size(), 800u);
  for (size_t i = 1; i < params.size(); ++i) {
    EXPECT_LT(params[i - 1].name, params[i].name) << params[i].name;
  }
}

TEST(ParamRegistry, FindParamFindsEveryRowAndNothingElse) {
  for (const ParamInfo& p : AllParams()) {
    EXPECT_EQ(FindParam(p.name), &p) << p.name;
  }
  EXPECT_EQ(FindParam(""), nullptr);
  EXPECT_EQ(FindParam("smtpd_recipent_restrictions"), nullptr);
  EXPECT_EQ(FindParam("Myhostname"), nullptr);
  EXPECT_EQ(FindParam("zzzz"), nullptr);
  EXPECT_EQ(FindParam("0"), nullptr);
}

TEST(ParamRegistry, BoolDefaultsAreYesOrNo) {
  for (const ParamInfo& p : AllParams()) {
    if (p.type != ParamType::kBool || IsExpression(p.default_value)) continue;
    EXPECT_TRUE(p.default_value == "yes" || p.default_value == "no")
        << p.name << " = " << p.default_value;
  }
}

TEST(ParamRegistry, TimeDefaultsParseWithTheirUnit) {
  for (const ParamInfo& p : AllParams()) {
    if (p.type != ParamType::kTime) {
      EXPECT_EQ(p.time_unit, 0) << p.name;
      continue;
    }
    ASSERT_NE(std::string_view("smhdw").find(p.time_unit),
              std::string_view::npos)
        << p.name;
    if (IsExpression(p.default_value)) continue;
    std::string_view v = p.default_value;
    ASSERT_FALSE(v.empty()) << p.name;
    EXPECT_EQ(v.back(), p.time_unit) << p.name;
    int64_t n = 0;
    ASSERT_TRUE(ParseInt(v.substr(0, v.size() - 1), &n)) << p.name;
    static constexpr std::string_view kUnits = "smhdw";
    static constexpr int64_t kSeconds[] = {1, 60, 3600, 86400, 604800};
    int64_t seconds = n * kSeconds[kUnits.find(p.time_unit)];
    EXPECT_GE(seconds, p.min) << p.name;
    EXPECT_LE(seconds, p.max) << p.name;
  }
}

TEST(ParamRegistry, NumericDefaultsAreWithinBounds) {
  for (const ParamInfo& p : AllParams()) {
    if (p.type != ParamType::kInt && p.type != ParamType::kSize) {
      if (p.type != ParamType::kTime) {
        EXPECT_EQ(p.min, INT64_MIN) << p.name;
        EXPECT_EQ(p.max, INT64_MAX) << p.name;
      }
      continue;
    }
    EXPECT_LE(p.min, p.max) << p.name;
    if (IsExpression(p.default_value)) continue;
    int64_t n = 0;
    ASSERT_TRUE(ParseInt(p.default_value, &n))
        << p.name << " = " << p.default_value;
    EXPECT_GE(n, p.min) << p.name;
    EXPECT_LE(n, p.max) << p.name;
  }
}

TEST(ParamRegistry, KnownRowsHaveTheExpectedShape) {
  const ParamInfo* p = FindParam("maximal_queue_lifetime");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, ParamType::kTime);
  EXPECT_EQ(p->time_unit, 'd');
  EXPECT_EQ(p->default_value, "5d");
  EXPECT_TRUE(p->programs & ProgramBit(kQmgr));

  p = FindParam("smtpd_banner");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, ParamType::kString);
  EXPECT_EQ(p->default_value, "$myhostname ESMTP $mail_name");
  EXPECT_TRUE(p->programs & ProgramBit(kSmtpd));

  p = FindParam("default_process_limit");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, ParamType::kInt);
  EXPECT_EQ(p->min, 1);

  EXPECT_EQ(FindParam("message_size_limit")->type, ParamType::kSize);
  EXPECT_EQ(FindParam("mynetworks")->type, ParamType::kMatchList);
  EXPECT_EQ(FindParam("relay_domains")->type, ParamType::kMatchList);
  EXPECT_EQ(FindParam("mydestination")->type, ParamType::kMatchList);
  EXPECT_EQ(FindParam("virtual_alias_maps")->type, ParamType::kTableList);
  EXPECT_EQ(FindParam("header_checks")->type, ParamType::kTableList);
  EXPECT_EQ(FindParam("smtpd_recipient_restrictions")->type,
            ParamType::kRestrictionList);
  EXPECT_EQ(FindParam("smtpd_restriction_classes")->type, ParamType::kList);
  EXPECT_EQ(FindParam("default_transport")->type, ParamType::kServiceName);
  EXPECT_EQ(FindParam("content_filter")->type, ParamType::kServiceName);
  EXPECT_EQ(FindParam("disable_vrfy_command")->type, ParamType::kBool);
  EXPECT_EQ(FindParam("smtpd_expansion_filter")->default_value.substr(0, 6),
            "\\t\\40!");
  EXPECT_EQ(FindParam("empty_address_recipient")->default_value,
            "MAILER-DAEMON");
}

TEST(ParamRegistry, HostDependentRowsAreMarked) {
  for (std::string_view name :
       {"myhostname", "mydomain", "mynetworks", "process_id", "process_name"}) {
    const ParamInfo* p = FindParam(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_TRUE(p->host_dependent) << name;
  }
  EXPECT_EQ(FindParam("mydomain")->default_value, "localdomain");
  EXPECT_FALSE(FindParam("mydestination")->host_dependent);
  EXPECT_FALSE(FindParam("mail_version")->host_dependent);
}

TEST(ParamRegistry, NothingIsImplementedYet) {
  for (const ParamInfo& p : AllParams()) {
    EXPECT_FALSE(p.runtime_implemented) << p.name;
  }
}

TEST(ParamRegistry, ProgramsHaveNamesAndMasksFit) {
  for (uint64_t i = 0; i < kProgramCount; ++i) {
    EXPECT_FALSE(ProgramName(static_cast<Program>(i)).empty()) << i;
  }
  EXPECT_EQ(ProgramName(kSmtpd), "smtpd");
  EXPECT_EQ(ProgramName(kTrivialRewrite), "trivial-rewrite");
  const ProgramMask all =
      kProgramCount == 64 ? ~ProgramMask{0}
                          : (ProgramMask{1} << kProgramCount) - 1;
  for (const ParamInfo& p : AllParams()) {
    EXPECT_EQ(p.programs & ~all, 0u) << p.name;
  }
}

TEST(ParamRegistry, ServiceTemplatesNameRealDefaults) {
  auto templates = ServiceParamTemplates();
  EXPECT_EQ(templates.size(), 17u);
  for (const ServiceParamTemplate& t : templates) {
    EXPECT_EQ(t.suffix.front(), '_') << t.suffix;
    EXPECT_NE(FindParam(t.default_param), nullptr) << t.default_param;
    EXPECT_FALSE(t.commands.empty()) << t.suffix;
    // The built-in rows for local(8) override two templates; all other
    // smtp_/local_ rows with template suffixes must come from the source.
    EXPECT_EQ(FindParam(std::string("relay") + std::string(t.suffix)), nullptr)
        << t.suffix;
  }
  EXPECT_NE(FindParam("local_destination_recipient_limit"), nullptr);
}

TEST(ParamRegistry, TypeNamesAreDistinct) {
  EXPECT_EQ(ParamTypeName(ParamType::kTableList), "table_list");
  EXPECT_EQ(ParamTypeName(ParamType::kRestrictionList), "restriction_list");
  EXPECT_NE(ParamTypeName(ParamType::kBool), ParamTypeName(ParamType::kInt));
}

TEST(ParamDocs, ParamsMdMatchesTheRegistry) {
  const std::string path = std::string(POSTHASTE_SOURCE_DIR) + "/tables/params.md";
  const std::string rendered = RenderParamsMarkdown();
  const char* regen = std::getenv("POSTHASTE_REGEN");
  if (regen != nullptr && std::string_view(regen) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << rendered;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing " << path
                         << "; run with POSTHASTE_REGEN=1 to create it";
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_TRUE(buf.str() == rendered)
      << path << " is stale; run param_registry_test with POSTHASTE_REGEN=1";
}

}  // namespace
}  // namespace posthaste::tables
