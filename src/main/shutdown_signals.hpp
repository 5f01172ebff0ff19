// SIGTERM/SIGINT handling for the long-running commands, without async-signal-unsafe handlers:
// the signals are blocked in every thread (block them before starting any thread, since threads
// inherit the mask) and the main thread waits for one with sigwait().
#pragma once

namespace intake::main_ {

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later), and ignores
// SIGPIPE (a peer closing a socket must not kill the process).
void BlockShutdownSignals();

// Waits for SIGINT or SIGTERM; returns the signal's name ("SIGTERM").
// REQUIRES: BlockShutdownSignals() was called first.
const char* WaitForShutdownSignal();

// After the first signal: a second one ends the process at once (exit status 130) instead of
// waiting for the drain. Starts a detached thread.
void ExitOnSecondSignal();

}  // namespace intake::main_
