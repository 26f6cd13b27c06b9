// fs_identity.h: file access as the mailbox owner, for one thread.
//
// Where it sits: the local and virtual delivery agents write into mailboxes
// owned by users. posthasted may run as root; a delivery must then create
// and write files with the recipient's rights, never root's, so that a
// user-controlled path (a symlinked Maildir, a home directory someone else
// can write) cannot make root write where the user could not.
//
// How: Linux keeps a filesystem uid and gid per thread (setfsuid(2),
// setfsgid(2)); the kernel checks file permissions against them and gives
// new files their owner from them, and switching the fsuid away from 0
// drops the file capabilities (CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER ...)
// for that thread. Supplementary groups are set per thread with the raw
// system call (glibc's setgroups() would change every thread). The scope
// restores root's identity on exit. Other threads are never affected.
//
// Use: only inside code that does not suspend (BlockingAgent::DeliverNow):
// a coroutine that resumed on another thread would leave the identity
// behind. When the process is not root, entering is a no-op: files are
// written as the current user.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace posthaste::runtime {

class ScopedFsIdentity {
 public:
  // Switches the calling thread to (uid, gid) with no supplementary groups.
  // uid 0 or a non-root process: nothing changes.
  static absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> Enter(uid_t uid, gid_t gid);
  ~ScopedFsIdentity();

  ScopedFsIdentity(const ScopedFsIdentity&) = delete;
  ScopedFsIdentity& operator=(const ScopedFsIdentity&) = delete;

 private:
  ScopedFsIdentity() = default;
  bool switched_ = false;
  std::vector<gid_t> groups_;
};

// True when the process runs with root's effective uid (deliveries then
// switch identity and check ownership).
bool RunningAsRoot();

}  // namespace posthaste::runtime
