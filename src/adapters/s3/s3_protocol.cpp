#include "adapters/s3/s3_protocol.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace intake::adapters::s3 {
namespace {

constexpr std::size_t kMaxKeyBytes = 255;
constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kLowerHex[] = "0123456789abcdef";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one entity starting at text[0] == '&'; returns the bytes consumed (0: not an entity).
std::size_t DecodeEntity(std::string_view text, std::string& out) {
  std::size_t semi = text.find(';');
  if (semi == std::string_view::npos || semi > 12) return 0;
  std::string_view name = text.substr(1, semi - 1);
  static constexpr std::array<std::pair<std::string_view, char>, 5> kNamed = {
      {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}}};
  for (const auto& [entity, ch] : kNamed) {
    if (name == entity) {
      out += ch;
      return semi + 1;
    }
  }
  if (name.size() < 2 || name[0] != '#') return 0;
  bool hex = name[1] == 'x' || name[1] == 'X';
  std::string digits(name.substr(hex ? 2 : 1));
  if (digits.empty()) return 0;
  char* end = nullptr;
  unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
  if (end == nullptr || *end != '\0') return 0;
  AppendUtf8(out, cp);
  return semi + 1;
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      if (std::size_t used = DecodeEntity(text.substr(i), out); used > 0) {
        i += used;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool IsCredentialCode(std::string_view code) {
  return code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
         code == "AccessDenied" || code == "InvalidToken" || code == "ExpiredToken" ||
         code == "InvalidSecurity";
}

bool IsTransientCode(std::string_view code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" ||
         code == "RequestTimeout" || code == "OperationAborted";
}

}  // namespace

Status ValidateKey(std::string_view key) {
  bool control = std::any_of(key.begin(), key.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
  if (key.empty() || key.size() > kMaxKeyBytes || key.front() == '.' ||
      key.find('/') != std::string_view::npos || control) {
    return InvalidArgument("object key must be a plain file name");
  }
  return {};
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string NormalizeEndpoint(std::string_view endpoint_url, std::string_view region) {
  std::string endpoint = endpoint_url.empty()
                             ? "https://s3." + std::string(region) + ".amazonaws.com"
                             : std::string(endpoint_url);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string RedactEndpoint(std::string_view endpoint) {
  std::size_t scheme = endpoint.find("://");
  std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t at = endpoint.find('@', start);
  if (at == std::string_view::npos || endpoint.find('/', start) < at) return std::string(endpoint);
  return std::string(endpoint.substr(0, start)) + std::string(endpoint.substr(at + 1));
}

std::string ObjectUrl(std::string_view endpoint, std::string_view bucket, std::string_view key,
                      std::string_view query) {
  std::string url(endpoint);
  url += '/';
  url += UriEncode(bucket, false);
  if (!key.empty()) {
    url += '/';
    url += UriEncode(key, true);
  }
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

std::string Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return {};  // only on allocation failure; the request then fails its signature check
  }
  std::string hex;
  hex.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kLowerHex[digest[i] >> 4];
    hex += kLowerHex[digest[i] & 0x0F];
  }
  return hex;
}

std::optional<std::string> XmlValue(std::string_view xml, std::string_view tag) {
  // Built by append: GCC 12's -O3 flags `"<" + std::string(tag)` with a false -Wrestrict.
  std::string open(1, '<');
  open.append(tag);
  for (std::size_t pos = xml.find(open); pos != std::string_view::npos;
       pos = xml.find(open, pos + 1)) {
    std::size_t after = pos + open.size();
    if (after >= xml.size()) return std::nullopt;
    if (xml[after] == '/' && xml.substr(after, 2) == "/>") return std::string();
    if (xml[after] != '>' && xml[after] != ' ') continue;  // a longer tag name, e.g. <CodeX>
    std::size_t start = xml.find('>', after);
    if (start == std::string_view::npos) return std::nullopt;
    std::size_t end = xml.find("</" + std::string(tag) + ">", start);
    if (end == std::string_view::npos) return std::nullopt;
    return XmlUnescape(xml.substr(start + 1, end - start - 1));
  }
  return std::nullopt;
}

bool IsErrorDocument(std::string_view xml) {
  std::size_t root = xml.find('<');
  while (root != std::string_view::npos && root + 1 < xml.size() &&
         (xml[root + 1] == '?' || xml[root + 1] == '!')) {
    root = xml.find('<', root + 1);
  }
  if (root == std::string_view::npos) return false;
  std::string_view rest = xml.substr(root);
  return rest.starts_with("<Error>") || rest.starts_with("<Error ");
}

std::string CompleteMultipartXml(const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           XmlEscape(etags[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  return xml;
}

std::string CreateBucketXml(std::string_view region) {
  if (region.empty() || region == "us-east-1") return {};
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         XmlEscape(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

Error ErrorFromResponse(long http_status, std::string_view body, std::string_view operation) {
  const std::string code = XmlValue(body, "Code").value_or("");
  const std::string status = "HTTP " + std::to_string(http_status);
  const std::string what = code.empty() ? status : code + ", " + status;
  if (code == "NoSuchKey" || code == "NoSuchUpload" || (http_status == 404 && code.empty())) {
    return NotFound("object not found");
  }
  if (code == "NoSuchBucket") return Unavailable("S3 bucket does not exist (NoSuchBucket)");
  if (IsCredentialCode(code) || (http_status == 403 && code.empty())) {
    return Unavailable("S3 rejected the credentials (" + (code.empty() ? status : code) + ")");
  }
  if (IsTransientCode(code) || IsRetryableStatus(http_status)) {
    return Unavailable("S3 is unavailable (" + what + ") on " + std::string(operation));
  }
  return Internal("S3 error (" + what + ") on " + std::string(operation));
}

bool IsRetryableStatus(long http_status) { return http_status >= 500 || http_status == 429; }

}  // namespace intake::adapters::s3
