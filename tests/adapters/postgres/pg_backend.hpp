// The PostgreSQL backend of the contract suites: a fresh schema per test in the database named by
// INTAKE_TEST_POSTGRES_URL (skipped when unset).
#pragma once

#include "adapters/contract/backend.hpp"

namespace intake::adapters::testing {

BackendFactory PostgresBackendFactory();

}  // namespace intake::adapters::testing
