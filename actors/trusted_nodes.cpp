// See trusted_nodes.hpp.
#include "actors/trusted_nodes.hpp"

#include "actors/log.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

caf::error trusted_nodes::refuse(const std::string& where) const {
  auto now = std::chrono::steady_clock::now();
  bool warn = false;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (now - warned_ > std::chrono::minutes{1}) {
      warned_ = now;
      warn = true;
    }
  }
  if (warn)
    logging::warn("refused a message from a node outside the cluster (or without a sender)",
                  {{"to", where}});
  return caf::make_error(caf::sec::unexpected_message);
}

caf::result<caf::message> verify_then(caf::event_based_actor* self,
                                      std::shared_ptr<const trusted_nodes> trusted,
                                      std::string where,
                                      std::function<void(caf::response_promise&)> serve) {
  auto sender = self->current_sender();
  auto verifier = trusted->verifier_for(sender);
  if (!verifier)
    return trusted->refuse(where);
  auto promise = self->make_response_promise();
  self->request(verifier, caf::infinite, directory_verify_atom::value, sender->node())
      .then(
          [=](bool peer) mutable {
            if (peer)
              serve(promise);
            else
              promise.deliver(trusted->refuse(where));
          },
          [=](caf::error&) mutable { promise.deliver(trusted->refuse(where)); });
  return promise;
}
