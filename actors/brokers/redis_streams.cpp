// See redis_streams.hpp.
#include "actors/brokers/redis_streams.hpp"

#include <cstdint>
#include <map>

namespace brokers {

std::string stream_key(const config::bus_settings& bus, const std::string& publisher,
                       int partition) {
  return bus.key_prefix + ":events:" + publisher + ":" + std::to_string(partition);
}

std::vector<std::string> envelope_fields(const persistence::stored_event& e) {
  return {"id",          e.id,
          "name",        e.event_name,
          "aggregate",   e.aggregate_id,
          "sequence",    std::to_string(e.sequence),
          "correlation", e.correlation_id,
          "causation",   e.causation_id,
          "payload",     e.payload,
          "timestamp",   e.created_at};
}

event_envelope envelope_of(const redis_value& fields) {
  std::map<std::string, std::string> f;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    f[fields[i].str()] = fields[i + 1].str();
  auto at = [&f](const char* name) -> const std::string& {
    auto found = f.find(name);
    if (found == f.end())
      throw std::runtime_error(std::string{"stream entry without field "} + name);
    return found->second;
  };
  return {at("id"),          at("name"),      at("aggregate"), std::stoll(at("sequence")),
          at("correlation"), at("causation"), at("payload"),   at("timestamp")};
}

redis_publisher::redis_publisher(config::bus_settings bus, std::string module,
                                 std::vector<std::string> consumers)
    : bus_(std::move(bus)), module_(std::move(module)), consumers_(std::move(consumers)),
      redis_({bus_.redis_host, bus_.redis_port}, std::chrono::seconds{5}) {
  for (int p = 0; p < bus_.partitions; ++p)
    keys_.push_back(stream_key(bus_, module_, p));
  lengths_.assign(keys_.size(), 0);
  laggards_.assign(keys_.size(), "");
}

namespace {

// Stream entry ids ("<ms>-<seq>") compared as the pairs of numbers they are.
bool id_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& id) {
    auto dash = id.find('-');
    return std::make_pair(std::stoull(id.substr(0, dash)),
                          dash == std::string::npos ? 0ULL : std::stoull(id.substr(dash + 1)));
  };
  return split(a) < split(b);
}

// A field of a reply given as a flat [name, value, ...] array (XINFO).
const redis_value* field(const redis_value& flat, const std::string& name) {
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
    if (flat[i].str() == name)
      return &flat[i + 1];
  return nullptr;
}

void check(const std::vector<redis_connection::outcome>& outcomes) {
  for (auto& o : outcomes)
    if (!o.error.empty() && o.error.rfind("BUSYGROUP", 0) != 0)
      throw redis_error(o.error);
}

} // namespace

void redis_publisher::keep_streams() {
  auto t = std::chrono::steady_clock::now();
  if (t - kept_at_ < std::chrono::seconds{1})
    return;
  std::vector<std::vector<std::string>> commands;
  if (consumers_.empty()) { // nobody reads this module's events: nothing needs keeping
    for (auto& key : keys_)
      commands.push_back({"XTRIM", key, "MAXLEN", "0"});
    check(redis_.pipeline(commands));
    lengths_.assign(keys_.size(), 0);
    kept_at_ = t;
    return;
  }
  // The groups first (from the start of the stream: "0"); those that exist stay as they are.
  for (auto& key : keys_)
    for (auto& group : consumers_)
      commands.push_back({"XGROUP", "CREATE", key, group, "0", "MKSTREAM"});
  check(redis_.pipeline(commands));
  commands.clear();
  for (auto& key : keys_)
    commands.push_back({"XINFO", "GROUPS", key});
  auto infos = redis_.pipeline(commands);
  check(infos);
  // Per stream: the oldest entry any group still needs, and which group that is.
  std::vector<std::string> floor(keys_.size());
  std::vector<std::pair<std::size_t, std::string>> asked; // (stream, group) with pending
  commands.clear();
  for (std::size_t s = 0; s < keys_.size(); ++s) {
    laggards_[s].clear();
    for (auto& group : infos[s].value.elements()) {
      auto name = field(group, "name");
      auto pending = field(group, "pending");
      auto last = field(group, "last-delivered-id");
      if (!name || !pending || !last)
        throw redis_error("XINFO GROUPS: unexpected reply");
      if (floor[s].empty() || id_less(last->str(), floor[s])) {
        floor[s] = last->str();
        laggards_[s] = name->str();
      }
      if (pending->integer() > 0) {
        commands.push_back({"XPENDING", keys_[s], name->str()});
        asked.emplace_back(s, name->str());
      }
    }
  }
  auto pendings = redis_.pipeline(commands);
  check(pendings);
  for (std::size_t i = 0; i < asked.size(); ++i) {
    auto& summary = pendings[i].value; // [count, smallest id, greatest id, consumers]
    auto s = asked[i].first;
    if (summary.size() >= 2 && !summary[1].is_nil() && id_less(summary[1].str(), floor[s])) {
      floor[s] = summary[1].str();
      laggards_[s] = asked[i].second;
    }
  }
  commands.clear();
  for (std::size_t s = 0; s < keys_.size(); ++s) {
    if (!floor[s].empty() && floor[s] != "0-0")
      commands.push_back({"XTRIM", keys_[s], "MINID", "~", floor[s]});
    commands.push_back({"XLEN", keys_[s]});
  }
  auto trimmed = redis_.pipeline(commands);
  check(trimmed);
  for (std::size_t s = 0, i = 0; s < keys_.size(); ++s) {
    if (!floor[s].empty() && floor[s] != "0-0")
      ++i; // the XTRIM's count
    lengths_[s] = trimmed[i++].value.integer();
  }
  kept_at_ = t;
}

void redis_publisher::refuse_if_full(const std::map<std::size_t, int64_t>& adding) const {
  for (auto [s, n] : adding)
    if (lengths_[s] + n > bus_.stream_maxlen)
      throw broker_refused("stream " + keys_[s] + " is full (" + std::to_string(lengths_[s]) +
                           " entries, app.bus.stream-maxlen): consumer " +
                           (laggards_[s].empty() ? std::string{"?"} : laggards_[s]) +
                           " has not taken the oldest");
}

void redis_publisher::publish(const std::vector<persistence::stored_event>& events) {
  keep_streams();
  std::vector<std::size_t> partitions; // of each event
  std::vector<std::vector<std::string>> commands;
  for (auto& e : events) {
    auto partition = std::size_t(partition_of(e.aggregate_id, bus_.partitions));
    partitions.push_back(partition);
    std::vector<std::string> args{"XADD", keys_[partition], "*"};
    auto fields = envelope_fields(e);
    args.insert(args.end(), fields.begin(), fields.end());
    commands.push_back(std::move(args));
  }
  std::map<std::size_t, int64_t> adding;
  for (auto p : partitions)
    ++adding[p];
  refuse_if_full(adding);
  for (auto& outcome : redis_.pipeline(commands))
    if (!outcome.error.empty())
      throw redis_error(outcome.error);
  for (auto p : partitions) // counted until the next pass measures again
    ++lengths_[p];
}

} // namespace brokers

namespace brokers {

void redis_publisher::ping() {
  redis_.command({"PING"});
  keep_streams();
}

} // namespace brokers
