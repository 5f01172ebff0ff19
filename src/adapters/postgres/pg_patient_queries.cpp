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
constexpr std::string_view kPatientFrom = " FROM patients p LEFT JOIN persons pe ON pe.id = p.id";
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
constexpr std::string_view kSelectCounters =
    "SELECT (SELECT value FROM counters WHERE name = 'patients'),"
    " (SELECT value FROM counters WHERE name = 'data_version'),"
    " (SELECT COALESCE(MAX(id), 0) FROM patients)";
// The unfiltered page: its ids from the primary key alone, then their rows.
constexpr std::string_view kSelectUnfilteredPage =
    "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, '')"
    " FROM (SELECT id FROM patients ORDER BY id LIMIT $1 OFFSET $2) page"
    " JOIN patients p ON p.id = page.id LEFT JOIN persons pe ON pe.id = p.id ORDER BY p.id";
constexpr std::string_view kSelectVisitsOfPatients =
    "SELECT patient_id, id, visit_account_number, visit_date, reason FROM visits"
    " WHERE patient_id = ANY($1::bigint[]) ORDER BY patient_id, visit_date, id";

// " WHERE col LIKE $1 AND …" for the filters given, with their patterns as parameters.
struct FilterSql {
  std::string where;
  std::vector<PgParam> params;
};

FilterSql BuildFilter(const ports::PatientFilter& filter) {
  FilterSql out;
  auto add = [&](const std::optional<std::string>& needle, std::string_view column) {
    if (!needle) return;
    out.params.emplace_back(ContainsPattern(domain::FoldCase(*needle)));
    out.where += out.where.empty() ? " WHERE " : " AND ";
    out.where += std::string(column) + " LIKE $" + std::to_string(out.params.size());
  };
  add(filter.mrn, "p.mrn_folded");
  add(filter.first_name, "pe.first_name_folded");
  add(filter.last_name, "pe.last_name_folded");
  return out;
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

Result<PgResult> SelectFilteredPage(PgConnection& conn, const FilterSql& f, std::int64_t page,
                                    std::int64_t page_size) {
  std::vector<PgParam> params = f.params;
  params.emplace_back(page_size);
  params.emplace_back((page - 1) * page_size);
  std::string page_sql = std::string(kPatientColumns) + std::string(kPatientFrom) + f.where +
                         " ORDER BY p.id LIMIT $" + std::to_string(params.size() - 1) +
                         " OFFSET $" + std::to_string(params.size());
  return conn.ExecOnce(page_sql, params, "list patients");
}

// The total of a list, and whether the ids are exactly 1..total (unfiltered lists only).
struct Totals {
  std::int64_t total = 0;
  bool gapless = false;
};

// The total: the patients counter without a filter; with one, a count cached per data version.
Result<Totals> CountPatients(PgConnection& conn, CountCache& counts,
                             const ports::PatientFilter& filter, const FilterSql& f) {
  auto counters = conn.Exec(kSelectCounters, {}, "read counters");
  if (!counters) return counters.error();
  const std::int64_t patients = counters->Int(0, 0);
  if (f.params.empty()) return Totals{patients, counters->Int(0, 2) == patients};
  const std::int64_t version = counters->Int(0, 1);
  const std::string key = CountCache::Key(
      filter.mrn ? std::optional(domain::FoldCase(*filter.mrn)) : std::nullopt,
      filter.first_name ? std::optional(domain::FoldCase(*filter.first_name)) : std::nullopt,
      filter.last_name ? std::optional(domain::FoldCase(*filter.last_name)) : std::nullopt);
  if (auto cached = counts.Get(key, version)) return Totals{*cached, false};
  std::string count_sql = "SELECT COUNT(*)" + std::string(kPatientFrom) + f.where;
  auto count = conn.ExecOnce(count_sql, f.params, "count patients");
  if (!count) return count.error();
  counts.Put(key, version, count->Int(0, 0));
  return Totals{count->Int(0, 0), false};
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
  return db_->ReadSnapshot([&](PgConnection& conn) -> Result<ports::PatientPage> {
    ports::PatientPage out;
    auto totals = CountPatients(conn, counts_, filter, f);
    if (!totals) return totals.error();
    out.total = totals->total;
    if (page - 1 > out.total / page_size) return out;  // past the end (and no overflow below)
    auto rows = f.params.empty() ? SelectUnfilteredPage(conn, totals->gapless, page, page_size)
                                 : SelectFilteredPage(conn, f, page, page_size);
    if (!rows) return rows.error();
    for (int i = 0; i < rows->rows(); ++i) out.patients.push_back(ReadPatient(*rows, i));
    if (auto visits = LoadVisits(conn, out.patients); !visits) return visits.error();
    return out;
  });
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
