// diagnostics.cc: the code table, ordering, and text/JSON rendering.
#include "compiler/diagnostics.h"

#include <algorithm>
#include <cstdio>

namespace posthaste::compiler {
namespace {

constexpr int kTabStop = 8;

// Expands tabs to the next multiple of kTabStop; `col_map[i]` is the display
// column of byte i.
std::string ExpandTabs(std::string_view line, std::vector<int>* col_map) {
  std::string out;
  for (char c : line) {
    if (col_map) col_map->push_back(static_cast<int>(out.size()));
    if (c == '\t') {
      do out.push_back(' ');
      while (out.size() % kTabStop != 0);
    } else {
      out.push_back(c);
    }
  }
  if (col_map) col_map->push_back(static_cast<int>(out.size()));
  return out;
}

void JsonEscape(std::string_view s, std::string* out) {
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\t': *out += "\\t"; break;
      case '\r': *out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

}  // namespace

const std::vector<DiagCodeInfo>& AllDiagCodes() {
  static const std::vector<DiagCodeInfo> kCodes = {
#define POSTHASTE_DIAG(id, code, severity, explanation) \
  {DiagCode::id, code, Severity::severity, explanation},
#include "compiler/diagnostic_codes.def"
#undef POSTHASTE_DIAG
  };
  return kCodes;
}

const DiagCodeInfo& InfoFor(DiagCode code) { return AllDiagCodes()[static_cast<int>(code)]; }

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kNote: return "note";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "error";
}

void DiagnosticSink::OverrideSeverity(DiagCode code, Severity severity) {
  overrides_.emplace_back(code, severity);
}

Diagnostic& DiagnosticSink::Report(DiagCode code, SourceSpan span, std::string message) {
  Severity severity = InfoFor(code).severity;
  for (const auto& [c, s] : overrides_)
    if (c == code) severity = s;
  if (severity == Severity::kError) ++errors_;
  if (severity == Severity::kWarning) ++warnings_;
  diags_.push_back(Diagnostic{code, severity, span, std::move(message), {}, phase_});
  return diags_.back();
}

std::vector<Diagnostic> DiagnosticSink::Sorted() const {
  std::vector<Diagnostic> sorted = diags_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.phase != b.phase) return a.phase < b.phase;
    if (a.span.file != b.span.file) return a.span.file < b.span.file;
    if (a.span.line != b.span.line) return a.span.line < b.span.line;
    return a.span.col < b.span.col;
  });
  return sorted;
}

std::string DiagnosticSink::Where(const SourceSpan& span) const {
  if (!span.valid()) return "phc";
  std::string where = sources_->file(span.file).path;
  if (span.line > 0) {
    where += ":" + std::to_string(span.line);
    if (span.col > 0) where += ":" + std::to_string(span.col);
  }
  return where;
}

std::string DiagnosticSink::Quote(const SourceSpan& span) const {
  if (!span.valid() || span.line <= 0) return "";
  std::string_view line = sources_->Line(span.file, span.line);
  std::vector<int> cols;
  std::string shown = ExpandTabs(line, &cols);
  int first = std::clamp(span.col - 1, 0, static_cast<int>(line.size()));
  int last = std::clamp(span.col - 1 + std::max(span.length, 1), first,
                        static_cast<int>(line.size()));
  std::string marker(cols[first], ' ');
  marker += '^';
  int width = cols[last] - cols[first];
  if (width > 1) marker.append(width - 1, '~');
  return "    " + shown + "\n    " + marker + "\n";
}

std::string DiagnosticSink::RenderText() const {
  std::string out;
  for (const Diagnostic& d : Sorted()) {
    out += Where(d.span) + ": " + std::string(SeverityName(d.severity)) + ": " + d.message + " [" +
           std::string(InfoFor(d.code).code) + "]\n";
    out += Quote(d.span);
    for (const Note& n : d.notes) out += Where(n.span) + ": note: " + n.message + "\n";
  }
  return out;
}

std::string DiagnosticSink::RenderJson() const {
  std::string out = "[";
  bool first = true;
  for (const Diagnostic& d : Sorted()) {
    out += first ? "\n  {" : ",\n  {";
    first = false;
    out += "\"file\": \"";
    if (d.span.valid()) JsonEscape(sources_->file(d.span.file).path, &out);
    out += "\", \"line\": " + std::to_string(d.span.line) +
           ", \"column\": " + std::to_string(d.span.col) + ", \"severity\": \"" +
           std::string(SeverityName(d.severity)) + "\", \"code\": \"" +
           std::string(InfoFor(d.code).code) + "\", \"message\": \"";
    JsonEscape(d.message, &out);
    out += "\", \"notes\": [";
    for (size_t i = 0; i < d.notes.size(); ++i) {
      const Note& n = d.notes[i];
      out += i ? ", {" : "{";
      out += "\"file\": \"";
      if (n.span.valid()) JsonEscape(sources_->file(n.span.file).path, &out);
      out += "\", \"line\": " + std::to_string(n.span.line) +
             ", \"column\": " + std::to_string(n.span.col) + ", \"message\": \"";
      JsonEscape(n.message, &out);
      out += "\"}";
    }
    out += "]}";
  }
  out += first ? "]\n" : "\n]\n";
  return out;
}

}  // namespace posthaste::compiler
