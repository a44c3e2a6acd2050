// See supervisor.hpp.
#include "actors/supervisor.hpp"

#include "actors/app_error.hpp"
#include "actors/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <deque>

std::string to_string(supervision_error x) {
  return x == supervision_error::restart_limit_reached ? "restart_limit_reached" : "unknown";
}

namespace {

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_spec spec)
      : caf::event_based_actor(cfg), spec_(std::move(spec)) {}

  const char* name() const override { return "supervisor"; }

  caf::behavior make_behavior() override {
    for (auto& c : spec_.children)
      children_.push_back(running_child{c, start(c)});
    set_down_handler([this](caf::down_msg& msg) { on_child_down(msg); });
    if (!spec_.front.empty())
      set_default_handler(
          [this](caf::scheduled_actor*, caf::message_view& view) -> caf::result<caf::message> {
            if (!admitted())
              return verify_then_forward(view.move_content_to_message());
            auto front = find(spec_.front);
            if (!front)
              return unavailable_error();
            delegate(front, view.move_content_to_message());
            return caf::delegated<caf::message>{};
          });
    return {
        [this](which_child_atom, const std::string& child) -> caf::result<caf::actor> {
          if (!admitted())
            return spec_.trusted->refuse(spec_.name);
          if (auto handle = find(child))
            return handle;
          return not_found_error("child " + child);
        },
        [this](restarts_atom) -> caf::result<int64_t> {
          if (!admitted())
            return spec_.trusted->refuse(spec_.name);
          return total_restarts_;
        },
    };
  }

  void on_exit() override {
    for (auto& c : children_)
      if (c.handle)
        caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
    children_.clear();
  }

private:
  bool admitted() { return !spec_.trusted || spec_.trusted->admits(current_sender()); }

  // A message from a node not known as a peer: forwarded once the directory recognised
  // that node as one (a peer that started or restarted before we linked back to it),
  // refused otherwise.
  caf::result<caf::message> verify_then_forward(caf::message msg) {
    return verify_then(this, spec_.trusted, spec_.name, [this, msg](caf::response_promise& p) {
      if (auto front = find(spec_.front))
        p.delegate(front, msg);
      else
        p.deliver(unavailable_error());
    });
  }

  struct running_child {
    child_spec spec;
    caf::actor handle;
  };

  caf::actor start(const child_spec& c) {
    auto handle = c.spawn(system());
    monitor(handle);
    return handle;
  }

  caf::actor find(const std::string& child) const {
    for (auto& c : children_)
      if (c.spec.name == child)
        return c.handle;
    return {};
  }

  void on_child_down(const caf::down_msg& msg) {
    auto i = std::find_if(children_.begin(), children_.end(),
                          [&](auto& c) { return c.handle && c.handle.address() == msg.source; });
    if (i == children_.end())
      return;
    if (!msg.reason || msg.reason == caf::exit_reason::normal) {
      children_.erase(i);
      return;
    }
    auto now = std::chrono::steady_clock::now();
    while (!restart_times_.empty() && now - restart_times_.front() > spec_.limit.window)
      restart_times_.pop_front();
    if (int(restart_times_.size()) >= spec_.limit.max_restarts) {
      logging::error("restart limit reached, giving up", {{"supervisor", spec_.name},
                                                          {"child", i->spec.name},
                                                          {"reason", system().render(msg.reason)}});
      quit(caf::make_error(supervision_error::restart_limit_reached, spec_.name));
      return;
    }
    restart_times_.push_back(now);
    ++total_restarts_;
    if (spec_.on_restart)
      spec_.on_restart();
    logging::warn("child exited, restarting", {{"supervisor", spec_.name},
                                               {"child", i->spec.name},
                                               {"reason", system().render(msg.reason)}});
    i->handle = start(i->spec);
  }

  supervisor_spec spec_;
  std::vector<running_child> children_;
  std::deque<std::chrono::steady_clock::time_point> restart_times_;
  int64_t total_restarts_ = 0;
};

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec) {
  return sys.spawn<supervisor_actor>(std::move(spec));
}
