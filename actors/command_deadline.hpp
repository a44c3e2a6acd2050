// A command's deadline: how long its caller still waits for the answer. The gateway sets
// the budget (module_caller: what is left of the request timeout, less a margin for the
// trip back); the module's service starts the clock when the command arrives (`start`, in
// its own process's steady time), and the database worker drops the command if the
// deadline has passed before it begins, and rolls it back if it passes before COMMIT
// (write_batch, set_batch). A command whose caller has answered 503 is not committed
// afterwards; only a COMMIT already on its way when the caller gives up can still land,
// and then its outcome is as unknown to the caller as that of any lost reply.
#pragma once

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>

struct command_deadline {
  int64_t budget_ms = 0; // set by the caller; 0: no deadline
  int64_t steady_ns = 0; // set on arrival, meaningful only in the receiving process

  void start() {
    if (budget_ms > 0)
      steady_ns = now_ns() + budget_ms * 1000000;
  }

  bool passed() const { return steady_ns != 0 && now_ns() > steady_ns; }

private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_deadline& x) {
  return f(caf::meta::type_name("command_deadline"), x.budget_ms, x.steady_ns);
}
