// The PostgreSQL backend of the contract suites: a fresh schema per test in the database named by
// INTAKE_TEST_POSTGRES_URL (skipped when unset), dropped when the backend goes; peers open the
// same schema with their own PgDatabase (own pool). Also helpers for the pg-specific tests.
#pragma once

#include <optional>
#include <string>

#include "adapters/contract/backend.hpp"
#include "domain/result.hpp"

namespace intake::adapters::postgres {
class PgDatabase;
}

namespace intake::adapters::testing {

BackendFactory PostgresBackendFactory();

// INTAKE_TEST_POSTGRES_URL, or nullopt when unset (tests skip).
std::optional<std::string> PostgresTestUrl();
// A fresh random schema name ("intake_test_" + 16 hex digits).
std::string NewTestSchema();
// DROP SCHEMA … CASCADE through `db`.
Status DropSchema(postgres::PgDatabase& db, const std::string& schema);

}  // namespace intake::adapters::testing
