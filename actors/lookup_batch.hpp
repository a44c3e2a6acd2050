// Point lookups that queue up while a database worker is busy are answered together by
// one query (WHERE id = ANY(...)) instead of one round trip each. The first lookup of a
// batch makes the worker send itself a flush message, which lands behind every lookup
// already in its mailbox; the flush answers them all. Under no load a batch is one
// lookup, so latency does not grow.
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/typed_response_promise.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

using flush_lookups_atom = caf::atom_constant<caf::atom("flushlook")>;

template <class T> class lookup_batch {
public:
  // Queues a lookup; true when it starts a new batch (the caller then sends the flush).
  bool add(std::string key, caf::typed_response_promise<T> promise) {
    pending_.emplace_back(std::move(key), std::move(promise));
    return pending_.size() == 1;
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> result;
    for (auto& p : pending_)
      result.push_back(p.first);
    return result;
  }

  // Answers every queued lookup: with its row from `found`, or with `missing`.
  void deliver(const std::map<std::string, T>& found, const caf::error& missing) {
    for (auto& [key, promise] : pending_) {
      if (auto row = found.find(key); row != found.end())
        promise.deliver(row->second);
      else
        promise.deliver(missing);
    }
    pending_.clear();
  }

  void fail(const caf::error& err) {
    for (auto& p : pending_)
      p.second.deliver(err);
    pending_.clear();
  }

private:
  std::vector<std::pair<std::string, caf::typed_response_promise<T>>> pending_;
};

// '{a,b,c}': a PostgreSQL array literal of ids that were checked to be UUIDs.
inline std::string uuid_array(const std::vector<std::string>& ids) {
  std::string text = "{";
  for (auto& id : ids)
    text += (text.size() > 1 ? "," : "") + id;
  return text + "}";
}
