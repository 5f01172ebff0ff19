// intake: one binary for the API, the workers, migrations and the ingest client.
#include <malloc.h>

#include <exception>
#include <iostream>

#include "main/commands.hpp"

int main(int argc, char** argv) {
  // Large blocks (request bodies, batches) come from mmap and go back to the system when freed.
  // glibc's default threshold climbs to 32 MiB after the first large free, after which freed
  // batches stay in the threads' arenas: measured after 20 JSON requests of 10k records on
  // PostgreSQL, 86 MiB resident when idle by default, 18 MiB with this.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  try {
    return intake::main_::RunCli(argc, argv);
  } catch (const intake::main_::StartupError& e) {
    std::cerr << "intake: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "intake: start-up failed: " << e.what() << std::endl;
    return 2;
  }
}
