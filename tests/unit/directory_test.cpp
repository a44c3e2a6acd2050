// The directory is supervised like any other child: killed, it is restarted behind the
// same handle, with every module registered before still registered.
#include "actors/directory.hpp"
#include "actors/supervisor.hpp"

#include <caf/all.hpp>

#include "eventually.hpp"

#include <boost/test/unit_test.hpp>

#include <thread>

using testing_support::eventually;

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
  eventually(
      std::chrono::seconds{3},
      [&] {
        second = inner(directory);
        return second && second != first;
      },
      std::chrono::milliseconds{5});
  BOOST_REQUIRE((second && second != first));
  BOOST_TEST((lookup(directory, "orders") == module), "the registration survived the restart");

  caf::anon_send_exit(module, caf::exit_reason::user_shutdown);
  BOOST_TEST(eventually(
                 std::chrono::seconds{3}, [&] { return !lookup(directory, "orders"); },
                 std::chrono::milliseconds{5}),
             "a module that died is forgotten");
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}
