// Checks passwords on a thread of its own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace classchat::server {

// argon2id costs tens of milliseconds and 64 MiB per check: done on a loop it would stall
// every connection of that loop, and many at once would use gigabytes. One worker thread
// with a bounded queue keeps both bounded; a full queue is answered "busy, try again".
//
// Thread-safety: submit() may be called from any thread. `done` runs on the worker
// thread: post from it to the loop that owns the connection.
class PasswordVerifier {
 public:
  explicit PasswordVerifier(std::size_t maxQueued = 32);
  ~PasswordVerifier();  // drops what is queued, finishes the check in progress, joins
  PasswordVerifier(const PasswordVerifier&) = delete;
  PasswordVerifier& operator=(const PasswordVerifier&) = delete;

  // Queues a check of `password` against `hash`; false (and `done` never called) when
  // the queue is full.
  bool submit(std::string hash, std::string password, std::function<void(bool ok)> done);

 private:
  struct Job {
    std::string hash;
    std::string password;
    std::function<void(bool)> done;
  };
  void run();

  std::size_t maxQueued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;   // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread worker_;
};

}  // namespace classchat::server
