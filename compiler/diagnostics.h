// diagnostics.h: compiler diagnostics with stable codes, rendered like a C compiler's.
//
// Every phase of the compiler reports into one DiagnosticSink. Each kind of
// diagnostic has a row in diagnostic_codes.def (code, default severity,
// explanation). The sink keeps going after errors ("report many, then
// stop"); callers check HasErrors() before the next phase and never emit
// artifacts after an error. Rendering: text (`file:line:col: severity:
// message [code]`, the source line quoted with a marker under the span, then
// notes) or JSON for CI tools.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/source.h"

namespace posthaste::compiler {

enum class Severity { kNote, kWarning, kError };

enum class DiagCode {
#define POSTHASTE_DIAG(id, code, severity, explanation) id,
#include "compiler/diagnostic_codes.def"
#undef POSTHASTE_DIAG
};

struct DiagCodeInfo {
  DiagCode id;
  std::string_view code;
  Severity severity;
  std::string_view explanation;
};
const DiagCodeInfo& InfoFor(DiagCode code);
const std::vector<DiagCodeInfo>& AllDiagCodes();

struct Note {
  SourceSpan span;
  std::string message;
};

struct Diagnostic {
  DiagCode code;
  Severity severity;
  SourceSpan span;
  std::string message;
  std::vector<Note> notes;
  int phase = 0;
};

class DiagnosticSink {
 public:
  explicit DiagnosticSink(const SourceSet* sources) : sources_(sources) {}

  // Reports with the code's default severity (or the override set below).
  Diagnostic& Report(DiagCode code, SourceSpan span, std::string message);
  // Downgrades or upgrades one code for this run (e.g. --allow-unsupported).
  void OverrideSeverity(DiagCode code, Severity severity);
  // Diagnostics are printed grouped by phase, then by file, line, column.
  void SetPhase(int phase) { phase_ = phase; }

  bool HasErrors() const { return errors_ > 0; }
  int errors() const { return errors_; }
  int warnings() const { return warnings_; }
  std::vector<Diagnostic> Sorted() const;

  std::string RenderText() const;
  std::string RenderJson() const;

 private:
  std::string Quote(const SourceSpan& span) const;
  std::string Where(const SourceSpan& span) const;

  const SourceSet* sources_;
  std::vector<Diagnostic> diags_;
  std::vector<std::pair<DiagCode, Severity>> overrides_;
  int phase_ = 0;
  int errors_ = 0;
  int warnings_ = 0;
};

std::string_view SeverityName(Severity s);

}  // namespace posthaste::compiler
