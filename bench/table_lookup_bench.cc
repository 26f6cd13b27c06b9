// table_lookup_bench.cc: in-process lookups per second, ours against raw tinycdb.
//
//   table_lookup_bench FILE.cdb NKEYS ROUNDS
// FILE.cdb holds keys "user<i>@d<i%1000>.example" for i < NKEYS. Measures, in
// the same process and run, the median over ROUNDS of: raw tinycdb cdb_find
// (hits, misses), tables::CdbTable::LookupInto (hits, misses), and address-form
// searches (AddressKeys + SearchTables over the derived key list). Prints
// lookups/s and the ratio ours/raw. Not a test: run by bench/table_bench.sh.
#include <cdb.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tables/address_lookup.h"
#include "tables/cdb_table.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double Rate(size_t n, F f) {
  auto start = Clock::now();
  f();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return n / secs;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FILE.cdb NKEYS ROUNDS\n", argv[0]);
    return 2;
  }
  std::string path = argv[1];
  size_t nkeys = std::stoul(argv[2]);
  int rounds = std::stoi(argv[3]);
  const size_t kQueries = 1000000;
  std::vector<std::string> hits, misses, addresses;
  for (size_t i = 0; i < kQueries; ++i) {
    size_t k = (i * 7919) % nkeys;
    hits.push_back("user" + std::to_string(k) + "@d" + std::to_string(k % 1000) + ".example");
    misses.push_back("nobody" + std::to_string(k) + "@d" + std::to_string(k % 1000) + ".example");
    addresses.push_back("User" + std::to_string(k) + "+ext@D" + std::to_string(k % 1000) +
                        ".Example");
  }
  int fd = open(path.c_str(), O_RDONLY);
  struct cdb raw;
  if (fd < 0 || cdb_init(&raw, fd) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  auto ours = posthaste::tables::CdbTable::Open(path, true, posthaste::tables::NulMode::kWithoutNul);
  if (!ours.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ours.status().message()).c_str());
    return 1;
  }
  const posthaste::tables::Table* table = ours->get();
  std::vector<double> raw_hit, raw_miss, our_hit, our_miss, addr;
  size_t sink = 0;
  // Alternate which side runs first in each round so cache warm-up does not
  // favour one of them.
  for (int r = 0; r < rounds; ++r) {
    // Both sides do the same work for a hit: find the record and copy the
    // value out into a reused buffer.
    std::string raw_value, value;
    auto raw_hits = [&] {
      raw_hit.push_back(Rate(kQueries, [&] {
        for (const std::string& k : hits)
          if (cdb_find(&raw, k.data(), k.size()) > 0) {
            raw_value.assign(static_cast<const char*>(cdb_getdata(&raw)), cdb_datalen(&raw));
            sink += raw_value.size();
          }
      }));
      raw_miss.push_back(Rate(kQueries, [&] {
        for (const std::string& k : misses) sink += cdb_find(&raw, k.data(), k.size());
      }));
    };
    auto our_hits = [&] {
      our_hit.push_back(Rate(kQueries, [&] {
        for (const std::string& k : hits)
          if (table->LookupInto(k, &value) == posthaste::tables::LookupStatus::kFound)
            sink += value.size();
      }));
      our_miss.push_back(Rate(kQueries, [&] {
        for (const std::string& k : misses)
          sink += table->LookupInto(k, &value) == posthaste::tables::LookupStatus::kFound;
      }));
    };
    if (r % 2 == 0) {
      raw_hits();
      our_hits();
    } else {
      our_hits();
      raw_hits();
    }
    posthaste::tables::AddressLookupOptions options;
    options.recipient_delimiter = "+";
    addr.push_back(Rate(kQueries, [&] {
      for (const std::string& a : addresses) {
        auto keys = posthaste::tables::AddressKeys(a, posthaste::tables::AddressClass::kVirtual,
                                                   options);
        sink += posthaste::tables::SearchTables({table}, keys, a).value.size();
      }
    }));
  }
  std::printf("raw tinycdb hits/s      %12.0f\n", Median(raw_hit));
  std::printf("CdbTable hits/s         %12.0f  (%.2fx raw)\n", Median(our_hit),
              Median(our_hit) / Median(raw_hit));
  std::printf("raw tinycdb misses/s    %12.0f\n", Median(raw_miss));
  std::printf("CdbTable misses/s       %12.0f  (%.2fx raw)\n", Median(our_miss),
              Median(our_miss) / Median(raw_miss));
  std::printf("address searches/s      %12.0f  (virtual class, extension, 3 keys)\n",
              Median(addr));
  std::fprintf(stderr, "(checksum %zu)\n", sink);
  return 0;
}
