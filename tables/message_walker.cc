// message_walker.cc: header unfolding, header/body split and MIME structure.
#include "tables/message_walker.h"

#include <string>
#include <vector>

namespace posthaste::tables {
namespace {

bool IsBlankChar(char c) { return c == ' ' || c == '\t'; }

// "Name  : value" -> "Name: value".
std::string Canonical(std::string_view line, size_t name_length) {
  size_t colon = line.find(':', name_length);
  std::string out(line.substr(0, name_length));
  out.append(line.substr(colon));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Value of parameter `name` in a Content-Type header value, or "".
std::string Parameter(std::string_view value, std::string_view name) {
  std::string lower = Lower(value);
  size_t pos = 0;
  while ((pos = lower.find(std::string(name) + "=", pos)) != std::string::npos) {
    bool at_start = pos == 0 || lower[pos - 1] == ';' || IsBlankChar(lower[pos - 1]) ||
                    lower[pos - 1] == '\n' || lower[pos - 1] == '\r';
    size_t v = pos + name.size() + 1;
    if (!at_start) {
      pos = v;
      continue;
    }
    if (v < value.size() && value[v] == '"') {
      size_t end = value.find('"', v + 1);
      return std::string(value.substr(v + 1, end == std::string_view::npos ? end : end - v - 1));
    }
    size_t end = v;
    while (end < value.size() && value[end] != ';' && !IsBlankChar(value[end]) &&
           value[end] != '\r' && value[end] != '\n')
      ++end;
    return std::string(value.substr(v, end - v));
  }
  return "";
}

class Walker {
 public:
  Walker(std::string_view message, const WalkOptions& options,
         const std::function<bool(MessagePart, std::string_view)>& visit)
      : options_(options), visit_(visit) {
    size_t pos = 0;
    while (pos < message.size()) {
      size_t nl = message.find('\n', pos);
      if (nl == std::string_view::npos) nl = message.size();
      lines_.push_back(message.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }

  void Run() {
    size_t i = 0;
    Headers headers;
    if (!HeaderBlock(&i, MessagePart::kPrimaryHeader, &headers)) return;
    if (!options_.body && !options_.mime) return;
    if (!options_.mime) {
      if (options_.on_part_body) options_.on_part_body();
      BodyLines(i, lines_.size());
      return;
    }
    Entity(i, lines_.size(), headers, 0);
  }

 private:
  struct Headers {
    std::string content_type;  // lower-cased type/subtype
    std::string boundary;
    std::string encoding;  // lower-cased Content-Transfer-Encoding
  };

  bool Emit(MessagePart part, std::string_view text) {
    if (stopped_) return false;
    bool is_header = part != MessagePart::kBody;
    if ((is_header && !options_.headers) || (!is_header && !options_.body)) return true;
    if (!visit_(part, text)) stopped_ = true;
    return !stopped_;
  }

  // Reads a header block starting at *i; leaves *i at the first line after
  // it (the blank separator line, which is a body line, is not consumed).
  bool HeaderBlock(size_t* i, MessagePart part, Headers* headers) {
    bool first = true;
    while (*i < lines_.size()) {
      std::string_view line = lines_[*i];
      size_t name = HeaderNameLength(line);
      if (name == 0) {
        // Not a header: the header block ends. For the primary header, a
        // message that does not start with a header has none; an empty
        // separator line is supplied for the body.
        if (first && part == MessagePart::kPrimaryHeader && !line.empty() &&
            line != "\r")
          synthetic_blank_ = true;
        break;
      }
      first = false;
      std::string logical = Canonical(line, name);
      size_t length = line.size();
      bool truncated = false;
      ++*i;
      while (*i < lines_.size() && !lines_[*i].empty() && IsBlankChar(lines_[*i][0])) {
        if (!truncated) {
          logical.push_back('\n');
          logical.append(lines_[*i]);
          length += lines_[*i].size() + 1;
          if (length > options_.header_size_limit) truncated = true;
        }
        ++*i;
      }
      if (length > options_.header_size_limit && !truncated) truncated = true;
      std::string lower = Lower(logical.substr(0, name));
      if (lower == "content-type") {
        std::string value = logical.substr(logical.find(':') + 1);
        size_t b = value.find_first_not_of(" \t\r\n");
        std::string type = b == std::string::npos ? "" : Lower(value.substr(b));
        size_t end = type.find_first_of("; \t\r\n");
        headers->content_type = type.substr(0, end);
        headers->boundary = Parameter(value, "boundary");
      } else if (lower == "content-transfer-encoding") {
        std::string value = logical.substr(logical.find(':') + 1);
        size_t b = value.find_first_not_of(" \t\r\n");
        std::string enc = b == std::string::npos ? "" : Lower(value.substr(b));
        headers->encoding = enc.substr(0, enc.find_first_of("; \t\r\n"));
      }
      if (!Emit(part, logical)) return false;
    }
    return true;
  }

  void BodyLines(size_t from, size_t to) {
    if (synthetic_blank_) {
      synthetic_blank_ = false;
      if (!Emit(MessagePart::kBody, "")) return;
    }
    for (size_t i = from; i < to && !stopped_; ++i) Emit(MessagePart::kBody, lines_[i]);
  }

  static bool IsBoundary(std::string_view line, const std::string& boundary) {
    return line.size() >= boundary.size() + 2 && line[0] == '-' && line[1] == '-' &&
           line.compare(2, boundary.size(), boundary) == 0;
  }

  // The body of an entity whose headers are `headers`, lines [from, to).
  void Entity(size_t from, size_t to, const Headers& headers, int depth) {
    bool multipart = headers.content_type.rfind("multipart/", 0) == 0 && !headers.boundary.empty();
    bool message = headers.content_type == "message/rfc822" &&
                   headers.encoding != "base64" && headers.encoding != "quoted-printable";
    if (depth >= options_.max_nesting || (!multipart && !message)) {
      if (options_.on_part_body) options_.on_part_body();
      BodyLines(from, to);
      return;
    }
    if (message) {
      // The blank line after the enclosing header block is a body line.
      size_t i = from;
      if (i < to && (lines_[i].empty() || lines_[i] == "\r")) {
        if (!Emit(MessagePart::kBody, lines_[i])) return;
        ++i;
      }
      Headers nested;
      if (!HeaderBlock(&i, MessagePart::kNestedHeader, &nested)) return;
      Entity(i, to, nested, depth + 1);
      return;
    }
    // multipart: preamble, parts between boundaries, epilogue.
    const std::string& boundary = headers.boundary;
    bool digest = headers.content_type == "multipart/digest";
    size_t i = from;
    while (i < to && !IsBoundary(lines_[i], boundary)) {
      if (!Emit(MessagePart::kBody, lines_[i])) return;
      ++i;
    }
    while (i < to && !stopped_) {
      // lines_[i] is a boundary line.
      std::string_view b = lines_[i];
      bool last = b.size() >= boundary.size() + 4 && b.compare(2 + boundary.size(), 2, "--") == 0;
      if (!Emit(MessagePart::kBody, b)) return;
      ++i;
      if (last) {
        BodyLines(i, to);
        return;
      }
      size_t end = i;
      while (end < to && !IsBoundary(lines_[end], boundary)) ++end;
      Headers part;
      if (digest) part.content_type = "message/rfc822";
      if (!HeaderBlock(&i, MessagePart::kMimeHeader, &part)) return;
      if (digest && part.content_type.empty()) part.content_type = "message/rfc822";
      Entity(i, end, part, depth + 1);
      i = end;
    }
  }

  const WalkOptions& options_;
  const std::function<bool(MessagePart, std::string_view)>& visit_;
  std::vector<std::string_view> lines_;
  bool synthetic_blank_ = false;
  bool stopped_ = false;
};

}  // namespace

// Length of the header name when `line` starts a header ("Name:" or
// "Name :"), else 0. Name characters: printable ASCII except ':' and space.
size_t HeaderNameLength(std::string_view line) {
  size_t n = 0;
  while (n < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[n]);
    if (c <= 32 || c >= 127 || c == ':') break;
    ++n;
  }
  if (n == 0) return 0;
  size_t colon = n;
  while (colon < line.size() && IsBlankChar(line[colon])) ++colon;
  if (colon >= line.size() || line[colon] != ':') return 0;
  return n;
}


void WalkMessage(std::string_view message, const WalkOptions& options,
                 const std::function<bool(MessagePart part, std::string_view text)>& visit) {
  Walker(message, options, visit).Run();
}

}  // namespace posthaste::tables
