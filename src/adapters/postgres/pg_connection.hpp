// PgConnection: one libpq connection (text-format parameters and results) with its lazily prepared
// statements, and the mapping of libpq/SQLSTATE failures onto intake::Error.
//
// Error mapping: a lost connection, SQLSTATE class 08, 57P01..57P03 (shutdown), 53300 (too many
// connections), 40001/40P01 (serialization failure, deadlock) → kUnavailable; 23505 (unique
// violation) → kConflict; anything else → kInternal. Messages name the operation and the SQLSTATE
// (plus the constraint name, or the server's primary message for classes that never quote values:
// 08, 0A, 3F, 42, 53, 57); never parameter values and never libpq's DETAIL (which quotes keys).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/result.hpp"

namespace intake::adapters::postgres {

struct PgOptions {
  std::string url;    // postgresql://user:pass@host:port/db (libpq URI)
  int pool_size = 4;  // connections in the pool
  // Empty = the server's default search_path; else every connection uses `schema, public` (the
  // schema is created if missing by PgDatabase::Open).
  std::string schema;
  std::chrono::milliseconds connect_timeout{5000};
};

// A text-format query parameter; std::nullopt is SQL NULL. Implicit on purpose: call sites read
// like the SQL's parameter list.
class PgParam {
 public:
  PgParam(std::nullopt_t) {}
  PgParam(std::string v) : value_(std::move(v)) {}
  PgParam(std::string_view v) : value_(std::string(v)) {}
  PgParam(const char* v) : value_(std::string(v)) {}
  PgParam(std::int64_t v) : value_(std::to_string(v)) {}
  PgParam(int v) : value_(std::to_string(v)) {}
  PgParam(const std::optional<std::string>& v) : value_(v) {}
  PgParam(std::optional<std::int64_t> v) {
    if (v) value_ = std::to_string(*v);
  }
  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }

 private:
  std::optional<std::string> value_;
};

// An owned PGresult with text accessors (rows and columns 0-based).
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  std::int64_t Int(int row, int col) const;  // 0 for NULL
  std::int64_t Affected() const;             // rows changed by INSERT/UPDATE/DELETE

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

// The error code for a SQLSTATE (see the header comment).
ErrorCode CodeForSqlState(std::string_view sqlstate);

class PgConnection {
 public:
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects to options.url (connect_timeout, UTF-8, notices discarded) and sets the search_path
  // when options.schema is set. kUnavailable when the server does not answer (the message names
  // host:port and libpq's reason, never the password); kInvalidArgument for a malformed URL.
  static Result<std::unique_ptr<PgConnection>> Open(const PgOptions& options);

  // Runs one statement, prepared on this connection the first time `sql` (keyed by its address:
  // pass constants that outlive the connection) is used. `what` names the operation in errors.
  Result<PgResult> Exec(std::string_view sql, std::span<const PgParam> params,
                        std::string_view what);
  Result<PgResult> Exec(std::string_view sql, std::initializer_list<PgParam> params,
                        std::string_view what) {
    return Exec(sql, std::span<const PgParam>(params.begin(), params.size()), what);
  }
  // Runs one statement without preparing it (SQL built at run time; planned with the values).
  Result<PgResult> ExecOnce(std::string_view sql, std::span<const PgParam> params,
                            std::string_view what);
  // Runs SQL without parameters; may hold several statements.
  Status Script(std::string_view sql, std::string_view what);
  // `name` quoted as an SQL identifier.
  std::string QuoteIdentifier(std::string_view name) const;

  // True when the connection is unusable (the pool drops it).
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  PGconn* raw() const { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Result<PgResult> Check(PGresult* result, std::string_view what);
  Error MakeError(const PGresult* result, std::string_view what) const;

  PGconn* conn_;
  std::unordered_map<const char*, std::string> prepared_;  // sql address → statement name
};

}  // namespace intake::adapters::postgres
