// Order load for the fault tests: client threads placing orders against a node (whose
// port may change: a restarted node, or none while it is down), tolerating 503 and
// connection errors, and remembering every order answered 201 for the checks afterwards.
#pragma once

#include "eventually.hpp"
#include "fault_probes.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

// Client threads placing orders against whatever port `target` holds (0: wait), tolerating
// connection errors and 503 while the node or the database is down. Each client pauses
// `pace` after an answer: the point is kills mid-load, not a backlog the relay needs
// minutes to drain (unpaced, 4 clients get ~600 orders/s accepted, far above what the
// relay delivers). With `cancel_every` = n > 0, each client cancels every n-th order it
// placed, so that consumers also see an aggregate's second event (order.cancelled).
class order_load {
public:
  explicit order_load(catalog c, std::chrono::milliseconds pace = std::chrono::milliseconds{40},
                      int cancel_every = 0)
      : catalog_(std::move(c)), pace_(pace), cancel_every_(cancel_every) {}
  ~order_load() { finish(); }

  // Every client places its orders through `port`.
  void target(int port) { ports_[0] = ports_[1] = port; }
  // Two nodes: clients of even index go through slot 0's port, odd ones through slot 1's.
  void target(int slot, int port) { ports_[slot % 2] = port; }

  void start(int threads) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this, i] { run(i); });
  }

  void finish() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  int created() const { return created_; }
  int created_via(int port) {
    std::lock_guard<std::mutex> lock{mutex_};
    return created_via_[port];
  }
  int cancelled() const { return cancelled_; }
  int unavailable() const { return unavailable_; }
  int connection_errors() const { return connection_errors_; }
  int read_errors() const { return read_errors_; }
  long long slowest_answer_ms() const { return slowest_ms_; }

  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock{mutex_};
    return ids_;
  }
  std::vector<std::string> unexpected() {
    std::lock_guard<std::mutex> lock{mutex_};
    return unexpected_;
  }

  std::string summary() const {
    return std::to_string(created_) + " x 201, " + std::to_string(cancelled_) + " cancelled, " +
           std::to_string(unavailable_) + " x 503, " + std::to_string(connection_errors_) +
           " connection errors, " + std::to_string(read_errors_) + " read errors, slowest answer " +
           std::to_string(slowest_ms_) + " ms";
  }

private:
  void run(int index);
  nlohmann::json random_order(std::mt19937& rng);
  void note(const std::string& what);
  void cancel(httplib::Client& http, const std::string& id);

  catalog catalog_;
  std::chrono::milliseconds pace_;
  int cancel_every_;
  std::atomic<int> ports_[2] = {0, 0};
  std::atomic<bool> stop_{false};
  std::atomic<int> created_{0}, cancelled_{0}, unavailable_{0}, connection_errors_{0},
      read_errors_{0};
  std::atomic<long long> slowest_ms_{0};
  std::mutex mutex_;
  std::map<int, int> created_via_; // port -> orders answered 201 through it
  std::vector<std::string> ids_, unexpected_;
  std::vector<std::thread> threads_;
};

// Waits until `load.created()` reached `at_least` (bounded), reporting what the load saw
// and the node's problems (`logs`) otherwise.
void require_progress(order_load& load, int at_least, std::chrono::milliseconds limit,
                      const std::string& when, const std::function<std::string()>& logs);

} // namespace testing_support
