// The HTTP contract's suites (customers, inventory, orders, gateway conventions): one node
// and its database (or two servers, see suite_node) for a whole test program, and the fixture each
// of their tests starts from. A program declares `BOOST_TEST_GLOBAL_FIXTURE(suite_node);` once, and
// its suites' fixtures derive from api_client.
#pragma once

#include "node_process.hpp"
#include "private_cluster.hpp"
#include "test_database.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace testing_support {

class suite_node {
public:
  // A database named after the test program, and the node on it, started.
  suite_node();
  ~suite_node();
  suite_node(const suite_node&) = delete;
  suite_node& operator=(const suite_node&) = delete;

  // The program's one (while the global fixture lives).
  static suite_node& get();

private:
  // A refused upload can close the socket under a writing client: an error for that test,
  // not a signal that ends the program. Set first, before anything connects.
  struct sigpipe_ignored {
    sigpipe_ignored();
  } sigpipe_ignored_;

public:
  test_database db;
  // With MONOLITH_TEST_SPLIT_DATABASES=1 (the suites' *_split_databases variants),
  // inventory and notifications live on a second server of the suite's own.
  std::unique_ptr<private_cluster> second_server;
  node_process node;

  // The bootstrap DSN of the database `module`'s data lives in.
  std::string dsn_of(const std::string& module) const;
};

// A client of a node: the suite's (or the one given), started first if it is not running
// (an earlier test may have stopped it); when the test ends, the check that the node
// survived whatever the test sent it.
class api_client {
public:
  api_client() : api_client(suite_node::get().node) {}
  explicit api_client(node_process& node);
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  node_process& node() const { return node_; }
  int port() const { return node_.http_port(); }
  // The suite's database's bootstrap DSN (superuser), to look behind the API.
  static std::string dsn() { return suite_node::get().db.dsn(); }
  // The same for the database `module`'s data lives in.
  static std::string dsn_of(const std::string& module) { return suite_node::get().dsn_of(module); }

  // What a test needs in place, each required to succeed: a new ACTIVE customer's id; a
  // new product's id.
  std::string customer();
  std::string product(int64_t stock = 1000000000, const std::string& price = "19.99");

  std::unique_ptr<httplib::Client> http;

private:
  node_process& node_;
};

// `prefix` and a number no earlier call in this program returned.
std::string unique(const std::string& prefix);
std::string id_of(const nlohmann::json& data);
// The body as JSON, or null when there was no response or it is not JSON.
nlohmann::json parse_or_null(const httplib::Result& result);
// Seconds between an RFC 3339 UTC timestamp (as the server writes them) and now.
long seconds_from_now(const std::string& stamp);
std::string repeat(const std::string& text, std::size_t times);
// The methods an Allow header lists.
std::set<std::string> allow_list(const std::string& header);

// What one of several racing requests got: its status (0: no answer) and its error code
// ("" when the body carries none).
struct raced_answer {
  int status = 0;
  std::string code;
};
// Sends `n` requests at the same moment, each from its own connection (`send(client, i)`
// makes the i-th), and returns their answers in that order.
std::vector<raced_answer> race(int port, int n,
                               const std::function<httplib::Result(httplib::Client&, int)>& send);
// How many of `answers` had `status` and, when `code` is given, that error code.
int count_of(const std::vector<raced_answer>& answers, int status, const std::string& code = "");

// 16 keep-alive clients, started together, each reading `collection`/{id} 8 times in turn
// over `resources` (each as GET answers it) and an unknown id: every answer must be the
// one for its own id (200 with that resource, or 404 NOT_FOUND), never another's.
// Returns what went wrong, empty when nothing did.
std::vector<std::string> parallel_reads(int port, const std::string& collection,
                                        const std::vector<nlohmann::json>& resources);

} // namespace testing_support
