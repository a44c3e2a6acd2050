// See nats_jetstream.hpp.
#include "actors/brokers/nats_jetstream.hpp"

#include <nats/nats.h>

namespace brokers {

void nats_check(int status, const std::string& what) {
  auto s = natsStatus(status);
  if (s == NATS_OK)
    return;
  std::string text = what + ": " + natsStatus_GetText(s);
  if (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED || s == NATS_TIMEOUT ||
      s == NATS_NOT_YET_CONNECTED || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_DISCONNECTED ||
      s == NATS_IO_ERROR || s == NATS_STALE_CONNECTION)
    throw broker_unavailable(text);
  throw broker_refused(text);
}

std::string nats_name(std::string name) {
  for (auto& c : name)
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == ':')
      c = '_';
  return name;
}

std::string durable_name(const std::string& consumer, const std::string& publisher, int partition) {
  return nats_name(consumer + "_" + publisher + "_" + std::to_string(partition));
}

void set_reader_consumer_config(jsConsumerConfig& config, const config::bus_settings& bus) {
  config.AckPolicy = js_AckExplicit;
  config.AckWait = int64_t(bus.reader_lease_ttl.count()) * 1000 * 1000;
  config.MaxDeliver = -1;
}

nats_session::nats_session(const config::bus_settings& bus, std::function<void()> on_publish_error)
    : bus_(bus), on_publish_error_(std::move(on_publish_error)) {}

namespace {

void publish_failed(jsCtx*, jsPubAckErr*, void* closure) {
  (*static_cast<std::function<void()>*>(closure))();
}

} // namespace

nats_session::~nats_session() {
  reset();
}

void nats_session::reset() {
  if (js_)
    jsCtx_Destroy(js_);
  if (connection_)
    natsConnection_Destroy(connection_);
  js_ = nullptr;
  connection_ = nullptr;
  stream_ready_ = false;
}

natsConnection* nats_session::connection() {
  if (connection_ && natsConnection_Status(connection_) == NATS_CONN_STATUS_CLOSED)
    reset();
  if (connection_)
    return connection_;
  natsOptions* opts = nullptr;
  nats_check(natsOptions_Create(&opts), "NATS options");
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> options{opts, natsOptions_Destroy};
  auto url = "nats://" + bus_.nats_host + ":" + std::to_string(bus_.nats_port);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetTimeout(opts, 2000);
  natsOptions_SetAllowReconnect(opts, true);
  natsOptions_SetMaxReconnect(opts, -1); // keep trying while the connection lives
  natsOptions_SetReconnectWait(opts, 250);
  natsConnection* nc = nullptr;
  nats_check(natsConnection_Connect(&nc, opts), "cannot connect to NATS at " + url);
  connection_ = nc;
  return connection_;
}

jsCtx* nats_session::jetstream() {
  auto* nc = connection();
  if (js_)
    return js_;
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = 5000;
  if (on_publish_error_) {
    options.PublishAsync.ErrHandler = publish_failed;
    options.PublishAsync.ErrHandlerClosure = &on_publish_error_;
  }
  jsCtx* js = nullptr;
  nats_check(natsConnection_JetStream(&js, nc, &options), "JetStream context");
  js_ = js;
  return js_;
}

std::string nats_session::stream_name() const {
  std::string name = bus_.key_prefix + "_events";
  for (auto& c : name)
    if (c == '.' || c == ' ' || c == '*' || c == '>')
      c = '_';
  return name;
}

std::string nats_session::subject(const std::string& publisher, int partition) const {
  return bus_.key_prefix + ".events." + publisher + "." + std::to_string(partition);
}

void nats_session::ensure_stream() {
  if (stream_ready_)
    return;
  auto* js = jetstream();
  auto name = stream_name();
  jsStreamInfo* info = nullptr;
  jsErrCode code = jsErrCode(0);
  auto found = js_GetStreamInfo(&info, js, name.c_str(), nullptr, &code);
  if (found == NATS_OK) {
    jsStreamInfo_Destroy(info);
  } else if (found == NATS_NOT_FOUND) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    auto subjects = bus_.key_prefix + ".events.>";
    const char* list[] = {subjects.c_str()};
    cfg.Name = name.c_str();
    cfg.Subjects = list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    // A message stays until every consumer of its subject acknowledged it, and a full
    // subject refuses new messages: nothing is dropped (nats_publisher).
    cfg.Retention = js_InterestPolicy;
    cfg.MaxMsgsPerSubject = bus_.stream_maxlen;
    cfg.Discard = js_DiscardNew;
    cfg.DiscardNewPerSubject = true;
    cfg.Duplicates = int64_t(120) * 1000 * 1000 * 1000; // MsgId dedupe window: 2 min (ns)
    auto added = js_AddStream(&info, js, &cfg, nullptr, &code);
    if (added == NATS_OK) {
      jsStreamInfo_Destroy(info);
    } else if (code != 10058) { // JSStreamNameExistErr: another node was first
      // Another reader or relay creating it at the same moment can make the server refuse
      // ours with a less specific error: what counts is that the stream exists now.
      info = nullptr;
      if (js_GetStreamInfo(&info, js, name.c_str(), nullptr, &code) != NATS_OK)
        nats_check(added, "cannot create the stream " + name);
      jsStreamInfo_Destroy(info);
    }
  } else {
    nats_check(found, "stream " + name);
  }
  stream_ready_ = true;
}

nats_publisher::nats_publisher(const config::bus_settings& bus, std::string module,
                               std::vector<std::string> consumers)
    : session_(bus, [failed = failed_] { ++*failed; }), module_(std::move(module)),
      consumers_(std::move(consumers)) {}

void nats_publisher::create_consumers() {
  session_.ensure_stream();
  auto* js = session_.jetstream();
  if (consumers_made_for_ == js)
    return;
  auto stream = session_.stream_name();
  for (int p = 0; p < session_.bus().partitions; ++p)
    for (auto& consumer : consumers_) {
      auto durable = durable_name(consumer, module_, p);
      auto subject = session_.subject(module_, p);
      jsConsumerConfig cfg;
      jsConsumerConfig_Init(&cfg);
      cfg.Durable = durable.c_str();
      cfg.FilterSubject = subject.c_str();
      set_reader_consumer_config(cfg, session_.bus());
      jsErrCode code = jsErrCode(0);
      auto made = js_AddConsumer(nullptr, js, stream.c_str(), &cfg, nullptr, &code);
      if (made != NATS_OK && code != JSConsumerNameExistErr && code != JSConsumerExistingActiveErr)
        nats_check(made, "consumer " + durable);
    }
  consumers_made_for_ = js;
}

void nats_publisher::publish(const std::vector<persistence::stored_event>& events) {
  try {
    create_consumers();
    auto* js = session_.jetstream();
    failed_->store(0);
    for (auto& e : events) {
      auto subject =
          session_.subject(module_, partition_of(e.aggregate_id, session_.bus().partitions));
      auto body = envelope_json(e);
      jsPubOptions options;
      jsPubOptions_Init(&options);
      options.MsgId = e.id.c_str(); // a retried publish is stored once
      nats_check(js_PublishAsync(js, subject.c_str(), body.data(), int(body.size()), &options),
                 "publish to " + subject);
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 5000;
    nats_check(js_PublishAsyncComplete(js, &wait), "publish acks");
    if (*failed_ > 0)
      throw broker_refused(std::to_string(failed_->load()) + " of " +
                           std::to_string(events.size()) +
                           " events not stored by JetStream: a subject is full "
                           "(app.bus.stream-maxlen), a consumer of it is behind");
  } catch (const broker_unavailable&) {
    session_.reset(); // a fresh connection next time
    throw;
  }
}

void nats_publisher::ping() {
  nats_check(natsConnection_FlushTimeout(session_.connection(), 1000), "NATS ping");
}

} // namespace brokers
