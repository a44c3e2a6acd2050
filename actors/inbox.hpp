// Effectively-once consumption: the event id is recorded in the consuming module's inbox
// in the same transaction as the consumer's side effects, so a redelivered event (after a
// crash, a retry or a replay) is recognised and its effects are never applied twice. The
// caller acknowledges only after this returns, i.e. after COMMIT.
#pragma once

#include "actors/app_error.hpp"
#include "actors/event_delivery.hpp"
#include "actors/log.hpp"
#include "persistence/pg.hpp"

#include <caf/expected.hpp>

#include <functional>

// A consumer's side effects for one event, inside the transaction; an error value or an
// exception rolls everything back and the delivery is retried later.
using event_handler = std::function<caf::error(persistence::pg_connection&, const event_envelope&)>;

caf::expected<delivery_ack> consume_once(persistence::pg_session& session, const std::string& schema,
                                         const delivery& d, const event_handler& handle);
