// data_reader.cc: incremental DATA reader (see data_reader.h).
//
// Reads untrusted input: the only buffer is one piece of at most
// line_length_limit bytes; runs of carriage returns are kept as a count.
#include "runtime/data_reader.h"

#include <algorithm>

namespace posthaste::runtime {

DataReader::DataReader(const DataReaderOptions& options) : options_(options) {
  if (options_.line_length_limit < 1) options_.line_length_limit = 1;
  piece_.reserve(std::min<size_t>(options_.line_length_limit, 4096));
}

void DataReader::Reset() {
  piece_.clear();
  line_start_ = true;
  first_piece_ = true;
  dot_removed_ = false;
  pending_crs_ = 0;
  size_ = 0;
  bare_lf_lines_ = 0;
  done_ = false;
  size_exceeded_ = false;
}

void DataReader::Emit(std::string_view piece, bool continued, Sink sink) {
  // Postfix smtpd's act_size: every record (a line, or a piece of a line
  // longer than line_length_limit) counts with two bytes for its CR LF.
  size_ += piece.size() + 2;
  if (options_.message_size_limit != 0 && size_ > options_.message_size_limit) {
    size_exceeded_ = true;
  }
  if (!size_exceeded_) sink(piece, continued);
}

// Appends line content, cutting a piece whenever it would grow past the
// limit. The removed leading dot counts against the first piece, as the
// limit applies to the bytes read from the client.
void DataReader::AddContent(std::string_view bytes, Sink sink) {
  while (!bytes.empty()) {
    size_t limit = options_.line_length_limit;
    if (first_piece_ && dot_removed_ && limit > 1) limit -= 1;
    if (piece_.size() >= limit) {
      Emit(piece_, true, sink);
      piece_.clear();
      first_piece_ = false;
      continue;
    }
    size_t n = std::min(bytes.size(), limit - piece_.size());
    piece_.append(bytes.data(), n);
    bytes.remove_prefix(n);
  }
}

void DataReader::AddPendingCrs(Sink sink) {
  // Rare (bare CRs inside a line): a bounded temporary per 4 KiB of them.
  while (pending_crs_ > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(pending_crs_, 4096));
    AddContent(std::string(n, '\r'), sink);
    pending_crs_ -= n;
  }
}

void DataReader::EndLine(bool bare_lf, Sink sink) {
  if (bare_lf) ++bare_lf_lines_;
  pending_crs_ = 0;  // carriage returns before LF belong to the terminator
  if (dot_removed_ && first_piece_ && piece_.empty()) {
    done_ = true;
  } else {
    Emit(piece_, false, sink);
  }
  piece_.clear();
  line_start_ = true;
  first_piece_ = true;
  dot_removed_ = false;
}

size_t DataReader::Feed(std::string_view bytes, Sink sink) {
  size_t i = 0;
  while (i < bytes.size() && !done_) {
    char c = bytes[i];
    if (c == '\n') {
      EndLine(pending_crs_ == 0, sink);
      ++i;
      continue;
    }
    if (c == '\r') {
      ++pending_crs_;
      ++i;
      continue;
    }
    if (line_start_) {
      line_start_ = false;
      if (c == '.' && pending_crs_ == 0) {
        dot_removed_ = true;
        ++i;
        continue;
      }
    }
    AddPendingCrs(sink);
    // The run of ordinary bytes up to the next CR or LF.
    size_t end = i;
    while (end < bytes.size() && bytes[end] != '\n' && bytes[end] != '\r') ++end;
    AddContent(bytes.substr(i, end - i), sink);
    i = end;
  }
  return i;
}

}  // namespace posthaste::runtime
