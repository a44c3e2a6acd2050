// An event envelope as a broker reader decodes it (actors/brokers/event_json.cpp), and an
// order.created payload as its consumers read it (parse_order_created): any bytes, never
// a crash; what decodes encodes back to the same envelope.
#include "actors/brokers/event_json.hpp"
#include "modules/orders/events.hpp"

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  event_envelope e;
  try {
    e = brokers::envelope_from_json(text);
  } catch (const std::exception&) {
    return 0; // not an envelope: the reader buries it
  }
  auto again = brokers::envelope_from_json(
      brokers::envelope_json({e.id, e.event_name, e.aggregate_id, e.sequence, e.correlation_id,
                              e.causation_id, e.payload, e.timestamp}));
  if (again.id != e.id || again.payload != e.payload || again.sequence != e.sequence)
    std::abort();
  auto payload = nlohmann::json::parse(e.payload, nullptr, false);
  try {
    auto order = orders::events::parse_order_created(payload);
    for (auto& item : order.items)
      if (item.quantity < 1 || item.price_cents < 0)
        std::abort();
  } catch (const std::exception&) {
    // off the contract: the consumer fails the event
  }
  return 0;
}
