// See directory.hpp.
#include "actors/directory.hpp"

#include "actors/app_error.hpp"
#include "actors/log.hpp"
#include "actors/supervisor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <set>

namespace {

using connect_peer_atom = caf::atom_constant<caf::atom("dirconn")>;
using verify_expired_atom = caf::atom_constant<caf::atom("dirvexp")>;

constexpr config::millis reconnect_initial{100};
constexpr config::millis reconnect_max{2000};
constexpr std::chrono::seconds connect_timeout{2};

struct peer {
  config::node_endpoint endpoint;
  caf::actor directory; // empty while unreachable
  bool connecting = false;
  config::millis backoff = reconnect_initial;
};

// A sender's node waiting to be recognised as a peer (trusted_nodes.hpp).
struct verification {
  caf::node_id node;
  caf::typed_response_promise<bool> promise;
  std::chrono::steady_clock::time_point until;
};

struct directory_state {
  directory_config cfg;
  std::vector<verification> verifying;
  std::map<std::string, caf::actor> local;
  std::map<std::string, peer> peers;                                // by node name
  std::map<std::pair<std::string, std::string>, caf::actor> remote; // (module, node)
  std::map<std::string, std::size_t> turn;                          // replica rotation
  static inline const char* name = "directory";
};

using self_pointer = caf::stateful_actor<directory_state>*;

// Answers the verifications whose node is now a peer (true), and, when `expire`, those
// whose time is up (false).
void settle_verifications(self_pointer self, bool expire) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  for (auto i = st.verifying.begin(); i != st.verifying.end();) {
    bool known = st.cfg.trusted && st.cfg.trusted->admits(i->node);
    if (known || (expire && now >= i->until)) {
      i->promise.deliver(known);
      i = st.verifying.erase(i);
    } else {
      ++i;
    }
  }
}

void connect(self_pointer self, const std::string& node);

// A message came from a node not known as a peer: link to every peer not linked yet, and
// answer once one of them is that node, or after a connect's time.
caf::result<bool> verify(self_pointer self, const caf::node_id& node) {
  auto& st = self->state;
  if (st.cfg.trusted && st.cfg.trusted->admits(node))
    return true;
  if (st.verifying.size() >= 1024) // a flood from strangers: no more waiting
    return false;
  for (auto& [name, p] : st.peers)
    if (!p.directory)
      connect(self, name);
  auto promise = self->make_response_promise<bool>();
  st.verifying.push_back({node, promise, std::chrono::steady_clock::now() + connect_timeout});
  self->delayed_send(self, connect_timeout, verify_expired_atom::value);
  return promise;
}

void connect(self_pointer self, const std::string& node) {
  auto known = self->state.peers.find(node);
  if (known == self->state.peers.end())
    return;
  auto& p = known->second;
  if (p.connecting || p.directory)
    return;
  p.connecting = true;
  auto retry_later = [self, node](const caf::error& err) {
    auto& p = self->state.peers.at(node);
    p.connecting = false;
    if (p.backoff == reconnect_initial) // once per outage, not on every retry
      logging::warn(
          "cannot link to peer",
          {{"node", node}, {"error", self->system().render(err)}, {"tls", self->state.cfg.tls}});
    self->delayed_send(self, p.backoff, connect_peer_atom::value, node);
    p.backoff = std::min(p.backoff * 2, reconnect_max);
  };
  auto mm = self->state.cfg.tls ? self->system().openssl_manager().actor_handle()
                                : self->system().middleman().actor_handle();
  self->request(mm, connect_timeout, caf::connect_atom::value, p.endpoint.host, p.endpoint.port)
      .then(
          [self, node, retry_later](const caf::node_id& peer_node, caf::strong_actor_ptr& ptr,
                                    const std::set<std::string>&) {
            if (!ptr)
              return retry_later(caf::sec::no_actor_published_at_port);
            if (self->state.cfg.trusted)
              self->state.cfg.trusted->admit(peer_node);
            settle_verifications(self, false);
            auto& p = self->state.peers.at(node);
            p.connecting = false;
            p.directory = caf::actor_cast<caf::actor>(std::move(ptr));
            p.backoff = reconnect_initial;
            self->monitor(p.directory);
            logging::info("peer reachable", {{"node", node}});
          },
          [retry_later](caf::error& err) { retry_later(err); });
}

// A peer's link broke: forget what it served and try again with backoff.
void lose_peer(self_pointer self, peer& p) {
  auto& st = self->state;
  logging::warn("peer unreachable", {{"node", p.endpoint.name}});
  p.directory = nullptr;
  for (auto i = st.remote.begin(); i != st.remote.end();)
    i = i->first.second == p.endpoint.name ? st.remote.erase(i) : std::next(i);
  self->delayed_send(self, p.backoff, connect_peer_atom::value, p.endpoint.name);
}

caf::result<caf::actor> resolve_remote(self_pointer self, const std::string& module,
                                       const std::string& node) {
  auto promise = self->make_response_promise<caf::actor>();
  auto& p = self->state.peers.at(node);
  self->request(p.directory, self->state.cfg.request_timeout, directory_local_get_atom::value,
                module)
      .then(
          [self, module, node, promise](caf::actor& handle) mutable {
            self->monitor(handle);
            self->state.remote[{module, node}] = handle;
            promise.deliver(std::move(handle));
          },
          [promise](caf::error& err) mutable {
            promise.deliver(err.category() == caf::atom("app") ? std::move(err)
                                                               : unavailable_error());
          });
  return promise;
}

// What the modules registered, in the actor and in the registrations it outlives.
void register_module(self_pointer self, const std::string& module, caf::actor handle) {
  self->monitor(handle);
  {
    std::lock_guard<std::mutex> guard{self->state.cfg.registrations->mutex};
    self->state.cfg.registrations->local[module] = handle.address();
  }
  self->state.local[module] = std::move(handle);
}

caf::behavior directory(self_pointer self, directory_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  { // a restart: what was registered before
    std::lock_guard<std::mutex> guard{st.cfg.registrations->mutex};
    for (auto& [module, address] : st.cfg.registrations->local)
      if (auto handle = caf::actor_cast<caf::actor>(address)) {
        self->monitor(handle);
        st.local[module] = handle;
      }
  }
  for (auto& n : st.cfg.nodes)
    if (n.name != st.cfg.node) {
      st.peers[n.name] = peer{n, nullptr, false, reconnect_initial};
      connect(self, n.name);
    }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (auto i = st.local.begin(); i != st.local.end();)
      i = i->second.address() == down.source ? st.local.erase(i) : std::next(i);
    {
      std::lock_guard<std::mutex> guard{st.cfg.registrations->mutex};
      auto& kept = st.cfg.registrations->local;
      for (auto i = kept.begin(); i != kept.end();)
        i = i->second == down.source ? kept.erase(i) : std::next(i);
    }
    for (auto i = st.remote.begin(); i != st.remote.end();)
      i = i->second.address() == down.source ? st.remote.erase(i) : std::next(i);
    for (auto& [name, p] : st.peers)
      if (p.directory && p.directory.address() == down.source)
        lose_peer(self, p);
  });
  return {
      [self](directory_put_atom, const std::string& module, caf::actor& handle) {
        register_module(self, module, std::move(handle));
      },
      [self](directory_local_get_atom, const std::string& module) -> caf::result<caf::actor> {
        if (auto i = self->state.local.find(module); i != self->state.local.end())
          return i->second;
        return unavailable_error();
      },
      [self](directory_get_atom, const std::string& module) -> caf::result<caf::actor> {
        auto& st = self->state;
        // A module's relay ("relay:<m>") lives where the module does; any replica's relay
        // answers the admin queries (they read and write the shared outbox tables).
        auto placed =
            st.cfg.placement.find(module.rfind("relay:", 0) == 0 ? module.substr(6) : module);
        if (placed == st.cfg.placement.end()) { // node-local names: "@bus"
          if (auto i = st.local.find(module); i != st.local.end())
            return i->second;
          return unavailable_error();
        }
        // Replicas in turn; the first node (from this turn on) that can serve answers.
        auto& nodes = placed->second;
        auto start = st.turn[module]++;
        const std::string* to_resolve = nullptr;
        for (std::size_t k = 0; k < nodes.size(); ++k) {
          auto& node = nodes[(start + k) % nodes.size()];
          if (node == st.cfg.node) {
            if (auto i = st.local.find(module); i != st.local.end())
              return i->second;
            continue;
          }
          if (auto i = st.remote.find({module, node}); i != st.remote.end())
            return i->second;
          if (!to_resolve && st.peers.at(node).directory)
            to_resolve = &node;
        }
        if (to_resolve)
          return resolve_remote(self, module, *to_resolve);
        return unavailable_error();
      },
      [self](directory_peers_atom) {
        std::map<std::string, bool> reachable;
        for (auto& [name, p] : self->state.peers)
          reachable[name] = static_cast<bool>(p.directory);
        return reachable;
      },
      [self](connect_peer_atom, const std::string& node) { connect(self, node); },
      [self](directory_verify_atom, const caf::node_id& node) { return verify(self, node); },
      [self](verify_expired_atom) { settle_verifications(self, true); },
  };
}

} // namespace

caf::actor spawn_directory(caf::actor_system& sys, directory_config cfg) {
  if (!cfg.registrations)
    cfg.registrations = std::make_shared<directory_registrations>();
  child_spec child{"directory", [cfg](caf::actor_system& s) { return s.spawn(directory, cfg); }};
  // Local callers only (the face is what peers reach): no trust check here.
  return spawn_supervisor(sys,
                          {"directory", {5, std::chrono::seconds{10}}, {child}, "directory", {}});
}

caf::actor spawn_directory_face(caf::actor_system& sys, caf::actor directory,
                                std::shared_ptr<const trusted_nodes> trusted) {
  return sys.spawn([directory, trusted](caf::event_based_actor* self) -> caf::behavior {
    self->link_to(directory);
    self->set_default_handler(caf::drop);
    return {
        [self, directory, trusted](directory_local_get_atom get,
                                   const std::string& module) -> caf::result<caf::message> {
          if (trusted->admits(self->current_sender()))
            return self->delegate(directory, get, module);
          return verify_then(self, trusted, "directory", [=](caf::response_promise& promise) {
            promise.delegate(directory, get, module);
          });
        },
    };
  });
}
