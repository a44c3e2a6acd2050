// See nats_reader.hpp.
#include "actors/brokers/nats_reader.hpp"

#include "actors/app_error.hpp"
#include "actors/brokers/nats_jetstream.hpp"
#include "actors/brokers/reader_support.hpp"
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

#include <nats/nats.h>

#include <algorithm>
#include <map>
#include <set>

namespace brokers {

namespace {

using read_atom = caf::atom_constant<caf::atom("read")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;

using clock = std::chrono::steady_clock;

constexpr std::chrono::seconds delivery_timeout{30};
constexpr int batch_size = 200;

struct message_deleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};

// A message taken from the broker and not yet acknowledged.
struct held_message {
  std::unique_ptr<natsMsg, message_deleter> msg;
  event_envelope event;
  bool handled = false; // the event is not for this consumer, or unreadable: just ack
  bool in_flight = false;
  int attempts = 0;
  clock::time_point next_at;
};

struct partition_slot {
  std::string publisher;
  std::string subject;
  std::string durable;
  std::string lease_key;
  bool held = false;
  uint64_t lease_revision = 0;
  clock::time_point fetch_from; // after a takeover: once the old reader's messages are due
  bool settling = false;        // messages of another reader may still be outstanding
  uint64_t next_delivery = 0;   // once settled: the consumer's delivery number due to reach us next
  clock::time_point pull_ends;  // a waiting pull request of ours may live at the server until then
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub{nullptr,
                                                                     natsSubscription_Destroy};
  std::map<uint64_t, held_message> messages; // by stream sequence
  std::string take_error; // why taking its lease failed last, for the stall report
  // What the stall report saw last of the consumer (delivered, acknowledged), and since when.
  std::pair<uint64_t, uint64_t> progress_mark;
  clock::time_point still_since;
  bool stall_reported = false;
};

struct reader_state {
  reader_config cfg;
  std::unique_ptr<nats_session> nats;
  std::unique_ptr<kvStore, void (*)(kvStore*)> leases{nullptr, kvStore_Destroy};
  caf::actor bus;
  std::vector<partition_slot> slots;
  std::set<std::string> handled;
  int in_flight = 0;
  bool delivered_any = false;
  bool waited = false;
  clock::time_point leases_due;
  clock::time_point renewed_at; // last time every lease we hold was confirmed
  clock::time_point backlog_due;
  bool down = false;
  std::chrono::milliseconds down_backoff{100};
  std::size_t readers = 1; // of our consumer, as last counted (fair_share)
  clock::time_point progress_due;
  static inline const char* name = "nats_reader";
};

using self_pointer = caf::stateful_actor<reader_state>*;

int64_t nanos(std::chrono::milliseconds ms) {
  return int64_t(ms.count()) * 1000 * 1000;
}

std::string lease_bucket_name(const reader_state& st) {
  return nats_name(st.cfg.bus.key_prefix) + "_leases";
}

kvStore* lease_bucket(self_pointer self) {
  auto& st = self->state;
  if (st.leases)
    return st.leases.get();
  auto* js = st.nats->jetstream();
  auto bucket = lease_bucket_name(st);
  kvStore* kv = nullptr;
  auto found = js_KeyValue(&kv, js, bucket.c_str());
  if (found == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.TTL = nanos(st.cfg.bus.reader_lease_ttl);
    cfg.History = 1;
    found = js_CreateKeyValue(&kv, js, &cfg);
    if (found != NATS_OK) // another node may have created it meanwhile
      found = js_KeyValue(&kv, js, bucket.c_str());
  }
  nats_check(found, "lease bucket " + bucket);
  st.leases.reset(kv);
  return kv;
}

using consumer_info_ptr = std::unique_ptr<jsConsumerInfo, void (*)(jsConsumerInfo*)>;

// The partition's consumer as the broker sees it; null when the broker does not answer.
// Asked by name: after a fetch, nats.c refuses consumer info through the subscription, and
// a subscription bound to a consumer the publisher created never answers it.
consumer_info_ptr consumer_info(self_pointer self, const partition_slot& s) {
  auto& st = self->state;
  jsConsumerInfo* info = nullptr;
  jsErrCode code = jsErrCode(0);
  auto stream = st.nats->stream_name();
  if (js_GetConsumerInfo(&info, st.nats->jetstream(), stream.c_str(), s.durable.c_str(), nullptr,
                         &code) != NATS_OK)
    info = nullptr;
  return {info, jsConsumerInfo_Destroy};
}

// Who holds the partition's lease, and how long ago it was written, for the stall report.
std::string describe_lease(self_pointer self, const partition_slot& s) {
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, lease_bucket(self), s.lease_key.c_str()) != NATS_OK || !entry)
    return "none";
  std::unique_ptr<kvEntry, void (*)(kvEntry*)> owned{entry, kvEntry_Destroy};
  auto age = std::chrono::system_clock::now().time_since_epoch() -
             std::chrono::nanoseconds{kvEntry_Created(entry)};
  return std::string{kvEntry_ValueString(entry)} + ", written " +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(age).count()) +
         " ms ago";
}

// How many partitions this reader should lead: its fair share among the readers of the
// same consumer that announced themselves in the bucket within the lease time (entries
// expire with the bucket's TTL), as the Redis readers do with a sorted set. They are
// counted from the bucket's stream, by subject, in one bounded request: kvStore_Keys
// would start a watcher that waits, without end, for a count of entries that may expire
// before they are delivered (nats.go added a timeout for that case, nats.c 3.4 has none),
// and a reader stuck there would hold its partitions' events back for good.
std::size_t fair_share(self_pointer self, kvStore* kv) {
  auto& st = self->state;
  auto prefix = "presence." + nats_name(st.cfg.consumer) + ".";
  uint64_t revision = 0;
  kvStore_PutString(&revision, kv, (prefix + nats_name(st.cfg.holder)).c_str(), "1");
  auto bucket = lease_bucket_name(st);
  auto filter = "$KV." + bucket + "." + prefix + "*";
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* info = nullptr;
  jsErrCode code = jsErrCode(0);
  if (js_GetStreamInfo(&info, st.nats->jetstream(), ("KV_" + bucket).c_str(), &options, &code) ==
      NATS_OK) {
    std::size_t readers = 0;
    if (auto* subjects = info->State.Subjects)
      for (int i = 0; i < subjects->Count; ++i)
        readers += subjects->List[i].Msgs > 0;
    jsStreamInfo_Destroy(info);
    st.readers = std::max<std::size_t>(readers, 1); // ours may not show yet
  }                                                 // else: as last counted
  return (st.slots.size() + st.readers - 1) / st.readers;
}

// Keeps the leases we hold and, in a round, takes free ones up to our fair share or gives
// up those beyond it (only partitions with nothing in hand); a partition newly ours gets
// its pull subscription.
std::chrono::milliseconds pull_expiry(const reader_state& st) {
  return std::max(std::chrono::milliseconds{50}, st.cfg.bus.reader_lease_ttl / 4);
}

void hold_leases(self_pointer self, bool take_new) {
  auto& st = self->state;
  auto* kv = lease_bucket(self);
  std::size_t share = take_new ? fair_share(self, kv) : st.slots.size();
  std::size_t held = 0;
  for (auto& s : st.slots)
    held += s.held;
  for (auto& s : st.slots) {
    uint64_t revision = 0;
    bool ours = false;
    if (s.held && take_new && held > share && s.messages.empty() &&
        clock::now() >= s.pull_ends) { // no pull request of ours can still take a message
      kvStore_Delete(kv, s.lease_key.c_str());
      logging::info("reader hands partition over",
                    {{"consumer", st.cfg.consumer}, {"subject", s.subject}});
      s.held = false;
      s.sub.reset();
      --held;
      continue;
    }
    if (s.held) {
      ours = kvStore_UpdateString(&revision, kv, s.lease_key.c_str(), st.cfg.holder.c_str(),
                                  s.lease_revision) == NATS_OK;
    } else if (take_new && held < share) {
      ours = kvStore_CreateString(&revision, kv, s.lease_key.c_str(), st.cfg.holder.c_str()) ==
             NATS_OK;
      if (!ours) {
        auto* text = nats_GetLastError(nullptr);
        s.take_error = text ? text : "";
      }
      held += ours;
    } else {
      continue;
    }
    if (ours)
      s.lease_revision = revision;
    if (ours == s.held)
      continue;
    s.held = ours;
    if (!ours) {
      logging::warn("reader lost partition",
                    {{"consumer", st.cfg.consumer}, {"subject", s.subject}});
      // What we hold goes back at once (not after AckWait), so that its new reader gets
      // it before anything later of the same aggregate.
      for (auto& [seq, m] : s.messages)
        natsMsg_Nak(m.msg.get(), nullptr);
      s.sub.reset();
      s.messages.clear();
      continue;
    }
    logging::info("reader leads partition",
                  {{"consumer", st.cfg.consumer}, {"subject", s.subject}});
    st.nats->ensure_stream();
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = nullptr;
    set_reader_consumer_config(options.Config, st.cfg.bus); // as the publisher made it
    natsSubscription* sub = nullptr;
    jsErrCode code = jsErrCode(0);
    auto subscribed = js_PullSubscribe(&sub, st.nats->jetstream(), s.subject.c_str(),
                                       s.durable.c_str(), nullptr, &options, &code);
    if (subscribed != NATS_OK) {
      s.held = false;
      nats_check(subscribed, "pull subscription " + s.durable);
    }
    s.sub.reset(sub);
    // Messages the previous reader took and never acknowledged come back (after AckWait,
    // or at once when it gives them back) in no promised order, and must go out before
    // anything newer of their aggregate. So the partition settles first: we fetch, but
    // hand nothing out until every message outstanding on the consumer is in our hands
    // (held messages are kept by stream sequence, which restores the order). A waiting
    // pull request of the previous reader can still take a message for a moment after
    // it let go (the server expires it, not the client): the first look waits for that.
    s.fetch_from = clock::now() + pull_expiry(st) + std::chrono::milliseconds{250};
    s.settling = true;
  }
  st.renewed_at = clock::now();
}

// In-progress acks keep held messages from being redelivered while we still lead.
void keep_alive(self_pointer self) {
  for (auto& s : self->state.slots)
    if (s.held)
      for (auto& [seq, m] : s.messages)
        natsMsg_InProgress(m.msg.get(), nullptr);
}

void finish_round(self_pointer self);

void acknowledge(self_pointer self, std::size_t slot, uint64_t seq) {
  // A reader that lost the partition (frozen, say) must not ack a message that was since
  // redelivered to the new reader: that would throw off its count of what is outstanding
  // elsewhere. Confirming the lease gives such messages back instead (hold_leases).
  bool confirmed = leases_fresh(self, [self] { hold_leases(self, false); });
  auto& s = self->state.slots[slot];
  auto found = s.messages.find(seq);
  if (found == s.messages.end())
    return;
  if (!confirmed) { // the broker did not answer: hand it out again later (the inbox drops it)
    found->second.in_flight = false;
    return;
  }
  natsMsg_Ack(found->second.msg.get(), nullptr); // a lost ack means one redelivery: harmless
  s.messages.erase(found);
}

void bury(self_pointer self, std::size_t slot, uint64_t seq, int attempts, std::string error) {
  auto& st = self->state;
  auto& m = st.slots[slot].messages.at(seq);
  ++st.in_flight;
  auto done = [self] {
    if (--self->state.in_flight == 0)
      finish_round(self);
  };
  auto event_id = m.event.id;
  self->request(st.cfg.directory, std::chrono::seconds{2}, directory_get_atom::value,
                "relay:" + st.slots[slot].publisher)
      .then(
          [self, slot, seq, event_id, attempts, error, done](const caf::actor& relay) {
            self->request(caf::actor_cast<relay_api>(relay), std::chrono::seconds{5},
                          bury_atom::value, event_id, self->state.cfg.consumer, attempts, error)
                .then([self, slot, seq, done](bool) { acknowledge(self, slot, seq), done(); },
                      [done](caf::error&) { done(); });
          },
          [done](caf::error&) { done(); });
}

// What became of one message the consumer was handed: acknowledged once handled; on a
// failure, retried after its backoff or, out of attempts, buried as a dead letter.
void delivered(self_pointer self, std::size_t slot, uint64_t seq, caf::error err) {
  auto& st = self->state;
  if (!err) {
    if (auto m = st.cfg.metrics)
      m->events_delivered.labels({st.slots[slot].publisher, st.cfg.consumer}).inc();
    acknowledge(self, slot, seq);
  } else {
    auto& messages = st.slots[slot].messages;
    if (auto found = messages.find(seq); found != messages.end()) {
      auto& m = found->second;
      m.in_flight = false;
      auto verdict = delivery_retry{st.cfg.delivery, st.cfg.metrics}.failed(
          m.attempts, st.slots[slot].publisher, st.cfg.consumer);
      m.attempts = verdict.attempts;
      m.next_at = clock::now() + verdict.wait;
      if (verdict.dead)
        bury(self, slot, seq, m.attempts, operator_text(err, self->system()));
    }
    if (err.category() != caf::atom("app"))
      st.bus = nullptr;
  }
  if (--st.in_flight == 0)
    finish_round(self);
}

// Hands the (slot, sequence) messages to the consumer, in as few deliveries as
// app.delivery.batch-size allows.
void deliver(self_pointer self, std::vector<std::pair<std::size_t, uint64_t>> picks) {
  auto& st = self->state;
  // Acknowledging a later partition's skipped messages may have found an earlier one lost.
  picks.erase(
      std::remove_if(picks.begin(), picks.end(),
                     [&st](auto& p) { return !st.slots[p.first].messages.count(p.second); }),
      picks.end());
  if (picks.empty())
    return;
  std::vector<event_envelope> events;
  events.reserve(picks.size());
  for (auto& [slot, seq] : picks) {
    auto& m = st.slots[slot].messages.at(seq);
    m.in_flight = true;
    events.push_back(m.event);
  }
  st.in_flight += int(picks.size());
  st.delivered_any = true;
  deliver_all(self, st.cfg.consumer, std::move(events), st.cfg.delivery.batch_size,
              delivery_timeout, [self, picks](std::size_t i, caf::error err) {
                delivered(self, picks[i].first, picks[i].second, std::move(err));
              });
}

// Per partition and aggregate, only the oldest message not done yet goes out, and none
// while it waits for its backoff.
void dispatch(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  std::vector<std::pair<std::size_t, uint64_t>> picks;
  for (std::size_t i = 0; i < st.slots.size(); ++i) {
    auto& s = st.slots[i];
    if (s.settling)
      continue;
    std::set<std::string> taken;
    std::vector<uint64_t> skip, send;
    for (auto& [seq, m] : s.messages) {
      if (!m.handled) {
        skip.push_back(seq);
        continue;
      }
      if (!taken.insert(m.event.aggregate_id).second || m.in_flight || m.next_at > now)
        continue;
      send.push_back(seq);
    }
    for (auto seq : skip)
      acknowledge(self, i, seq);
    for (auto seq : send)
      if (s.messages.count(seq)) // acknowledging may have found the partition lost
        picks.emplace_back(i, seq);
  }
  deliver(self, std::move(picks));
}

// The consumer numbers its deliveries (redeliveries too) one by one. Once settled, every
// delivery should come to us, so a number skipped means that another reader took a
// message after we settled: one that lost the partition and pulled once more before it
// knew (a freeze between its lease check and its pull). That message may be older than
// ones we hold, so the partition settles again until it is back in our hands.
void note_delivery(const reader_state& st, partition_slot& s, uint64_t delivery) {
  if (s.settling || s.next_delivery == 0 || delivery < s.next_delivery) {
    s.next_delivery = std::max(s.next_delivery, delivery + 1);
    return;
  }
  if (delivery > s.next_delivery) {
    logging::warn("reader: a message of its partition went to another reader; settling again",
                  {{"consumer", st.cfg.consumer},
                   {"subject", s.subject},
                   {"expected", s.next_delivery},
                   {"delivered", delivery}});
    s.settling = true;
  }
  s.next_delivery = delivery + 1;
}

// One fetch request on one partition; what comes is kept, in stream order, beside what
// the partition already holds. Returns how many messages came.
int fetch_into(self_pointer self, partition_slot& s, jsFetchRequest& request) {
  auto& st = self->state;
  natsMsgList list{nullptr, 0};
  auto status = natsSubscription_FetchRequest(&list, s.sub.get(), &request);
  // An empty fetch comes back as an error status ("no messages", "timeout"): only a
  // connection that is down makes it a real one.
  if (status != NATS_OK && list.Count == 0 &&
      natsConnection_Status(st.nats->connection()) != NATS_CONN_STATUS_CONNECTED)
    nats_check(status, "fetch " + s.durable);
  for (int i = 0; i < list.Count; ++i) {
    held_message m;
    m.msg.reset(list.Msgs[i]);
    list.Msgs[i] = nullptr;
    jsMsgMetaData* meta = nullptr;
    uint64_t seq = 0;
    uint64_t delivery = 0;
    if (natsMsg_GetMetaData(&meta, m.msg.get()) == NATS_OK) {
      seq = meta->Sequence.Stream;
      delivery = meta->Sequence.Consumer;
      jsMsgMetaData_Destroy(meta);
    }
    note_delivery(st, s, delivery);
    try {
      m.event = envelope_from_json(std::string{natsMsg_GetData(m.msg.get()),
                                               std::size_t(natsMsg_GetDataLength(m.msg.get()))});
      m.handled = st.handled.count(m.event.event_name) > 0;
    } catch (const std::exception& e) {
      logging::error("unreadable message", {{"subject", s.subject}, {"error", e.what()}});
    }
    if (!s.messages.count(seq)) // a redelivery of one we hold already: keep ours
      s.messages.emplace(seq, std::move(m));
  }
  auto count = list.Count;
  natsMsgList_Destroy(&list);
  return count;
}

// Takes what each led partition has ready (no waiting); if nothing anywhere, waits on
// one partition for a while. Returns whether it waited.
bool fetch(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  int fetched = 0;
  partition_slot* wait_on = nullptr;
  bool holding = false;
  for (auto& s : st.slots) {
    holding |= !s.messages.empty();
    if (!s.held || !s.sub || now < s.fetch_from)
      continue;
    wait_on = wait_on ? wait_on : &s;
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = batch_size;
    request.NoWait = true; // without Expires: the server answers at once, with what it has
    fetched += fetch_into(self, s, request);
    if (s.settling) {
      auto info = consumer_info(self, s);
      if (info && info->NumAckPending <= int64_t(s.messages.size())) {
        // Nothing outstanding elsewhere: from here on, every delivery should be ours.
        s.settling = false;
        s.next_delivery = info->Delivered.Consumer + 1;
      }
    }
  }
  if (fetched > 0 || holding || !wait_on)
    return false;
  jsFetchRequest request;
  jsFetchRequest_Init(&request);
  request.Batch = 1; // back as soon as one arrives; the next round takes the rest
  request.Expires = nanos(pull_expiry(st));
  wait_on->pull_ends = clock::now() + pull_expiry(st) + std::chrono::milliseconds{250};
  fetch_into(self, *wait_on, request);
  return true;
}

void schedule_next(self_pointer self) {
  auto& st = self->state;
  if (st.delivered_any) {
    self->send(self, read_atom::value);
    return;
  }
  bool any_held = false;
  for (auto& s : st.slots)
    any_held |= s.held;
  // After a fetch that waited, go on at once; otherwise (retries in backoff, partitions
  // not yet fetchable after a takeover) look again shortly.
  auto wait = !any_held   ? st.cfg.bus.reader_lease_ttl / 3
              : st.waited ? std::chrono::milliseconds{0}
                          : std::chrono::milliseconds{20};
  self->delayed_send(self, wait, read_atom::value);
}

void finish_round(self_pointer self) {
  schedule_next(self);
}

// Every second: how far behind this consumer is on the partitions it leads (the pull
// consumer's pending plus unacknowledged messages), for /metrics.
void report_backlog(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  if (!st.cfg.metrics || now < st.backlog_due)
    return;
  st.backlog_due = now + std::chrono::seconds{1};
  for (auto& s : st.slots) {
    if (!s.held || !s.sub)
      continue;
    if (auto info = consumer_info(self, s))
      st.cfg.metrics->broker_backlog.labels({s.subject, st.cfg.consumer})
          .set(double(info->NumPending) + double(info->NumAckPending));
  }
}

// Every few seconds, each partition's consumer as the broker sees it: one that has events
// waiting, yet has neither delivered nor had anything acknowledged for several lease times,
// is reported once (until it moves again) with what this reader knows of it. Every reader
// of the consumer looks, so a partition nobody leads is reported too.
void watch_progress(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  if (now < st.progress_due)
    return;
  st.progress_due = now + std::chrono::seconds{5};
  auto stall_after = std::max<std::chrono::milliseconds>(std::chrono::seconds{10},
                                                         st.cfg.bus.reader_lease_ttl * 5);
  for (auto& s : st.slots) {
    auto info = consumer_info(self, s);
    if (!info)
      continue;
    auto waiting = info->NumPending + uint64_t(info->NumAckPending);
    std::pair<uint64_t, uint64_t> mark{info->Delivered.Consumer, info->AckFloor.Consumer};
    if (waiting == 0 || mark != s.progress_mark || s.still_since == clock::time_point{}) {
      s.progress_mark = mark;
      s.still_since = now;
      s.stall_reported = false;
    } else if (!s.stall_reported && now - s.still_since >= stall_after) {
      s.stall_reported = true;
      int in_flight = 0;
      for (auto& [seq, m] : s.messages)
        in_flight += m.in_flight;
      logging::warn(
          "reader: a partition has events waiting and none moved",
          {{"consumer", st.cfg.consumer},
           {"subject", s.subject},
           {"seconds",
            std::chrono::duration_cast<std::chrono::seconds>(now - s.still_since).count()},
           {"pending", info->NumPending},
           {"ackPending", info->NumAckPending},
           {"waitingPulls", info->NumWaiting},
           {"delivered", info->Delivered.Consumer},
           {"ackFloor", info->AckFloor.Consumer},
           {"held", s.held},
           {"settling", s.settling},
           {"heldMessages", s.messages.size()},
           {"inFlight", in_flight},
           {"share", st.readers},
           {"lease", describe_lease(self, s)},
           {"takeError", s.take_error}});
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
  try {
    if (clock::now() >= st.leases_due) {
      hold_leases(self, true);
      st.leases_due = clock::now() + st.cfg.bus.reader_lease_ttl / 3;
    }
    report_backlog(self);
    watch_progress(self);
    // Pulling on a lease that may have lapsed (we were frozen, say) would take messages
    // away from the partition's new reader: they come back to it only after AckWait,
    // behind later ones of their aggregate. So confirm the leases first.
    st.waited = leases_fresh(self, [self] { hold_leases(self, false); }) && fetch(self);
    if (st.down) {
      st.down = false;
      st.down_backoff = std::chrono::milliseconds{100};
      logging::info("reader: broker reachable again", {{"consumer", st.cfg.consumer}});
    }
  } catch (const std::exception& e) {
    if (!st.down)
      logging::warn("reader: broker unreachable",
                    {{"consumer", st.cfg.consumer}, {"error", e.what()}});
    st.down = true;
    for (auto& s : st.slots) {
      s.held = false;
      s.sub.reset();
      s.messages.clear();
    }
    st.leases.reset();
    st.nats->reset();
    self->delayed_send(self, st.down_backoff, read_atom::value);
    st.down_backoff = std::min(st.down_backoff * 2, std::chrono::milliseconds{2000});
    return;
  }
  if (!leases_fresh(self, [self] { hold_leases(self, false); })) {
    schedule_next(self);
    return;
  }
  dispatch(self);
  if (st.in_flight == 0)
    finish_round(self);
}

caf::behavior nats_reader(caf::stateful_actor<reader_state>* self, reader_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.nats = std::make_unique<nats_session>(st.cfg.bus);
  st.handled.insert(st.cfg.events.begin(), st.cfg.events.end());
  for (auto& publisher : st.cfg.publishers)
    for (int p = 0; p < st.cfg.bus.partitions; ++p) {
      partition_slot s;
      s.publisher = publisher;
      s.subject = st.nats->subject(publisher, p);
      s.durable = durable_name(st.cfg.consumer, publisher, p);
      s.lease_key = st.cfg.consumer + "." + publisher + "." + std::to_string(p);
      st.slots.push_back(std::move(s));
    }
  self->send(self, read_atom::value);
  auto renew_period = st.cfg.bus.reader_lease_ttl / 3;
  self->delayed_send(self, renew_period, renew_atom::value);
  return {
      [self](read_atom) {
        if (self->state.in_flight == 0)
          round(self);
      },
      [self, renew_period](renew_atom) {
        try {
          // Confirm first: an in-progress ack on a partition that is no longer ours
          // (we were frozen, say) would hold its messages back from the new reader.
          hold_leases(self, false);
          keep_alive(self);
        } catch (const std::exception&) {
          // the next round notices
        }
        self->delayed_send(self, renew_period, renew_atom::value);
      },
  };
}

} // namespace

caf::actor spawn_nats_reader(caf::actor_system& sys, reader_config cfg) {
  return sys.spawn<caf::detached>(nats_reader, std::move(cfg));
}

} // namespace brokers
