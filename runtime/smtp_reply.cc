// smtp_reply.cc: SMTP server replies and EHLO features, parsed with limits.
#include "runtime/smtp_reply.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace posthaste::runtime {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Postfix's mystrtok(): skips leading delimiters, returns the token up to the
// next delimiter and moves past that one delimiter.
std::string_view Token(std::string_view* rest, std::string_view delims) {
  size_t start = rest->find_first_not_of(delims);
  if (start == std::string_view::npos) {
    *rest = std::string_view();
    return std::string_view();
  }
  size_t end = rest->find_first_of(delims, start);
  std::string_view token = rest->substr(start, end == std::string_view::npos ? end : end - start);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end + 1);
  return token;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Digits without a leading zero (unless the field is one digit), 1..3 long.
size_t DigitField(std::string_view text, size_t pos) {
  size_t n = 0;
  while (pos + n < text.size() && IsDigit(text[pos + n])) ++n;
  if (n == 0 || n > 3 || (n > 1 && text[pos] == '0')) return 0;
  return n;
}

}  // namespace

std::string SmtpReply::OneLine() const {
  std::string out = text;
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

size_t EnhancedStatusLength(std::string_view text) {
  if (text.size() < 5) return 0;
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return 0;
  if (text[1] != '.') return 0;
  size_t pos = 2;
  size_t n = DigitField(text, pos);
  if (n == 0) return 0;
  pos += n;
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  n = DigitField(text, pos);
  if (n == 0) return 0;
  pos += n;
  if (pos < text.size() && !isspace(static_cast<unsigned char>(text[pos]))) return 0;
  return pos;
}

SmtpReplyReader::SmtpReplyReader(size_t line_limit) : line_limit_(std::max<size_t>(line_limit, 16)) {}

void SmtpReplyReader::Append(std::string_view bytes) {
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

void SmtpReplyReader::Reset() {
  buffer_.clear();
  pos_ = 0;
  skipping_ = false;
  line_was_cut_ = false;
  partial_ = SmtpReply();
}

bool SmtpReplyReader::TakeLine(std::string* line) {
  line_was_cut_ = false;
  if (skipping_) {
    size_t nl = buffer_.find('\n', pos_);
    if (nl == std::string::npos) {
      buffer_.clear();
      pos_ = 0;
      return false;
    }
    pos_ = nl + 1;
    skipping_ = false;
  }
  size_t nl = buffer_.find('\n', pos_);
  size_t available = (nl == std::string::npos ? buffer_.size() : nl) - pos_;
  if (available > line_limit_) {
    // Over-long line: keep its first line_limit bytes, drop the rest.
    line->assign(buffer_, pos_, line_limit_);
    line_was_cut_ = true;
    if (nl == std::string::npos) {
      buffer_.clear();
      pos_ = 0;
      skipping_ = true;
    } else {
      pos_ = nl + 1;
    }
    return true;
  }
  if (nl == std::string::npos) return false;
  line->assign(buffer_, pos_, nl - pos_);
  if (!line->empty() && line->back() == '\r') line->pop_back();
  pos_ = nl + 1;
  return true;
}

bool SmtpReplyReader::AddLine(std::string_view raw) {
  std::string line(raw);
  for (char& c : line) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = '?';
  }
  if (line_was_cut_) partial_.truncated = true;
  if (partial_.text.size() < line_limit_) {
    if (!partial_.text.empty()) partial_.text.push_back('\n');
    partial_.text.append(line);
  }
  size_t digits = 0;
  while (digits < line.size() && IsDigit(line[digits])) ++digits;
  if (digits == 3) {
    if (line.size() > 3 && line[3] == '-') return false;
    if (line.size() == 3 || line[3] == ' ') {
      partial_.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      if (line[0] == '2' || line[0] == '4' || line[0] == '5') {
        size_t cp = std::min<size_t>(4, line.size());
        while (cp < line.size() && line[cp] == ' ') ++cp;
        std::string_view rest = std::string_view(line).substr(cp);
        size_t len = EnhancedStatusLength(rest);
        if (len > 0 && rest[0] == line[0]) {
          partial_.dsn.assign(rest.substr(0, len));
        } else {
          partial_.dsn = std::string(1, line[0]) + ".0.0";
        }
      } else {
        partial_.dsn = "5.5.0";
      }
      return true;
    }
  }
  partial_.had_garbage = true;
  return false;
}

std::optional<SmtpReply> SmtpReplyReader::Next() {
  std::string line;
  while (TakeLine(&line)) {
    if (AddLine(line)) {
      SmtpReply done = std::move(partial_);
      partial_ = SmtpReply();
      return done;
    }
  }
  return std::nullopt;
}

EhloFeatures ParseEhloFeatures(std::string_view reply_text, std::string_view discard) {
  std::vector<std::string_view> discarded;
  {
    std::string_view rest = discard;
    for (std::string_view word = Token(&rest, ", \t\r\n"); !word.empty();
         word = Token(&rest, ", \t\r\n")) {
      discarded.push_back(word);
    }
  }
  auto is_discarded = [&](std::string_view keyword) {
    for (std::string_view d : discarded) {
      if (EqualsIgnoreCase(d, keyword)) return true;
    }
    return false;
  };

  EhloFeatures features;
  std::string_view lines = reply_text;
  int n = 0;
  for (std::string_view words = Token(&lines, "\n"); !words.empty();
       words = Token(&lines, "\n")) {
    if (Token(&words, "- ").empty()) continue;
    std::string_view word = Token(&words, " \t=");
    if (word.empty()) continue;
    if (n == 0) {
      features.server_name.assign(word);
    } else if (EqualsIgnoreCase(word, "8BITMIME")) {
      if (!is_discarded("8bitmime")) features.eight_bit_mime = true;
    } else if (EqualsIgnoreCase(word, "PIPELINING")) {
      if (!is_discarded("pipelining")) features.pipelining = true;
    } else if (EqualsIgnoreCase(word, "SIZE")) {
      if (!is_discarded("size")) {
        features.size = true;
        std::string_view limit = Token(&words, " \t");
        if (!limit.empty()) {
          bool all_digits = std::all_of(limit.begin(), limit.end(), IsDigit);
          if (!all_digits) {
            features.bad_size_limit = true;
          } else {
            uint64_t value = 0;
            bool overflow = false;
            for (char c : limit) {
              if (value > (UINT64_MAX - 9) / 10) {
                overflow = true;
                break;
              }
              value = value * 10 + static_cast<uint64_t>(c - '0');
            }
            // Like Postfix, a limit too large to represent means no limit.
            features.size_limit = overflow ? 0 : value;
          }
        }
      }
    } else if (EqualsIgnoreCase(word, "STARTTLS")) {
      if (!is_discarded("starttls")) features.starttls = true;
    } else if (EqualsIgnoreCase(word, "DSN")) {
      if (!is_discarded("dsn")) features.dsn = true;
    } else if (EqualsIgnoreCase(word, "SMTPUTF8")) {
      if (!is_discarded("smtputf8")) features.smtputf8 = true;
    } else if (EqualsIgnoreCase(word, "AUTH")) {
      if (!is_discarded("auth")) features.auth = true;
    }
    ++n;
  }
  return features;
}

}  // namespace posthaste::runtime
