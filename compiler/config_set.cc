// config_set.cc: reads and parses a configuration directory.
#include "compiler/config_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace posthaste::compiler {

bool ReadFile(const std::string& path, std::string* text, std::string* error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  struct stat st;
  text->clear();
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) text->reserve(st.st_size);
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    text->append(buf, n);
  }
  close(fd);
  return true;
}

std::unique_ptr<ConfigSet> LoadConfig(
    const std::string& dir, std::vector<std::pair<std::string, std::string>> overrides,
    bool dir_is_config_directory) {
  auto cs = std::make_unique<ConfigSet>();
  cs->dir = dir;
  while (cs->dir.size() > 1 && cs->dir.back() == '/') cs->dir.pop_back();
  std::string text;
  std::string main_path = cs->dir + "/main.cf";
  if (ReadFile(main_path, &text, &cs->main_error)) {
    int id = cs->sources.Add(main_path, std::move(text));
    cs->main_cf = ParseMainCf(cs->sources, id);
  } else {
    cs->main_file_span = SourceSpan{cs->sources.Add(main_path, ""), 0, 0, 0};
  }
  std::string master_path = cs->dir + "/master.cf";
  if (ReadFile(master_path, &text, &cs->master_error)) {
    int id = cs->sources.Add(master_path, std::move(text));
    cs->master_cf = ParseMasterCf(cs->sources, id);
  } else {
    cs->master_file_span = SourceSpan{cs->sources.Add(master_path, ""), 0, 0, 0};
  }
  if (dir_is_config_directory && !(cs->main_cf && cs->main_cf->Find("config_directory")))
    overrides.insert(overrides.begin(), {"config_directory", cs->dir});
  cs->params = std::make_unique<ParamSpace>(cs->main_cf ? &*cs->main_cf : nullptr,
                                            cs->master_cf ? &*cs->master_cf : nullptr,
                                            std::move(overrides));
  return cs;
}

}  // namespace posthaste::compiler
