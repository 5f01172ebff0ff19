#include "http/handlers/record_json.hpp"

#include <simdjson.h>

#include <array>
#include <optional>
#include <string>

#include "http/errors.hpp"

namespace intake::http {
namespace {

using domain::Field;
using domain::kFieldCount;
using domain::kFieldNames;

enum class Seen : std::uint8_t { kMissing, kString, kNotString };

std::optional<std::size_t> FieldIndex(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return i;
  }
  return std::nullopt;
}

std::string& Slot(domain::VisitRecord& r, std::size_t i) {
  std::array<std::string*, kFieldCount> slots = {
      &r.mrn,        &r.first_name, &r.last_name, &r.birth_date, &r.visit_account_number,
      &r.visit_date, &r.reason};
  return *slots[i];
}

app::RecordProblem Structural(std::size_t index, std::optional<Field> field, std::string_view type,
                              std::string_view msg) {
  return app::RecordProblem{index, domain::Problem{field, std::string(type), std::string(msg)}};
}

// Reads one object; a repeated key keeps its last value, as Python's json module does.
void ReadRecord(simdjson::dom::object object, std::size_t index, ParsedRecords& out) {
  domain::VisitRecord& record = out.records[index];
  std::array<Seen, kFieldCount> seen{};
  for (auto [key, value] : object) {
    std::optional<std::size_t> field = FieldIndex(key);
    if (!field) continue;
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      Slot(record, *field) = std::string(text);
      seen[*field] = Seen::kString;
    } else {
      Slot(record, *field).clear();
      seen[*field] = Seen::kNotString;
    }
  }
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    if (seen[i] == Seen::kMissing) {
      out.structural.push_back(Structural(index, field, "missing", kMissingMsg));
    } else if (seen[i] == Seen::kNotString) {
      out.structural.push_back(Structural(index, field, "string_type", kStringTypeMsg));
    }
  }
}

Response BodyProblem(std::string type, std::string msg) {
  return ValidationResponse(ValidationItem{std::move(type), {"body"}, std::move(msg)});
}

}  // namespace

std::variant<ParsedRecords, Response> ParseRecordArray(std::string_view body,
                                                       std::size_t max_records) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    return BodyProblem("json_invalid", "JSON decode error");
  }
  simdjson::dom::array array;
  if (root.get_array().get(array) != simdjson::SUCCESS) {
    return BodyProblem("list_type", "Input should be a valid list");
  }
  std::size_t count = array.size();
  if (count == 0) {
    return BodyProblem("too_short", "List should have at least 1 item after validation, not 0");
  }
  if (count > max_records) {
    return PayloadTooLargeResponse(
        "Too many records in one request: split the batch into requests of at most " +
        std::to_string(max_records) + " records");
  }
  ParsedRecords out;
  out.records.resize(count);
  std::size_t index = 0;
  for (simdjson::dom::element element : array) {
    simdjson::dom::object object;
    if (element.get_object().get(object) == simdjson::SUCCESS) {
      ReadRecord(object, index, out);
    } else {
      out.structural.push_back(Structural(index, std::nullopt, "model_type", kModelTypeMsg));
    }
    ++index;
  }
  return out;
}

Response RecordProblemsResponse(const std::vector<app::RecordProblem>& problems) {
  std::vector<ValidationItem> items;
  items.reserve(problems.size());
  for (const app::RecordProblem& p : problems) {
    boost::json::array loc{"body", p.index};
    if (p.problem.field) loc.emplace_back(domain::FieldName(*p.problem.field));
    items.push_back(ValidationItem{p.problem.type, std::move(loc), p.problem.message});
  }
  return ValidationResponse(items);
}

}  // namespace intake::http
