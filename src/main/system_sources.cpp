#include "main/system_sources.hpp"

namespace intake::main_ {
namespace {

void AppendHex(std::string& out, std::uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(value >> (4 * i)) & 0xf];
}

}  // namespace

RandomIdSource::RandomIdSource() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device(),
                     device(), device(), device(), device()};
  engine_.seed(seed);
}

std::uint64_t RandomIdSource::Next() {
  std::lock_guard lock(mu_);
  return engine_();
}

std::string RandomIdSource::NewTaskId() {
  std::uint64_t hi = Next();
  std::uint64_t lo = Next();
  hi = (hi & ~std::uint64_t{0xf000}) | 0x4000;                         // version 4
  lo = (lo & ~(std::uint64_t{0xc} << 60)) | (std::uint64_t{8} << 60);  // variant 10xx
  std::string id;
  id.reserve(36);
  AppendHex(id, hi >> 32, 8);
  id += '-';
  AppendHex(id, hi >> 16, 4);
  id += '-';
  AppendHex(id, hi, 4);
  id += '-';
  AppendHex(id, lo >> 48, 4);
  id += '-';
  AppendHex(id, lo, 12);
  return id;
}

std::string RandomIdSource::NewSuffix() {
  std::string suffix;
  AppendHex(suffix, Next(), 8);
  return suffix;
}

}  // namespace intake::main_
