// antlr_input.h: feeds raw bytes to ANTLR-generated lexers.
//
// ANTLR's own input stream decodes UTF-8 and fails on invalid sequences;
// configuration files are bytes. This stream maps each byte to one code point
// (0..255) so any input lexes and token start/stop indexes are byte offsets.
// Parse-layer only: nothing outside compiler/ sees ANTLR types.
#pragma once

#include <string_view>

#include "antlr4-runtime.h"

namespace posthaste::compiler {

class ByteInputStream : public antlr4::ANTLRInputStream {
 public:
  explicit ByteInputStream(std::string_view bytes) {
    _data.clear();
    _data.reserve(bytes.size());
    for (unsigned char c : bytes) _data.push_back(static_cast<decltype(_data)::value_type>(c));
    p = 0;
  }
};

// An error listener that records that something went wrong instead of
// printing to the console.
class QuietErrorListener : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer*, antlr4::Token*, size_t line, size_t col,
                   const std::string& msg, std::exception_ptr) override {
    if (!failed) {
      failed = true;
      first_line = line;
      first_col = col;
      message = msg;
    }
  }
  bool failed = false;
  size_t first_line = 0;
  size_t first_col = 0;
  std::string message;
};

}  // namespace posthaste::compiler
