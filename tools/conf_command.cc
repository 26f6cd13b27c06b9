// conf_command.cc: `phc conf`, a work-alike of Postfix 3.7 postconf.
//
// Same flags, same stdout bytes, same exit status as postconf on the same
// files, for the read-only modes: parameter queries (NAME..., -n, -d, -x,
// -h, -f, -o name=value), master.cf views (-M, -Mf, -F, -P, -Px with
// service/type[/field|/param] selectors) and -c DIR. Warnings go to stderr
// as postconf words them, prefixed "phc: ". Editing modes (-e, -X, -#) are
// not offered: posthaste compiles configurations, it does not rewrite them.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "compiler/config_set.h"
#include "compiler/expand.h"
#include "compiler/main_cf.h"
#include "compiler/master_cf.h"
#include "compiler/param_space.h"
#include "compiler/text.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

using compiler::ConfigSet;
using compiler::MasterService;
using compiler::ParamSpace;
using compiler::ValueMode;

constexpr int kLineLimit = 80;
constexpr int kIndentLen = 4;
constexpr const char* kIndent = "    ";

// postconf's usage line: the flags it takes (phc conf implements the
// read-only ones).
constexpr const char* kUsage =
    "usage: postconf [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] "
    "[-c config_dir] [-c param_class] [-d (parameter defaults)] [-e (edit configuration)] "
    "[-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] "
    "[-l (lock types)] [-m (map types)] [-M (master.cf)] [-n (non-default parameters)] "
    "[-o name=value (override parameter value)] [-p (main.cf, default)] "
    "[-P (master.cf parameters)] [-t (bounce templates)] "
    "[-T compile-version|run-version|public-key-algorithms] [-v (verbose)] "
    "[-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]";

struct Fatal {
  std::string message;
};

class Output {
 public:
  void Warn(const std::string& msg) { err_ += "phc: warning: " + msg + "\n"; }
  [[noreturn]] void Die(const std::string& msg) { throw Fatal{msg}; }
  std::string out_;
  std::string err_;
};

// Postfix shows control characters in quoted configuration lines as '?'.
std::string Printable(std::string_view s) { return compiler::Printable(s, false); }

bool IsSep(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Prints text with whitespace runs collapsed and, with `fold`, long lines
// folded at word boundaries with a 4-space continuation indent.
void PrintLine(std::string* out, bool fold, const std::string& text) {
  int line_len = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSep(text[i])) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && !IsSep(text[j])) ++j;
    int word_len = static_cast<int>(j - i);
    if (line_len > 0) {
      if (!fold || line_len + word_len < kLineLimit) {
        *out += ' ';
        line_len += 1;
      } else {
        *out += "\n";
        *out += kIndent;
        line_len = kIndentLen;
      }
    }
    out->append(text, i, j - i);
    line_len += word_len;
    i = j;
  }
  *out += '\n';
}

struct Options {
  std::string dir;
  bool dir_given = false;
  bool show_defaults = false;  // -d
  bool show_nondefault = false;  // -n
  bool expand = false;  // -x
  bool hide_name = false;  // -h
  bool hide_value = false;  // -H
  bool fold = false;  // -f
  bool master_entries = false;  // -M
  bool master_fields = false;  // -F
  bool master_params = false;  // -P
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<std::string> names;
};

class Conf {
 public:
  Conf(const Options& opt, Output* io) : opt_(opt), io_(*io) {}

  int Run() {
    if (opt_.master_entries || opt_.master_fields || opt_.master_params) return RunMaster();
    return RunParams();
  }

 private:
  std::string MainPath() const { return opt_.dir + "/main.cf"; }
  std::string MasterPath() const { return opt_.dir + "/master.cf"; }

  // Loads the configuration and replays what postconf reports while reading.
  void Load(bool read_main, bool master_required) {
    std::vector<std::pair<std::string, std::string>> overrides;
    // -c DIR sets config_directory before main.cf is read; main.cf may
    // still override it (with postconf's "overriding" warning).
    for (const auto& o : opt_.overrides) overrides.push_back(o);
    config_ = compiler::LoadConfig(opt_.dir, overrides, opt_.dir_given && read_main);
    if (read_main) {
      if (!config_->main_cf) io_.Die("open " + MainPath() + ": " + config_->main_error);
      ReplayMainWarnings();
    }
    if (!config_->master_cf) {
      std::string msg = "open " + MasterPath() + ": " + config_->master_error;
      if (master_required) io_.Die(msg);
      io_.Warn(msg);
    } else {
      ReplayMasterErrors();
    }
    if (!read_main) {
      // -d: the name space without main.cf.
      config_->main_cf.reset();
      config_->params = std::make_unique<ParamSpace>(
          nullptr, config_->master_cf ? &*config_->master_cf : nullptr,
          std::vector<std::pair<std::string, std::string>>{});
    }
  }

  void ReplayMainWarnings() {
    const compiler::MainCf& cf = *config_->main_cf;
    struct Event {
      int line;
      int order;
      std::string text;
      bool fatal;
    };
    std::vector<Event> events;
    for (const compiler::LogicalLine& s : cf.strays)
      events.push_back({s.first_line(), 0,
                        MainPath() + ": logical line must not start with whitespace: \"" +
                            Printable(s.text()) + "\"",
                        false});
    std::map<std::string, std::string> seen;
    if (opt_.dir_given) seen["config_directory"] = opt_.dir;
    for (const compiler::Assignment& a : cf.assignments) {
      auto it = seen.find(a.name);
      if (it != seen.end() && it->second != a.value)
        events.push_back({a.line_number, 1,
                          MainPath() + ", line " + std::to_string(a.line_number) +
                              ": overriding earlier entry: " + a.name + "=" + it->second,
                          false});
      seen[a.name] = a.value;
    }
    for (const compiler::BadLine& b : cf.bad_lines)
      events.push_back({b.line_number, 2,
                        MainPath() + ", line " + std::to_string(b.line_number) + ": " +
                            (b.kind == compiler::BadLine::kEmptyName
                                 ? "missing attribute name"
                                 : "missing '=' after attribute name") +
                            ": \"" + b.text + "\"",
                        true});
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.line < b.line; });
    for (const Event& e : events) {
      if (e.fatal) io_.Die(e.text);
      io_.Warn(e.text);
    }
  }

  void ReplayMasterErrors() {
    static const std::set<std::string> kTypes = {"unix", "fifo", "inet", "pass", "unix-dgram"};
    for (const compiler::LogicalLine& s : config_->master_cf->strays)
      io_.Warn(MasterPath() + ": logical line must not start with whitespace: \"" +
               Printable(s.text()) + "\"");
    for (const MasterService& svc : config_->master_cf->services) {
      if (!svc.complete())
        io_.Die("file " + MasterPath() + ": line " + std::to_string(svc.line_number) +
                ": bad field count");
      std::string raw = svc.line.text();
      std::replace(raw.begin(), raw.end(), '\n', ' ');
      raw = Printable(raw);
      if (!kTypes.count(svc.type()))
        io_.Die("invalid type field \"" + svc.type() + "\" in \"" + raw + "\"");
      static const char* kNames[] = {"", "", "private", "unprivileged", "chroot"};
      for (int f = compiler::kFieldPrivate; f <= compiler::kFieldChroot; ++f) {
        const std::string& v = svc.field(f);
        if (v.size() != 1 || std::string("yn-").find(v[0]) == std::string::npos)
          io_.Die(std::string("invalid ") + kNames[f] + " field \"" + v + "\" in \"" + raw + "\"");
      }
      std::string w = svc.field(compiler::kFieldWakeup);
      size_t len = w.size();
      if (len > 0 && w[len - 1] == '?') --len;
      bool digits = w.find_first_not_of("0123456789") >= len;
      if (!(w[0] == '-' && len == 1) && !digits)
        io_.Die("invalid wakeup field \"" + w + "\" in \"" + raw + "\"");
      const std::string& m = svc.field(compiler::kFieldMaxproc);
      if (m != "-" && m.find_first_not_of("0123456789") != std::string::npos)
        io_.Die("invalid process_limit field \"" + m + "\" in \"" + raw + "\"");
      for (const std::string& w2 : svc.postconf_warnings) io_.Warn(w2);
    }
  }

  void ReplayNameSpaceWarnings(bool unused, bool master_only = false) {
    for (const compiler::NameSpaceWarning& w : config_->params->warnings()) {
      using K = compiler::NameSpaceWarning;
      std::string file = w.service ? MasterPath() : MainPath();
      if (!unused && w.kind == K::kUndefined)
        io_.Warn(file + ": undefined parameter: " + w.name);
      if (!unused && w.kind == K::kSyntax) io_.Warn(w.value);
      if (!unused && w.kind == K::kReadOnly)
        io_.Warn(file + ": read-only parameter assignment: " + w.name + "=" + w.value);
      if (unused && w.kind == K::kUnusedMain && master_only) continue;
      if (unused && (w.kind == K::kUnusedMain || w.kind == K::kUnusedMaster))
        io_.Warn(file + ": unused parameter: " + w.name + "=" + w.value);
    }
  }

  std::string Expand(const std::string& value, ValueMode mode, const MasterService* svc) {
    compiler::ExpandResult r = config_->params->ExpandValue(value, mode, svc);
    for (const compiler::ExpandError& e : r.errors) io_.Warn(e.message);
    if (r.error) io_.Die("macro processing error");
    return r.text;
  }

  // postconf evaluates every known parameter that main.cf sets, whatever was
  // asked: a broken $ expression or a loop among them is fatal.
  void ExpandAllExplicit() {
    for (const auto& [name, p] : config_->params->known()) {
      if (p.info && p.info->raw) continue;
      if (p.cls == compiler::ParamClass::kUser) continue;
      std::optional<std::string> v = config_->params->ExplicitValue(name);
      if (!v || name == "config_directory") continue;
      Expand(*v, ValueMode::kEffective, nullptr);
    }
  }

  ValueMode Mode() const {
    if (opt_.show_defaults) return ValueMode::kDefaultsOnly;
    if (opt_.show_nondefault) return ValueMode::kExplicitOnly;
    return ValueMode::kEffective;
  }

  void PrintParam(const std::string& name) {
    std::optional<std::string> value = config_->params->Value(name, Mode());
    if (!value) return;
    if (opt_.hide_value) {
      PrintLine(&io_.out_, opt_.fold, name);
      return;
    }
    std::string v = *value;
    const compiler::KnownParam* p = config_->params->Find(name);
    bool raw = p && p->info && p->info->raw;
    if (opt_.expand && !raw) v = Expand(v, Mode(), nullptr);
    PrintLine(&io_.out_, opt_.fold, opt_.hide_name ? v : name + " = " + v);
  }

  int RunParams() {
    bool read_main = !opt_.show_defaults;
    Load(read_main, false);
    if (read_main) ReplayNameSpaceWarnings(false);
    if (opt_.names.empty()) {
      for (const auto& [name, p] : config_->params->known()) {
        // Legacy names are known but listed only when main.cf sets them.
        if (p.info && p.info->legacy && !config_->params->ExplicitValue(name)) continue;
        PrintParam(name);
      }
    } else {
      for (const std::string& name : opt_.names) {
        if (!config_->params->Find(name)) {
          io_.Warn(name + ": unknown parameter");
          continue;
        }
        PrintParam(name);
      }
    }
    if (read_main) {
      ExpandAllExplicit();
      ReplayNameSpaceWarnings(true);
    }
    return 0;
  }

  // ---- master.cf views ----

  struct Selector {
    std::string raw;
    std::string service, type, rest;
    int parts = 0;
    int matches = 0;
  };

  // Parses "svc[/type[/field-or-param]]"; empty service or type parts are
  // refused as postconf refuses them.
  std::optional<Selector> ParseSelector(const std::string& text, int max_parts) {
    Selector s;
    s.raw = text;
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t slash = parts.size() + 1 < static_cast<size_t>(max_parts) + 1
                         ? text.find('/', start)
                         : std::string::npos;
      parts.push_back(text.substr(start, slash == std::string::npos ? std::string::npos
                                                                    : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (parts[0].empty()) return std::nullopt;
    s.parts = static_cast<int>(parts.size());
    s.service = parts[0];
    if (parts.size() > 1) s.type = parts[1];
    if (parts.size() > 2) s.rest = parts[2];
    return s;
  }

  bool Matches(const Selector& s, const MasterService& svc) const {
    // "svc/" (empty type) selects every type with -M.
    bool any_type = s.parts < 2 || (opt_.master_entries && s.type.empty());
    return s.service == svc.name() && (any_type || s.type == svc.type());
  }

  // Formats an argument list the way postconf does after the fixed fields.
  void AppendArgs(std::string* out, int* line_len, const MasterService& svc, size_t first,
                  int option_extra) {
    bool in_options = true;
    const std::vector<std::string>& argv = svc.argv;
    for (size_t f = first; f < argv.size(); ++f) {
      const std::string& arg = argv[f];
      int arg_len = static_cast<int>(arg.size());
      std::optional<std::string> aval;
      bool parens = false;
      if (in_options) {
        if (arg.empty() || arg[0] != '-' || arg == "--") {
          in_options = false;
        } else if (arg.size() > 1 && arg[1] == 'o' && f + 1 < argv.size()) {
          *line_len = kLineLimit;
          aval = argv[f + 1];
          if (arg == "-o" && opt_.expand) aval = Expand(*aval, ValueMode::kEffective, &svc);
          arg_len += static_cast<int>(aval->size()) + option_extra;
          parens = aval->find_first_of(" \t\r\n") != std::string::npos;
          if (parens) arg_len += 2;
        }
      }
      if (!in_options) parens = arg.find_first_of(" \t\r\n") != std::string::npos;
      if (*line_len > kIndentLen) {
        if (!opt_.fold || *line_len + 1 + arg_len < kLineLimit) {
          *out += ' ';
          *line_len += 1;
        } else {
          *out += "\n";
          *out += kIndent;
          *line_len = kIndentLen;
        }
      }
      auto add = [&](const std::string& t) {
        *out += t;
        *line_len += static_cast<int>(t.size());
      };
      if (!in_options && parens) add("{");
      add(arg);
      if (!in_options && parens) add("}");
      if (aval) {
        add(" ");
        if (parens) add("{");
        add(*aval);
        if (parens) add("}");
        ++f;
        *line_len = kLineLimit;
      }
    }
  }

  void PrintEntry(const MasterService& svc) {
    static const int kGoal[] = {0, 11, 17, 25, 33, 41, 49, 57};
    std::string out;
    int line_len = 0;
    for (int f = 0; f < compiler::kMasterFieldCount; ++f) {
      if (line_len > 0) {
        do {
          out += ' ';
          ++line_len;
        } while (line_len < kGoal[f]);
      }
      out += svc.argv[f];
      line_len += static_cast<int>(svc.argv[f].size());
    }
    AppendArgs(&out, &line_len, svc, compiler::kMasterFieldCount, 3);
    io_.out_ += out + "\n";
  }

  static const char* FieldName(int f) {
    static const char* kNames[] = {"service", "type", "private", "unprivileged",
                                   "chroot", "wakeup", "process_limit", "command"};
    return kNames[f];
  }

  void PrintField(const MasterService& svc, int field) {
    std::string out;
    int line_len = 0;
    auto add = [&](const std::string& t) {
      out += t;
      line_len += static_cast<int>(t.size());
    };
    if (!opt_.hide_name) add(svc.name() + "/" + svc.type() + "/" + FieldName(field));
    if (!opt_.hide_name && !opt_.hide_value) add(" = ");
    if (!opt_.hide_value) {
      const std::string& v = svc.argv[field];
      if (line_len > 0 && line_len + static_cast<int>(v.size()) > kLineLimit) {
        out += "\n";
        out += kIndent;
        line_len = kIndentLen;
      }
      add(v);
      if (field == compiler::kFieldCommand)
        AppendArgs(&out, &line_len, svc, compiler::kMasterFieldCount, 1);
    }
    io_.out_ += out + "\n";
  }

  void PrintServiceParam(const MasterService& svc, const std::string& name,
                         const std::string& value) {
    std::string v = value;
    if (opt_.expand) v = Expand(v, ValueMode::kEffective, &svc);
    std::string text;
    if (opt_.hide_value) {
      text = svc.name() + "/" + svc.type() + "/" + name;
    } else if (opt_.hide_name) {
      text = v;
    } else {
      text = svc.name() + "/" + svc.type() + "/" + name + " = " + v;
    }
    PrintLine(&io_.out_, opt_.fold, text);
  }

  // -o parameters of a service, last one per name, sorted by name.
  static std::map<std::string, std::string> ServiceParams(const MasterService& svc) {
    std::map<std::string, std::string> params;
    for (const compiler::MasterOption& o : svc.options) params[o.name] = o.value;
    return params;
  }

  int RunMaster() {
    Load(!opt_.show_defaults, true);
    if (!opt_.show_defaults) ReplayNameSpaceWarnings(false);
    const std::vector<MasterService>& services = config_->master_cf->services;
    std::vector<Selector> selectors;
    int max_parts = opt_.master_entries ? 2 : 3;
    for (const std::string& n : opt_.names) {
      std::optional<Selector> s = ParseSelector(n, max_parts);
      if (s && s->parts > max_parts) s.reset();
      if (!s) {
        if (opt_.master_entries) io_.Die("-M option requires service_name[/type]");
        if (opt_.master_fields) io_.Die("-F option requires service_name[/type[/field]]");
        io_.Die("-P option requires service_name[/type[/parameter]]");
      }
      if (opt_.master_fields && s->parts == 3 && FieldIndex(s->rest) < 0)
        io_.Die("invalid service attribute name: \"" + s->rest + "\"");
      selectors.push_back(*s);
    }
    for (const MasterService& svc : services) {
      if (selectors.empty()) {
        ShowService(svc, nullptr);
        continue;
      }
      for (Selector& s : selectors) {
        if (!Matches(s, svc)) continue;
        if (opt_.master_params && s.parts == 3) {
          std::map<std::string, std::string> params = ServiceParams(svc);
          auto it = params.find(s.rest);
          if (it == params.end()) continue;
          ++s.matches;
          PrintServiceParam(svc, it->first, it->second);
          continue;
        }
        ++s.matches;
        ShowService(svc, &s);
      }
    }
    for (const Selector& s : selectors)
      if (s.matches == 0) io_.Warn("unmatched request: \"" + s.raw + "\"");
    // master.cf views warn only about unused master.cf -o settings.
    if (!opt_.show_defaults) ReplayNameSpaceWarnings(true, true);
    return 0;
  }

  static int FieldIndex(const std::string& name) {
    for (int f = 0; f < compiler::kMasterFieldCount; ++f)
      if (name == FieldName(f)) return f;
    return -1;
  }

  void ShowService(const MasterService& svc, const Selector* s) {
    if (opt_.master_entries) {
      PrintEntry(svc);
    } else if (opt_.master_fields) {
      if (s && s->parts == 3) {
        PrintField(svc, FieldIndex(s->rest));
      } else {
        for (int f = 0; f < compiler::kMasterFieldCount; ++f) PrintField(svc, f);
      }
    } else {
      for (const auto& [name, value] : ServiceParams(svc)) PrintServiceParam(svc, name, value);
    }
  }

  const Options& opt_;
  Output& io_;
  std::unique_ptr<ConfigSet> config_;
};

}  // namespace

int ConfCommand(const std::vector<std::string>& argv) {
  Options opt;
  opt.dir = "/etc/postfix";
  if (const char* env = std::getenv("MAIL_CONFIG")) opt.dir = env;
  Output io;
  int status = 0;
  try {
    size_t i = 1;
    for (; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "--") {
        ++i;
        break;
      }
      if (a.size() < 2 || a[0] != '-') break;
      for (size_t k = 1; k < a.size(); ++k) {
        char c = a[k];
        auto value = [&]() -> std::string {
          if (k + 1 < a.size()) {
            std::string v = a.substr(k + 1);
            k = a.size();
            return v;
          }
          if (i + 1 >= argv.size()) io.Die(std::string("option requires an argument -- '") + c + "'");
          k = a.size();
          return argv[++i];
        };
        switch (c) {
          case 'c': opt.dir = value(); opt.dir_given = true; break;
          case 'd': opt.show_defaults = true; break;
          case 'n': opt.show_nondefault = true; break;
          case 'x': opt.expand = true; break;
          case 'h': opt.hide_name = true; break;
          case 'H': opt.hide_value = true; break;
          case 'f': opt.fold = true; break;
          case 'M': opt.master_entries = true; break;
          case 'F': opt.master_fields = true; break;
          case 'P': opt.master_params = true; break;
          case 'v': break;
          case 'o': {
            std::string nv = value();
            std::string name, val;
            if (std::optional<std::string> err = compiler::SplitNameValue(nv, &name, &val))
              io.Die("invalid parameter override: " + nv + ": " + *err);
            opt.overrides.emplace_back(name, val);
            break;
          }
          default:
            io.err_ += std::string("phc: invalid option -- '") + c + "'\n";
            io.Die(kUsage);
        }
      }
    }
    for (; i < argv.size(); ++i) opt.names.push_back(argv[i]);
    // postconf's exclusive flags, named in byte order.
    std::string exclusive;
    if (opt.master_fields) exclusive += 'F';
    if (opt.master_entries) exclusive += 'M';
    if (opt.master_params) exclusive += 'P';
    if (exclusive.size() > 1)
      io.Die(std::string("specify one of -") + exclusive[0] + " -" + exclusive[1]);
    if (!exclusive.empty() && opt.show_nondefault)
      io.Die(std::string("with option -") + exclusive[0] + ", do not specify -n");
    if (opt.show_defaults && opt.show_nondefault) io.Die("specify one of -d -n");
    if (opt.show_defaults && !opt.overrides.empty()) io.Die("specify one of -d -o");
    Conf conf(opt, &io);
    status = conf.Run();
  } catch (const Fatal& f) {
    // postconf exits without flushing its buffered standard output.
    io.out_.clear();
    io.err_ += "phc: fatal: " + f.message + "\n";
    status = 1;
  }
  std::fwrite(io.out_.data(), 1, io.out_.size(), stdout);
  std::fflush(stdout);
  std::fwrite(io.err_.data(), 1, io.err_.size(), stderr);
  return status;
}

}  // namespace posthaste::tools
