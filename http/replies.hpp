// The reply step every route shares: a module's answer (or error) as the contract's envelope
// (docs/openapi.yaml), with Location on 201.
#pragma once

#include "http/exchange.hpp"

#include <caf/expected.hpp>

#include <string>

namespace http {

// `location` is the collection path ("/customers"); the new resource's id is appended.
template <class T, class ToJson>
void reply(exchange& ex, int status, const caf::expected<T>& result, ToJson to_json,
           const std::string& location = "") {
  if (!result)
    return ex.fail(result.error());
  auto body = to_json(*result);
  if (status == 201 && !location.empty())
    ex.response.set_header("Location", location + "/" + body["id"].template get<std::string>());
  ex.ok(status, std::move(body));
}

} // namespace http
