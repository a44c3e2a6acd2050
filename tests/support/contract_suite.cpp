// See contract_suite.hpp.
#include "contract_suite.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <thread>

namespace testing_support {

namespace {

suite_node* the_suite_node = nullptr;

} // namespace

suite_node::sigpipe_ignored::sigpipe_ignored() {
  std::signal(SIGPIPE, SIG_IGN);
}

namespace {

bool split_databases() {
  const char* split = std::getenv("MONOLITH_TEST_SPLIT_DATABASES");
  return split && std::string{split} == "1";
}

std::vector<std::string> split_flags(const std::unique_ptr<private_cluster>& second) {
  if (!second)
    return {};
  return {"--app.databases.second=" + second->dsn(), "--app.module-database.inventory=second",
          "--app.module-database.notifications=second"};
}

} // namespace

// The database is named after the program, so that a leftover one says whose it is.
suite_node::suite_node()
    : db(program_invocation_short_name),
      second_server(split_databases()
                        ? std::make_unique<private_cluster>("second", db.name() + "_second")
                        : nullptr),
      node(node_options{db.dsn(), split_flags(second_server)}) {
  the_suite_node = this;
  node.start();
  if (second_server) { // the variant runs as it says, or not at all
    auto ready = node.client()->Get("/ready");
    if (!ready || nlohmann::json::parse(ready->body)["checks"].value("database:second", "") != "up")
      throw std::runtime_error("MONOLITH_TEST_SPLIT_DATABASES: the node does not use the second "
                               "server: " +
                               (ready ? ready->body : std::string{"no answer"}));
  }
}

std::string suite_node::dsn_of(const std::string& module) const {
  bool elsewhere = second_server && (module == "inventory" || module == "notifications");
  return elsewhere ? second_server->dsn() : db.dsn();
}

suite_node::~suite_node() {
  the_suite_node = nullptr;
}

suite_node& suite_node::get() {
  if (!the_suite_node)
    throw std::logic_error("no suite_node: declare BOOST_TEST_GLOBAL_FIXTURE(suite_node)");
  return *the_suite_node;
}

api_client::api_client(node_process& node) : node_(node) {
  if (!node_.running()) {
    BOOST_TEST_MESSAGE("the node is not running; starting it");
    node_.start();
  }
  http = node_.client();
}

api_client::~api_client() {
  BOOST_TEST(node_.running(), "the node must survive every request:\n" << node_.log());
}

std::string api_client::customer() {
  auto res = http->Post(
      "/customers",
      nlohmann::json{{"name", "Buyer"}, {"email", unique("buyer") + "@example.com"}}.dump(),
      "application/json");
  BOOST_REQUIRE(res);
  BOOST_TEST_REQUIRE(res->status == 201, res->body);
  return id_of(body_of(res)["data"]);
}

std::string api_client::product(int64_t stock, const std::string& price) {
  auto res =
      http->Post("/products",
                 "{\"sku\":\"" + unique("SKU-") + "\",\"name\":\"Thing\",\"price\":" + price +
                     ",\"stock\":" + std::to_string(stock) + "}",
                 "application/json");
  BOOST_REQUIRE(res);
  BOOST_TEST_REQUIRE(res->status == 201, res->body);
  return id_of(body_of(res)["data"]);
}

std::string unique(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(++counter);
}

std::string id_of(const nlohmann::json& data) {
  return data.at("id").get<std::string>();
}

nlohmann::json parse_or_null(const httplib::Result& result) {
  if (!result)
    return nullptr;
  auto parsed = nlohmann::json::parse(result->body, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(nullptr) : parsed;
}

long seconds_from_now(const std::string& stamp) {
  std::tm tm{};
  if (!strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return 1000000;
  return long(std::time(nullptr) - timegm(&tm));
}

std::string repeat(const std::string& text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i)
    out += text;
  return out;
}

std::set<std::string> allow_list(const std::string& header) {
  std::set<std::string> methods;
  std::stringstream in{header};
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty())
      methods.insert(item);
  }
  return methods;
}

std::vector<raced_answer> race(int port, int n,
                               const std::function<httplib::Result(httplib::Client&, int)>& send) {
  std::atomic<bool> go{false};
  std::vector<raced_answer> answers(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      httplib::Client client{"127.0.0.1", port};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      auto res = send(client, i);
      if (!res)
        return;
      auto& answer = answers[std::size_t(i)];
      answer.status = res->status;
      auto body = nlohmann::json::parse(res->body, nullptr, false);
      if (body.is_object() && body.contains("error") && body["error"].is_object())
        answer.code = body["error"].value("code", "");
    });
  go = true;
  for (auto& t : threads)
    t.join();
  return answers;
}

int count_of(const std::vector<raced_answer>& answers, int status, const std::string& code) {
  int n = 0;
  for (auto& a : answers)
    n += a.status == status && (code.empty() || a.code == code);
  return n;
}

std::vector<std::string> parallel_reads(int port, const std::string& collection,
                                        const std::vector<nlohmann::json>& resources) {
  constexpr int clients = 16, rounds = 8;
  auto kinds = int(resources.size()) + 1; // the last: an unknown id
  std::atomic<bool> go{false};
  std::vector<std::string> problems(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      httplib::Client client{"127.0.0.1", port};
      client.set_keep_alive(true);
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      for (int round = 0; round < rounds; ++round) {
        auto k = std::size_t((t + round) % kinds);
        bool unknown = k == resources.size();
        std::string id = unknown ? "3f2504e0-4f89-41d3-9a0c-0305e82c33" + std::to_string(10 + t)
                                 : id_of(resources[k]);
        auto res = client.Get((collection + "/" + id).c_str());
        if (!res) {
          problems[std::size_t(t)] = "GET " + id + ": no response";
          continue;
        }
        auto body = nlohmann::json::parse(res->body, nullptr, false);
        bool ok = body.is_object() &&
                  (unknown ? res->status == 404 && body["error"]["code"] == "NOT_FOUND"
                           : res->status == 200 && body["data"] == resources[k]);
        if (!ok)
          problems[std::size_t(t)] =
              "GET " + id + " -> " + std::to_string(res->status) + " " + res->body;
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  problems.erase(std::remove(problems.begin(), problems.end(), std::string{}), problems.end());
  return problems;
}

} // namespace testing_support
