// fs_identity.cc: per-thread filesystem uid/gid switching (Linux).
#include "runtime/fs_identity.h"

#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

// The raw system calls act on the calling thread only.
int ThreadSetGroups(size_t n, const gid_t* list) {
  return static_cast<int>(syscall(SYS_setgroups, n, list));
}

bool SetFsUid(uid_t uid) {
  setfsuid(uid);
  return static_cast<uid_t>(setfsuid(uid)) == uid;  // returns the current one
}

bool SetFsGid(gid_t gid) {
  setfsgid(gid);
  return static_cast<gid_t>(setfsgid(gid)) == gid;
}

}  // namespace

bool RunningAsRoot() { return geteuid() == 0; }

absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> ScopedFsIdentity::Enter(uid_t uid, gid_t gid) {
  std::unique_ptr<ScopedFsIdentity> scope(new ScopedFsIdentity());
  if (!RunningAsRoot() || uid == 0) return scope;
  int n = getgroups(0, nullptr);
  if (n < 0) return absl::InternalError(tables::Cat("getgroups: ", strerror(errno)));
  scope->groups_.resize(static_cast<size_t>(n));
  if (n > 0 && getgroups(n, scope->groups_.data()) < 0)
    return absl::InternalError(tables::Cat("getgroups: ", strerror(errno)));
  if (ThreadSetGroups(1, &gid) != 0)
    return absl::InternalError(tables::Cat("setgroups: ", strerror(errno)));
  scope->switched_ = true;  // from here on the destructor restores
  if (!SetFsGid(gid))
    return absl::InternalError(tables::Cat("setfsgid ", static_cast<int64_t>(gid), " failed"));
  if (!SetFsUid(uid))
    return absl::InternalError(tables::Cat("setfsuid ", static_cast<int64_t>(uid), " failed"));
  return scope;
}

ScopedFsIdentity::~ScopedFsIdentity() {
  if (!switched_) return;
  // Back to root first: the file capabilities return with fsuid 0.
  bool ok =
      SetFsUid(0) && SetFsGid(getegid()) && ThreadSetGroups(groups_.size(), groups_.data()) == 0;
  // A thread left with a user's identity would deliver the next mailbox
  // with the wrong rights: that is a broken invariant, not an error to report.
  if (!ok) abort();
}

}  // namespace posthaste::runtime
