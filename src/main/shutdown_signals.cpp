#include "main/shutdown_signals.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace intake::main_ {
namespace {

sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  const sigset_t set = ShutdownSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

const char* WaitForShutdownSignal() {
  const sigset_t set = ShutdownSet();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

void ExitOnSecondSignal() {
  std::thread([] {
    const char* name = WaitForShutdownSignal();
    std::fprintf(stderr, "intake: second %s: exiting without draining\n", name);
    std::_Exit(130);
  }).detach();
}

}  // namespace intake::main_
