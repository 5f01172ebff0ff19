#include "http/handlers/patient_handlers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <variant>

#include "http/errors.hpp"
#include "http/query.hpp"

namespace intake::http {
namespace {

namespace json = boost::json;

std::optional<std::string> QueryString(const Request& request, std::string_view name) {
  std::optional<std::string_view> value = request.Query(name);
  if (!value) return std::nullopt;
  return std::string(*value);
}

Response PatientNotFound(std::string_view id) {
  return DetailResponse(404, "Patient with ID " + std::string(id) + " not found");
}

}  // namespace

json::value PatientJson(const ports::PatientView& patient) {
  json::array visits;
  visits.reserve(patient.visits.size());
  for (const ports::VisitView& v : patient.visits) {
    visits.push_back(json::object{{"id", v.id},
                                  {"visit_account_number", v.visit_account_number},
                                  {"visit_date", v.visit_date},
                                  {"reason", v.reason}});
  }
  return json::object{{"id", patient.id},
                      {"mrn", patient.mrn},
                      {"person", json::object{{"first_name", patient.person.first_name},
                                              {"last_name", patient.person.last_name},
                                              {"birth_date", patient.person.birth_date}}},
                      {"visits", std::move(visits)}};
}

Response PatientHandlers::List(Request& request) {
  auto paging = ParsePaging(request);
  if (auto* early = std::get_if<Response>(&paging)) return std::move(*early);
  const Paging& p = std::get<Paging>(paging);
  ports::PatientFilter filter;
  filter.mrn = QueryString(request, "mrn");
  filter.first_name = QueryString(request, "first_name");
  filter.last_name = QueryString(request, "last_name");
  Result<ports::PatientPage> page = patients_.List(filter, p.page, p.page_size);
  if (!page) return ErrorResponse(page.error());
  json::array patients;
  patients.reserve(page->patients.size());
  for (const ports::PatientView& patient : page->patients) patients.push_back(PatientJson(patient));
  return JsonResponse(200, json::object{{"total", page->total},
                                        {"page", p.page},
                                        {"page_size", p.page_size},
                                        {"patients", std::move(patients)}});
}

Response PatientHandlers::Get(Request& request) {
  const std::string& text = request.Param("id");
  std::int64_t id = 0;
  IntParse parsed = ParseInt64(text, id);
  if (parsed == IntParse::kNotInteger) {
    return ValidationResponse(
        ValidationItem{"int_parsing",
                       {"path", "patient_id"},
                       "Input should be a valid integer, unable to parse string as an integer"});
  }
  // Only digits and a sign get here, so echoing the id is safe.
  if (parsed == IntParse::kOutOfRange) return PatientNotFound(text);
  Result<ports::PatientView> patient = patients_.Get(id);
  if (!patient) {
    if (patient.error().code == ErrorCode::kNotFound) return PatientNotFound(std::to_string(id));
    return ErrorResponse(patient.error());
  }
  return JsonResponse(200, PatientJson(*patient));
}

}  // namespace intake::http
