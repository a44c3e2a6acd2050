// One HTTP request and its response as the route handlers see them: path parameters,
// the parsed JSON body, the correlation id, and replies in the contract's envelopes
// (docs/openapi.yaml).
#pragma once

#include "actors/app_error.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace http {

class exchange {
public:
  exchange(const httplib::Request& req, httplib::Response& res, std::string correlation_id)
      : request(req), response(res), correlation_id(std::move(correlation_id)) {}

  const httplib::Request& request;
  httplib::Response& response;
  std::string correlation_id;
  std::vector<std::string> params; // {id} segments of the route, in order
  nlohmann::json body;             // the request body, for routes that take one

  // {"success": true, "data": ...}
  void ok(int status, nlohmann::json data);
  // {"success": false, "error": {...}} with the status error_mapping.cpp assigns.
  void fail(const caf::error& err);
  void fail(int status, const std::string& code, const std::string& message,
            const field_issues& details = {});
  // A JSON document as it is, without the envelope (/health, /ready).
  void raw(int status, const nlohmann::json& document);
};

// The HTTP status for an error kind: the one table of the mapping.
int status_for(app_error kind);

} // namespace http
