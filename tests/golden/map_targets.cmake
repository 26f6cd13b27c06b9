# map_targets.cmake: golden tests for `phc map` / `phc alias` against Postfix
# 3.7.11 postmap / postalias output (tests/golden/map/, see README.md there and
# tests/golden/README.md). Meant to be include()d from tests/golden/CMakeLists.txt.

# map_golden_test: one GoogleTest case per fixture directory under map/.
add_executable(map_golden_test
  ${CMAKE_CURRENT_LIST_DIR}/map_golden_test.cc
  ${PROJECT_SOURCE_DIR}/tests/support/run_command.cc
  ${PROJECT_SOURCE_DIR}/tests/support/golden_support.cc)
target_include_directories(map_golden_test PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_definitions(map_golden_test PRIVATE
  POSTHASTE_PHC_PATH="$<TARGET_FILE:phc>"
  POSTHASTE_MAP_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/map")
target_link_libraries(map_golden_test PRIVATE GTest::gtest_main)
posthaste_warnings(map_golden_test)
add_dependencies(map_golden_test phc)
gtest_discover_tests(map_golden_test)

# checks_golden_test: the same runner over tests/golden/checks/ (regexp: and
# pcre: tables with -q, -h, -b, -m message scans).
add_executable(checks_golden_test
  ${CMAKE_CURRENT_LIST_DIR}/map_golden_test.cc
  ${PROJECT_SOURCE_DIR}/tests/support/run_command.cc
  ${PROJECT_SOURCE_DIR}/tests/support/golden_support.cc)
target_include_directories(checks_golden_test PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_definitions(checks_golden_test PRIVATE
  POSTHASTE_PHC_PATH="$<TARGET_FILE:phc>"
  POSTHASTE_MAP_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/checks")
target_link_libraries(checks_golden_test PRIVATE GTest::gtest_main)
posthaste_warnings(checks_golden_test)
add_dependencies(checks_golden_test phc)
gtest_discover_tests(checks_golden_test)
