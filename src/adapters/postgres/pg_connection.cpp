#include "adapters/postgres/pg_connection.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace intake::adapters::postgres {
namespace {

// SQLSTATE classes whose primary messages never quote data values (only SQL text or names).
bool PrimaryMessageIsSafe(std::string_view sqlstate) {
  static constexpr std::string_view kSafeClasses[] = {"08", "0A", "3F", "42", "53", "57"};
  return std::any_of(std::begin(kSafeClasses), std::end(kSafeClasses),
                     [&](std::string_view c) { return sqlstate.starts_with(c); });
}

std::string FirstLine(const char* text) {
  std::string s = text != nullptr ? text : "";
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// "cannot connect to host:port (reason)" with libpq's reason, the password masked out.
std::string ConnectFailure(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  std::string reason = FirstLine(PQerrorMessage(conn));
  if (auto at = reason.find("failed: "); at != std::string::npos) reason.erase(0, at + 8);
  const char* password = PQpass(conn);
  if (password != nullptr && *password != '\0') {
    std::string_view secret(password);
    for (auto at = reason.find(secret); at != std::string::npos; at = reason.find(secret, at)) {
      reason.replace(at, secret.size(), "***");
    }
  }
  return "postgres: cannot connect to " + std::string(host != nullptr ? host : "?") + ":" +
         std::string(port != nullptr ? port : "?") + " (" + reason + ")";
}

}  // namespace

std::string PgResult::Text(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  const char* text = PQgetvalue(r_.get(), row, col);
  std::int64_t value = 0;
  std::from_chars(text, text + PQgetlength(r_.get(), row, col), value);
  return value;
}

std::int64_t PgResult::Affected() const {
  std::string_view text = PQcmdTuples(r_.get());
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

ErrorCode CodeForSqlState(std::string_view s) {
  if (s.starts_with("08")) return ErrorCode::kUnavailable;
  if (s == "57P01" || s == "57P02" || s == "57P03" || s == "53300" || s == "40001" ||
      s == "40P01") {
    return ErrorCode::kUnavailable;
  }
  if (s == "23505") return ErrorCode::kConflict;
  return ErrorCode::kInternal;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const PgOptions& options) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);  // may quote the URL: never reported
  if (parsed == nullptr) return InvalidArgument("postgres: malformed database URL");
  PQconninfoFree(parsed);

  auto seconds = std::max<std::int64_t>(1, (options.connect_timeout.count() + 999) / 1000);
  std::string timeout = std::to_string(seconds);
  const char* keys[] = {"dbname", "connect_timeout", "client_encoding", "application_name",
                        nullptr};
  const char* values[] = {options.url.c_str(), timeout.c_str(), "UTF8", "intake", nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, 1);
  if (raw == nullptr) return Unavailable("postgres: cannot allocate a connection");
  std::unique_ptr<PgConnection> conn(new PgConnection(raw));
  if (PQstatus(raw) != CONNECTION_OK) return Unavailable(ConnectFailure(raw));
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (!options.schema.empty()) {
    std::string sql = "SET search_path TO " + conn->QuoteIdentifier(options.schema) + ", public";
    if (auto set = conn->Script(sql, "set search_path"); !set) return set.error();
  }
  return conn;
}

std::string PgConnection::QuoteIdentifier(std::string_view name) const {
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  if (quoted == nullptr) return "\"\"";
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

Result<PgResult> PgConnection::Exec(std::string_view sql, std::span<const PgParam> params,
                                    std::string_view what) {
  auto it = prepared_.find(sql.data());
  if (it == prepared_.end()) {
    std::string name = "intake_" + std::to_string(prepared_.size() + 1);
    std::string text(sql);
    auto prepared = Check(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr), what);
    if (!prepared) return prepared.error();
    it = prepared_.emplace(sql.data(), std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return Check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0),
               what);
}

Result<PgResult> PgConnection::ExecOnce(std::string_view sql, std::span<const PgParam> params,
                                        std::string_view what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  std::string text(sql);
  return Check(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               what);
}

Status PgConnection::Script(std::string_view sql, std::string_view what) {
  std::string text(sql);
  auto result = Check(PQexec(conn_, text.c_str()), what);
  if (!result) return result.error();
  return {};
}

Result<PgResult> PgConnection::Check(PGresult* result, std::string_view what) {
  if (result == nullptr) {
    return Unavailable("postgres: " + std::string(what) +
                       (broken() ? ": connection lost" : ": no result"));
  }
  auto status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result);
  Error error = MakeError(result, what);
  PQclear(result);
  return error;
}

Error PgConnection::MakeError(const PGresult* result, std::string_view what) const {
  std::string message = "postgres: " + std::string(what);
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  if (broken() || state == nullptr) return Unavailable(message + ": connection lost");
  std::string_view sqlstate(state);
  message += ": SQLSTATE " + std::string(sqlstate);
  if (const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME)) {
    message += " (constraint " + std::string(constraint) + ")";
  }
  if (PrimaryMessageIsSafe(sqlstate)) {
    message += ": " + FirstLine(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  }
  return Error(CodeForSqlState(sqlstate), std::move(message));
}

}  // namespace intake::adapters::postgres
