// The command line (SPEC §6): intake serve [--no-worker] | worker | migrate | ingest FILE… |
// version, with the global flags of SPEC §2 (--host, --port, --data-dir, --database-url,
// --broker-url, --workers, --log-level) accepted before or after the command.
#pragma once

#include <stdexcept>

namespace intake::main_ {

// A failure to start (bad configuration, a backend not built in, the address in use): main()
// prints its one-line message and exits with status 2.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the arguments and runs the command; returns the process exit status.
// Throws StartupError.
int RunCli(int argc, char** argv);

}  // namespace intake::main_
