// How the gateway talks to modules: one typed request per HTTP request, answered within
// the request timeout or turned into UNAVAILABLE. Called from cpp-httplib's pool threads.
//
// Each call uses its own scoped_actor: a reply that arrives after the deadline goes to
// an actor that no longer exists, so it can never be taken for the answer to a later
// request. Requests go out with an infinite CAF timeout (a finite one costs a clock
// thread round trip) and the wait is bounded here instead.
//
// A module on another node is asked through the directory on every call (it knows at once
// when that node's link breaks, so such calls fail fast) and within the shorter
// app.remote-request-timeout; local handles are cached.
#pragma once

#include "actors/app_error.hpp"
#include "actors/directory.hpp"

#include <caf/actor_cast.hpp>
#include <caf/after.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

namespace http {

class module_caller {
public:
  module_caller(caf::actor_system& sys, caf::actor directory, std::chrono::milliseconds timeout,
                std::chrono::milliseconds remote_timeout)
      : sys_(sys), directory_(std::move(directory)), timeout_(timeout),
        remote_timeout_(remote_timeout) {}

  // Sends `xs` to `module`'s typed interface `Handle` and waits for a `Reply`.
  template <class Handle, class Reply, class... Ts>
  caf::expected<Reply> call(const std::string& module, Ts... xs) {
    return call_within<Handle, Reply>(module, timeout_, std::move(xs)...);
  }

  template <class Handle, class Reply, class... Ts>
  caf::expected<Reply> call_within(const std::string& module, std::chrono::milliseconds timeout,
                                   Ts... xs) {
    return call_on<Handle, Reply>(module, timeout, false, std::move(xs)...);
  }

  // The same, to this node's own instance of `module` (health checks).
  template <class Handle, class Reply, class... Ts>
  caf::expected<Reply> call_local(const std::string& module, std::chrono::milliseconds timeout,
                                  Ts... xs) {
    return call_on<Handle, Reply>(module, timeout, true, std::move(xs)...);
  }

  // Asks the directory (not the cache) for the current handle of `module` (or of "@bus",
  // "relay:<m>"): the directory forgets actors that died.
  caf::expected<caf::actor> locate(const std::string& module, std::chrono::milliseconds timeout) {
    return ask<caf::actor>(directory_, timeout, directory_get_atom::value, module);
  }

  // Every other node of the cluster, and whether this node reaches it now.
  std::map<std::string, bool> peers(std::chrono::milliseconds timeout) {
    auto answer =
        ask<std::map<std::string, bool>>(directory_, timeout, directory_peers_atom::value);
    return answer ? *answer : std::map<std::string, bool>{};
  }

private:
  template <class Handle, class Reply, class... Ts>
  caf::expected<Reply> call_on(const std::string& module, std::chrono::milliseconds timeout,
                               bool local_only, Ts... xs) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto target = resolve(module, timeout, local_only);
    if (!target)
      return target.error();
    if (target->node() != sys_.node())
      deadline = std::min(deadline, std::chrono::steady_clock::now() + remote_timeout_);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    (give_budget(xs, left), ...);
    auto result = ask<Reply>(caf::actor_cast<Handle>(*target), left, std::move(xs)...);
    if (!result && result.error().category() != caf::atom("app"))
      forget(module); // the module's group may have been restarted: resolve it again
    return result;
  }

  template <class Reply, class Handle, class... Ts>
  caf::expected<Reply> ask(const Handle& dest, std::chrono::milliseconds timeout, Ts&&... xs) {
    caf::expected<Reply> result{unavailable_error()};
    caf::scoped_actor self{sys_};
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    caf::blocking_actor::accept_one_cond done;
    self->varargs_receive(
        done, handle.id(), [&](Reply& reply) { result = std::move(reply); },
        [&](caf::error& err) { result = std::move(err); },
        caf::after(std::max(timeout, std::chrono::milliseconds{1})) >>
            [&] { result = unavailable_error(); });
    return result;
  }

  // A command (a message with a command_deadline) is given what is left of the wait, less
  // a tenth for its answer's way back: the module drops or rolls back the command when
  // that has passed, before this caller answers 503.
  template <class T, class = void> struct is_command : std::false_type {};
  template <class T>
  struct is_command<T, std::void_t<decltype(std::declval<T&>().deadline.budget_ms)>>
      : std::true_type {};

  template <class T> static void give_budget(T& x, std::chrono::milliseconds left) {
    if constexpr (is_command<T>::value)
      x.deadline.budget_ms = std::max<int64_t>(1, left.count() - left.count() / 10);
  }

  caf::expected<caf::actor> resolve(const std::string& module, std::chrono::milliseconds timeout,
                                    bool local_only);
  void forget(const std::string& module);

  caf::actor_system& sys_;
  caf::actor directory_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds remote_timeout_;
  std::mutex mutex_;
  std::map<std::string, caf::actor> handles_;
};

} // namespace http
