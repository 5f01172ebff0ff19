#include "main/ingest_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "main/ingest_client.hpp"

namespace intake::main_ {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr int kBarWidth = 30;
constexpr std::size_t kErrorsShown = 10;

struct Submitted {
  std::string file;
  std::string task_id;
  std::int64_t records = 0;
};

std::optional<std::string_view> ContentTypeFor(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return "text/csv";
  if (ext == ".ndjson" || ext == ".jsonl") return "application/x-ndjson";
  if (ext == ".json") return "application/json";
  return std::nullopt;
}

std::optional<json::value> ParseJson(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string StringAt(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object()) {
    if (const auto* s = o->if_contains(key); s != nullptr && s->is_string()) {
      return std::string(s->get_string());
    }
  }
  return {};
}

std::int64_t IntAt(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object()) {
    if (const auto* n = o->if_contains(key); n != nullptr && n->is_number()) {
      return n->is_int64() ? n->get_int64() : static_cast<std::int64_t>(n->to_number<double>());
    }
  }
  return 0;
}

// "HTTP 422: body.0.mrn: Field required (+2 more)" from FastAPI-shaped error bodies.
std::string DescribeHttpError(const HttpReply& reply) {
  std::string out = "HTTP " + std::to_string(reply.status);
  const auto body = ParseJson(reply.body);
  const json::value* detail =
      body && body->is_object() ? body->as_object().if_contains("detail") : nullptr;
  if (detail == nullptr) return out;
  if (detail->is_string()) return out + ": " + std::string(detail->get_string());
  if (const auto* items = detail->if_array(); items != nullptr && !items->empty()) {
    const json::value& first = items->front();
    std::string loc;
    if (const auto* o = first.if_object(); o != nullptr && o->contains("loc")) {
      if (const auto* parts = o->at("loc").if_array()) {
        for (const auto& p : *parts) {
          if (!loc.empty()) loc += '.';
          loc += p.is_string() ? std::string(p.get_string()) : json::serialize(p);
        }
      }
    }
    out += ": " + (loc.empty() ? "" : loc + ": ") + StringAt(first, "msg");
    if (items->size() > 1) out += " (+" + std::to_string(items->size() - 1) + " more)";
  }
  return out;
}

std::optional<Submitted> Submit(IngestClient& client, const std::string& file) {
  const auto type = ContentTypeFor(file);
  auto reply = client.PostFile("/ingest", file, *type);
  if (!reply) {
    std::cerr << "intake ingest: " << file << ": " << reply.error().message << "\n";
    return std::nullopt;
  }
  if (reply->status != 200) {
    std::cerr << "intake ingest: " << file << ": " << DescribeHttpError(*reply) << "\n";
    return std::nullopt;
  }
  const auto body = ParseJson(reply->body);
  const std::string task_id = body ? StringAt(*body, "task_id") : "";
  if (task_id.empty()) {
    std::cerr << "intake ingest: " << file << ": the server's answer has no task_id\n";
    return std::nullopt;
  }
  std::cout << task_id << std::endl;
  return Submitted{file, task_id, IntAt(*body, "records_received")};
}

void DrawProgress(const Submitted& s, std::string_view status, const json::value& result) {
  const std::int64_t total = std::max<std::int64_t>(IntAt(result, "total"), s.records);
  const std::int64_t current = IntAt(result, "current");
  const double fraction =
      total > 0 ? std::clamp(static_cast<double>(current) / static_cast<double>(total), 0.0, 1.0)
                : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kBarWidth - filled), '-');
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %lld/%lld %s", fs::path(s.file).filename().c_str(),
               bar.c_str(), static_cast<int>(fraction * 100), static_cast<long long>(current),
               static_cast<long long>(total), std::string(status).c_str());
  std::fflush(stderr);
}

void PrintCounters(const Submitted& s, const json::value& result) {
  auto n = [&](std::string_view key) { return std::to_string(IntAt(result, key)); };
  std::cout << s.task_id << " SUCCESS " << s.file << ": " << n("processed_records") << "/"
            << n("total_records") << " rows processed, " << n("error_count")
            << " rejected; patients " << n("patients_created") << " created, "
            << n("patients_updated") << " updated, " << n("patients_unchanged")
            << " unchanged; visits " << n("visits_created") << " created, " << n("visits_updated")
            << " updated, " << n("visits_unchanged") << " unchanged\n";
  const auto* errors = result.is_object() ? result.as_object().if_contains("errors") : nullptr;
  if (errors == nullptr || !errors->is_array()) return;
  std::size_t shown = 0;
  for (const auto& e : errors->as_array()) {
    if (shown++ == kErrorsShown) {
      std::cout << "  ... see GET /tasks/" << s.task_id << " for the rest\n";
      break;
    }
    const std::string field = StringAt(e, "field");
    std::cout << "  row " << IntAt(e, "row") << (field.empty() ? "" : ", " + field) << ": "
              << StringAt(e, "message") << "\n";
  }
}

// Follows one task to its end; true on SUCCESS.
bool Follow(IngestClient& client, const Submitted& s, bool tty) {
  while (true) {
    auto reply = client.Get("/tasks/" + s.task_id);
    if (!reply) {
      if (tty) std::fputs("\n", stderr);
      std::cerr << "intake ingest: " << s.file << ": " << reply.error().message << "\n";
      return false;
    }
    if (reply->status != 200) {
      if (tty) std::fputs("\n", stderr);
      std::cerr << "intake ingest: " << s.file << ": task " << s.task_id << ": "
                << DescribeHttpError(*reply) << "\n";
      return false;
    }
    const auto body = ParseJson(reply->body);
    const std::string status = body ? StringAt(*body, "status") : "";
    const json::value result = body && body->is_object() && body->as_object().contains("result")
                                   ? body->as_object().at("result")
                                   : json::value();
    if (status == "SUCCESS" || status == "FAILURE") {
      if (tty) std::fputs("\r\033[K", stderr);
      if (status == "SUCCESS") {
        PrintCounters(s, result);
        return true;
      }
      std::cerr << "intake ingest: " << s.file << ": task " << s.task_id
                << " FAILURE: " << StringAt(result, "error") << "\n";
      return false;
    }
    if (tty) DrawProgress(s, status, result);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

int RunIngest(const IngestArgs& args) {
  for (const auto& file : args.files) {
    if (!ContentTypeFor(file)) {
      std::cerr << "intake ingest: " << file
                << ": unknown file type (expected .csv, .ndjson, .jsonl or .json)\n";
      return 1;
    }
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      std::cerr << "intake ingest: " << file << ": no such file\n";
      return 1;
    }
  }
  auto client = IngestClient::Create(args.url);
  if (!client) {
    std::cerr << "intake ingest: " << client.error().message << "\n";
    return 1;
  }
  std::vector<Submitted> submitted;
  for (const auto& file : args.files) {
    auto s = Submit(*client, file);
    if (!s) return 1;
    submitted.push_back(std::move(*s));
  }
  if (!args.wait) return 0;
  const bool tty = isatty(STDERR_FILENO) != 0;
  bool all_ok = true;
  for (const auto& s : submitted) all_ok = Follow(*client, s, tty) && all_ok;
  return all_ok ? 0 : 1;
}

}  // namespace intake::main_
