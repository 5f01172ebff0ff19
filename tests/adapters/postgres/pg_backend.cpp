#include "adapters/postgres/pg_backend.hpp"

namespace intake::adapters::testing {

// TODO(pg): the PostgreSQL adapter fills this in.
BackendFactory PostgresBackendFactory() {
  return {"Postgres", []() -> std::unique_ptr<Backend> { return nullptr; }};
}

}  // namespace intake::adapters::testing
