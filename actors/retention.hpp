// The retention of one module (app.retention.*): a detached actor that, every
// app.retention.interval, deletes batch after batch of what the module no longer needs
// (persistence/retention_store.hpp: published events, finished deliveries, discarded
// dead letters, old inbox entries, expired idempotency keys), until nothing old is left.
// It prunes only while this process's relay leads the module's outbox, so one process
// prunes a module however many run it. Rows pruned and table sizes go to /metrics.
#pragma once

#include "actors/app_metrics.hpp"
#include "actors/relay_doorbell.hpp"
#include "config/app_settings.hpp"
#include "persistence/retention_store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <string>
#include <vector>

struct retention_config {
  std::string module; // == schema
  std::string dsn;    // the module's own role: it owns the tables
  config::retention_settings settings;
  std::vector<persistence::aged_table> own; // the module's expiring tables
  std::shared_ptr<relay_doorbell> doorbell; // says whether the relay here leads
  app_metrics* metrics = nullptr;           // outlives the actor system
};

caf::actor spawn_retention(caf::actor_system& sys, retention_config cfg);
