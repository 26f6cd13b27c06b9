# map_targets.cmake: golden tests for `phc map` / `phc alias` against Postfix
# 3.7.11 postmap / postalias output (tests/golden/map/, see README.md there and
# tests/golden/README.md). include()d from tests/golden/CMakeLists.txt, which
# defines posthaste_golden_runner().

# map_golden_test: one GoogleTest case per fixture directory under map/.
posthaste_golden_runner(map_golden_test ${CMAKE_CURRENT_LIST_DIR}/map_golden_test.cc
  POSTHASTE_MAP_FIXTURES ${CMAKE_CURRENT_LIST_DIR}/map)

# checks_golden_test: the same runner over tests/golden/checks/ (regexp: and
# pcre: tables with -q, -h, -b, -m message scans).
posthaste_golden_runner(checks_golden_test ${CMAKE_CURRENT_LIST_DIR}/map_golden_test.cc
  POSTHASTE_MAP_FIXTURES ${CMAKE_CURRENT_LIST_DIR}/checks)
