// mail_date.cc: see mail_date.h.
#include "runtime/mail_date.h"

#include <time.h>

#include <cstdio>

#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;

std::string FormatMailDate(int64_t micros) {
  time_t t = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char main_part[64];
  strftime(main_part, sizeof(main_part), "%a, %e %b %Y %H:%M:%S", &tm);
  int off = static_cast<int>(tm.tm_gmtoff / 60) % (100 * 60);  // minutes, |off| < 100 h
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char zone[64];
  strftime(zone, sizeof(zone), "%Z", &tm);
  char offset[16];
  snprintf(offset, sizeof(offset), "%c%02d%02d", sign, off / 60, off % 60);
  return Cat(main_part, " ", offset, " (", zone, ")");
}

}  // namespace posthaste::runtime
