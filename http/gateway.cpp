// See gateway.hpp. Error precedence follows docs/openapi.yaml: 404 (route), 405, 413, 415,
// 400 MALFORMED_JSON, then whatever the handler finds.
#include "http/gateway.hpp"

#include "http/json_body.hpp"
#include "http/routes.hpp"

#include "actors/log.hpp"
#include "actors/validation.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>

namespace http {

namespace {

bool valid_correlation_id(const std::string& id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
      return false;
  return true;
}

std::string correlation_id_of(const httplib::Request& req) {
  auto given = req.get_header_value("X-Correlation-Id");
  if (valid_correlation_id(given))
    return given;
  thread_local boost::uuids::random_generator generate;
  return boost::uuids::to_string(generate());
}

// What reading a request body found.
struct request_body {
  std::string text;
  bool present = false;   // the request carries a body
  bool too_large = false; // more than max_body bytes
  bool consumed = true;   // every byte was read; otherwise the connection must close
};

// Keeps up to `max` bytes; reads and drops the rest up to `drain_limit`, so that a client
// that sends its whole body before reading still receives the 413.
request_body read_body(const httplib::Request& req, const httplib::ContentReader* reader,
                       std::size_t max, std::size_t drain_limit) {
  request_body body;
  auto length = req.get_header_value<uint64_t>("Content-Length");
  bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  body.present = length > 0 || chunked;
  if (!body.present)
    return body;
  body.too_large = length > max;
  if (!reader || length > drain_limit) {
    body.consumed = false; // a GET with a body, or too much to drain
    return body;
  }
  std::size_t seen = 0;
  bool complete = (*reader)([&](const char* data, std::size_t size) {
    seen += size;
    if (seen > max)
      body.too_large = true;
    else
      body.text.append(data, size);
    return seen <= drain_limit;
  });
  body.consumed = complete && seen <= drain_limit;
  return body;
}

const char* default_code(int status) {
  switch (status) {
  case 404:
    return "NOT_FOUND";
  case 405:
    return "METHOD_NOT_ALLOWED";
  case 413:
    return "PAYLOAD_TOO_LARGE";
  case 414:
    return "URI_TOO_LONG";
  case 415:
    return "UNSUPPORTED_MEDIA_TYPE";
  case 503:
    return "UNAVAILABLE";
  }
  return status >= 500 ? "INTERNAL" : "BAD_REQUEST";
}

} // namespace

namespace {

server_limits limits_of(const config::http_settings& http) {
  server_limits limits;
  limits.threads = std::size_t(http.threads);
  limits.max_queued = std::size_t(http.max_queued_connections);
  limits.max_header_bytes = http.max_header_bytes;
  limits.header_timeout = http.header_timeout;
  limits.body_timeout = http.body_timeout;
  limits.idle_timeout = http.keep_alive_timeout;
  return limits;
}

} // namespace

gateway::gateway(caf::actor_system& sys, const config::app_settings& settings, caf::actor directory,
                 std::vector<std::string> local_modules, app_metrics& metrics)
    : settings_(settings), metrics_(metrics),
      modules_(sys, std::move(directory), settings.http.request_timeout,
               settings.remote_request_timeout),
      server_(limits_of(settings.http)) {
  add_customers_routes(routes_, modules_);
  add_inventory_routes(routes_, modules_);
  add_orders_routes(routes_, modules_, metrics_);
  add_notifications_routes(routes_, modules_);
  std::vector<std::string> every_module; // the admin API covers the whole cluster
  for (auto& placed : settings.placement)
    every_module.push_back(placed.first);
  add_admin_routes(routes_, modules_, std::move(every_module), settings.admin_token);
  std::map<std::string, std::string> local_databases;
  for (auto& m : local_modules)
    local_databases[m] = settings.database.database_of(m);
  add_operations_routes(
      routes_, modules_, std::move(local_databases), [this] { return accepting_.load(); },
      metrics_.registry, settings.delivery.stale_after);

  // Measured: without TCP_NODELAY every response waits ~40 ms.
  server_.set_tcp_nodelay(true);
  server_.set_keep_alive_max_count(10000);
  // cpp-httplib reads the body of a route without a content reader (GET, OPTIONS) whole:
  // never more than a body may be.
  server_.set_payload_max_length(settings.http.max_body_bytes);

  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    serve(req, res, nullptr);
  };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) { serve(req, res, &reader); };
  server_.Get(".*", plain);
  server_.Options(".*", plain);
  server_.Post(".*", with_body);
  server_.Put(".*", with_body);
  server_.Patch(".*", with_body);
  server_.Delete(".*", with_body);
  // cpp-httplib has no handlers for TRACE and CONNECT: answer them here (404 or 405).
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "TRACE" && req.method != "CONNECT")
      return httplib::Server::HandlerResponse::Unhandled;
    serve(req, res, nullptr);
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors cpp-httplib answers by itself (malformed request line, URI too long, ...).
  server_.set_error_handler(
      httplib::Server::HandlerWithResponse{[](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        exchange ex{req, res, correlation_id_of(req)};
        res.set_header("X-Correlation-Id", ex.correlation_id);
        if (res.status == 414) // every route is short: an over-long path names nothing here
          ex.fail(404, "NOT_FOUND", "no such resource");
        else
          ex.fail(res.status, default_code(res.status), "the request could not be processed");
        return httplib::Server::HandlerResponse::Handled;
      }});
  server_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          logging::error("unhandled exception in HTTP handler", {{"error", e.what()}});
        } catch (...) {
          logging::error("unhandled exception in HTTP handler");
        }
        exchange ex{req, res, correlation_id_of(req)};
        ex.fail(500, "INTERNAL", "internal error");
      });
}

gateway::~gateway() {
  stop();
}

bool gateway::start() {
  auto& node = settings_.this_node();
  if (!server_.bind(*node.http_host, *node.http_port))
    return false;
  port_ = *node.http_port;
  accepting_ = true;
  listener_ = std::thread{[this] { server_.listen_after_bind(); }};
  return true;
}

void gateway::stop() {
  accepting_ = false;
  if (server_.is_running() || listener_.joinable())
    server_.stop();
  if (listener_.joinable())
    listener_.join();
}

void gateway::serve(const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader* body_reader) {
  auto started = std::chrono::steady_clock::now();
  exchange ex{req, res, correlation_id_of(req)};
  res.set_header("X-Correlation-Id", ex.correlation_id);
  // A body framed two ways, or by a coding we do not speak, is where request smuggling
  // starts (RFC 9112 6.1): refused, and the connection closed after the answer.
  bool badly_framed = req.has_header("Transfer-Encoding") &&
                      (req.has_header("Content-Length") ||
                       lower_case(req.get_header_value("Transfer-Encoding")) != "chunked");
  auto max_body = settings_.http.max_body_bytes;
  // The body is read (or drained) before anything is answered, so that its bytes can
  // never be taken for the next request on this connection.
  auto body = badly_framed ? request_body{"", true, false, false}
                           : read_body(req, body_reader, max_body, 4 * max_body);
  if (!body.consumed) {
    res.set_header("Connection", "close");
    close_after_reply();
  }
  auto match = routes_.find(req.method, req.path);
  std::optional<nlohmann::json> parsed;
  if (badly_framed) {
    ex.fail(400, "BAD_REQUEST",
            "a body is framed by Content-Length or by chunked Transfer-Encoding, not both");
  } else if (!match.found) {
    if (match.allow.empty()) {
      ex.fail(404, "NOT_FOUND", "no route for " + req.method + " " + req.path);
    } else {
      res.set_header("Allow", match.allow);
      ex.fail(405, "METHOD_NOT_ALLOWED", "allowed: " + match.allow);
    }
  } else if (body.too_large) {
    ex.fail(413, "PAYLOAD_TOO_LARGE", "the body exceeds " + std::to_string(max_body) + " bytes");
  } else if (body.present && !is_json_media_type(req.get_header_value("Content-Type"))) {
    ex.fail(415, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json");
  } else if (match.found->takes_json_body ? !(parsed = parse_json_object(body.text))
                                          : body.present && !is_json_document(body.text)) {
    ex.fail(400, "MALFORMED_JSON",
            match.found->takes_json_body
                ? "the body must be a JSON object (valid UTF-8, at most 64 levels deep)"
                : "the body must be valid JSON (valid UTF-8, at most 64 levels deep)");
  } else {
    if (parsed)
      ex.body = std::move(*parsed);
    ex.params = std::move(match.params);
    match.found->handle(ex);
  }
  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  const auto& route = match.found ? match.found->pattern : std::string{"unmatched"};
  metrics_.http_requests.labels({route, req.method, std::to_string(res.status)}).inc();
  metrics_.http_request_duration.labels({route}).observe(elapsed.count() / 1000);
  logging::info("request", {{"correlationId", ex.correlation_id},
                            {"method", req.method},
                            {"path", req.path},
                            {"status", res.status},
                            {"durationMs", std::round(elapsed.count() * 1000) / 1000}});
}

} // namespace http
