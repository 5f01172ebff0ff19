// SqliteRecordStore's read side: ListPatients and GetPatient.
#include <string>
#include <unordered_map>

#include "adapters/sqlite/sqlite_record_store.hpp"
#include "domain/case_fold.hpp"

namespace intake::adapters::sqlite {
namespace {

constexpr std::int64_t kMaxPageSize = 100;

#define INTAKE_PATIENT_FILTER                                \
  " FROM patients p LEFT JOIN persons pe ON pe.id = p.id"    \
  " WHERE (?1 IS NULL OR instr(p.mrn_folded, ?1) > 0)"       \
  " AND (?2 IS NULL OR instr(pe.first_name_folded, ?2) > 0)" \
  " AND (?3 IS NULL OR instr(pe.last_name_folded, ?3) > 0)"
#define INTAKE_PATIENT_COLUMNS                                                   \
  "SELECT p.id, p.mrn, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, '')," \
  " COALESCE(pe.birth_date, '')"

constexpr std::string_view kCountPatients = "SELECT COUNT(*)" INTAKE_PATIENT_FILTER;
constexpr std::string_view kSelectPatientPage =
    INTAKE_PATIENT_COLUMNS INTAKE_PATIENT_FILTER " ORDER BY p.id LIMIT ?4 OFFSET ?5";
// The unfiltered page: its ids walked in the patients table alone, then their rows.
constexpr std::string_view kSelectUnfilteredPage = INTAKE_PATIENT_COLUMNS
    " FROM (SELECT id FROM patients ORDER BY id LIMIT ?1 OFFSET ?2) page"
    " JOIN patients p ON p.id = page.id LEFT JOIN persons pe ON pe.id = p.id ORDER BY p.id";
// Patients are never deleted, so when the highest id equals the count the ids are exactly
// 1..count and a page is an id range: no walk over the rows before it.
constexpr std::string_view kSelectMaxPatientId = "SELECT COALESCE(MAX(id), 0) FROM patients";
constexpr std::string_view kSelectPageByIdRange = INTAKE_PATIENT_COLUMNS
    " FROM patients p LEFT JOIN persons pe ON pe.id = p.id"
    " WHERE p.id > ?2 AND p.id <= ?2 + ?1 ORDER BY p.id";
constexpr std::string_view kSelectCounters =
    "SELECT (SELECT value FROM counters WHERE name = 'patients'),"
    " (SELECT value FROM counters WHERE name = 'data_version')";
constexpr std::string_view kSelectPatient =
    INTAKE_PATIENT_COLUMNS " FROM patients p LEFT JOIN persons pe ON pe.id = p.id WHERE p.id = ?1";
constexpr std::string_view kSelectVisitsOfPatient =
    "SELECT patient_id, id, visit_account_number, visit_date, reason FROM visits"
    " WHERE patient_id = ?1 ORDER BY visit_date, id";

#undef INTAKE_PATIENT_FILTER
#undef INTAKE_PATIENT_COLUMNS

// "... WHERE patient_id IN (?1, ..., ?100) ...": one query for a whole page; unused parameters
// stay NULL, which matches nothing. Built once; the cache keys statements by this address.
const std::string& VisitsOfPageSql() {
  static const std::string sql = [] {
    std::string s =
        "SELECT patient_id, id, visit_account_number, visit_date, reason FROM visits"
        " WHERE patient_id IN (";
    for (std::int64_t i = 1; i <= kMaxPageSize; ++i) {
      s += (i == 1 ? "?" : ", ?") + std::to_string(i);
    }
    s += ") ORDER BY patient_id, visit_date, id";
    return s;
  }();
  return sql;
}

std::optional<std::string> Folded(const std::optional<std::string>& needle) {
  if (!needle) return std::nullopt;
  return domain::FoldCase(*needle);
}

ports::PatientView ReadPatient(const Statement& s) {
  ports::PatientView p;
  p.id = s.Int(0);
  p.mrn = s.Text(1);
  p.person = {s.Text(2), s.Text(3), s.Text(4)};
  return p;
}

// Appends the visits `s` yields (columns: patient_id, id, number, date, reason) to their patients.
Status CollectVisits(Statement& s, std::unordered_map<std::int64_t, ports::PatientView*>& by_id) {
  for (;;) {
    auto row = s.Step();
    if (!row) return row.error();
    if (!*row) return {};
    auto it = by_id.find(s.Int(0));
    if (it == by_id.end()) continue;
    it->second->visits.push_back({s.Int(1), s.Text(2), s.Text(3), s.Text(4)});
  }
}

Status LoadPageVisits(Connection& conn, std::vector<ports::PatientView>& patients) {
  if (patients.empty()) return {};
  auto s = conn.Prepare(VisitsOfPageSql(), "load visits");
  if (!s) return s.error();
  std::unordered_map<std::int64_t, ports::PatientView*> by_id;
  int index = 1;
  for (auto& p : patients) {
    by_id.emplace(p.id, &p);
    s->Bind(index++, p.id);
  }
  return CollectVisits(*s, by_id);
}

// The total: the patients counter without a filter; with one (needles folded), a count cached per
// data version.
Result<std::int64_t> CountPatients(Connection& conn, CountCache& counts,
                                   const std::optional<std::string>& mrn,
                                   const std::optional<std::string>& first,
                                   const std::optional<std::string>& last) {
  auto counters = conn.Prepare(kSelectCounters, "read counters");
  if (!counters) return counters.error();
  if (auto row = counters->Step(); !row) return row.error();
  if (!mrn && !first && !last) return counters->Int(0);
  const std::int64_t version = counters->Int(1);
  const std::string key = CountCache::Key(mrn, first, last);
  if (auto cached = counts.Get(key, version)) return *cached;
  auto count = conn.Prepare(kCountPatients, "count patients");
  if (!count) return count.error();
  count->Bind(1, mrn).Bind(2, first).Bind(3, last);
  if (auto row = count->Step(); !row) return row.error();
  counts.Put(key, version, count->Int(0));
  return count->Int(0);
}

// True when the patients' ids are exactly 1..total.
Result<bool> IdsAreGapless(Connection& conn, std::int64_t total) {
  auto s = conn.Prepare(kSelectMaxPatientId, "read the highest patient id");
  if (!s) return s.error();
  if (auto row = s->Step(); !row) return row.error();
  return s->Int(0) == total;
}

}  // namespace

Result<ports::PatientPage> SqliteRecordStore::ListPatients(const ports::PatientFilter& filter,
                                                           std::int64_t page,
                                                           std::int64_t page_size) {
  if (page < 1 || page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page must be >= 1 and page_size between 1 and 100");
  }
  auto mrn = Folded(filter.mrn);
  auto first = Folded(filter.first_name);
  auto last = Folded(filter.last_name);
  const bool filtered = mrn || first || last;
  return db_->Read([&](Connection& conn) -> Result<ports::PatientPage> {
    ports::PatientPage out;
    auto total = CountPatients(conn, counts_, mrn, first, last);
    if (!total) return total.error();
    out.total = *total;
    if (page - 1 > out.total / page_size) return out;  // past the end (and no overflow below)
    std::string_view sql = kSelectPatientPage;
    if (!filtered) {
      auto gapless = IdsAreGapless(conn, out.total);
      if (!gapless) return gapless.error();
      sql = *gapless ? kSelectPageByIdRange : kSelectUnfilteredPage;
    }
    auto s = conn.Prepare(sql, "list patients");
    if (!s) return s.error();
    const std::int64_t offset = (page - 1) * page_size;
    if (filtered) {
      s->Bind(1, mrn).Bind(2, first).Bind(3, last).Bind(4, page_size).Bind(5, offset);
    } else {
      s->Bind(1, page_size).Bind(2, offset);
    }
    for (;;) {
      auto row = s->Step();
      if (!row) return row.error();
      if (!*row) break;
      out.patients.push_back(ReadPatient(*s));
    }
    if (auto visits = LoadPageVisits(conn, out.patients); !visits) return visits.error();
    return out;
  });
}

Result<ports::PatientView> SqliteRecordStore::GetPatient(std::int64_t id) {
  return db_->Read([&](Connection& conn) -> Result<ports::PatientView> {
    auto s = conn.Prepare(kSelectPatient, "read patient");
    if (!s) return s.error();
    s->Bind(1, id);
    auto row = s->Step();
    if (!row) return row.error();
    if (!*row) return NotFound("Patient with ID " + std::to_string(id) + " not found");
    ports::PatientView patient = ReadPatient(*s);
    auto visits = conn.Prepare(kSelectVisitsOfPatient, "load visits");
    if (!visits) return visits.error();
    visits->Bind(1, id);
    std::unordered_map<std::int64_t, ports::PatientView*> by_id{{id, &patient}};
    if (auto loaded = CollectVisits(*visits, by_id); !loaded) return loaded.error();
    return patient;
  });
}

}  // namespace intake::adapters::sqlite
