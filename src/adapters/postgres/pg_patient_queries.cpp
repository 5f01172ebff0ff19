// PgRecordStore's read side: ListPatients and GetPatient.
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/postgres/pg_array.hpp"
#include "adapters/postgres/pg_record_store.hpp"
#include "domain/case_fold.hpp"

namespace intake::adapters::postgres {
namespace {

constexpr std::int64_t kMaxPageSize = 100;

constexpr std::string_view kPatientColumns =
    "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, '')";
// One patient and its visits in one statement (one round trip, one snapshot); a patient without
// visits gives one row with NULL visit columns.
constexpr std::string_view kSelectPatientWithVisits =
    "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, ''), v.id, v.visit_account_number, v.visit_date, v.reason"
    " FROM patients p LEFT JOIN persons pe ON pe.id = p.id"
    " LEFT JOIN visits v ON v.patient_id = p.id WHERE p.id = $1 ORDER BY v.visit_date, v.id";
// Patients are never deleted, so when the highest id equals the count the ids are exactly
// 1..count and a page is an id range: no walk over the rows before it. (An identity may skip
// values after a rollback; then the walk it is.)
constexpr std::string_view kSelectPageByIdRange =
    "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, '')"
    " FROM patients p LEFT JOIN persons pe ON pe.id = p.id"
    " WHERE p.id > $2 AND p.id <= $2 + $1 ORDER BY p.id";
// The search watermark as the syncer reads it (pg_search_sync.cpp): no row is -1.
constexpr std::string_view kSelectCounters =
    "SELECT (SELECT value FROM counters WHERE name = 'patients'),"
    " (SELECT value FROM counters WHERE name = 'data_version'),"
    " (SELECT COALESCE(MAX(id), 0) FROM patients),"
    " COALESCE((SELECT search_version FROM search_state WHERE id = 1), -1)";
// The unfiltered page: its ids from the primary key alone, then their rows.
constexpr std::string_view kSelectUnfilteredPage =
    "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, '')"
    " FROM (SELECT id FROM patients ORDER BY id LIMIT $1 OFFSET $2) page"
    " JOIN patients p ON p.id = page.id LEFT JOIN persons pe ON pe.id = p.id ORDER BY p.id";
constexpr std::string_view kSelectVisitsOfPatients =
    "SELECT patient_id, id, visit_account_number, visit_date, reason FROM visits"
    " WHERE patient_id = ANY($1::bigint[]) ORDER BY patient_id, visit_date, id";

// The filters given: their LIKE conditions on patient_search (s) and on the rows themselves
// (patients y, persons x), with the patterns as parameters $1…$k.
struct FilterSql {
  std::string indexed;
  std::string direct;
  std::vector<PgParam> params;
  bool empty() const { return params.empty(); }
};

FilterSql BuildFilter(const ports::PatientFilter& filter) {
  FilterSql out;
  auto add = [&](const std::optional<std::string>& needle, std::string_view column,
                 std::string_view own) {
    if (!needle) return;
    out.params.emplace_back(ContainsPattern(domain::FoldCase(*needle)));
    const std::string n = std::to_string(out.params.size());
    out.indexed.append(" AND s.").append(column).append(" LIKE $").append(n);
    out.direct.append(" AND ").append(own).append(" LIKE $").append(n);
  };
  add(filter.mrn, "mrn_folded", "y.mrn_folded");
  add(filter.first_name, "first_name_folded", "x.first_name_folded");
  add(filter.last_name, "last_name_folded", "x.last_name_folded");
  return out;
}

// The matching ids as a subquery, and its parameters. When the search syncer is current
// (search_version == data_version in this snapshot) patient_search alone is exact. When it lags,
// patient_search answers for the persons with version <= search_version and the persons' own
// folded columns for the newer ones (an index range on persons.version); see pg_record_store.hpp.
std::pair<std::string, std::vector<PgParam>> MatchingIds(const FilterSql& f,
                                                         std::int64_t search_version,
                                                         bool lagging) {
  std::vector<PgParam> params = f.params;
  std::string sql;
  if (!lagging) {
    sql.append("SELECT s.id FROM patient_search s WHERE TRUE").append(f.indexed);
    return {std::move(sql), std::move(params)};
  }
  params.emplace_back(search_version);
  const std::string w = std::to_string(params.size());
  sql.append("SELECT s.id FROM patient_search s JOIN persons x ON x.id = s.id WHERE x.version <= $")
      .append(w)
      .append(f.indexed)
      .append(" UNION ALL SELECT x.id FROM persons x JOIN patients y ON y.id = x.id")
      .append(" WHERE x.version > $")
      .append(w)
      .append(f.direct);
  return {std::move(sql), std::move(params)};
}

ports::PatientView ReadPatient(const PgResult& r, int row) {
  ports::PatientView p;
  p.id = r.Int(row, 0);
  p.mrn = r.Text(row, 1);
  p.person = {r.Text(row, 2), r.Text(row, 3), r.Text(row, 4)};
  return p;
}

// Loads the visits of `patients` (one query) in API order.
Status LoadVisits(PgConnection& conn, std::vector<ports::PatientView>& patients) {
  if (patients.empty()) return {};
  std::unordered_map<std::int64_t, ports::PatientView*> by_id;
  ArrayLiteral ids;
  for (auto& p : patients) {
    by_id.emplace(p.id, &p);
    ids.Add(p.id);
  }
  auto r = conn.Exec(kSelectVisitsOfPatients, {ids.Take()}, "load visits");
  if (!r) return r.error();
  for (int i = 0; i < r->rows(); ++i) {
    auto it = by_id.find(r->Int(i, 0));
    if (it == by_id.end()) continue;
    it->second->visits.push_back({r->Int(i, 1), r->Text(i, 2), r->Text(i, 3), r->Text(i, 4)});
  }
  return {};
}

Result<PgResult> SelectUnfilteredPage(PgConnection& conn, bool gapless, std::int64_t page,
                                      std::int64_t page_size) {
  return conn.Exec(gapless ? kSelectPageByIdRange : kSelectUnfilteredPage,
                   {page_size, (page - 1) * page_size}, "list patients");
}

// The counters of this snapshot.
struct Totals {
  std::int64_t patients = 0;
  bool gapless = false;  // the ids are exactly 1..patients
  std::int64_t data_version = 0;
  std::int64_t search_version = 0;
  bool lagging() const { return search_version < data_version; }
};

Result<Totals> ReadTotals(PgConnection& conn) {
  auto r = conn.Exec(kSelectCounters, {}, "read counters");
  if (!r) return r.error();
  Totals t;
  t.patients = r->Int(0, 0);
  t.data_version = r->Int(0, 1);
  t.gapless = r->Int(0, 2) == t.patients;
  t.search_version = r->Int(0, 3);
  return t;
}

Result<PgResult> SelectFilteredPage(PgConnection& conn, const FilterSql& f, const Totals& t,
                                    std::int64_t page, std::int64_t page_size) {
  auto [ids, params] = MatchingIds(f, t.search_version, t.lagging());
  params.emplace_back(page_size);
  params.emplace_back((page - 1) * page_size);
  std::string page_sql = std::string(kPatientColumns) + " FROM (" + ids + " ORDER BY 1 LIMIT $" +
                         std::to_string(params.size() - 1) + " OFFSET $" +
                         std::to_string(params.size()) +
                         ") page JOIN patients p ON p.id = page.id"
                         " LEFT JOIN persons pe ON pe.id = p.id ORDER BY p.id";
  return conn.ExecOnce(page_sql, params, "list patients");
}

// A filtered total: counted once per data version, then cached.
Result<std::int64_t> CountMatching(PgConnection& conn, CountCache& counts,
                                   const ports::PatientFilter& filter, const FilterSql& f,
                                   const Totals& t) {
  const std::string key = CountCache::Key(
      filter.mrn ? std::optional(domain::FoldCase(*filter.mrn)) : std::nullopt,
      filter.first_name ? std::optional(domain::FoldCase(*filter.first_name)) : std::nullopt,
      filter.last_name ? std::optional(domain::FoldCase(*filter.last_name)) : std::nullopt);
  if (auto cached = counts.Get(key, t.data_version)) return *cached;
  auto [ids, params] = MatchingIds(f, t.search_version, t.lagging());
  auto count =
      conn.ExecOnce("SELECT COUNT(*) FROM (" + ids + ") matching", params, "count patients");
  if (!count) return count.error();
  counts.Put(key, t.data_version, count->Int(0, 0));
  return count->Int(0, 0);
}

}  // namespace

std::string ContainsPattern(std::string_view needle) {
  std::string out = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

Result<ports::PatientPage> PgRecordStore::ListPatients(const ports::PatientFilter& filter,
                                                       std::int64_t page, std::int64_t page_size) {
  if (page < 1 || page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page must be >= 1 and page_size between 1 and 100");
  }
  FilterSql f = BuildFilter(filter);
  bool lagging = false;
  auto listed = db_->ReadSnapshot([&](PgConnection& conn) -> Result<ports::PatientPage> {
    ports::PatientPage out;
    auto totals = ReadTotals(conn);
    if (!totals) return totals.error();
    lagging = totals->lagging();
    out.total = totals->patients;
    if (!f.empty()) {
      auto matching = CountMatching(conn, counts_, filter, f, *totals);
      if (!matching) return matching.error();
      out.total = *matching;
    }
    if (page - 1 > out.total / page_size) return out;  // past the end (and no overflow below)
    auto rows = f.empty() ? SelectUnfilteredPage(conn, totals->gapless, page, page_size)
                          : SelectFilteredPage(conn, f, *totals, page, page_size);
    if (!rows) return rows.error();
    for (int i = 0; i < rows->rows(); ++i) out.patients.push_back(ReadPatient(*rows, i));
    if (auto visits = LoadVisits(conn, out.patients); !visits) return visits.error();
    return out;
  });
  // A lag with no load running (its process died between a batch and its round) is caught up
  // here; during a load this only asks for the round the loader's syncer is already running.
  if (lagging && !f.empty()) search_.Nudge();
  return listed;
}

Result<ports::PatientView> PgRecordStore::GetPatient(std::int64_t id) {
  return db_->Run([&](PgConnection& conn) -> Result<ports::PatientView> {
    auto r = conn.Exec(kSelectPatientWithVisits, {id}, "read patient");
    if (!r) return r.error();
    if (r->rows() == 0) return NotFound("Patient with ID " + std::to_string(id) + " not found");
    ports::PatientView patient = ReadPatient(*r, 0);
    for (int i = 0; i < r->rows(); ++i) {
      if (r->IsNull(i, 5)) continue;
      patient.visits.push_back({r->Int(i, 5), r->Text(i, 6), r->Text(i, 7), r->Text(i, 8)});
    }
    return patient;
  });
}

}  // namespace intake::adapters::postgres
