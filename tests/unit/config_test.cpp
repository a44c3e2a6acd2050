// Configuration: defaults, the file, --app.* overrides, and a refusal naming the key for
// every bad value (CAF would silently drop ill-typed file values; we must not).
#include "actors/topology_diagram.hpp"
#include "config/app_config.hpp"
#include "config/settings_markdown.hpp"
#include "config/settings_schema.hpp"
#include "http/edge_config.hpp"
#include "modules/modules.hpp"
#include "persistence/dsn.hpp"

#include <boost/test/unit_test.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace {

config::module_names known() {
  config::module_names names;
  for (auto& m : all_modules())
    names.push_back(m.name);
  return names;
}

struct loaded {
  std::vector<std::string> problems;
  config::app_settings settings;
  caf::timespan heartbeat{-1}; // middleman.heartbeat-interval as CAF will read it
};

// Loads `conf_text` as the configuration file plus `args` as the command line.
loaded load(const std::string& conf_text, std::vector<std::string> args = {}) {
  char path[] = "/tmp/monolith-config-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream{path} << conf_text;
  args.insert(args.begin(), {"monolith", std::string{"--config-file="} + path});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  config::app_config cfg;
  loaded result;
  result.problems = cfg.load(int(argv.size()), argv.data(), known());
  result.settings = cfg.settings();
  result.heartbeat = caf::get_or(cfg.content, "middleman.heartbeat-interval", caf::timespan{-1});
  std::remove(path);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool mentions(const std::vector<std::string>& problems, const std::string& key) {
  for (auto& p : problems)
    if (p.find(key) != std::string::npos)
      return true;
  return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(an_empty_file_gives_the_documented_defaults) {
  auto r = load("");
  BOOST_TEST(r.problems.empty());
  auto& s = r.settings;
  BOOST_TEST(s.node == "main");
  BOOST_REQUIRE(s.nodes.size() == 1u);
  BOOST_TEST(s.nodes[0].port == 4200);
  BOOST_TEST(*s.nodes[0].http_port == 8080);
  BOOST_TEST(s.runs_here("customers"));
  BOOST_TEST(s.runs_here("inventory"));
  BOOST_TEST(s.http.threads == 32);
  BOOST_TEST(s.http.max_body_bytes == 1048576u);
  BOOST_TEST(s.http.request_timeout.count() == 5000);
  BOOST_TEST(s.http.max_queued_connections == 64);
  BOOST_TEST(s.http.max_header_bytes == 32768u);
  BOOST_TEST(s.http.header_timeout.count() == 10000);
  BOOST_TEST(s.http.body_timeout.count() == 30000);
  BOOST_TEST(s.http.keep_alive_timeout.count() == 2000);
  BOOST_TEST(s.database.pool_size == 4);
  BOOST_TEST(s.supervisor.max_restarts == 5);
  BOOST_TEST(s.supervisor.restart_window.count() == 10000);
  BOOST_TEST(s.relay.poll_interval.count() == 1000);
  BOOST_TEST(s.relay.batch_size == 500);
  BOOST_TEST(s.relay.lease_ttl.count() == 2000);
  BOOST_TEST(s.relay.round_spacing.count() == 3);
  BOOST_TEST(s.delivery.backoff_initial.count() == 100);
  BOOST_TEST(s.delivery.backoff_max.count() == 30000);
  BOOST_TEST(s.delivery.max_attempts == 10);
  BOOST_TEST(s.delivery.batch_size == 256);
  BOOST_TEST(s.delivery.stale_after.count() == 60000);
  BOOST_TEST(s.notifications_outbox_file == "var/notifications.jsonl");
  BOOST_TEST(s.bus.backend == "actors");
  BOOST_TEST(s.remote_request_timeout.count() == 800);
  BOOST_TEST(!s.tls.enabled());
}

BOOST_AUTO_TEST_CASE(the_shipped_conf_file_is_valid) {
  std::ifstream in{std::string{MONOLITH_SOURCE_DIR} + "/caf-application.conf"};
  std::stringstream text;
  text << in.rdbuf();
  auto r = load(text.str());
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  // scripts/run's public address is the edge's; the gateway sits behind it.
  BOOST_TEST(r.settings.edge.enabled());
  BOOST_TEST(r.settings.edge.host == "127.0.0.1");
  BOOST_TEST(r.settings.edge.port == 8080);
  BOOST_TEST(*r.settings.this_node().http_port == 8081);
}

BOOST_AUTO_TEST_CASE(without_a_file_there_is_no_edge) {
  BOOST_TEST(!load("").settings.edge.enabled());
}

// The edge's nginx.conf, generated from a topology with two gateways: both are upstreams
// (a wildcard listener reached at its node's address), and its limits follow app.http.*.
BOOST_AUTO_TEST_CASE(the_edge_configuration_follows_the_topology) {
  auto r = load("[app]\nnode = \"a\"\n[app.nodes]\n"
                "a = { host = \"127.0.0.1\", port = 4201, http-host = \"127.0.0.1\", "
                "http-port = 8081 }\n"
                "b = { host = \"10.0.0.2\", port = 4202, http-host = \"0.0.0.0\", "
                "http-port = 8082 }\n"
                "c = { host = \"10.0.0.3\", port = 4203 }\n"
                "[app.modules]\ncustomers = \"a\"\ninventory = \"b\"\norders = \"a\"\n"
                "notifications = \"c\"\n"
                "[app.http]\nmax-body-bytes = 2048\nmax-header-bytes = 16384\n"
                "header-timeout = 3s\nbody-timeout = 1500ms\nkeep-alive-timeout = 2s\n"
                "[app.edge]\nport = 8080\nmax-client-connections = 40\n"
                "[app.admin]\ntoken = \"t\"\n[app.remote]\ninsecure = true\n");
  BOOST_REQUIRE_MESSAGE(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  auto conf = http::edge_config(r.settings);
  auto has = [&conf](const std::string& line) { return conf.find(line) != std::string::npos; };
  BOOST_TEST(has("listen 127.0.0.1:8080 "));
  BOOST_TEST(has("server 127.0.0.1:8081 "));
  BOOST_TEST(has("server 10.0.0.2:8082 "));
  BOOST_TEST(!has("10.0.0.3"));
  BOOST_TEST(has("client_max_body_size 8192;"));
  BOOST_TEST(has("large_client_header_buffers 2 8k;"));
  BOOST_TEST(has("client_header_timeout 3s;"));
  BOOST_TEST(has("client_body_timeout 2s;"));
  BOOST_TEST(has("keepalive_timeout 1000ms;"));
  BOOST_TEST(has("limit_conn per_client 40;"));
  BOOST_TEST(has("max_ranges 0;"));
  BOOST_TEST(has("proxy_set_header Range \"\";"));
}

BOOST_AUTO_TEST_CASE(file_values_are_read) {
  auto r = load("[app.http]\nthreads = 7\nrequest-timeout = 250ms\n"
                "[app.database]\ndsn = \"host=db\"\npool-size = 2\n");
  BOOST_TEST(r.problems.empty());
  BOOST_TEST(r.settings.http.threads == 7);
  BOOST_TEST(r.settings.http.request_timeout.count() == 250);
  BOOST_TEST(r.settings.database.dsn == "host=db");
  BOOST_TEST(r.settings.database.pool_size == 2);
}

BOOST_AUTO_TEST_CASE(the_redis_bus_is_chosen_and_tuned_in_the_file) {
  // One section: in CAF 0.17's files a [app.bus.redis] section would replace [app.bus].
  auto r = load("[app.bus]\nbackend = \"redis\"\npartitions = 4\nredis-host = \"10.0.0.5\"\n"
                "redis-port = 7000\nclaim-idle = 3s\n");
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  BOOST_TEST(r.settings.bus.on_broker());
  BOOST_TEST(r.settings.bus.partitions == 4);
  BOOST_TEST(r.settings.bus.redis_host == "10.0.0.5");
  BOOST_TEST(r.settings.bus.redis_port == 7000);
  BOOST_TEST(r.settings.bus.claim_idle.count() == 3000);
}

BOOST_AUTO_TEST_CASE(the_rabbitmq_bus_takes_its_server_and_credentials) {
  auto r = load("[app.bus]\nbackend = \"rabbitmq\"\nrabbitmq-host = \"mq.internal\"\n"
                "rabbitmq-port = 5673\nrabbitmq-user = \"orders\"\nrabbitmq-password = \"s3cret\"\n"
                "rabbitmq-vhost = \"shop\"\n");
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  BOOST_TEST(r.settings.bus.on_broker());
  BOOST_TEST(r.settings.bus.rabbitmq_host == "mq.internal");
  BOOST_TEST(r.settings.bus.rabbitmq_port == 5673);
  BOOST_TEST(r.settings.bus.rabbitmq_user == "orders");
  BOOST_TEST(r.settings.bus.rabbitmq_password == "s3cret");
  BOOST_TEST(r.settings.bus.rabbitmq_vhost == "shop");
}

BOOST_AUTO_TEST_CASE(command_line_overrides_the_file) {
  auto r = load("[app.http]\nthreads = 7\n",
                {"--app.http.threads=9", "--app.database.dsn=host=127.0.0.1 port=1 dbname=x",
                 "--app.admin.token=12345"});
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  BOOST_TEST(r.settings.http.threads == 9);
  BOOST_TEST(r.settings.database.dsn == "host=127.0.0.1 port=1 dbname=x");
  BOOST_TEST(r.settings.admin_token == "12345"); // string keys are taken verbatim
}

BOOST_AUTO_TEST_CASE(each_bad_value_is_refused_with_its_key) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[app.http]\nthreads = \"abc\"\n", "app.http.threads"},
      {"[app.http]\nthreads = 0\n", "app.http.threads"},
      {"[app.http]\nmax-body-bytes = -1\n", "app.http.max-body-bytes"},
      {"[app.http]\nrequest-timeout = 5\n", "app.http.request-timeout"},
      {"[app.database]\npool-size = 1000\n", "app.database.pool-size"},
      {"[app.database]\ndsn = 42\n", "app.database.dsn"},
      {"[app.database]\nrole-prefix = \"Bad-Prefix\"\n", "app.database.role-prefix"},
      {"[app.supervisor]\nmax-restarts = \"many\"\n", "app.supervisor.max-restarts"},
      {"[app.supervisor]\nrestart-window = \"10s\"\n", "app.supervisor.restart-window"},
      {"[app.relay]\nbatch-size = 0\n", "app.relay.batch-size"},
      {"[app.relay]\npoll-interval = 0s\n", "app.relay.poll-interval"},
      {"[app.delivery]\nmax-attempts = 0\n", "app.delivery.max-attempts"},
      {"[app.delivery]\nbatch-size = 0\n", "app.delivery.batch-size"},
      {"[app.delivery]\nbackoff-initial = 2s\nbackoff-max = 1s\n", "app.delivery.backoff-max"},
      {"[app.bus]\nbackend = \"kafka\"\n", "app.bus.backend"},
      {"[app.bus]\npartitions = 0\n", "app.bus.partitions"},
      {"[app.bus]\nrabbitmq-port = 70000\n", "app.bus.rabbitmq-port"},
      {"[app.bus]\nkey-prefix = \"a:b\"\n", "app.bus.key-prefix"},
      {"[app.bus]\nbackend = \"redis\"\nstream-maxlen = 1000\n[app.relay]\nbatch-size = 5000\n",
       "app.bus.stream-maxlen"},
      {"[app.remote]\nrequest-timeout = true\n", "app.remote.request-timeout"},
      {"[app.tls]\ncafile = \"/etc/hosts\"\n", "app.tls"},
      {"[app.http]\nthread = 4\n", "app.http.thread"}, // a typo is an unknown key
      {"[app]\nnode = \"elsewhere\"\n", "app.node"},
      {"[app.modules]\ncustomers = \"nowhere\"\ninventory = \"main\"\norders = \"main\"\n"
       "notifications = \"main\"\n",
       "app.modules.customers"},
      {"[app.modules]\ncustomers = \"main\"\n", "app.modules.inventory"}, // placed nowhere
      {"[app.modules]\ncustomers = \"main\"\ninventory = \"main\"\norders = \"main\"\n"
       "notifications = \"main\"\nbilling = \"main\"\n",
       "app.modules.billing"},
      {"[app.nodes]\nmain = { host = \"127.0.0.1\", port = 70000 }\n", "app.nodes.main.port"},
      {"[app.nodes]\nmain = { port = 4200 }\n", "app.nodes.main.host"},
      {"[app.nodes]\nmain = { host = \"127.0.0.1\", port = 4200, http-port = 4200 }\n",
       "used twice"},
      // No admin token, and a gateway the network can reach.
      {"[app.nodes]\nmain = { host = \"127.0.0.1\", port = 4200, http-host = \"0.0.0.0\", "
       "http-port = 8080 }\n",
       "app.admin.token"},
      {"[app.http]\nmax-queued-connections = 0\n", "app.http.max-queued-connections"},
      // The edge: its values go into nginx's configuration file.
      {"[app.edge]\nport = 70000\n", "app.edge.port"},
      {"[app.edge]\nport = 9000\nhost = \"x; include /etc/passwd\"\n", "app.edge.host"},
      {"[app.edge]\nport = 8080\n", "used twice"}, // the default gateway's address
      {"[app.edge]\nport = 9000\nhost = \"0.0.0.0\"\n", "app.admin.token"},
      {"[app.edge]\nport = 9000\n[app.nodes]\nmain = { host = \"127.0.0.1\", port = 4200 }\n",
       "app.edge"},
      {"[app.edge]\nmax-client-connections = 0\n", "app.edge.max-client-connections"},
      // Nodes linked over the network, without TLS and without saying so.
      {"[app]\nnode = \"a\"\n[app.nodes]\na = { host = \"10.0.0.1\", port = 4200, http-port = 8080 "
       "}\n"
       "b = { host = \"10.0.0.2\", port = 4200 }\n",
       "app.tls"},
      {"[app.remote]\ninsecure = 1\n", "app.remote.insecure"},
      {"[app.http]\nmax-header-bytes = 10\n", "app.http.max-header-bytes"},
      {"[app.http]\nheader-timeout = 0s\n", "app.http.header-timeout"},
      // Where modules' data lives.
      {"[app.databases]\nmain = \"host=db2\"\n", "app.databases.main"},
      {"[app.databases]\nStock = \"host=db2\"\n", "app.databases.Stock"},
      {"[app.databases]\nstock = 42\n", "app.databases.stock"},
      {"[app.module-database]\ninventory = \"stock\"\n", "app.module-database.inventory"},
      {"[app.databases]\nstock = \"host=db2\"\n[app.module-database]\nbilling = \"stock\"\n",
       "app.module-database.billing"},
  };
  for (auto& [conf, key] : cases) {
    auto r = load(conf);
    BOOST_TEST(!r.problems.empty(), "accepted: " << conf);
    BOOST_TEST(mentions(r.problems, key),
               "for " << conf << " expected a problem naming " << key
                      << ", got: " << (r.problems.empty() ? "none" : r.problems.front()));
  }
}

BOOST_AUTO_TEST_CASE(a_gateway_on_the_network_starts_with_an_admin_token) {
  auto open = "[app.nodes]\nmain = { host = \"127.0.0.1\", port = 4200, http-host = "
              "\"0.0.0.0\", http-port = 8080 }\n";
  auto r = load(std::string{open} + "[app.admin]\ntoken = \"s3cret\"\n");
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  BOOST_TEST(load("[app.nodes]\nmain = { host = \"127.0.0.1\", port = 4200, http-host = "
                  "\"127.0.0.2\", http-port = 8080 }\n")
                 .problems.empty());
}

BOOST_AUTO_TEST_CASE(nodes_link_over_the_network_with_tls_or_when_told_to_without) {
  auto two =
      "[app]\nnode = \"a\"\n[app.nodes]\n"
      "a = { host = \"10.0.0.1\", port = 4200, http-host = \"127.0.0.1\", http-port = 8080 }\n"
      "b = { host = \"10.0.0.2\", port = 4200 }\n";
  auto insecure = load(std::string{two} + "[app.remote]\ninsecure = true\n");
  BOOST_TEST(insecure.problems.empty(),
             (insecure.problems.empty() ? "" : insecure.problems.front()));
  BOOST_TEST(insecure.settings.remote_insecure);
  BOOST_TEST(load(two, {"--app.remote.insecure=true"}).problems.empty());
  // On one machine (loopback), nodes link without TLS.
  BOOST_TEST(load("[app]\nnode = \"a\"\n[app.nodes]\n"
                  "a = { host = \"127.0.0.1\", port = 4200, http-port = 8080 }\n"
                  "b = { host = \"127.0.0.1\", port = 4201 }\n")
                 .problems.empty());
}

BOOST_AUTO_TEST_CASE(bad_command_line_values_are_refused_with_their_key) {
  BOOST_TEST(mentions(load("", {"--app.http.threads=many"}).problems, "app.http.threads"));
  BOOST_TEST(
      mentions(load("", {"--app.http.request-timeout=soon"}).problems, "app.http.request-timeout"));
  BOOST_TEST(mentions(load("", {"--app.http.threads"}).problems, "app.http.threads"));
  BOOST_TEST(mentions(load("", {"--app.nosuch.key=1"}).problems, "app.nosuch.key"));
}

BOOST_AUTO_TEST_CASE(a_module_may_be_placed_on_several_nodes) {
  auto r = load("[app]\nnode = \"b\"\n[app.nodes]\n"
                "a = { host = \"127.0.0.1\", port = 4200, http-port = 8080 }\n"
                "b = { host = \"127.0.0.1\", port = 4201 }\n"
                "[app.modules]\ncustomers = [\"a\", \"b\"]\ninventory = \"a\"\norders = "
                "\"a\"\nnotifications = \"a\"\n");
  BOOST_TEST(r.problems.empty(), (r.problems.empty() ? "" : r.problems.front()));
  BOOST_TEST(r.settings.runs_here("customers"));
  BOOST_TEST(!r.settings.runs_here("inventory"));
  BOOST_TEST(!r.settings.this_node().runs_gateway());
}

// The shipped example topologies load for every node they list, and --describe-topology
// draws the event flows over the links the placement implies.
BOOST_AUTO_TEST_CASE(example_topologies_load_and_describe_their_event_flows) {
  for (std::string name : {"single-node", "two-nodes", "three-nodes", "separate-databases"}) {
    std::ifstream in{std::string{MONOLITH_SOURCE_DIR} + "/examples/topology/" + name + ".conf"};
    std::stringstream text;
    text << in.rdbuf();
    auto listed = load(text.str()).settings.nodes; // without --app.node: only to list them
    BOOST_TEST(!listed.empty(), name);
    for (auto& node : listed)
      BOOST_TEST(load(text.str(), {"--app.node=" + node.name}).problems.empty(),
                 name << " " << node.name);
    if (name == "three-nodes") {
      auto diagram = describe_topology(all_modules(), load(text.str(), {"--app.node=a"}).settings);
      BOOST_TEST(diagram.find("subgraph node_c") != std::string::npos);
      BOOST_TEST(diagram.find("a_orders -- \"order.cancelled, order.confirmed, order.created, "
                              "order.rejected (a -> c)\" --> c_notifications") != std::string::npos,
                 diagram);
      BOOST_TEST(diagram.find("b_inventory -- \"inventory.rejected, inventory.reserved (b -> a)\" "
                              "--> a_orders") != std::string::npos,
                 diagram);
    }
    if (name == "separate-databases") {
      auto settings = load(text.str()).settings;
      BOOST_TEST(settings.database.database_of("inventory") == "stock");
      BOOST_TEST(settings.database.database_of("orders") == "main");
      auto diagram = describe_topology(all_modules(), settings);
      BOOST_TEST(diagram.find("database_stock[(\"database stock (127.0.0.1:5433/stock)\")]") !=
                     std::string::npos,
                 diagram);
      BOOST_TEST(diagram.find("main_notifications -.- database_stock") != std::string::npos,
                 diagram);
      BOOST_TEST(diagram.find("main_orders -.- database_main") != std::string::npos, diagram);
    }
  }
}

// Found by fuzz/dsn_fuzz: a bootstrap DSN without dbname (libpq then takes the user's
// name) gave module roles a DSN naming a database after the role.
BOOST_AUTO_TEST_CASE(a_module_role_dsn_names_the_bootstrap_database) {
  using persistence::database_name;
  using persistence::dsn_for_role;
  for (std::string dsn : {"host=db user=alice", "host=db user=alice dbname=shop password=x",
                          "postgresql://alice:x@db:5432/shop"}) {
    auto derived = dsn_for_role(dsn, "shop_orders");
    BOOST_TEST(database_name(derived) == database_name(dsn), dsn << " -> " << derived);
    BOOST_TEST(derived.find("password") == std::string::npos);
    BOOST_TEST(derived.find("user='shop_orders'") != std::string::npos);
  }
}

// BASP heartbeats watch peers; a node without any runs none (CAF 0.17 leaks its broker
// when a heartbeat tick is in its mailbox at exit), a node with peers keeps them.
BOOST_AUTO_TEST_CASE(only_a_node_with_peers_runs_heartbeats) {
  auto alone = load("[middleman]\nheartbeat-interval = 500ms\n");
  BOOST_TEST(alone.problems.empty());
  BOOST_TEST(alone.heartbeat.count() == 0);
  auto linked = load("[app]\nnode = \"a\"\n[app.nodes]\n"
                     "a = { host = \"127.0.0.1\", port = 4200, http-port = 8080 }\n"
                     "b = { host = \"127.0.0.1\", port = 4201 }\n");
  BOOST_TEST(linked.problems.empty());
  BOOST_TEST((linked.heartbeat > caf::timespan{0}));
}

// The README's configuration table is the schema's, as --describe-settings prints it.
BOOST_AUTO_TEST_CASE(the_readme_shows_the_settings_schema) {
  std::ifstream in{std::string{MONOLITH_SOURCE_DIR} + "/README.md"};
  std::stringstream text;
  text << in.rdbuf();
  auto readme = lines_of(text.str());
  auto begin = std::find_if(readme.begin(), readme.end(),
                            [](auto& line) { return line.rfind("<!-- settings:", 0) == 0; });
  auto end = std::find(begin, readme.end(), "<!-- end of settings -->");
  BOOST_REQUIRE_MESSAGE(
      begin != readme.end() && end != readme.end(),
      "README.md: no <!-- settings: ... --> ... <!-- end of settings --> markers");
  std::vector<std::string> shown(begin + 1, end);
  auto generated = lines_of(config::describe_settings());
  for (std::size_t i = 0; i < std::max(shown.size(), generated.size()); ++i) {
    auto line_of = [i](auto& lines) { return i < lines.size() ? lines[i] : "(nothing)"; };
    if (line_of(shown) != line_of(generated)) {
      BOOST_ERROR("README.md line " << (begin - readme.begin()) + 2 + i
                                    << " differs from build/monolith --describe-settings:\n"
                                    << "  README:    " << line_of(shown) << "\n"
                                    << "  generated: " << line_of(generated));
      break;
    }
  }
}

// The reader takes nothing but the schema's keys (read_settings looks every key up in it),
// so what is left to check is the other way: each key of the schema is read, from a file
// that gives its default (NAME and MODULE by an example).
BOOST_AUTO_TEST_CASE(every_key_of_the_schema_is_read) {
  std::set<std::string> keys;
  for (auto& entry : config::settings_schema()) {
    BOOST_TEST(keys.insert(entry.key).second, entry.key << " has two entries");
    BOOST_TEST(!entry.meaning.empty(), entry.key);
    if (entry.has_variable_part()) {
      BOOST_TEST((config::find_section(entry.section()) == &entry), entry.key);
      BOOST_TEST(!config::find_setting(entry.key), entry.key);
    } else {
      BOOST_TEST((config::find_setting(entry.key) == &entry), entry.key);
      BOOST_TEST(bool(entry.type.read), entry.key);
      BOOST_TEST(entry.fallback.value.has_value(), entry.key << " has no default");
    }
    if (!entry.fallback.value)
      continue;
    auto name = entry.key.substr(entry.key.rfind('.') + 1);
    if (name == "NAME")
      name = "main";
    else if (name == "MODULE")
      name = known().front();
    auto r = load("[" + entry.section() + "]\n" + name + " = " + *entry.fallback.value + "\n");
    BOOST_TEST(r.problems.empty(),
               entry.key << ": " << (r.problems.empty() ? "" : r.problems.front()));
  }
}

// Sections made on their own (by actors and tests) hold the schema's defaults too.
BOOST_AUTO_TEST_CASE(default_constructed_sections_hold_the_documented_defaults) {
  BOOST_TEST(config::delivery_settings{}.backoff_max.count() == 30000);
  BOOST_TEST(config::relay_settings{}.batch_size == 500);
  BOOST_TEST(config::retention_settings{}.idempotency_keys.count() == 2 * 86400000);
  BOOST_TEST(config::bus_settings{}.redis_port == 6379);
  BOOST_TEST(config::bus_settings{}.rabbitmq_vhost == "/");
  BOOST_TEST(config::app_settings{}.http.threads == 32);
  BOOST_TEST(config::app_settings{}.node == "main");
  BOOST_TEST(config::app_settings{}.nodes.empty()); // the default node comes with reading
}
