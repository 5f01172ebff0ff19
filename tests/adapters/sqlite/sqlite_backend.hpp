// The SQLite backend of the contract suites: a fresh database file in a temp folder per test.
#pragma once

#include "adapters/contract/backend.hpp"

namespace intake::adapters::testing {

BackendFactory SqliteBackendFactory();

}  // namespace intake::adapters::testing
