// master_cf.cc: logical lines to services; word splitting via MasterEntry.g4.
#include "compiler/master_cf.h"
#include "compiler/text.h"

#include "MasterEntryLexer.h"
#include "compiler/antlr_input.h"
#include "compiler/main_cf.h"

namespace posthaste::compiler {
namespace {

// Splits a logical line into words with the MasterEntry lexer. Brace groups
// stay inside their word. Sets *unbalanced at the first stray brace.
std::vector<MasterWord> SplitWords(const std::string& text, size_t* unbalanced) {
  std::vector<MasterWord> words;
  ByteInputStream input(text);
  posthaste_grammar::MasterEntryLexer lexer(&input);
  QuietErrorListener errors;
  lexer.removeErrorListeners();
  lexer.addErrorListener(&errors);
  *unbalanced = std::string::npos;
  for (auto token = lexer.nextToken(); token->getType() != antlr4::Token::EOF;
       token = lexer.nextToken()) {
    size_t start = token->getStartIndex();
    size_t stop = token->getStopIndex();
    if (token->getType() == posthaste_grammar::MasterEntryLexer::WORD) {
      words.push_back({text.substr(start, stop - start + 1), start});
    } else if (token->getType() == posthaste_grammar::MasterEntryLexer::UNBALANCED) {
      if (*unbalanced == std::string::npos) *unbalanced = start;
      // Like Postfix, an unclosed '{' swallows the rest of the line into
      // one word; a stray '}' is just text.
      bool glued = !words.empty() && words.back().offset + words.back().text.size() == start;
      size_t end = text[start] == '{' ? text.size() : start + 1;
      while (text[start] == '{' && end > start && IsSpace(text[end - 1])) --end;
      if (glued) {
        words.back().text.append(text, start, end - start);
      } else {
        words.push_back({text.substr(start, end - start), start});
      }
      if (text[start] == '{') break;
    }
  }
  return words;
}

}  // namespace

std::optional<std::string> ExtractBraced(std::string_view text, std::string* error) {
  size_t b = 0;
  while (b < text.size() && IsSpace(text[b])) ++b;
  if (b == text.size() || text[b] != '{') return std::string(text);
  int level = 0;
  size_t close = std::string_view::npos;
  for (size_t i = b; i < text.size(); ++i) {
    if (text[i] == '{') ++level;
    if (text[i] == '}' && --level == 0) {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) {
    *error = "missing '}' in \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  for (size_t i = close + 1; i < text.size(); ++i) {
    if (!IsSpace(text[i])) {
      *error = "syntax error after '}' in \"" + std::string(text) + "\"";
      return std::nullopt;
    }
  }
  std::string_view inner = text.substr(b + 1, close - b - 1);
  while (!inner.empty() && IsSpace(inner.front())) inner.remove_prefix(1);
  while (!inner.empty() && IsSpace(inner.back())) inner.remove_suffix(1);
  return std::string(inner);
}

std::string MasterService::process_name() const {
  const std::string& cmd = argv[kFieldCommand];
  size_t slash = cmd.rfind('/');
  return slash == std::string::npos ? cmd : cmd.substr(slash + 1);
}

const MasterOption* MasterService::FindOption(const std::string& name) const {
  const MasterOption* found = nullptr;
  for (const MasterOption& o : options)
    if (o.name == name) found = &o;
  return found;
}

namespace {

// Brings daemon arguments into Postfix's canonical form and collects -o
// options. `first` is the index of the first argument word.
void NormalizeArguments(MasterService* svc) {
  const LogicalLine& line = svc->line;
  std::vector<std::string>& argv = svc->argv;
  size_t i = kMasterFieldCount;
  // Word index for each argv entry, to find spans.
  for (; i < svc->words.size(); ++i) {
    const MasterWord& w = svc->words[i];
    const std::string& arg = w.text;
    if (arg.empty() || arg[0] != '-' || arg == "--") break;
    // Split option clusters like getopt: "-vo" -> "-v" "-o"; "-oname=v" -> "-o" "name=v".
    size_t o_pos = arg.find('o', 1);
    if (o_pos == std::string::npos) {
      argv.push_back(arg);
      continue;
    }
    if (o_pos > 1) argv.push_back(arg.substr(0, o_pos));
    argv.push_back("-o");
    SourceSpan flag_span = line.SpanAt(w.offset + o_pos - 1, 2);
    std::string value_word;
    size_t value_offset;
    bool attached = o_pos + 1 < arg.size();
    if (attached) {
      value_word = arg.substr(o_pos + 1);
      value_offset = w.offset + o_pos + 1;
    } else if (i + 1 < svc->words.size()) {
      ++i;
      value_word = svc->words[i].text;
      value_offset = svc->words[i].offset;
    } else {
      svc->option_problems.push_back({flag_span, "-o without a name=value argument"});
      return;
    }
    if (attached)
      svc->option_problems.push_back(
          {line.SpanAt(w.offset, arg.size()),
           "attached option \"" + arg + "\": write \"-o " + value_word + "\""});
    MasterOption opt;
    opt.flag_span = flag_span;
    opt.attached = attached;
    std::string nameval = value_word;
    size_t inner_offset = value_offset;  // offset of nameval's first byte in line
    if (!value_word.empty() && value_word[0] == '{') {
      opt.braced = true;
      std::string error;
      std::optional<std::string> inner = ExtractBraced(value_word, &error);
      if (!inner) {
        svc->postconf_warnings.push_back("master.cf: " + error);
        svc->option_problems.push_back({line.SpanAt(value_offset, value_word.size()), error});
        // postconf strips the opening brace and carries on.
        std::string_view rest = std::string_view(value_word).substr(1);
        while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
        while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
        inner = std::string(rest);
      }
      size_t at = value_word.find(*inner);
      inner_offset = value_offset + (at == std::string::npos ? 0 : at);
      nameval = *inner;
      std::string name, value;
      if (std::optional<std::string> err = SplitNameValue(nameval, &name, &value)) {
        svc->postconf_warnings.push_back("master.cf: " + *err + ": \"" + nameval + "\"");
      } else {
        nameval = name + "=" + value;
      }
    }
    argv.push_back(nameval);
    // Record the option, located in the original text.
    std::string raw = value_word;
    if (opt.braced) {
      std::string error;
      std::optional<std::string> inner = ExtractBraced(value_word, &error);
      if (inner) {
        raw = *inner;
      } else {
        std::string_view rest = std::string_view(value_word).substr(1);
        while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
        while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
        raw = std::string(rest);
      }
    }
    std::string name, value;
    size_t v_off = 0, n_off = 0;
    if (SplitNameValue(raw, &name, &value, &v_off, &n_off)) {
      svc->option_problems.push_back(
          {flag_span, "-o argument \"" + raw + "\" is not name=value (no blanks around '=' "
                      "unless the whole option is braced: -o { name = value })"});
      continue;
    }
    opt.name = name;
    opt.value = value;
    opt.name_span = line.SpanAt(inner_offset + n_off, name.size());
    opt.value_offset = inner_offset + v_off;
    opt.value_span = line.SpanAt(inner_offset + v_off, value.size());
    svc->options.push_back(std::move(opt));
  }
  // Non-option arguments: braces extracted.
  for (; i < svc->words.size(); ++i) {
    const std::string& arg = svc->words[i].text;
    if (!arg.empty() && arg[0] == '{') {
      std::string error;
      std::optional<std::string> inner = ExtractBraced(arg, &error);
      if (!inner) {
        svc->postconf_warnings.push_back("master.cf: " + error);
        argv.push_back(arg);
      } else {
        argv.push_back(*inner);
      }
    } else {
      argv.push_back(arg);
    }
  }
}

}  // namespace

MasterCf ParseMasterCf(const SourceSet& sources, int file) {
  MasterCf cf;
  cf.file = file;
  cf.path = sources.file(file).path;
  LineStructure lines = ReadLogicalLines(sources, file, ConfigGrammar::kMasterCf);
  cf.strays = std::move(lines.strays);
  for (LogicalLine& line : lines.entries) {
    MasterService svc;
    svc.line_number = line.first_line();
    size_t unbalanced;
    svc.words = SplitWords(line.text(), &unbalanced);
    svc.line = std::move(line);
    if (unbalanced != std::string::npos) {
      svc.unbalanced_braces = true;
      svc.unbalanced_span = svc.line.SpanAt(unbalanced, 1);
    }
    if (svc.complete()) {
      for (int f = 0; f < kMasterFieldCount; ++f) svc.argv.push_back(svc.words[f].text);
      NormalizeArguments(&svc);
    }
    cf.services.push_back(std::move(svc));
  }
  return cf;
}

}  // namespace posthaste::compiler
