// intake: one binary for the API, the workers, migrations and the ingest client.
#include <exception>
#include <iostream>

#include "main/commands.hpp"

int main(int argc, char** argv) {
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
