// A stranger on a node port: a CAF process of the test's own links to node a of a
// two-node cluster, as any process that reaches the port can, and tries to rewire the
// cluster through what the node publishes there. A registration, a reconnect order and a
// request for the peer list are dropped, and even a look-up is refused: it is not a peer
// (trusted_nodes), so it gets no handle to forge a delivery or an admin call with (what
// a module's group does with such a message is supervisor_test's). The node keeps
// serving, its own modules and those of its peer.
#include "cluster.hpp"
#include "test_database.hpp"

#include "actors/directory.hpp"

#include <boost/test/unit_test.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <chrono>
#include <memory>

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

struct stranger_config : caf::actor_system_config {
  stranger_config() {
    load<caf::io::middleman>();
    set("logger.verbosity", caf::atom("quiet"));
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_stranger_on_the_node_port_can_only_look_modules_up) {
  test_database db{"stranger"};
  cluster nodes{db.dsn(),
                {{"a", true}, {"b", false}},
                {{"customers", "\"a\""},
                 {"orders", "\"a\""},
                 {"inventory", "\"b\""},
                 {"notifications", "\"b\""}}};
  nodes.start();

  stranger_config cfg;
  caf::actor_system sys{cfg};
  auto face = sys.middleman().remote_actor("127.0.0.1", uint16_t(nodes["a"].node_port()));
  if (!face)
    BOOST_FAIL("cannot reach node a's port: " << sys.render(face.error()));
  // What the stranger would like the gateway to call instead of the customers module.
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto impostor = sys.spawn([calls](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(
        [calls](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
          ++*calls;
          return caf::sec::unexpected_message;
        });
    return {[](caf::unit_t) {}};
  });

  caf::scoped_actor self{sys};
  self->send(*face, directory_put_atom::value, std::string{"customers"}, impostor);
  self->send(*face, caf::atom_constant<caf::atom("dirconn")>::value, std::string{"ghost"});
  bool listed = false;
  self->request(*face, 2s, directory_peers_atom::value)
      .receive([&](const std::map<std::string, bool>&) { listed = true; }, [](caf::error&) {});
  BOOST_TEST(!listed, "the peer list was handed to a stranger");
  for (auto name : {"customers", "orders", "@bus", "relay:orders"}) {
    bool found = false; // what peers do, and only peers
    self->request(*face, 2s, directory_local_get_atom::value, std::string{name})
        .receive([&](const caf::actor& handle) { found = bool(handle); }, [](caf::error&) {});
    BOOST_TEST(!found, "a stranger got the handle of " << name);
  }

  // The node still serves with its own modules, and its directory still runs.
  auto http = nodes["a"].client();
  for (int i = 0; i < 5; ++i) {
    auto res =
        http->Post("/customers", R"({"name":"N","email":"n)" + std::to_string(i) + R"(@x.io"})",
                   "application/json");
    BOOST_REQUIRE(res);
    BOOST_TEST(res->status == 201, res->body);
  }
  auto product = http->Post( // inventory runs on b: a still reaches its peer
      "/products", R"({"sku":"S-1","name":"P","price":1.5,"stock":3})", "application/json");
  BOOST_REQUIRE(product);
  BOOST_TEST(product->status == 201, product->body);
  auto ready = http->Get("/ready");
  BOOST_REQUIRE(ready);
  BOOST_TEST(ready->status == 200, ready->body);
  BOOST_TEST(*calls == 0, "the impostor was called " << *calls << " times");
  caf::anon_send_exit(impostor, caf::exit_reason::user_shutdown);
}
