// The composition root: read and check the configuration, migrate the schemas of the
// modules placed on this node, start their supervisors and (if this node has an HTTP
// endpoint) the gateway, then run until SIGINT/SIGTERM or until the node gives up.
#include "actors/brokers/broker.hpp"
#include "actors/directory.hpp"
#include "actors/event_bus.hpp"
#include "actors/health.hpp"
#include "actors/log.hpp"
#include "actors/outbox_relay.hpp"
#include "actors/retention.hpp"
#include "actors/shutdown_watchdog.hpp"
#include "actors/stop_signals.hpp"
#include "actors/supervisor.hpp"
#include "actors/topology_diagram.hpp"
#include "config/app_config.hpp"
#include "config/settings_markdown.hpp"
#include "http/edge_config.hpp"
#include "http/gateway.hpp"
#include "modules/modules.hpp"
#include "persistence/dsn.hpp"
#include "persistence/pg.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <unistd.h>

namespace {

// Module roles are named after the database they live in, unless app.database.role-prefix
// says otherwise (roles belong to a server, shared by its databases).
std::string role_prefix(const config::app_settings& settings, const std::string& database) {
  return settings.database.role_prefix.empty()
             ? persistence::default_role_prefix(settings.database.bootstrap_dsn(database))
             : settings.database.role_prefix;
}

std::string module_dsn(const config::app_settings& settings, const std::string& module) {
  if (auto explicit_dsn = settings.database.module_dsn.find(module);
      explicit_dsn != settings.database.module_dsn.end())
    return explicit_dsn->second;
  auto& database = settings.database.database_of(module);
  // application_name tells operators (and pg_stat_activity) which node's module a
  // connection belongs to; node and module names are plain [a-z0-9_-].
  return persistence::dsn_for_role(settings.database.bootstrap_dsn(database),
                                   role_prefix(settings, database) + module) +
         " application_name='monolith:" + settings.node + ":" + module + "'";
}

// Every DSN the node may use parses, or the node refuses to start, naming its key.
std::vector<std::string> dsn_problems(const config::database_settings& d) {
  std::vector<std::string> problems;
  auto check = [&problems](const std::string& key, const std::string& dsn) {
    try {
      persistence::database_name(dsn);
    } catch (const persistence::pg_error& e) {
      problems.push_back(key + ": " + e.what());
    }
  };
  check("app.database.dsn", d.dsn);
  for (auto& [name, dsn] : d.servers)
    check("app.databases." + name, dsn);
  for (auto& [module, dsn] : d.module_dsn)
    check("app.database.module-dsn." + module, dsn);
  return problems;
}

// Nodes may start before their databases do: wait for each (up to 30 s), then migrate the
// local modules of each database on it. A stop signal while waiting ends the wait (false).
bool migrate(const config::app_settings& settings, const std::vector<module_definition>& local,
             stop_signals& signals) {
  std::map<std::string, std::vector<persistence::module_schema>> by_database;
  for (auto& m : local) {
    auto& database = settings.database.database_of(m.name);
    by_database[database].push_back(
        {m.name, role_prefix(settings, database) + m.name, m.migrations()});
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  for (auto& [database, schemas] : by_database) {
    auto& dsn = settings.database.bootstrap_dsn(database);
    for (;;) {
      try {
        persistence::migrate(dsn, schemas);
        break;
      } catch (const persistence::pg_error& e) {
        if (!e.connection_lost() || std::chrono::steady_clock::now() > deadline) {
          logging::error("migrations failed", {{"database", database},
                                               {"server", persistence::describe_server(dsn)},
                                               {"error", e.what()},
                                               {"sqlstate", e.sqlstate()}});
          return false;
        }
        logging::warn("database not reachable yet, retrying",
                      {{"database", database}, {"error", e.what()}});
        if (signals.wait(std::chrono::milliseconds{500}))
          return false;
      }
    }
  }
  return true;
}

// Which consumers handle which event, from every module the binary knows (consumers may
// run on other nodes; the relay tracks deliveries to all of them).
persistence::subscriptions all_subscriptions(const std::vector<module_definition>& modules) {
  persistence::subscriptions subs;
  for (auto& m : modules)
    for (auto& c : m.consumers)
      for (auto& event : c.events)
        subs[event].push_back(c.name);
  return subs;
}

// The modules that publish any of `events`.
std::vector<std::string> publishers_of(const std::vector<module_definition>& all,
                                       const std::vector<std::string>& events) {
  std::vector<std::string> result;
  for (auto& m : all)
    for (auto& e : m.publishes)
      if (std::find(events.begin(), events.end(), e) != events.end()) {
        result.push_back(m.name);
        break;
      }
  return result;
}

// The node's children: the event bus, one outbox relay and one retention per local module, one
// supervisor per local module, and on a broker backend one reader per local consumer; each
// registered in the directory when (re)started.
supervisor_spec node_spec(const config::app_settings& settings,
                          const std::vector<module_definition>& all,
                          const std::vector<module_definition>& local,
                          const persistence::subscriptions& subs, caf::actor directory,
                          const std::shared_ptr<trusted_nodes>& trusted, app_metrics& metrics) {
  restart_limit limit{settings.supervisor.max_restarts, settings.supervisor.restart_window};
  auto counted = [&metrics](const std::string& name) -> std::function<void()> {
    auto* counter = &metrics.supervisor_restarts.labels({name});
    return [counter] { counter->inc(); };
  };
  supervisor_spec node{"node:" + settings.node, limit, {}, "", counted("node:" + settings.node)};
  node.children.push_back(
      {"@bus", [directory, trusted](caf::actor_system& sys) {
         auto bus = caf::actor_cast<caf::actor>(spawn_event_bus(sys, directory, trusted));
         caf::anon_send(directory, directory_put_atom::value, std::string{"@bus"}, bus);
         return bus;
       }});
  auto holder = settings.node + ":" + std::to_string(::getpid()) + ":" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  std::map<std::string, std::shared_ptr<relay_doorbell>> doorbells;
  for (auto& m : local) {
    doorbells[m.name] = std::make_shared<relay_doorbell>();
    relay_config relay{m.name,         module_dsn(settings, m.name),
                       holder,         subs,
                       settings.relay, settings.delivery,
                       directory,      &metrics,
                       settings.bus,   doorbells[m.name],
                       m.publishes,    trusted};
    node.children.push_back(
        {"relay:" + m.name, [relay, directory](caf::actor_system& sys) {
           auto handle = caf::actor_cast<caf::actor>(spawn_outbox_relay(sys, relay));
           caf::anon_send(directory, directory_put_atom::value, "relay:" + relay.module, handle);
           return handle;
         }});
  }
  for (auto& m : local) {
    retention_config retention{
        m.name, module_dsn(settings, m.name), settings.retention, {}, doorbells[m.name], &metrics};
    for (auto& t : m.expiring)
      retention.own.push_back({t.table, t.column, settings.retention.*t.setting});
    node.children.push_back({"retention:" + m.name, [retention](caf::actor_system& sys) {
                               return spawn_retention(sys, retention);
                             }});
  }
  for (auto& m : local) {
    module_context ctx{
        m.name, module_dsn(settings, m.name), settings, directory, &metrics, doorbells[m.name]};
    supervisor_spec group{"module:" + m.name,          limit,  m.children(ctx), m.front,
                          counted("module:" + m.name), trusted};
    node.children.push_back({m.name, [group, directory, name = m.name](caf::actor_system& sys) {
                               auto handle = spawn_supervisor(sys, group);
                               caf::anon_send(directory, directory_put_atom::value, name, handle);
                               return handle;
                             }});
  }
  if (settings.bus.on_broker())
    for (auto& m : local)
      for (auto& c : m.consumers) {
        brokers::reader_config reader{c.name,
                                      c.events,
                                      publishers_of(all, c.events),
                                      holder + ":" + c.name,
                                      settings.bus,
                                      settings.delivery,
                                      directory,
                                      &metrics};
        node.children.push_back({"reader:" + c.name, [reader](caf::actor_system& sys) {
                                   return brokers::spawn_reader(sys, reader);
                                 }});
      }
  return node;
}

// The node's supervisor registers the modules as it spawns them, after main goes on:
// the gateway opens only once they are there, so that no first request finds its
// module missing. Gives up after a few seconds (the supervisor logs why).
void await_local_modules(caf::actor_system& sys, const caf::actor& directory,
                         const std::vector<std::string>& names) {
  caf::scoped_actor self{sys};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  for (auto& name : names) {
    while (std::chrono::steady_clock::now() < deadline) {
      bool found = false;
      self->request(directory, std::chrono::seconds{1}, directory_local_get_atom::value, name)
          .receive([&found](const caf::actor& handle) { found = bool(handle); },
                   [](caf::error&) {});
      if (found)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
}

// Waits (bounded) until every actor has finished its work and quit: from then on the
// actor system only cleans up.
void await_actors_finished(caf::actor_system& sys, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (sys.registry().running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  if (auto left = sys.registry().running(); left > 0)
    logging::error("actors still running at shutdown", {{"actors", left}});
}

} // namespace

// From the first stop signal to the end of the process, whatever still runs.
constexpr std::chrono::seconds max_stop_time{25};

int main(int argc, char** argv) {
  // Before any thread exists: every thread inherits the mask (stop_signals.hpp).
  stop_signals signals;
  auto modules = all_modules();
  config::app_config cfg;
  cfg.add_message_type<field_issue>("field_issue");
  cfg.add_message_type<health_probe>("health_probe");
  cfg.add_message_type<event_envelope>("event_envelope");
  cfg.add_message_type<delivery>("delivery");
  cfg.add_message_type<delivery_ack>("delivery_ack");
  cfg.add_message_type<outbox_status>("outbox_status");
  cfg.add_message_type<dead_letter>("dead_letter");
  config::module_names names;
  for (auto& m : modules) {
    m.register_types(cfg);
    names.push_back(m.name);
  }
  auto problems = cfg.load(argc, argv, names);
  if (cfg.cli_helptext_printed)
    return 0;
  // The keys do not depend on the configuration at hand, nor on its problems.
  if (cfg.describe_settings) {
    std::cout << config::describe_settings();
    return 0;
  }
  for (auto& problem : problems)
    std::cerr << "monolith: configuration error: " << problem << "\n";
  if (!problems.empty())
    return 2;
  const auto& settings = cfg.settings();
  if (cfg.describe_topology) {
    std::cout << describe_topology(modules, settings);
    return 0;
  }
  if (cfg.print_edge_config) {
    if (!settings.edge.enabled()) {
      std::cerr << "monolith: configuration error: app.edge.port: 0, the topology has no edge\n";
      return 2;
    }
    std::cout << http::edge_config(settings);
    return 0;
  }
  if (settings.database.dsn.empty()) {
    std::cerr << "monolith: configuration error: app.database.dsn: must name the bootstrap "
                 "database (scripts/run provisions one and passes it)\n";
    return 2;
  }
  if (auto wrong = dsn_problems(settings.database); !wrong.empty()) {
    for (auto& problem : wrong)
      std::cerr << "monolith: configuration error: " << problem << "\n";
    return 2;
  }
  std::vector<module_definition> local;
  for (auto& m : modules)
    if (settings.runs_here(m.name))
      local.push_back(m);
  if (!migrate(settings, local, signals)) {
    if (signals.taken()) {
      logging::info("stopped before start",
                    {{"signal", signals.taken() == SIGINT ? "SIGINT" : "SIGTERM"}});
      return 0;
    }
    return 1;
  }

  int exit_code = 0;
  metrics::registry registry;
  app_metrics metrics{registry};
  {
    shutdown_watchdog watchdog; // outlives the actor system: it bounds its destructor
    caf::actor_system sys{cfg};
    // This node and the peers its directory links to: all that a node port serves.
    auto trusted = std::make_shared<trusted_nodes>(sys.node());
    auto directory = spawn_directory(sys, {settings.node, settings.nodes, settings.placement,
                                           settings.remote_request_timeout, settings.tls.enabled(),
                                           trusted, nullptr});
    trusted->set_verifier(directory);
    // Peers resolve this node's modules through the read-only face of its directory, on
    // the node's BASP port; a node without peers opens no port at all.
    auto& endpoint = settings.this_node();
    caf::expected<uint16_t> published{endpoint.port};
    if (settings.nodes.size() > 1) {
      auto face = spawn_directory_face(sys, directory, trusted);
      published = settings.tls.enabled()
                      ? caf::openssl::publish(face, endpoint.port, endpoint.host.c_str(), true)
                      : sys.middleman().publish(face, endpoint.port, endpoint.host.c_str(), true);
      if (settings.remote_insecure && !settings.tls.enabled())
        logging::warn("node links are neither encrypted nor authenticated "
                      "(app.remote.insecure = true): any process that reaches a node port "
                      "joins the cluster",
                      {{"address", endpoint.host + ":" + std::to_string(endpoint.port)}});
    }
    if (!published) {
      logging::error("cannot listen",
                     {{"address", endpoint.host + ":" + std::to_string(endpoint.port)},
                      {"error", sys.render(published.error())}});
      caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
      return 1;
    }
    auto node =
        spawn_supervisor(sys, node_spec(settings, modules, local, all_subscriptions(modules),
                                        directory, trusted, metrics));
    std::atomic<bool> node_down{false};
    node->attach_functor([&node_down](const caf::error&) { node_down = true; });

    std::vector<std::string> local_names;
    for (auto& m : local)
      local_names.push_back(m.name);
    await_local_modules(sys, directory, local_names);
    std::unique_ptr<http::gateway> gateway;
    auto& self_node = settings.this_node();
    if (self_node.runs_gateway()) {
      gateway = std::make_unique<http::gateway>(sys, settings, directory, local_names, metrics);
      if (!gateway->start()) {
        logging::error("cannot listen", {{"address", *self_node.http_host + ":" +
                                                         std::to_string(*self_node.http_port)}});
        gateway.reset();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
        return 1;
      }
    }
    logging::info("node started", {{"node", settings.node},
                                   {"modules", local_names},
                                   {"http", gateway ? "http://" + *self_node.http_host + ":" +
                                                          std::to_string(*self_node.http_port)
                                                    : "none"}});

    int signal = 0;
    while (!node_down && signal == 0)
      signal = signals.wait(std::chrono::milliseconds{200});
    if (node_down) {
      logging::error("node supervisor gave up; exiting so that the service manager restarts us");
      exit_code = 1;
    } else {
      logging::info("stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
    }
    // The whole stop is bounded, and a second signal ends it at once.
    watchdog.arm(max_stop_time, exit_code);
    signals.force_exit_on_next(exit_code == 0 ? 1 : exit_code);
    // Finish requests in flight while the modules still run (the gateway cuts off requests
    // still arriving), then stop the actors; the actor system's destructor waits for all
    // of them.
    if (gateway)
      gateway->stop();
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    await_actors_finished(sys, max_stop_time - std::chrono::seconds{3});
    watchdog.arm(std::chrono::seconds{3}, exit_code);
  }
  logging::info("stopped");
  return exit_code;
}
