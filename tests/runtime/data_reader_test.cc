// data_reader_test.cc: the DATA reader against a simple whole-message
// reference, with the input split at random points.
#include "runtime/data_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace posthaste::runtime {
namespace {

struct Piece {
  std::string text;
  bool continued;
  bool operator==(const Piece&) const = default;
};

struct Outcome {
  std::vector<Piece> pieces;
  size_t consumed = 0;
  bool done = false;
  bool exceeded = false;
  uint64_t bare_lf = 0;
};

Outcome FeedInChunks(const std::string& input, const std::vector<size_t>& cuts,
                     DataReaderOptions options) {
  DataReader reader(options);
  Outcome out;
  auto sink = [&](std::string_view piece, bool continued) {
    out.pieces.push_back({std::string(piece), continued});
  };
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    std::string_view chunk(input.data() + start, end - start);
    size_t n = reader.Feed(chunk, sink);
    out.consumed += n;
    if (reader.done()) break;
    EXPECT_EQ(n, chunk.size());
    start = end;
  }
  out.done = reader.done();
  out.exceeded = reader.size_exceeded();
  out.bare_lf = reader.bare_lf_lines();
  return out;
}

Outcome FeedAll(const std::string& input, DataReaderOptions options = {}) {
  return FeedInChunks(input, {}, options);
}

// Reference: the whole input at once, line by line, written independently
// of the incremental reader.
Outcome Reference(const std::string& input, DataReaderOptions options) {
  Outcome out;
  size_t pos = 0;
  uint64_t size = 0;
  while (pos < input.size()) {
    size_t nl = input.find('\n', pos);
    if (nl == std::string::npos) break;  // incomplete last line
    std::string line = input.substr(pos, nl - pos);
    bool bare = line.empty() || line.back() != '\r';
    while (!line.empty() && line.back() == '\r') line.pop_back();
    pos = nl + 1;
    if (bare) ++out.bare_lf;
    bool dot = !line.empty() && line[0] == '.';
    if (line == ".") {
      out.done = true;
      break;
    }
    size_t first = options.line_length_limit - (dot && options.line_length_limit > 1 ? 1 : 0);
    if (dot) line.erase(0, 1);
    std::vector<std::string> parts;
    size_t at = 0;
    size_t limit = first;
    while (line.size() - at > limit) {
      parts.push_back(line.substr(at, limit));
      at += limit;
      limit = options.line_length_limit;
    }
    parts.push_back(line.substr(at));
    for (size_t i = 0; i < parts.size(); ++i) {
      bool cont = i + 1 < parts.size();
      size += parts[i].size() + 2;
      if (options.message_size_limit != 0 && size > options.message_size_limit) out.exceeded = true;
      if (!out.exceeded) out.pieces.push_back({parts[i], cont});
    }
  }
  if (!out.done && pos < input.size()) {
    // An unfinished last line: the reader has passed on only the pieces
    // that are certainly full (a byte beyond them has arrived); trailing CRs
    // are still undecided.
    std::string line = input.substr(pos);
    while (!line.empty() && line.back() == '\r') line.pop_back();
    bool dot = !line.empty() && line[0] == '.';
    if (dot) line.erase(0, 1);
    size_t limit = options.line_length_limit - (dot && options.line_length_limit > 1 ? 1 : 0);
    size_t at = 0;
    while (line.size() - at > limit) {
      size += limit + 2;
      if (options.message_size_limit != 0 && size > options.message_size_limit) out.exceeded = true;
      if (!out.exceeded) out.pieces.push_back({line.substr(at, limit), true});
      at += limit;
      limit = options.line_length_limit;
    }
  }
  out.consumed = out.done ? pos : input.size();
  return out;
}

std::vector<std::string> Lines(const Outcome& o) {
  std::vector<std::string> lines;
  for (const Piece& p : o.pieces) lines.push_back(p.text + (p.continued ? "+" : ""));
  return lines;
}

TEST(DataReader, EndsAtTheDotLineAndLeavesThePipelinedRest) {
  std::string input = "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  Outcome o = FeedAll(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{"Subject: x", "", "body"}));
  EXPECT_EQ(input.substr(o.consumed), "QUIT\r\n");
}

TEST(DataReader, DotUnstuffing) {
  Outcome o = FeedAll("..\r\n..x\r\n. \r\n.x\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{".", ".x", " ", "x"}));
}

TEST(DataReader, BareLineFeedsEndLinesAndTheData) {
  Outcome o = FeedAll("a\nb\r\n.\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.bare_lf, 2u);
}

TEST(DataReader, CarriageReturnsBeforeLineFeedAreTheTerminator) {
  Outcome o = FeedAll("a\r\r\nb\rc\r\n\r\n.\r\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{"a", "b\rc", ""}));
}

TEST(DataReader, LineWithCarriageReturnBeforeTheDotIsNotTheEnd) {
  Outcome o = FeedAll("\r.\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{"\r."}));
}

TEST(DataReader, LongLinesAreCutAtTheLimit) {
  DataReaderOptions options;
  options.line_length_limit = 10;
  Outcome o = FeedAll(std::string(25, 'a') + "\r\n" + std::string(10, 'b') + "\r\n.\r\n", options);
  EXPECT_EQ(Lines(o),
            (std::vector<std::string>{std::string(10, 'a') + "+", std::string(10, 'a') + "+",
                                      std::string(5, 'a'), std::string(10, 'b')}));
}

TEST(DataReader, TheRemovedDotCountsAgainstTheFirstPiece) {
  DataReaderOptions options;
  options.line_length_limit = 10;
  Outcome o = FeedAll("." + std::string(12, 'x') + "\r\n.\r\n", options);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{std::string(9, 'x') + "+", "xxx"}));
}

TEST(DataReader, SizeLimitStopsContentButFindsTheEnd) {
  DataReaderOptions options;
  options.message_size_limit = 12;
  Outcome o = FeedAll("12345\r\n123\r\nover the limit\r\n.\r\nRSET\r\n", options);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.exceeded);
  EXPECT_EQ(Lines(o), (std::vector<std::string>{"12345", "123"}));
  EXPECT_EQ(DataReader::SizeExceededReply(), "552 5.3.4 Error: message file too big");
}

TEST(DataReader, ExactlyAtTheSizeLimitIsAccepted) {
  DataReaderOptions options;
  options.message_size_limit = 12;
  // 5 + 2 and 3 + 2 bytes: each line counts with its CR LF, as Postfix's
  // smtpd counts (checked live: a stalled DATA after three 10-byte lines
  // logs "36 bytes", and a 5000-byte line split at 2048 counts 5006).
  Outcome o = FeedAll("12345\r\n123\r\n.\r\n", options);
  EXPECT_FALSE(o.exceeded);
  o = FeedAll("12345\r\n1234\r\n.\r\n", options);
  EXPECT_TRUE(o.exceeded);
}

TEST(DataReader, ResetStartsOver) {
  DataReader reader(DataReaderOptions{});
  std::vector<std::string> seen;
  auto sink = [&](std::string_view p, bool) { seen.emplace_back(p); };
  reader.Feed("a\r\n.\r\n", sink);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.Feed("b\r\n", sink), 0u);
  reader.Reset();
  EXPECT_FALSE(reader.done());
  reader.Feed("b\r\n.\r\n", sink);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST(DataReader, HugeLineUsesBoundedMemory) {
  DataReaderOptions options;
  options.line_length_limit = 100;
  DataReader reader(options);
  size_t pieces = 0, max_piece = 0;
  std::string chunk(1 << 16, 'z');
  for (int i = 0; i < 64; ++i) {
    reader.Feed(chunk, [&](std::string_view p, bool) {
      ++pieces;
      max_piece = std::max(max_piece, p.size());
    });
  }
  EXPECT_EQ(max_piece, 100u);
  EXPECT_GE(pieces, 64u * (1 << 16) / 100 - 1);
}

// Random messages built from the awkward cases, split at random points,
// must give what the whole-input reference gives.
TEST(DataReader, RandomSplitsMatchTheReference) {
  std::mt19937 rng(12345);
  const std::vector<std::string> parts = {"a",
                                          "hello world",
                                          ".",
                                          "..",
                                          "\r",
                                          "\r\n",
                                          "\n",
                                          "\r\r\n",
                                          ".\r\n",
                                          "x\r",
                                          std::string(37, 'L'),
                                          " ",
                                          "\t",
                                          std::string(1, '\0'),
                                          "\xff"};
  for (int round = 0; round < 3000; ++round) {
    DataReaderOptions options;
    options.line_length_limit = 1 + rng() % 40;
    options.message_size_limit = (rng() % 4 == 0) ? 1 + rng() % 200 : 0;
    std::string input;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) input += parts[rng() % parts.size()];
    if (rng() % 2) input += "\r\n.\r\nNEXT";
    std::vector<size_t> cuts;
    int ncuts = static_cast<int>(rng() % 6);
    for (int i = 0; i < ncuts; ++i) cuts.push_back(rng() % (input.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    Outcome whole = Reference(input, options);
    Outcome split = FeedInChunks(input, cuts, options);
    SCOPED_TRACE(testing::PrintToString(input) + " limit " +
                 std::to_string(options.line_length_limit));
    ASSERT_EQ(split.done, whole.done);
    ASSERT_EQ(split.exceeded, whole.exceeded);
    ASSERT_EQ(Lines(split), Lines(whole));
    if (whole.done) {
      ASSERT_EQ(split.consumed, whole.consumed);
      ASSERT_EQ(split.bare_lf, whole.bare_lf);
    }
  }
}

}  // namespace
}  // namespace posthaste::runtime
