// See redis_reader.hpp.
#include "actors/brokers/redis_reader.hpp"

#include "actors/app_error.hpp"
#include "actors/brokers/reader_support.hpp"
#include "actors/brokers/redis_streams.hpp"
#include "actors/delivery_retry.hpp"
#include "actors/directory.hpp"
#include "actors/event_delivery.hpp"
#include "actors/log.hpp"
#include "actors/outbox_relay.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace brokers {

namespace {

using read_atom = caf::atom_constant<caf::atom("read")>;   // one round of reading
using renew_atom = caf::atom_constant<caf::atom("renew")>; // keep the leases we hold

using clock = std::chrono::steady_clock;

// How long the consumer may take for one entry before it counts as failed.
constexpr std::chrono::seconds delivery_timeout{30};
constexpr int batch_size = 200;

// Gives a lease up only while it is still ours.
constexpr const char* release_script = "if redis.call('get', KEYS[1]) == ARGV[1] then return "
                                       "redis.call('del', KEYS[1]) else return 0 end";
// Extends a lease only while it is still ours.
constexpr const char* renew_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

// Reads for the group (XREADGROUP, KEYS: the leases, then their streams; ARGV: holder,
// group, count, id) only while every one of those leases is still ours, checked in the
// same atomic step. A reader frozen between confirming its leases and reading would
// otherwise take entries of a stream another reader leads now, and they would reach the
// consumer after later entries of their aggregate. Returns {entries, tails}: when reading
// new entries (">") finds none, tails holds each stream's last entry id, from which a
// wait (XREAD BLOCK, which takes nothing from the group) can start without a gap.
constexpr const char* fenced_read_script = R"lua(
local n = #KEYS / 2
for i = 1, n do
  if redis.call('get', KEYS[i]) ~= ARGV[1] then return redis.error_reply('FENCED') end
end
local read = {'XREADGROUP', 'GROUP', ARGV[2], ARGV[1], 'COUNT', ARGV[3], 'STREAMS'}
for i = n + 1, 2 * n do read[#read + 1] = KEYS[i] end
for i = 1, n do read[#read + 1] = ARGV[4] end
local entries = redis.call(unpack(read))
local tails = {}
if not entries and ARGV[4] == '>' then
  for i = n + 1, 2 * n do
    local last = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
    tails[#tails + 1] = last[1] and last[1][1] or '0-0'
  end
end
return {entries or {}, tails}
)lua";

// Claims (XAUTOCLAIM, KEYS: the lease, the stream; ARGV: holder, group, min-idle, cursor,
// count) only while the lease is ours, for the same reason.
constexpr const char* fenced_claim_script = R"lua(
if redis.call('get', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
return redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[1], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
)lua";

struct stream_slot {
  std::string key;
  std::string publisher;
  std::string lease_key;
  bool held = false;
  bool group_ready = false;
  clock::time_point claim_due;
  bool taken_over = false; // claim everything left pending before reading on
};

struct retry_state {
  int attempts = 0;
  clock::time_point next_at;
};

struct reader_state {
  reader_config cfg;
  std::unique_ptr<redis_connection> redis;
  caf::actor bus;
  std::vector<stream_slot> streams;
  std::set<std::string> handled;
  std::map<std::string, retry_state> retries; // by entry id
  std::map<std::size_t, std::vector<std::string>> to_ack;
  int in_flight = 0;
  bool delivered_any = false;
  bool redis_down = false;
  clock::time_point backlog_due;
  clock::time_point renewed_at; // last time every lease we hold was confirmed
  std::chrono::milliseconds down_backoff{100};
  static inline const char* name = "redis_reader";
};

using self_pointer = caf::stateful_actor<reader_state>*;

std::chrono::milliseconds block_time(const reader_state& st) {
  return std::max(std::chrono::milliseconds{50}, st.cfg.bus.reader_lease_ttl / 4);
}

// How many streams this reader should lead: its fair share among the readers of the
// same consumer that announced themselves within the last few lease periods (the
// consumers of one module on several nodes share the work, like a Kafka consumer group).
std::size_t fair_share(self_pointer self) {
  auto& st = self->state;
  auto ttl = st.cfg.bus.reader_lease_ttl.count();
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto key = st.cfg.bus.key_prefix + ":readers:" + st.cfg.consumer;
  auto r = st.redis->pipeline({{"ZADD", key, std::to_string(now), st.cfg.holder},
                               {"ZREMRANGEBYSCORE", key, "-inf", std::to_string(now - 3 * ttl)},
                               {"ZCARD", key},
                               {"PEXPIRE", key, std::to_string(10 * ttl)}});
  auto readers = std::max<long long>(1, r[2].error.empty() ? r[2].value.integer() : 1);
  return (st.streams.size() + std::size_t(readers) - 1) / std::size_t(readers);
}

// Keeps the leases we hold and, in a round, takes free ones up to our fair share or gives
// up those beyond it (only between rounds, with nothing in flight). A stream newly ours
// gets its consumer group and a claim of what its previous reader left pending.
void hold_leases(self_pointer self, bool take_new) {
  auto& st = self->state;
  auto ttl = std::to_string(st.cfg.bus.reader_lease_ttl.count());
  std::size_t share = take_new ? fair_share(self) : st.streams.size();
  std::size_t held = 0;
  for (auto& s : st.streams)
    held += s.held;
  // Which leases are free: only those are worth asking for, up to our share.
  std::set<std::size_t> wanted;
  if (take_new && held < share) {
    std::vector<std::vector<std::string>> gets;
    std::vector<std::size_t> free_candidates;
    for (std::size_t i = 0; i < st.streams.size(); ++i)
      if (!st.streams[i].held) {
        gets.push_back({"EXISTS", st.streams[i].lease_key});
        free_candidates.push_back(i);
      }
    auto exists = st.redis->pipeline(gets);
    for (std::size_t n = 0; n < free_candidates.size() && held + wanted.size() < share; ++n)
      if (exists[n].error.empty() && exists[n].value.integer() == 0)
        wanted.insert(free_candidates[n]);
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < st.streams.size(); ++i) {
    auto& s = st.streams[i];
    if (s.held && take_new && held > share && st.in_flight == 0) {
      st.redis->command({"EVAL", release_script, "1", s.lease_key, st.cfg.holder});
      logging::info("reader hands stream over", {{"consumer", st.cfg.consumer}, {"stream", s.key}});
      s.held = s.group_ready = false;
      --held;
      continue;
    }
    if (s.held)
      commands.push_back({"EVAL", renew_script, "1", s.lease_key, st.cfg.holder, ttl});
    else if (wanted.count(i))
      commands.push_back({"SET", s.lease_key, st.cfg.holder, "NX", "PX", ttl});
    else
      continue;
    asked.push_back(i);
  }
  auto outcomes = st.redis->pipeline(commands);
  for (std::size_t n = 0; n < asked.size(); ++n) {
    auto& s = st.streams[asked[n]];
    auto& v = outcomes[n].value;
    bool ours = outcomes[n].error.empty() && (s.held ? v.integer() == 1 : !v.is_nil());
    if (ours && !s.held)
      logging::info("reader leads stream", {{"consumer", st.cfg.consumer}, {"stream", s.key}});
    if (!ours && s.held)
      logging::warn("reader lost stream", {{"consumer", st.cfg.consumer}, {"stream", s.key}});
    if (ours != s.held) {
      s.held = ours;
      s.group_ready = false;
      s.claim_due = clock::now();
      s.taken_over = ours;
    }
  }
  for (auto& s : st.streams) {
    if (!s.held || s.group_ready)
      continue;
    try {
      st.redis->command({"XGROUP", "CREATE", s.key, st.cfg.consumer, "0", "MKSTREAM"});
    } catch (const redis_error& e) {
      if (std::string{e.what()}.rfind("BUSYGROUP", 0) != 0)
        throw;
    }
    s.group_ready = true;
  }
  st.renewed_at = clock::now();
}

// Entries other readers of the stream left pending become ours. Right after taking the
// stream over, all of them at once (the lease proves their reader gone, and they are older
// than anything new, so they must go first for per-aggregate order); later, as a sweep,
// those idle for app.bus.claim-idle.
void claim_abandoned(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  for (auto& s : st.streams) {
    if (!s.held || !s.group_ready || now < s.claim_due)
      continue;
    auto min_idle = s.taken_over ? std::string{"0"} : std::to_string(st.cfg.bus.claim_idle.count());
    std::string cursor = "0-0";
    for (int pages = 0; s.taken_over || pages < 10; ++pages) {
      redis_value r;
      try {
        r = st.redis->command({"EVAL", fenced_claim_script, "2", s.lease_key, s.key, st.cfg.holder,
                               st.cfg.consumer, min_idle, cursor, std::to_string(batch_size)});
      } catch (const redis_error& e) {
        if (std::string{e.what()}.find("FENCED") == std::string::npos)
          throw;
        return hold_leases(self, false); // the lease went: find out which
      }
      cursor = r[0].str();
      if (cursor == "0-0")
        break;
    }
    s.taken_over = false;
    s.claim_due = now + st.cfg.bus.claim_idle;
  }
}

// Reads for the group from the held streams, fenced by their leases (fenced_read_script):
// from "0" (our pending entries) or ">" (new ones); appends (stream index, entry) in stream
// order. Returns false when some lease is no longer ours (nothing was read then). When
// ">" finds nothing, `tails` gets each held stream's last entry id.
bool read_from(self_pointer self, const std::string& from,
               std::vector<std::pair<std::size_t, redis_value>>& out,
               std::vector<std::pair<std::size_t, std::string>>* tails = nullptr) {
  auto& st = self->state;
  std::vector<std::size_t> held;
  for (std::size_t i = 0; i < st.streams.size(); ++i)
    if (st.streams[i].held && st.streams[i].group_ready)
      held.push_back(i);
  if (held.empty())
    return true;
  std::vector<std::string> args{"EVAL", fenced_read_script, std::to_string(2 * held.size())};
  for (auto i : held)
    args.push_back(st.streams[i].lease_key);
  for (auto i : held)
    args.push_back(st.streams[i].key);
  for (auto& arg : {st.cfg.holder, st.cfg.consumer, std::to_string(batch_size), from})
    args.push_back(arg);
  redis_value reply;
  try {
    reply = st.redis->command(args);
  } catch (const redis_error& e) {
    if (std::string{e.what()}.find("FENCED") == std::string::npos)
      throw;
    return false;
  }
  std::map<std::string, std::size_t> index;
  for (auto i : held)
    index[st.streams[i].key] = i;
  for (auto& stream : reply[0].elements())
    for (auto& entry : stream[1].elements())
      out.emplace_back(index.at(stream[0].str()), entry);
  if (tails)
    for (std::size_t n = 0; n < reply[1].elements().size() && n < held.size(); ++n)
      tails->emplace_back(held[n], reply[1][n].str());
  return true;
}

// Waits up to `block` for an entry after each stream's tail. XREAD takes nothing from the
// group, so this needs no lease: the next round reads what came, fenced.
void wait_for_entries(self_pointer self,
                      const std::vector<std::pair<std::size_t, std::string>>& tails,
                      std::chrono::milliseconds block) {
  auto& st = self->state;
  std::vector<std::string> args{"XREAD",  "COUNT", "1", "BLOCK", std::to_string(block.count()),
                                "STREAMS"};
  for (auto& [i, id] : tails)
    args.push_back(st.streams[i].key);
  for (auto& [i, id] : tails)
    args.push_back(id);
  st.redis->command(args);
}

void finish_round(self_pointer self);

// The entry becomes a dead letter in its publisher's outbox (its relay owns that table,
// and the admin API lists, replays and discards it there), then leaves the stream. If the
// relay cannot be reached, the entry stays pending and is tried once more later.
void bury(self_pointer self, std::size_t stream, std::string entry_id, const event_envelope& event,
          int attempts, std::string error) {
  auto& st = self->state;
  ++st.in_flight;
  auto done = [self](bool) {
    if (--self->state.in_flight == 0)
      finish_round(self);
  };
  auto relay_name = "relay:" + st.streams[stream].publisher;
  auto request = [self, stream, entry_id, event_id = event.id, attempts, error,
                  done](const caf::actor& relay) {
    self->request(caf::actor_cast<relay_api>(relay), std::chrono::seconds{5}, bury_atom::value,
                  event_id, self->state.cfg.consumer, attempts, error)
        .then(
            [self, stream, entry_id, done](bool found) {
              auto& st = self->state;
              if (!found)
                logging::error("dead letter for an event its publisher does not know",
                               {{"consumer", st.cfg.consumer}, {"entry", entry_id}});
              st.retries.erase(entry_id);
              st.to_ack[stream].push_back(entry_id);
              done(true);
            },
            [self, entry_id, done](caf::error&) {
              auto& retry = self->state.retries[entry_id];
              retry.attempts = std::max(0, retry.attempts - 1); // one more try, then bury again
              done(false);
            });
  };
  self->request(st.cfg.directory, std::chrono::seconds{2}, directory_get_atom::value, relay_name)
      .then(request, [self, entry_id, done](caf::error&) {
        auto& retry = self->state.retries[entry_id];
        retry.attempts = std::max(0, retry.attempts - 1);
        done(false);
      });
}

// What became of one entry the consumer was handed: acknowledged once handled; on a
// failure, retried after its backoff or, out of attempts, buried as a dead letter.
void delivered(self_pointer self, std::size_t stream, const std::string& entry_id,
               const event_envelope& event, caf::error err) {
  auto& st = self->state;
  if (!err) {
    st.retries.erase(entry_id);
    st.to_ack[stream].push_back(entry_id);
    if (auto m = st.cfg.metrics)
      m->events_delivered.labels({st.streams[stream].publisher, st.cfg.consumer}).inc();
  } else {
    auto& retry = st.retries[entry_id];
    auto verdict = delivery_retry{st.cfg.delivery, st.cfg.metrics}.failed(
        retry.attempts, st.streams[stream].publisher, st.cfg.consumer);
    retry.attempts = verdict.attempts;
    retry.next_at = clock::now() + verdict.wait;
    if (err.category() != caf::atom("app"))
      st.bus = nullptr; // the bus itself may be gone: find it again
    if (verdict.dead)
      bury(self, stream, entry_id, event, retry.attempts, operator_text(err, self->system()));
  }
  if (--st.in_flight == 0)
    finish_round(self);
}

// One entry handed out in a round.
struct pick {
  std::size_t stream;
  std::string entry_id;
  event_envelope event;
};

void deliver(self_pointer self, std::vector<pick> picks) {
  auto& st = self->state;
  if (picks.empty())
    return;
  st.in_flight += int(picks.size());
  st.delivered_any = true;
  std::vector<event_envelope> events;
  events.reserve(picks.size());
  for (auto& p : picks)
    events.push_back(p.event);
  auto handed = std::make_shared<const std::vector<pick>>(std::move(picks));
  deliver_all(self, st.cfg.consumer, std::move(events), st.cfg.delivery.batch_size,
              delivery_timeout, [self, handed](std::size_t i, caf::error err) {
                auto& p = (*handed)[i];
                delivered(self, p.stream, p.entry_id, p.event, std::move(err));
              });
}

// Hands out the round's entries: per stream and aggregate, only the oldest entry that is
// not done yet, and none while that one waits for its backoff; all in as few deliveries
// as app.delivery.batch-size allows.
void dispatch(self_pointer self, std::vector<std::pair<std::size_t, redis_value>>& entries) {
  auto& st = self->state;
  auto now = clock::now();
  std::set<std::pair<std::size_t, std::string>> taken; // (stream, aggregate)
  std::vector<pick> picks;
  for (auto& [stream, entry] : entries) {
    auto id = entry[0].str();
    auto& fields = entry[1];
    if (fields.is_nil() || fields.size() == 0) {
      // Trimmed away (app.bus.stream-maxlen) before this consumer handled it: the event is
      // still in its publisher's outbox, but this consumer will not see it. Say so loudly.
      logging::error(
          "stream entry trimmed before it was handled",
          {{"consumer", st.cfg.consumer}, {"stream", st.streams[stream].key}, {"id", id}});
      st.to_ack[stream].push_back(id);
      continue;
    }
    event_envelope event;
    try {
      event = envelope_of(fields);
    } catch (const std::exception& e) {
      logging::error("unreadable stream entry",
                     {{"stream", st.streams[stream].key}, {"id", id}, {"error", e.what()}});
      st.to_ack[stream].push_back(id);
      continue;
    }
    if (!st.handled.count(event.event_name)) {
      st.to_ack[stream].push_back(id);
      continue;
    }
    if (!taken.emplace(stream, event.aggregate_id).second)
      continue; // behind an earlier entry of its aggregate
    if (auto retry = st.retries.find(id); retry != st.retries.end() && retry->second.next_at > now)
      continue;
    picks.push_back({stream, id, std::move(event)});
  }
  deliver(self, std::move(picks));
}

void schedule_next(self_pointer self) {
  auto& st = self->state;
  if (st.delivered_any) {
    self->send(self, read_atom::value);
    return;
  }
  bool any_held = false;
  for (auto& s : st.streams)
    any_held |= s.held;
  auto wait = any_held ? std::chrono::milliseconds{1} : st.cfg.bus.reader_lease_ttl / 3;
  auto now = clock::now();
  for (auto& [id, retry] : st.retries)
    if (retry.next_at > now)
      wait = std::max(
          wait, std::min<std::chrono::milliseconds>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(retry.next_at - now),
                    std::chrono::milliseconds{200}));
  self->delayed_send(self, wait, read_atom::value);
}

// An entry leaves the stream only once the consumer committed it or it is stored as a
// dead letter.
void finish_round(self_pointer self) {
  auto& st = self->state;
  try {
    std::vector<std::vector<std::string>> acks;
    for (auto& [stream, ids] : st.to_ack) {
      if (ids.empty())
        continue;
      std::vector<std::string> args{"XACK", st.streams[stream].key, st.cfg.consumer};
      args.insert(args.end(), ids.begin(), ids.end());
      acks.push_back(std::move(args));
    }
    if (!acks.empty())
      st.redis->pipeline(acks);
    st.to_ack.clear();
  } catch (const redis_unavailable&) {
    // Unacknowledged entries stay pending and come back: the inbox drops the repeats.
    st.to_ack.clear();
  }
  schedule_next(self);
}

// Every second: how far behind this consumer is on the streams it leads (XINFO GROUPS:
// the group's unread lag plus its unacknowledged entries), for /metrics.
void report_backlog(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  if (!st.cfg.metrics || now < st.backlog_due)
    return;
  st.backlog_due = now + std::chrono::seconds{1};
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> held;
  for (std::size_t i = 0; i < st.streams.size(); ++i)
    if (st.streams[i].held && st.streams[i].group_ready) {
      commands.push_back({"XINFO", "GROUPS", st.streams[i].key});
      held.push_back(i);
    }
  auto outcomes = st.redis->pipeline(commands);
  for (std::size_t n = 0; n < held.size(); ++n) {
    if (!outcomes[n].error.empty())
      continue;
    for (auto& group : outcomes[n].value.elements()) {
      std::map<std::string, const redis_value*> fields;
      for (std::size_t i = 0; i + 1 < group.size(); i += 2)
        fields[group[i].str()] = &group[i + 1];
      if (!fields.count("name") || fields["name"]->str() != st.cfg.consumer)
        continue;
      long long backlog = 0;
      for (auto* key : {"pending", "lag"})
        if (fields.count(key) && fields[key]->type() == redis_value::kind::integer)
          backlog += fields[key]->integer();
      st.cfg.metrics->broker_backlog.labels({st.streams[held[n]].key, st.cfg.consumer})
          .set(double(backlog));
    }
  }
}

void round(self_pointer self) {
  auto& st = self->state;
  st.delivered_any = false;
  if (!st.bus) {
    find_bus(self);
    self->delayed_send(self, std::chrono::milliseconds{100}, read_atom::value);
    return;
  }
  std::vector<std::pair<std::size_t, redis_value>> entries;
  try {
    hold_leases(self, true);
    claim_abandoned(self);
    report_backlog(self);
    std::vector<std::pair<std::size_t, std::string>> tails;
    bool ours = read_from(self, "0", entries);
    if (ours && int(entries.size()) < batch_size)
      ours = read_from(self, ">", entries, &tails);
    if (!ours)
      hold_leases(self, false); // find out which lease went: those streams are read no more
    else if (entries.empty() && st.retries.empty() && !tails.empty())
      wait_for_entries(self, tails, block_time(st));
    if (st.redis_down) {
      st.redis_down = false;
      st.down_backoff = std::chrono::milliseconds{100};
      logging::info("reader: broker reachable again", {{"consumer", st.cfg.consumer}});
    }
  } catch (const std::exception& e) { // redis_unavailable, or a refused command
    if (!st.redis_down)
      logging::warn("reader: broker unreachable",
                    {{"consumer", st.cfg.consumer}, {"error", e.what()}});
    st.redis_down = true;
    for (auto& s : st.streams)
      s.held = s.group_ready = false; // the leases lapse while we cannot renew them
    st.redis->disconnect();
    self->delayed_send(self, st.down_backoff, read_atom::value);
    st.down_backoff = std::min(st.down_backoff * 2, std::chrono::milliseconds{2000});
    return;
  }
  if (!leases_fresh(self, [self] { hold_leases(self, false); })) {
    schedule_next(self);
    return;
  }
  // Only what comes from streams we still lead.
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&st](auto& e) { return !st.streams[e.first].held; }),
                entries.end());
  dispatch(self, entries);
  if (st.in_flight == 0)
    finish_round(self);
}

caf::behavior redis_reader(caf::stateful_actor<reader_state>* self, reader_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.redis = std::make_unique<redis_connection>(
      redis_endpoint{st.cfg.bus.redis_host, st.cfg.bus.redis_port},
      block_time(st) + std::chrono::seconds{2});
  st.handled.insert(st.cfg.events.begin(), st.cfg.events.end());
  for (auto& publisher : st.cfg.publishers)
    for (int p = 0; p < st.cfg.bus.partitions; ++p) {
      auto key = stream_key(st.cfg.bus, publisher, p);
      st.streams.push_back({key,
                            publisher,
                            st.cfg.bus.key_prefix + ":lease:" + st.cfg.consumer + ":" + key,
                            false,
                            false,
                            {}});
    }
  self->send(self, read_atom::value);
  auto renew_period = st.cfg.bus.reader_lease_ttl / 3;
  self->delayed_send(self, renew_period, renew_atom::value);
  return {
      [self](read_atom) {
        if (self->state.in_flight == 0)
          round(self);
      },
      // Rounds wait for the consumer; the leases must not lapse meanwhile.
      [self, renew_period](renew_atom) {
        if (self->state.in_flight > 0) {
          try {
            hold_leases(self, false);
          } catch (const std::exception&) {
            // the next round notices
          }
        }
        self->delayed_send(self, renew_period, renew_atom::value);
      },
  };
}

} // namespace

caf::actor spawn_redis_reader(caf::actor_system& sys, reader_config cfg) {
  return sys.spawn<caf::detached>(redis_reader, std::move(cfg));
}

} // namespace brokers
