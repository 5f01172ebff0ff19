// GET /patients and GET /patients/{id}.
#include <gtest/gtest.h>

#include "http/api_fixture.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;

domain::VisitRecord Rec(std::string mrn, std::string first, std::string van,
                        std::string date = "2024-11-01") {
  return domain::VisitRecord{std::move(mrn), std::move(first), "Doe",           "1990-02-14",
                             std::move(van), std::move(date),  "Annual Checkup"};
}

class Patients : public ApiTest {
 protected:
  void SetUp() override {
    LoadPatients({Rec("MRN-1001", "John", "VST-9001"), Rec("MRN-1002", "Zo\xC3\xAB", "VST-9002"),
                  Rec("MRN-1001", "John", "VST-9003", "2023-01-01")});
  }
};

TEST_F(Patients, ListHasTheSpecShape) {
  Response r = Call("GET", "/patients");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("total"), 2);
  EXPECT_EQ(body.at("page"), 1);
  EXPECT_EQ(body.at("page_size"), 10);
  const json::value& p = body.at("patients").at(0);
  EXPECT_EQ(p.at("mrn"), "MRN-1001");
  EXPECT_EQ(
      p.at("person"),
      (json::object{{"first_name", "John"}, {"last_name", "Doe"}, {"birth_date", "1990-02-14"}}));
  const json::array& visits = p.at("visits").as_array();
  ASSERT_EQ(visits.size(), 2u);
  EXPECT_EQ(visits[0].at("visit_account_number"), "VST-9003");  // by visit_date
  EXPECT_EQ(visits[1].at("visit_date"), "2024-11-01");
  EXPECT_EQ(visits[1].at("reason"), "Annual Checkup");
  EXPECT_TRUE(visits[0].at("id").is_int64());
}

TEST_F(Patients, FiltersAndPaging) {
  json::value body = Json(Call("GET", "/patients?first_name=zo%C3%AB"));
  EXPECT_EQ(body.at("total"), 1);
  EXPECT_EQ(body.at("patients").at(0).at("mrn"), "MRN-1002");
  json::value page2 = Json(Call("GET", "/patients?page=2&page_size=1"));
  EXPECT_EQ(page2.at("total"), 2);
  EXPECT_EQ(page2.at("page"), 2);
  EXPECT_EQ(page2.at("patients").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/patients?mrn=%25")).at("total"), 0);  // % is literal
}

TEST_F(Patients, BadPagingIs422WithQueryLoc) {
  struct Case {
    std::string target;
    std::string loc;
    std::string type;
  };
  for (const Case& c : std::vector<Case>{
           {"/patients?page=0", "page", "greater_than_equal"},
           {"/patients?page=-3", "page", "greater_than_equal"},
           {"/patients?page=abc", "page", "int_parsing"},
           {"/patients?page=", "page", "int_parsing"},
           {"/patients?page=1.5", "page", "int_parsing"},
           {"/patients?page_size=0", "page_size", "greater_than_equal"},
           {"/patients?page_size=101", "page_size", "less_than_equal"},
           {"/patients?page_size=99999999999999999999", "page_size", "less_than_equal"},
       }) {
    Response r = Call("GET", c.target);
    ASSERT_EQ(r.status, 422) << c.target;
    json::value item = Json(r).at("detail").at(0);
    EXPECT_EQ(item.at("loc"), (json::array{"query", c.loc})) << c.target;
    EXPECT_EQ(std::string(item.at("type").as_string()), c.type) << c.target;
    EXPECT_FALSE(item.as_object().contains("input"));
  }
  Response both = Call("GET", "/patients?page=0&page_size=500");
  EXPECT_EQ(Json(both).at("detail").as_array().size(), 2u);
}

TEST_F(Patients, GetOne) {
  Response r = Call("GET", "/patients/1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("mrn"), "MRN-1001");
  EXPECT_EQ(Json(r).at("id"), 1);
}

TEST_F(Patients, UnknownIdsAre404) {
  EXPECT_EQ(Call("GET", "/patients/999").body, R"({"detail":"Patient with ID 999 not found"})");
  EXPECT_EQ(Call("GET", "/patients/-5").body, R"({"detail":"Patient with ID -5 not found"})");
  EXPECT_EQ(Call("GET", "/patients/123456789012345678901234567890").body,
            R"({"detail":"Patient with ID 123456789012345678901234567890 not found"})");
  EXPECT_EQ(Call("GET", "/patients/-123456789012345678901234567890").status, 404);
}

TEST_F(Patients, NonIntegerIdIs422OnThePath) {
  Response r = Call("GET", "/patients/abc");
  ASSERT_EQ(r.status, 422);
  json::value item = Json(r).at("detail").at(0);
  EXPECT_EQ(item.at("loc"), (json::array{"path", "patient_id"}));
  EXPECT_EQ(item.at("type"), "int_parsing");
  EXPECT_EQ(r.body.find("abc"), std::string::npos);
}

TEST_F(Patients, StoreDownIs503) {
  records_.SetDown(true);
  EXPECT_EQ(Call("GET", "/patients").status, 503);
  EXPECT_EQ(Call("GET", "/patients/1").status, 503);
}

}  // namespace
}  // namespace intake::http::testing
