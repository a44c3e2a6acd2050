// See delivery_chains.hpp.
#include "actors/delivery_chains.hpp"

#include <algorithm>
#include <set>

delivery_chains::message delivery_chains::launch(out o) {
  message m{++next_id_, {o.consumer, {}}};
  for (auto& k : o.heads)
    chains_[k].head = m.id;
  m.d.events.reserve(o.deliveries.size());
  for (auto& due : o.deliveries) {
    auto& e = due.event;
    m.d.events.push_back({e.id, e.event_name, e.aggregate_id, e.sequence, e.correlation_id,
                          e.causation_id, e.payload, e.created_at});
  }
  sending_ += o.deliveries.size();
  in_flight_.emplace(m.id, std::move(o));
  return m;
}

std::vector<delivery_chains::message>
delivery_chains::route(std::vector<persistence::due_delivery> deliveries) {
  std::vector<message> sent;
  std::map<std::string, out> open; // per consumer, being filled
  for (auto& d : deliveries) {
    auto& o = open[d.consumer];
    o.consumer = d.consumer;
    key k{d.consumer, d.event.aggregate_id};
    auto c = chains_.find(k);
    if (!d.row.empty()) {
      o.deliveries.push_back(std::move(d));
    } else if (c == chains_.end()) {
      chains_.emplace(k, chain{});
      o.heads.push_back(std::move(k));
      o.deliveries.push_back(std::move(d));
    } else if (c->second.head == 0 && c->second.waiting.empty()) {
      o.deliveries.push_back(std::move(d)); // its aggregate's earlier one is in this message
    } else {
      c->second.waiting.push_back(std::move(d));
      ++queued_;
    }
    if (o.deliveries.size() >= batch_size_) {
      sent.push_back(launch(std::move(o)));
      o = out{};
    }
  }
  for (auto& entry : open)
    if (!entry.second.deliveries.empty())
      sent.push_back(launch(std::move(entry.second)));
  return sent;
}

delivery_chains::settlement delivery_chains::answered(std::uint64_t id, const delivery_ack* ack,
                                                      const std::string& error, bool bus_lost) {
  settlement result;
  auto entry = in_flight_.find(id);
  if (entry == in_flight_.end())
    return result; // forgotten meanwhile (lease lost)
  auto o = std::move(entry->second);
  in_flight_.erase(entry);
  sending_ -= o.deliveries.size();
  std::set<std::string> handled;
  std::map<std::string, std::string> failures;
  if (ack) {
    handled.insert(ack->handled.begin(), ack->handled.end());
    for (std::size_t i = 0; i < ack->failed.size() && i < ack->errors.size(); ++i)
      failures.emplace(ack->failed[i], ack->errors[i]);
  }
  std::set<key> broken; // keys with a failure in this message
  for (auto& d : o.deliveries) {
    key k{d.consumer, d.event.aggregate_id};
    if (broken.count(k)) {
      result.held.push_back(std::move(d));
    } else if (handled.count(d.event.id)) {
      result.delivered.push_back(std::move(d));
    } else {
      auto failure = failures.find(d.event.id);
      auto why = !ack                        ? error
                 : failure != failures.end() ? failure->second
                                             : std::string{"not handled by the consumer"};
      result.failed.emplace_back(std::move(d), std::move(why));
      broken.insert(std::move(k));
    }
  }
  // The chains this message headed: the next of each goes out now, or, after a failure
  // (or with the bus lost), everything waiting goes to rows behind it.
  std::vector<persistence::due_delivery> next;
  for (auto& k : o.heads) {
    auto c = chains_.find(k);
    if (c == chains_.end())
      continue;
    auto waiting = std::move(c->second.waiting);
    queued_ -= waiting.size();
    chains_.erase(c);
    for (auto& d : waiting) {
      if (broken.count(k) || bus_lost)
        result.held.push_back(std::move(d));
      else
        next.push_back(std::move(d));
    }
  }
  // Claimed order is position order per key: keep it across keys too.
  std::stable_sort(next.begin(), next.end(),
                   [](auto& a, auto& b) { return a.position < b.position; });
  result.next = route(std::move(next));
  return result;
}

std::vector<std::string> delivery_chains::rows_in_flight() const {
  std::vector<std::string> rows;
  for (auto& entry : in_flight_)
    for (auto& d : entry.second.deliveries)
      if (!d.row.empty())
        rows.push_back(d.row);
  return rows;
}

void delivery_chains::clear() {
  in_flight_.clear();
  chains_.clear();
  sending_ = queued_ = 0;
}
