// GET /patients and GET /patients/{id}. Thread-safe.
#pragma once

#include <boost/json/value.hpp>

#include "app/queries.hpp"
#include "http/message.hpp"
#include "ports/record_store.hpp"

namespace intake::http {

class PatientHandlers {
 public:
  explicit PatientHandlers(app::PatientQuery& patients) : patients_(patients) {}

  // ?page=&page_size=&mrn=&first_name=&last_name= → {total, page, page_size, patients}; 422 paging.
  Response List(Request& request);
  // {id} must be an integer (else 422, loc ["path", "patient_id"]); unknown or beyond 64 bits →
  // 404 "Patient with ID <id> not found".
  Response Get(Request& request);

 private:
  app::PatientQuery& patients_;
};

// {"id", "mrn", "person": {...}, "visits": [...]}.
boost::json::value PatientJson(const ports::PatientView& patient);

}  // namespace intake::http
