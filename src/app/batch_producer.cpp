#include "app/batch_producer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace intake::app {
namespace {

constexpr std::size_t kReadChunk = std::size_t{1} << 20;

ProducerEnd FailEnd(std::string reason) {
  return ProducerEnd{ProducerEnd::Kind::kFail, std::move(reason), {}};
}

// The object is shorter than what Intake wrote: worth a retry (and, retries exhausted, the reason).
ProducerEnd Incomplete(const std::string& what) {
  return ProducerEnd{
      ProducerEnd::Kind::kTransient, {}, Unavailable("CSV object " + what + ": it is incomplete")};
}

}  // namespace

// Turns CSV rows into batches: the header, then per data row mapping, validation and the
// problems of a rejected row. Owned by the producer thread.
class BatchProducer::Parser {
 public:
  explicit Parser(const ProducerSettings& settings) : s_(settings) {}

  // Takes one parsed CSV row. A ProducerEnd when the stream cannot go on (bad header, a row
  // beyond the expected ones).
  std::optional<ProducerEnd> OnRow(std::vector<std::string>& row);
  bool BatchFull() const { return rows_in_batch_ >= s_.batch_rows; }
  bool has_header() const { return header_.has_value(); }
  // Hands over the batch so far (possibly empty), covering every row seen.
  ports::BatchInput TakeBatch(std::optional<std::int64_t> total_records);
  std::int64_t rows_seen() const { return row_number_; }

 private:
  std::optional<ProducerEnd> OnHeader(const std::vector<std::string>& row);
  void Validate();
  void Reject(std::int64_t row, bool mapped);

  const ProducerSettings& s_;
  std::optional<domain::CsvHeader> header_;
  std::int64_t row_number_ = 0;  // data rows seen so far
  std::size_t rows_in_batch_ = 0;
  std::int64_t errors_kept_ = 0;  // problems handed over so far, for the stored-errors cap
  ports::BatchInput batch_;
  domain::VisitRecord record_;
  std::vector<domain::Problem> problems_;
  std::vector<domain::Problem> checked_;  // scratch for Validate()
};

std::optional<ProducerEnd> BatchProducer::Parser::OnHeader(const std::vector<std::string>& row) {
  auto header = domain::CsvHeader::Parse(row, domain::ProblemsColumn::kRead);
  if (!header) return FailEnd(header.error().message);
  header_ = *header;
  spdlog::info("[STEP 3] Processing records… task={}", s_.task_id);
  return std::nullopt;
}

std::optional<ProducerEnd> BatchProducer::Parser::OnRow(std::vector<std::string>& row) {
  if (!header_) return OnHeader(row);
  const std::int64_t number = ++row_number_;
  if (number > s_.expected_rows) {
    return FailEnd("CSV object holds more rows than the " + std::to_string(s_.expected_rows) +
                   " the task received: it changed after upload");
  }
  if (number <= s_.rows_done) return std::nullopt;  // committed by an earlier run
  ++rows_in_batch_;
  problems_.clear();
  bool mapped = false;
  if (header_->ToRecord(row, record_, problems_)) {
    mapped = true;
    Validate();
  }
  if (problems_.empty()) {
    batch_.rows.push_back(domain::RowInput{number, record_});
  } else {
    Reject(number, mapped);
  }
  return std::nullopt;
}

// Adds the field-rule problems of record_ to problems_, which holds those of the problems column
// (an NDJSON field that was missing or not a string). A field named there is not checked again
// (its cell is empty): one problem per bad field. The result is in field order, row-level first.
void BatchProducer::Parser::Validate() {
  if (problems_.empty()) {
    domain::ValidateRecord(record_, s_.today, problems_);
    return;
  }
  std::array<bool, domain::kFieldCount> named{};
  for (const domain::Problem& problem : problems_) {
    if (problem.field) named[static_cast<std::size_t>(*problem.field)] = true;
  }
  checked_.clear();
  domain::ValidateRecord(record_, s_.today, checked_);
  for (domain::Problem& problem : checked_) {
    if (!problem.field || !named[static_cast<std::size_t>(*problem.field)]) {
      problems_.push_back(std::move(problem));
    }
  }
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const domain::Problem& a, const domain::Problem& b) {
                     const auto rank = [](const domain::Problem& p) {
                       return p.field ? 1 + static_cast<int>(*p.field) : 0;
                     };
                     return rank(a) < rank(b);
                   });
}

void BatchProducer::Parser::Reject(std::int64_t row, bool mapped) {
  ++batch_.rejected_rows;
  // The store keeps only the first kMaxStoredRowErrors per task; every rejected row before this
  // one left at least one, so past that point more would be dropped anyway.
  for (auto& problem : problems_) {
    if (s_.known_errors + errors_kept_ >= static_cast<std::int64_t>(domain::kMaxStoredRowErrors)) {
      break;
    }
    ++errors_kept_;
    batch_.row_errors.push_back(domain::RowError{row, problem.field, std::move(problem.message)});
  }
  if (s_.log_phi && mapped) {
    spdlog::debug("task={} row={} mrn={} rejected ({} problems)", s_.task_id, row, record_.mrn,
                  problems_.size());
  } else {
    spdlog::debug("task={} row={} rejected ({} problems)", s_.task_id, row, problems_.size());
  }
}

ports::BatchInput BatchProducer::Parser::TakeBatch(std::optional<std::int64_t> total_records) {
  ports::BatchInput out = std::exchange(batch_, ports::BatchInput{});
  out.rows_done_after = std::max(row_number_, s_.rows_done);
  out.total_records = total_records;
  rows_in_batch_ = 0;
  return out;
}

// ---- BatchProducer

BatchProducer::BatchProducer(std::unique_ptr<ports::ObjectReader> reader, ProducerSettings settings)
    : reader_(std::move(reader)), settings_(std::move(settings)) {
  if (settings_.depth < 1) settings_.depth = 1;
  if (settings_.batch_rows < 1) settings_.batch_rows = 1;
  thread_ = std::thread([this] { Produce(); });
}

BatchProducer::~BatchProducer() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

BatchProducer::Item BatchProducer::Next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty(); });
  Item item = std::move(ready_.front());
  ready_.pop_front();
  cv_.notify_all();
  return item;
}

bool BatchProducer::Push(Item item) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return cancelled_ || ready_.size() < settings_.depth; });
  if (cancelled_) return false;
  ready_.push_back(std::move(item));
  cv_.notify_all();
  return true;
}

void BatchProducer::Produce() {
  Parser parser(settings_);
  domain::CsvReader csv;
  std::vector<char> buffer(kReadChunk);
  std::vector<std::string> row;
  // Every row handed out here ended in a line break: the object's bytes up to there are whole.
  while (true) {
    auto read = reader_->Read(buffer.data(), buffer.size());
    if (!read) {
      const Error error = read.error();
      if (error.code == ErrorCode::kNotFound) {
        Push(FailEnd("CSV object not found"));
      } else {
        Push(ProducerEnd{ProducerEnd::Kind::kTransient, {}, error});
      }
      return;
    }
    if (*read == 0) break;
    csv.Feed(std::string_view(buffer.data(), *read));
    while (csv.Next(row)) {
      if (auto end = parser.OnRow(row)) {
        Push(std::move(*end));
        return;
      }
      if (parser.BatchFull() && !Push(parser.TakeBatch(std::nullopt))) return;
    }
  }
  csv.Finish();
  // Intake ends every row it writes with a line break, so a row that only the end of the input
  // ends (an unterminated quoted field included) was cut off: the object is not all there yet.
  if (csv.Next(row)) {
    Push(Incomplete("ends inside a row"));
    return;
  }
  if (parser.rows_seen() < settings_.expected_rows) {
    Push(Incomplete("holds " + std::to_string(parser.rows_seen()) + " of the " +
                    std::to_string(settings_.expected_rows) + " rows the task received"));
    return;
  }
  if (!parser.has_header()) {
    Push(FailEnd("CSV has no header row"));
    return;
  }
  if (Push(parser.TakeBatch(parser.rows_seen()))) Push(ProducerEnd{});
}

}  // namespace intake::app
