#include "adapters/redis/redis_consumers.hpp"

namespace intake::adapters::redis {
namespace {

// KEYS[1] stream; ARGV: group, min idle ms, names to consider (none = all) → deleted count.
// XINFO CONSUMERS gives each consumer as a flat field/value list (name, pending, idle, …).
constexpr std::string_view kRemoveIdleScript = R"lua(
local only = {}
for i = 3, #ARGV do only[ARGV[i]] = true end
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and f['idle'] >= tonumber(ARGV[2]) and (#ARGV < 3 or only[f['name']]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
)lua";

}  // namespace

Result<std::int64_t> RemoveIdleConsumers(RedisConnection& conn, const std::string& stream,
                                         const std::string& group,
                                         std::chrono::milliseconds min_idle,
                                         const std::vector<std::string>& only) {
  std::vector<std::string> args = {"EVAL", std::string(kRemoveIdleScript),  "1", stream,
                                   group,  std::to_string(min_idle.count())};
  args.insert(args.end(), only.begin(), only.end());
  auto reply = conn.Command(args);
  if (!reply) return reply.error();
  if (reply->IsError()) {
    // No stream or no group yet: nothing to clean.
    const bool no_key =
        reply->ErrorCode() == "ERR" && reply->str.find("no such key") != std::string::npos;
    if (reply->ErrorCode() == "NOGROUP" || no_key) return std::int64_t{0};
    return ReplyError(*reply, "XGROUP DELCONSUMER", conn.address());
  }
  if (reply->type != RedisReply::Type::kInteger) {
    return Internal("redis " + conn.address() + ": unexpected reply to the consumer sweep");
  }
  return reply->integer;
}

}  // namespace intake::adapters::redis
