// The directory is supervised like any other child: killed, it is restarted behind the
// same handle, with every module registered before still registered.
#include "actors/directory.hpp"
#include "actors/supervisor.hpp"

#include <caf/all.hpp>

#include <boost/test/unit_test.hpp>

#include <thread>

namespace {

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  caf::actor lookup(const caf::actor& directory, const std::string& module) {
    caf::actor found;
    self->request(directory, std::chrono::seconds{5}, directory_get_atom::value, module)
        .receive([&](caf::actor& a) { found = std::move(a); }, [](caf::error&) {});
    return found;
  }

  caf::actor inner(const caf::actor& directory) {
    caf::actor child;
    self->request(directory, std::chrono::seconds{5}, which_child_atom::value,
                  std::string{"directory"})
        .receive([&](caf::actor& a) { child = std::move(a); }, [](caf::error&) {});
    return child;
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_killed_directory_comes_back_with_its_registrations, fixture) {
  config::node_endpoint main{"main", "127.0.0.1", 4200, std::nullopt, std::nullopt};
  directory_config config;
  config.node = "main";
  config.nodes = {main};
  config.placement = {{"orders", {"main"}}};
  auto directory = spawn_directory(sys, config);
  auto module = sys.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  caf::anon_send(directory, directory_put_atom::value, std::string{"orders"}, module);
  BOOST_REQUIRE((lookup(directory, "orders") == module));

  auto first = inner(directory);
  BOOST_REQUIRE(first);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  caf::actor second;
  for (int i = 0; i < 500 && (!second || second == first); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    second = inner(directory);
  }
  BOOST_REQUIRE((second && second != first));
  BOOST_TEST((lookup(directory, "orders") == module), "the registration survived the restart");

  caf::anon_send_exit(module, caf::exit_reason::user_shutdown);
  for (int i = 0; i < 500 && lookup(directory, "orders"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  BOOST_TEST(!static_cast<bool>(lookup(directory, "orders")), "a module that died is forgotten");
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}
