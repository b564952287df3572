#include "server/password_verifier.h"

#include <sodium.h>

#include "server/accounts.h"

namespace classchat::server {
namespace {

void wipe(std::string& secret) {
  sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace

PasswordVerifier::PasswordVerifier(std::size_t maxQueued)
    : maxQueued_(maxQueued), worker_([this] { run(); }) {}

PasswordVerifier::~PasswordVerifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Job& job : jobs_) wipe(job.password);
    jobs_.clear();
  }
  wake_.notify_one();
  worker_.join();
}

bool PasswordVerifier::submit(std::string hash, std::string password,
                              std::function<void(bool ok)> done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= maxQueued_) {
      wipe(password);
      return false;
    }
    jobs_.push_back(Job{std::move(hash), std::move(password), std::move(done)});
  }
  wake_.notify_one();
  return true;
}

void PasswordVerifier::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const bool ok = verifyPassword(job.hash, job.password);
    wipe(job.password);
    job.done(ok);
  }
}

}  // namespace classchat::server
