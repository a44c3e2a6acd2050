// See order_load.hpp.
#include "order_load.hpp"

#include <boost/test/unit_test.hpp>

using json = nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace testing_support {

void order_load::run(int index) {
  std::mt19937 rng(static_cast<unsigned>(index * 7919 + 17));
  auto hard_stop = steady::now() + 90s; // a bound even if the test forgets to stop us
  int connected_port = 0, placed = 0;
  std::unique_ptr<httplib::Client> http;
  while (!stop_ && steady::now() < hard_stop) {
    int port = ports_[index % 2];
    if (port == 0) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    if (port != connected_port) {
      http = std::make_unique<httplib::Client>("127.0.0.1", port);
      http->set_connection_timeout(500ms);
      http->set_read_timeout(8s); // far beyond the 2 s request timeout: a hang shows up
      http->set_write_timeout(2s);
      connected_port = port;
    }
    auto started = steady::now();
    auto res = http->Post("/orders", random_order(rng).dump(), "application/json");
    if (!res) {
      if (res.error() == httplib::Error::Read)
        ++read_errors_;
      else
        ++connection_errors_;
      std::this_thread::sleep_for(20ms);
      continue;
    }
    long long ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
    for (long long seen = slowest_ms_; ms > seen && !slowest_ms_.compare_exchange_weak(seen, ms);) {
    }
    if (res->status == 201) {
      std::string id;
      try {
        id = json::parse(res->body).at("data").at("id").get<std::string>();
      } catch (const std::exception&) {
        note("201 without an order id: " + res->body);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock{mutex_};
        ids_.push_back(id);
        ++created_via_[port];
        ++created_;
      }
      if (cancel_every_ > 0 && ++placed % cancel_every_ == 0)
        cancel(*http, id);
      std::this_thread::sleep_for(pace_);
    } else if (res->status == 503) {
      ++unavailable_;
      std::this_thread::sleep_for(20ms);
    } else {
      note("POST /orders answered " + std::to_string(res->status) + ": " + res->body);
    }
  }
}

json order_load::random_order(std::mt19937& rng) {
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  };
  json items = json::array();
  auto first = std::uniform_int_distribution<std::size_t>(0, catalog_.products.size() - 1)(rng);
  int lines = std::uniform_int_distribution<int>(1, 2)(rng);
  for (int l = 0; l < lines; ++l)
    items.push_back({{"productId", catalog_.products[(first + l) % catalog_.products.size()]},
                     {"quantity", std::uniform_int_distribution<int>(1, 3)(rng)},
                     {"price", 2.5}});
  return {{"customerId", pick(catalog_.customers)}, {"items", items}};
}

void order_load::cancel(httplib::Client& http, const std::string& id) {
  auto res = http.Post(("/orders/" + id + "/cancel").c_str(), "", "application/json");
  if (res && res->status == 200)
    ++cancelled_;
  else if (res && res->status != 409 && res->status != 503) // 409: settled meanwhile
    note("cancel answered " + std::to_string(res->status) + ": " + res->body);
}

void order_load::note(const std::string& what) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (unexpected_.size() < 20)
    unexpected_.push_back(what);
}

void require_progress(order_load& load, int at_least, std::chrono::milliseconds limit,
                      const std::string& when, const std::function<std::string()>& logs) {
  BOOST_REQUIRE_MESSAGE(eventually(
                            limit, [&] { return load.created() >= at_least; }, 20ms),
                        "fewer than " << at_least << " orders accepted " << when << " within "
                                      << limit.count() << " ms; load: " << load.summary()
                                      << "; node problems:" << logs());
}

} // namespace testing_support
