// The embedded OpenAPI document (GET /openapi.json) against the routes the Api really serves, and
// its example request bodies against the real /ingest handler. Schema validity is checked by a
// real OpenAPI 3.1 validator in tests/node/openapi.test.mjs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/api_fixture.hpp"
#include "http/assets.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;

using Operation = std::pair<std::string, std::string>;  // (method, path pattern)

// Served routes that are deliberately NOT in the OpenAPI document: human-facing HTML pages and
// the static files they load. Every other served route must be documented, so a new API route
// without documentation fails EveryServedApiRouteIsDocumented. Keep this list short.
const std::set<Operation> kUndocumented = {
    {"GET", "/docs"},                      // Swagger UI page
    {"GET", "/redoc"},                     // ReDoc page
    {"GET", "/dashboard"},                 // operator dashboard page
    {"GET", "/assets/{file}"},             // Intake's own page assets
    {"GET", "/assets/swagger-ui/{file}"},  // swagger-ui-dist bundle
    {"GET", "/assets/redoc/{file}"},       // redoc bundle
};

constexpr std::array<std::string_view, 8> kHttpMethods = {"get",     "put",  "post",  "delete",
                                                          "options", "head", "patch", "trace"};

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string Describe(const Operation& op) { return op.first + " " + op.second; }

json::value Document() {
  std::optional<std::string_view> bytes = FindAssetBytes("openapi.json");
  if (!bytes) {
    ADD_FAILURE() << "openapi.json is not embedded";
    return json::object{};
  }
  return json::parse(*bytes);
}

std::set<Operation> DocumentedOperations(const json::value& doc) {
  std::set<Operation> out;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [key, operation] : item.as_object()) {
      if (std::find(kHttpMethods.begin(), kHttpMethods.end(), key) != kHttpMethods.end()) {
        out.emplace(Upper(key), std::string(path));
      }
    }
  }
  return out;
}

std::set<Operation> ServedOperations(const Router& router) {
  std::set<Operation> out;
  for (const Route& route : router.routes()) out.emplace(route.method, route.pattern);
  return out;
}

const json::object& IngestContent(const json::value& doc) {
  return doc.at("paths").at("/ingest").at("post").at("requestBody").at("content").as_object();
}

// Every example of a media type: its `example` and the values of its `examples` map.
std::vector<std::pair<std::string, json::value>> MediaExamples(const json::object& media) {
  std::vector<std::pair<std::string, json::value>> out;
  if (const json::value* one = media.if_contains("example")) out.emplace_back("example", *one);
  if (const json::value* many = media.if_contains("examples")) {
    for (const auto& [name, example] : many->as_object()) {
      out.emplace_back(std::string(name), example.at("value"));
    }
  }
  return out;
}

class OpenApi : public ApiTest {};

TEST_F(OpenApi, IsServedAsJsonAt31) {
  Response r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::value doc = Json(r);
  std::string version(doc.at("openapi").as_string());
  EXPECT_TRUE(version.starts_with("3.1.")) << version;
  EXPECT_EQ(doc.at("servers").at(0).at("url"), "/");
}

TEST_F(OpenApi, EveryServedApiRouteIsDocumented) {
  std::set<Operation> documented = DocumentedOperations(Document());
  for (const Operation& op : ServedOperations(api_.router())) {
    if (kUndocumented.contains(op)) continue;
    EXPECT_TRUE(documented.contains(op))
        << Describe(op) << " is served but missing from openapi.json (document it, or list it in "
        << "kUndocumented if it is not an API route)";
  }
}

TEST_F(OpenApi, EveryDocumentedOperationIsServed) {
  std::set<Operation> served = ServedOperations(api_.router());
  for (const Operation& op : DocumentedOperations(Document())) {
    EXPECT_TRUE(served.contains(op)) << Describe(op) << " is in openapi.json but not served";
    EXPECT_FALSE(kUndocumented.contains(op)) << Describe(op) << " is both documented and excluded";
  }
}

TEST_F(OpenApi, ExclusionsAreServedRoutes) {
  std::set<Operation> served = ServedOperations(api_.router());
  for (const Operation& op : kUndocumented) {
    EXPECT_TRUE(served.contains(op)) << Describe(op) << " is excluded but no longer served";
  }
}

TEST_F(OpenApi, PathParametersMatchTheRoutePattern) {
  json::value doc = Document();
  const json::object& params = doc.at("components").at("parameters").as_object();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      std::set<std::string> declared;
      if (const json::value* list = operation.as_object().if_contains("parameters")) {
        for (const json::value& p : list->as_array()) {
          const json::value* resolved = &p;
          if (const json::value* ref = p.as_object().if_contains("$ref")) {
            std::string_view target = ref->as_string();
            resolved = params.if_contains(target.substr(target.rfind('/') + 1));
            ASSERT_NE(resolved, nullptr) << "unresolved " << target;
          }
          if (resolved->at("in") == "path") declared.emplace(resolved->at("name").as_string());
        }
      }
      std::set<std::string> in_pattern;
      std::string_view rest = path;
      for (std::size_t open = rest.find('{'); open != std::string_view::npos;
           open = rest.find('{')) {
        std::size_t close = rest.find('}', open);
        in_pattern.emplace(rest.substr(open + 1, close - open - 1));
        rest.remove_prefix(close + 1);
      }
      EXPECT_EQ(declared, in_pattern) << std::string(method) << " " << std::string(path);
    }
  }
}

TEST_F(OpenApi, EveryOperationHasAnIdTagAndSummary) {
  std::set<std::string> ids;
  json::value doc = Document();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      const json::object& op = operation.as_object();
      std::string where = std::string(method) + " " + std::string(path);
      ASSERT_TRUE(op.contains("operationId")) << where;
      EXPECT_TRUE(ids.emplace(op.at("operationId").as_string()).second) << where;
      EXPECT_TRUE(op.contains("tags")) << where;
      EXPECT_TRUE(op.contains("summary")) << where;
      EXPECT_TRUE(op.contains("responses")) << where;
    }
  }
}

TEST_F(OpenApi, IngestJsonExamplesAreAccepted) {
  json::value doc = Document();
  std::vector<std::pair<std::string, json::value>> examples =
      MediaExamples(IngestContent(doc).at("application/json").as_object());
  for (const json::value& batch :
       doc.at("components").at("schemas").at("VisitRecordBatch").at("examples").as_array()) {
    examples.emplace_back("VisitRecordBatch schema example", batch);
  }
  ASSERT_FALSE(examples.empty());
  int n = 0;
  for (const auto& [name, value] : examples) {
    std::string body = json::serialize(value);
    // A distinct Idempotency-Key each time also checks the documented key format is accepted.
    Response r = PostJson(body, {{"Idempotency-Key", "docs-example-" + std::to_string(++n)}});
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    EXPECT_EQ(Json(r).at("records_received"), value.as_array().size()) << name;
  }
}

TEST_F(OpenApi, IngestCsvAndNdjsonExamplesAreAccepted) {
  json::value doc = Document();
  for (std::string type : {"text/csv", "application/x-ndjson"}) {
    std::vector<std::pair<std::string, json::value>> examples =
        MediaExamples(IngestContent(doc).at(type).as_object());
    ASSERT_FALSE(examples.empty()) << type;
    for (const auto& [name, value] : examples) {
      Response r = Upload(type, {value.as_string()});
      ASSERT_EQ(r.status, 200) << type << " " << name << ": " << r.body;
      EXPECT_EQ(Json(r).at("records_received"), 2) << type << " " << name;
    }
  }
}

TEST_F(OpenApi, DocumentedIngestErrorsMatchTheHandler) {
  json::value doc = Document();
  const json::object& responses =
      doc.at("paths").at("/ingest").at("post").at("responses").as_object();
  Response unsupported = Call("POST", "/ingest", "[]", {{"Content-Type", "text/plain"}});
  ASSERT_EQ(unsupported.status, 415);
  EXPECT_EQ(Json(unsupported), responses.at("415")
                                   .at("content")
                                   .at("application/json")
                                   .at("examples")
                                   .at("unsupported")
                                   .at("value"));
  Response missing = PostJson(R"([{"first_name":"A"}])");
  ASSERT_EQ(missing.status, 422);
  EXPECT_EQ(Json(missing).at("detail").at(0), responses.at("422")
                                                  .at("content")
                                                  .at("application/json")
                                                  .at("examples")
                                                  .at("missing_field")
                                                  .at("value")
                                                  .at("detail")
                                                  .at(0));
}

}  // namespace
}  // namespace intake::http::testing
