// route_diff_test.cc: the bytecode VM against the reference evaluator on generated configs.
//
// A generator of random but valid routing configurations (domain lists with
// patterns, negations and tables; every table list of spec §5 with entries in
// every key form of spec §3.6 and every transport value form of §5.1; tables
// that fail temporarily; small alias limits so nesting and expansion limits
// trigger) and random envelopes. For each configuration the program is
// generated, encoded, decoded and verified like a bundle's, then the VM and
// the reference evaluator must give identical answers at all three entry
// points, deferrals and their reasons included (STYLE.md §6: all engines
// agree). Deterministic: a fixed seed; the first disagreement prints the
// configuration number to reproduce it.
#include <gtest/gtest.h>

#include <filesystem>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "compiler/config_set.h"
#include "compiler/route_codegen.h"
#include "compiler/route_eval.h"
#include "compiler/route_model.h"
#include "compiler/table_open.h"
#include "compiler/validate.h"
#include "compiler/table_source.h"
#include "tables/memory_table.h"
#include "tables/route_verifier.h"
#include "tables/route_vm.h"
#include "tables/str_cat.h"

namespace posthaste::compiler {
namespace {

using tables::Cat;

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  bool Chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string Domain() { return Pick(domains_); }
  std::string User() { return Pick(users_); }
  std::string Address() {
    if (Chance(8)) return User();
    return User() + "@" + (Chance(10) ? Upper(Domain()) : Domain());
  }
  static std::string Upper(std::string s) {
    for (char& c : s)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
  }

  // One key of any form a table list may be asked.
  std::string Key() {
    switch (Int(0, 7)) {
      case 0: return User() + "@" + Domain();
      case 1: return User();
      case 2: return "@" + Domain();
      case 3: return Domain();
      case 4: return "." + Domain();
      case 5: return "*";
      case 6: return "<>";
      default: return User() + "@" + Domain();
    }
  }
  std::string AliasValue() {
    int n = Int(1, 3);
    std::string v;
    for (int i = 0; i < n; ++i) {
      if (i) v += Chance(50) ? ", " : ",";
      v += Chance(10) ? "@" + Domain() : Address();
    }
    return v;
  }
  std::string TransportValue() {
    return Pick(std::vector<std::string>{"smtp:[hub.example]:25", "relay:", "relay", ":[10.0.0.5]",
                                         ":", "error:5.1.1 no such user", "error:", "retry:",
                                         "discard:dropped", "lmtp:unix:private/lmtp", "bulk:",
                                         "local", "smtp:mx.other.org", "virtual:"});
  }
  std::string RelayValue() {
    return Pick(std::vector<std::string>{"[gw.example]", "gw2.example:2525", "DUNNO", "dunno", "",
                                         "[a.example], [b.example]:587"});
  }
  std::string SenderTransportValue() {
    return Pick(std::vector<std::string>{"bulk:", "smtp:[out.example]", "DUNNO", "bulk", "",
                                         "error:5.7.1 no", "relay:[r.example]:2525"});
  }
  std::string TransportParam() {
    return Pick(std::vector<std::string>{"smtp", "relay", "local:$host", "lmtp:unix:private/x",
                                         "smtp:[outbound.example]:2525", "virtual", "error:5.7.1 off",
                                         "bulk:", "local"});
  }

  // A table of random entries (or, rarely, one that always fails).
  uint16_t Table(RouteModel* m, std::vector<std::unique_ptr<tables::Table>>* owned,
                 const std::function<std::string()>& value) {
    uint16_t id = static_cast<uint16_t>(m->table_names.size());
    m->table_names.push_back(Cat("memory:", id));
    if (Chance(3)) {
      owned->push_back(std::make_unique<tables::FailTable>(Cat(id)));
      return id;
    }
    auto t = std::make_unique<tables::MemoryTable>(true);
    int n = Int(0, 8);
    for (int i = 0; i < n; ++i) {
      std::string k = Key();
      for (char& c : k)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      t->Add(k, value());
    }
    owned->push_back(std::move(t));
    return id;
  }
  std::vector<uint16_t> Tables(RouteModel* m, std::vector<std::unique_ptr<tables::Table>>* owned,
                               int percent, const std::function<std::string()>& value) {
    std::vector<uint16_t> ids;
    if (!Chance(percent)) return ids;
    int n = Int(1, 2);
    for (int i = 0; i < n; ++i) ids.push_back(Table(m, owned, value));
    return ids;
  }
  tables::DomainList Domains(RouteModel* m, std::vector<std::unique_ptr<tables::Table>>* owned) {
    tables::DomainList list;
    list.parent_matches_subdomains = Chance(50);
    int n = Int(0, 3);
    for (int i = 0; i < n; ++i) {
      tables::DomainListItem item;
      item.negate = Chance(15);
      if (Chance(20)) {
        item.table = true;
        item.table_id = Table(m, owned, [] { return std::string("ok"); });
      } else {
        item.pattern = Chance(25) ? "." + Domain() : Domain();
      }
      list.items.push_back(item);
    }
    return list;
  }

  RouteModel Model(std::vector<std::unique_ptr<tables::Table>>* owned) {
    RouteModel m;
    m.myhostname = "mx.example.com";
    m.mydomain = "example.com";
    m.myorigin = Chance(50) ? "example.com" : "mx.example.com";
    m.append_at_myorigin = Chance(85);
    m.append_dot_mydomain = Chance(20);
    m.recipient_delimiter = Pick(std::vector<std::string>{"", "+", "+-"});
    m.mydestination = Domains(&m, owned);
    m.virtual_alias_domains = Domains(&m, owned);
    m.virtual_mailbox_domains = Domains(&m, owned);
    m.relay_domains = Domains(&m, owned);
    m.local_domains.items.push_back({false, false, m.myorigin, 0});
    for (const auto& item : m.mydestination.items) m.local_domains.items.push_back(item);
    m.local_transport = TransportParam();
    m.virtual_transport = TransportParam();
    m.relay_transport = TransportParam();
    m.default_transport = TransportParam();
    m.relayhost = Chance(40) ? RelayValue() : "";
    m.content_filter = Chance(15) ? "scan:[127.0.0.1]:10024" : "";
    m.default_filter_nexthop = Chance(30) ? "[filter-hub.example]:2526" : "";
    m.empty_relayhost_key = Chance(80) ? "<>" : "null";
    m.empty_transport_key = Chance(80) ? "<>" : "null";
    m.transport_parent_style = Chance(30);
    m.propagate_canonical = Chance(70);
    m.propagate_virtual = Chance(70);
    m.allow_min_user = Chance(20);
    m.canonical_sender = Chance(90);
    m.canonical_recipient = Chance(90);
    m.sender_canonical = Chance(90);
    m.recipient_canonical = Chance(90);
    m.recursion_limit = static_cast<uint32_t>(Chance(50) ? Int(1, 5) : 1000);
    m.expansion_limit = static_cast<uint32_t>(Chance(50) ? Int(1, 6) : 1000);
    auto alias = [this] { return AliasValue(); };
    auto one = [this] { return Address(); };
    m.virtual_alias_maps = Tables(&m, owned, 60, alias);
    m.canonical_maps = Tables(&m, owned, 30, one);
    m.sender_canonical_maps = Tables(&m, owned, 30, one);
    m.recipient_canonical_maps = Tables(&m, owned, 30, one);
    m.relocated_maps = Tables(&m, owned, 20, one);
    m.transport_maps = Tables(&m, owned, 50, [this] { return TransportValue(); });
    m.sender_relayhost_maps = Tables(&m, owned, 40, [this] { return RelayValue(); });
    m.sender_transport_maps = Tables(&m, owned, 40, [this] { return SenderTransportValue(); });
    for (const char* s : {"smtp", "relay", "bulk", "lmtp"})
      if (Chance(50)) {
        m.service_sources[s] = Pick(std::vector<std::string>{"", "192.0.2.11", "127.0.0.4"});
        if (Chance(50)) m.service_sources6[s] = Pick(std::vector<std::string>{"", "2001:db8::11"});
      }
    return m;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> domains_ = {"example.com", "mx.example.com", "example.net",
                                       "sub.example.net", "relay.example", "sub.relay.example",
                                       "valias.example", "vmail.example", "other.org",
                                       "[127.0.0.1]", "localhost"};
  std::vector<std::string> users_ = {"a", "b", "joe", "-x", "root", "a+ext", "joe+news", "b-c"};
};

std::optional<std::string> ReadWholeArgs(const std::filesystem::path& path) {
  std::string text, error;
  if (!ReadFile(path.string(), &text, &error)) return std::nullopt;
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text;
}

std::string Describe(const tables::RouteRunResult& r) {
  std::string out = r.deferred ? "defer(" + r.reason + ")" : "ok";
  for (const std::string& a : r.addresses) out += " addr=" + a;
  out += " filter=" + r.filter + " t=" + r.transport + " n=" + r.nexthop + " s=" + r.source +
         " s6=" + r.source6;
  return out;
}

TEST(RouteDifferential, VmEqualsReferenceOnGeneratedConfigs) {
  constexpr int kConfigs = 100000;
  Generator gen(20261124);
  long compared = 0;
  for (int c = 0; c < kConfigs; ++c) {
    std::vector<std::unique_ptr<tables::Table>> owned;
    RouteModel model = gen.Model(&owned);
    std::vector<const tables::Table*> ptrs;
    for (const auto& t : owned) ptrs.push_back(t.get());

    tables::RouteProgram generated = GenerateRouteProgram(model);
    absl::StatusOr<tables::RouteProgram> program = tables::RouteProgram::Decode(generated.Encode());
    ASSERT_TRUE(program.ok()) << "config " << c << ": " << program.status();
    ASSERT_TRUE(tables::VerifyRouteProgram(*program).ok())
        << "config " << c << ": " << tables::VerifyRouteProgram(*program);
    tables::RouteVm vm(*program, ptrs);
    RouteEvaluator ref(model, ptrs);

    for (int e = 0; e < 3; ++e) {
      std::string sender = gen.Chance(15) ? "" : gen.Address();
      std::string rcpt = gen.Address();
      tables::RouteRunResult vs = vm.RewriteSender(sender), rs = ref.RewriteSender(sender);
      ASSERT_EQ(Describe(vs), Describe(rs)) << "config " << c << " sender " << sender;
      tables::RouteRunResult vr = vm.RewriteRecipient(rcpt), rr = ref.RewriteRecipient(rcpt);
      ASSERT_EQ(Describe(vr), Describe(rr)) << "config " << c << " recipient " << rcpt;
      std::string filter = gen.Chance(20) ? gen.Pick(std::vector<std::string>{"bulk:", "bulk", "scan:[127.0.0.1]:10024"})
                                          : vs.filter;
      std::string final_sender = vs.addresses.empty() ? sender : vs.addresses[0];
      for (const std::string& to : vr.addresses) {
        tables::RouteRunResult vd = vm.Resolve(final_sender, to, filter);
        tables::RouteRunResult rd = ref.Resolve(final_sender, to, filter);
        ASSERT_EQ(Describe(vd), Describe(rd))
            << "config " << c << " sender " << final_sender << " recipient " << to << " filter "
            << filter << "\n" << tables::DisassembleRouteProgram(*program);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, kConfigs);
  std::printf("compared %ld resolutions over %d generated configurations\n", compared, kConfigs);
}

// Every routing golden configuration (real main.cf, master.cf and table
// sources), with envelopes drawn from the addresses its args and tables
// mention, mutated (extensions, case, bare users, the null sender).
TEST(RouteDifferential, VmEqualsReferenceOnGoldenConfigs) {
  namespace fs = std::filesystem;
  std::mt19937_64 rng(7);
  auto pick = [&](const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  int configs = 0;
  long compared = 0;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(POSTHASTE_ROUTE_FIXTURES))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    auto config = LoadConfig(dir.string(), {}, true);
    if (!config->main_cf) continue;
    RouteModel model = BuildRouteModel(*config, nullptr);
    std::vector<std::unique_ptr<tables::Table>> owned;
    std::vector<const tables::Table*> ptrs;
    std::vector<std::string> pool = {"", "joe", "-x@example.net", "root"};
    bool ok = true;
    for (const std::string& name : model.table_names) {
      OpenedTable t = OpenTable(name, {});
      if (!t.table) {
        ok = false;
        break;
      }
      t.table->ForEach([&](std::string_view k, std::string_view v) {
        pool.push_back(std::string(k));
        for (const ListItem& item : SplitListItems(v)) pool.push_back(item.text);
      });
      ptrs.push_back(t.table.get());
      owned.push_back(std::move(t.table));
    }
    ASSERT_TRUE(ok) << dir;
    if (std::optional<std::string> args = ReadWholeArgs(dir / "args"))
      for (const ListItem& item : SplitListItems(*args)) pool.push_back(item.text);
    tables::RouteProgram program = GenerateRouteProgram(model);
    ASSERT_TRUE(tables::VerifyRouteProgram(program).ok()) << dir;
    tables::RouteVm vm(program, ptrs);
    RouteEvaluator ref(model, ptrs);
    ++configs;
    for (int e = 0; e < 300; ++e) {
      std::string a = pick(pool), b = pick(pool);
      if (!a.empty() && a[0] == '@') a = "u" + a;
      if (!b.empty() && b[0] == '@') b = "someone+tag" + b;
      if (e % 7 == 0) b = Generator::Upper(b);
      if (b.empty()) b = "joe";
      tables::RouteRunResult vs = vm.RewriteSender(a), rs = ref.RewriteSender(a);
      ASSERT_EQ(Describe(vs), Describe(rs)) << dir << " sender " << a;
      tables::RouteRunResult vr = vm.RewriteRecipient(b), rr = ref.RewriteRecipient(b);
      ASSERT_EQ(Describe(vr), Describe(rr)) << dir << " recipient " << b;
      std::string filter = e % 5 == 0 ? "bulk:" : vs.filter;
      std::string sender = vs.addresses.empty() ? a : vs.addresses[0];
      for (const std::string& to : vr.addresses) {
        ASSERT_EQ(Describe(vm.Resolve(sender, to, filter)), Describe(ref.Resolve(sender, to, filter)))
            << dir << " sender " << sender << " recipient " << to << " filter " << filter;
        ++compared;
      }
    }
  }
  EXPECT_GE(configs, 60);
  std::printf("compared %ld resolutions over %d golden configurations\n", compared, configs);
}

}  // namespace
}  // namespace posthaste::compiler
