// The one_for_one supervisor: restarts, stable front handle, errors (not hangs) for
// requests in flight to a dying child, escalation after a restart storm.
#include "actors/app_error.hpp"
#include "actors/supervisor.hpp"

#include <caf/all.hpp>

#include "eventually.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <thread>

using testing_support::eventually;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using slow_atom = caf::atom_constant<caf::atom("slowcrash")>;
using quit_atom = caf::atom_constant<caf::atom("quitnow")>;

// Echoes integers; crashes on request.
caf::behavior echo_child(caf::event_based_actor* self) {
  return {
      [](int x) { return x; },
      [](crash_atom) -> int { throw std::runtime_error("boom"); },
      [](slow_atom) -> int {
        std::this_thread::sleep_for(std::chrono::milliseconds{200});
        throw std::runtime_error("slow boom");
      },
      [self](quit_atom) { self->quit(); },
  };
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  caf::actor start(int max_restarts = 5, bool detached_child = false) {
    child_spec child{"echo", [detached_child](caf::actor_system& s) {
                       return detached_child ? s.spawn<caf::detached>(echo_child)
                                             : s.spawn(echo_child);
                     }};
    return spawn_supervisor(
        sys, {"test", {max_restarts, std::chrono::seconds{10}}, {child}, "echo", {}});
  }

  // Sends `xs` through the supervisor; the reply or the error.
  template <class... Ts> caf::expected<int> ask(const caf::actor& dest, Ts... xs) {
    caf::expected<int> result{caf::sec::request_timeout};
    self->request(dest, std::chrono::seconds{5}, xs...)
        .receive([&](int x) { result = x; }, [&](caf::error& e) { result = e; });
    return result;
  }

  int64_t restarts_of(const caf::actor& sup) {
    int64_t n = -1;
    self->request(sup, std::chrono::seconds{5}, restarts_atom::value)
        .receive([&](int64_t x) { n = x; }, [](caf::error&) {});
    return n;
  }

  // A request that reaches the supervisor before it has seen its child's death is
  // forwarded to the dead child and answered with an error (never left hanging); tests
  // that need the replacement wait until the supervisor has made it.
  bool await_restarts(const caf::actor& sup, int64_t n) {
    return eventually(
        std::chrono::seconds{3}, [&] { return restarts_of(sup) >= n; },
        std::chrono::milliseconds{2});
  }

  caf::actor child_of(const caf::actor& sup) {
    caf::actor result;
    self->request(sup, std::chrono::seconds{5}, which_child_atom::value, std::string{"echo"})
        .receive([&](caf::actor& a) { result = a; }, [](caf::error&) {});
    return result;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(supervisor, fixture)

BOOST_AUTO_TEST_CASE(forwards_to_its_front_child) {
  auto sup = start();
  auto answer = ask(sup, 7);
  BOOST_REQUIRE(answer);
  BOOST_TEST(*answer == 7);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_child_that_throws_is_restarted_and_serves_the_next_request) {
  auto sup = start();
  auto before = child_of(sup);
  auto crashed = ask(sup, crash_atom::value);
  BOOST_TEST(!crashed);
  BOOST_TEST((crashed.error() == caf::sec::runtime_error));
  BOOST_REQUIRE(await_restarts(sup, 1));
  auto served = ask(sup, 42);
  BOOST_REQUIRE(served);
  BOOST_TEST(*served == 42);
  auto after = child_of(sup);
  BOOST_TEST((after != before));
  BOOST_TEST(restarts_of(sup) == 1);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(requests_in_flight_to_a_dying_child_get_an_error_not_a_hang) {
  auto sup = start(5, true);
  // The first request crashes the child while the second waits in its mailbox.
  auto first = self->request(sup, std::chrono::seconds{5}, slow_atom::value);
  auto second = self->request(sup, std::chrono::seconds{5}, 1);
  int errors = 0;
  auto expect_error = [&](caf::error& e) {
    BOOST_TEST((e != caf::sec::request_timeout), "the request hung until its timeout");
    ++errors;
  };
  first.receive([](int) {}, expect_error);
  second.receive([](int) {}, expect_error);
  BOOST_TEST(errors == 2);
  BOOST_REQUIRE(await_restarts(sup, 1));
  auto served = ask(sup, 3); // and the replacement serves
  BOOST_REQUIRE(served);
  BOOST_TEST(*served == 3);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_restart_storm_escalates_to_the_parent) {
  auto sup = start(3);
  self->monitor(sup);
  for (int i = 0; i < 4; ++i) {
    ask(sup, crash_atom::value);
    if (i < 3)
      BOOST_REQUIRE(await_restarts(sup, i + 1));
  }
  caf::error reason;
  self->receive([&](caf::down_msg& down) { reason = down.reason; },
                caf::after(std::chrono::seconds{5}) >> [] {});
  BOOST_TEST((reason == supervision_error::restart_limit_reached));
}

BOOST_AUTO_TEST_CASE(a_child_that_exits_normally_is_not_restarted) {
  auto sup = start();
  self->send(sup, quit_atom::value);
  caf::error answer;
  eventually(
      std::chrono::seconds{2},
      [&] {
        self->request(sup, std::chrono::seconds{5}, which_child_atom::value, std::string{"echo"})
            .receive([](caf::actor&) {}, [&](caf::error& e) { answer = e; });
        return static_cast<bool>(answer);
      },
      std::chrono::milliseconds{10});
  BOOST_TEST((describe(answer).kind == app_error::not_found));
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(children_stop_with_their_supervisor) {
  auto sup = start();
  auto child = child_of(sup);
  self->monitor(child);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(std::chrono::seconds{5}) >> [] {});
  BOOST_TEST(down);
}

// A module's group serves this node and its peers only: a message from any other node
// (as from a stranger on the node port, had it got the handle), or one without a sender,
// is refused before it reaches the module, and nothing in the module runs for it.
BOOST_AUTO_TEST_CASE(a_group_serves_only_the_nodes_it_trusts) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  child_spec child{"counter", [calls](caf::actor_system& s) {
                     return s.spawn([calls]() -> caf::behavior {
                       return {[calls](int x) {
                         ++*calls;
                         return x;
                       }};
                     });
                   }};
  auto start_trusting = [&](caf::node_id node) {
    supervisor_spec spec{"test", {5, std::chrono::seconds{10}}, {child}, "counter", {}};
    spec.trusted = std::make_shared<trusted_nodes>(std::move(node));
    return spawn_supervisor(sys, spec);
  };
  auto ours = start_trusting(sys.node());
  BOOST_TEST(ask(ours, 7) == 7);
  BOOST_TEST(*calls == 1);

  // Trusting only another node (this one plays the stranger): refused, child untouched.
  caf::node_id::default_data::host_id_type elsewhere{};
  elsewhere.fill(0x5a);
  auto theirs = start_trusting(caf::make_node_id(4242, elsewhere));
  BOOST_TEST(!ask(theirs, 7));
  BOOST_TEST(!child_of(theirs), "the child's handle was handed to a stranger");
  BOOST_TEST(restarts_of(theirs) == -1);
  caf::anon_send(ours, 8); // no sender: refused, however local
  BOOST_TEST(ask(ours, 9) == 9);
  BOOST_TEST(*calls == 2, "the anonymous message reached the module");
  for (auto& sup : {ours, theirs})
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
