// The edge: nginx in front of every gateway of the topology, on the public address
// (app.edge.host:port). The gateways are thread-per-connection; nginx is event-driven, so
// it is nginx that holds slow, idle and hostile connections, buffers whole requests before
// a gateway sees them, and turns away what is too large or too slow. Its configuration
// file is generated from the topology (`monolith --edge-config`), so a topology with
// several gateways gets all of them as upstreams, and the limits follow app.http.*.
#pragma once

#include "config/app_settings.hpp"

#include <string>

namespace http {

// nginx.conf for `nginx -p PREFIX -c nginx.conf`: every path in it (pid, temporary
// files) is relative to PREFIX; errors go to stderr. Requires settings.edge.enabled().
std::string edge_config(const config::app_settings& settings);

} // namespace http
