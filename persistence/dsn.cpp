// DSN rewriting with libpq's own parser, so both key=value and URI forms work.
#include "persistence/dsn.hpp"

#include "persistence/pg.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>

namespace persistence {

namespace {

std::map<std::string, std::string> parse(const std::string& dsn) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options{
      PQconninfoParse(dsn.c_str(), &error), PQconninfoFree};
  if (!options) {
    std::string message = error ? error : "invalid DSN";
    PQfreemem(error);
    throw pg_error("not a valid DSN: " + message, "08001", "", false);
  }
  std::map<std::string, std::string> result;
  for (auto* o = options.get(); o->keyword; ++o)
    if (o->val)
      result[o->keyword] = o->val;
  return result;
}

std::string quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "'";
}

} // namespace

std::string database_name(const std::string& dsn) {
  auto options = parse(dsn);
  if (auto db = options.find("dbname"); db != options.end() && !db->second.empty())
    return db->second;
  if (auto env = std::getenv("PGDATABASE"))
    return env;
  if (auto user = options.find("user"); user != options.end() && !user->second.empty())
    return user->second;
  if (auto env = std::getenv("PGUSER"))
    return env;
  return "postgres";
}

std::string default_role_prefix(const std::string& dsn) {
  std::string prefix;
  for (unsigned char c : database_name(dsn))
    prefix += std::isalnum(c) ? char(std::tolower(c)) : '_';
  if (prefix.empty() || std::isdigit(static_cast<unsigned char>(prefix[0])))
    prefix = "db_" + prefix;
  return prefix.substr(0, 40) + "_";
}

std::string dsn_for_role(const std::string& dsn, const std::string& role) {
  auto options = parse(dsn);
  options.erase("password");
  // Without a dbname libpq would take the user's name: the role's, not the database's.
  options["dbname"] = database_name(dsn);
  options["user"] = role;
  std::string result;
  for (auto& [key, value] : options)
    result += (result.empty() ? "" : " ") + key + "=" + quote(value);
  return result;
}

std::string describe_server(const std::string& dsn) {
  auto options = parse(dsn);
  auto value = [&options](const char* key, const char* env, std::string fallback) {
    if (auto o = options.find(key); o != options.end() && !o->second.empty())
      return o->second;
    if (auto e = std::getenv(env); e && *e)
      return std::string{e};
    return fallback;
  };
  auto host = value("host", "PGHOST", "localhost");
  if (!host.empty() && host[0] == '/')
    host = "socket " + host;
  return host + ":" + value("port", "PGPORT", "5432") + "/" + database_name(dsn);
}

} // namespace persistence
