// Recording paths and the text exposition format 0.0.4 renderer for actors/metrics.hpp.
#include "actors/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <type_traits>

namespace metrics {

namespace {

// std::atomic<double>::fetch_add is C++20; relaxed is enough because no other memory is
// published through a metric.
void atomic_add(std::atomic<double>& target, double v) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

bool is_name_start(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool is_valid_name(const std::string& name, bool allow_colon) {
  if (name.empty() || !is_name_start(name[0], allow_colon))
    return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) {
    return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
  });
}

void check_names(const std::string& name, const std::vector<std::string>& label_names) {
  if (!is_valid_name(name, true))
    throw std::invalid_argument("metrics: invalid metric name '" + name + "'");
  std::set<std::string> seen;
  for (auto& label : label_names) {
    // Names starting with __ are reserved for Prometheus' own relabelling.
    if (!is_valid_name(label, false) || label.rfind("__", 0) == 0)
      throw std::invalid_argument("metrics: invalid label name '" + label + "' in " + name);
    if (!seen.insert(label).second)
      throw std::invalid_argument("metrics: label '" + label + "' repeated in " + name);
  }
}

std::vector<double> checked_bounds(const std::string& name, std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0)
    bounds.pop_back();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
      throw std::invalid_argument("metrics: buckets of " + name +
                                  " must be finite and strictly increasing");
  }
  return bounds;
}

// Integral values print as integers (the fixed form, so 1e16 does not become "1e+16");
// everything else uses the shortest form that parses back to the same double.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) { // also -0, which would print as "-0"
    out += '0';
    return;
  }
  char buf[64];
  bool integral = v == std::trunc(v) && std::fabs(v) < 1e17;
  auto result = integral ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, result.ptr);
}

void append_count(std::string& out, std::uint64_t v) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, result.ptr);
}

void append_escaped(std::string& out, const std::string& text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && escape_quote)
      out += "\\\"";
    else
      out += c;
  }
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const label_values& values, const char* le = nullptr) {
  if (names.empty() && !le)
    return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (le) {
    if (!names.empty())
      out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, const std::string& name, const char* suffix,
                   const std::vector<std::string>& label_names, const label_values& values,
                   const char* le = nullptr) {
  out += name;
  out += suffix;
  append_labels(out, label_names, values, le);
  out += ' ';
}

} // namespace

void counter::inc(double v) {
  if (!(v >= 0))
    throw std::invalid_argument("metrics: counters only go up");
  atomic_add(value_, v);
}

void gauge::inc(double v) {
  atomic_add(value_, v);
}

histogram::histogram(const std::vector<double>& bounds)
    : bounds_{bounds}, buckets_(bounds.size() + 1) {}

void histogram::observe(double v) {
  // NaN compares false with every bound; like the Go client, count it under +Inf.
  auto bucket =
      std::isnan(v)
          ? bounds_.size()
          : std::size_t(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.cumulative.reserve(buckets_.size());
  std::uint64_t total = 0;
  for (auto& b : buckets_)
    s.cumulative.push_back(total += b.load(std::memory_order_relaxed));
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

namespace detail {

family_base::family_base(std::string name, std::string help, std::vector<std::string> label_names)
    : name_{std::move(name)}, help_{std::move(help)}, label_names_{std::move(label_names)} {
  check_names(name_, label_names_);
}

void family_base::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type();
  out += '\n';
  render_samples(out);
}

void family_base::check_arity(const label_values& values) const {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metrics: " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(values.size()));
}

} // namespace detail

counter& counter_family::labels(const label_values& values) {
  check_arity(values);
  return children_.get(values);
}

void counter_family::render_samples(std::string& out) const {
  children_.for_each([&](const label_values& values, const counter& c) {
    append_sample(out, name(), "", label_names(), values);
    append_number(out, c.value());
    out += '\n';
  });
}

gauge& gauge_family::labels(const label_values& values) {
  check_arity(values);
  return children_.get(values);
}

void gauge_family::render_samples(std::string& out) const {
  children_.for_each([&](const label_values& values, const gauge& g) {
    append_sample(out, name(), "", label_names(), values);
    append_number(out, g.value());
    out += '\n';
  });
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds)
    : family_base{std::move(name), std::move(help), std::move(label_names)},
      bounds_{checked_bounds(this->name(), std::move(bounds))} {
  for (auto& label : this->label_names())
    if (label == "le")
      throw std::invalid_argument("metrics: 'le' is reserved in histogram " + this->name());
}

histogram& histogram_family::labels(const label_values& values) {
  check_arity(values);
  return children_.get(values, bounds_);
}

void histogram_family::render_samples(std::string& out) const {
  // le values are the same for every child: format them once.
  std::vector<std::string> les;
  for (double b : bounds_) {
    les.emplace_back();
    append_number(les.back(), b);
  }
  les.emplace_back("+Inf");
  children_.for_each([&](const label_values& values, const histogram& h) {
    auto s = h.read();
    for (std::size_t i = 0; i < les.size(); ++i) {
      append_sample(out, name(), "_bucket", label_names(), values, les[i].c_str());
      append_count(out, s.cumulative[i]);
      out += '\n';
    }
    append_sample(out, name(), "_sum", label_names(), values);
    append_number(out, s.sum);
    out += '\n';
    append_sample(out, name(), "_count", label_names(), values);
    append_count(out, s.cumulative.back());
    out += '\n';
  });
}

callback_gauge_family::callback_gauge_family(std::string name, std::string help,
                                             std::vector<std::string> label_names, gauge_source fn)
    : family_base{std::move(name), std::move(help), std::move(label_names)},
      source_(std::move(fn)) {
  if (!source_)
    throw std::invalid_argument("metrics: empty source for " + this->name());
}

void callback_gauge_family::render_samples(std::string& out) const {
  auto rows = source_();
  for (auto& row : rows)
    if (row.first.size() != label_names().size())
      throw std::logic_error("metrics: source of " + name() + " returned " +
                             std::to_string(row.first.size()) + " label values, expected " +
                             std::to_string(label_names().size()));
  std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [values, v] : rows) {
    append_sample(out, name(), "", label_names(), values);
    append_number(out, v);
    out += '\n';
  }
}

template <class Family, class... Args>
Family& registry::add(const std::string& name, const std::string& help,
                      const std::vector<std::string>& label_names, Args&&... args) {
  std::lock_guard lock{mutex_};
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<Family*>(it->second.get());
    if constexpr (std::is_same_v<Family, callback_gauge_family>)
      existing = nullptr;
    if (!existing || existing->label_names() != label_names)
      throw std::logic_error("metrics: " + name + " is already registered as a " +
                             it->second->type() + " with other labels or another source");
    return *existing;
  }
  auto family = std::make_unique<Family>(name, help, label_names, std::forward<Args>(args)...);
  auto& result = *family;
  // An unlabelled series exists from registration, so it is scraped as 0 before first use
  // instead of appearing from nowhere (which rate() cannot see as an increase).
  if constexpr (!std::is_same_v<Family, callback_gauge_family>)
    if (label_names.empty())
      result.labels();
  families_.emplace(name, std::move(family));
  return result;
}

counter_family& registry::counter(const std::string& name, const std::string& help,
                                  const std::vector<std::string>& label_names) {
  return add<counter_family>(name, help, label_names);
}

gauge_family& registry::gauge(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names) {
  return add<gauge_family>(name, help, label_names);
}

histogram_family& registry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<std::string>& label_names,
                                      std::vector<double> bounds) {
  auto checked = checked_bounds(name, std::move(bounds));
  auto& family = add<histogram_family>(name, help, label_names, checked);
  if (family.bounds() != checked)
    throw std::logic_error("metrics: histogram " + name +
                           " is already registered with other buckets");
  return family;
}

void registry::gauge_callback(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names, gauge_source source) {
  add<callback_gauge_family>(name, help, label_names, std::move(source));
}

std::string registry::render() const {
  // Render outside the registry lock: a source may be slow or may itself register metrics.
  std::vector<const detail::family_base*> families;
  {
    std::lock_guard lock{mutex_};
    families.reserve(families_.size());
    for (auto& [name, family] : families_)
      families.push_back(family.get());
  }
  std::string out;
  for (auto* family : families)
    family->render(out);
  return out;
}

} // namespace metrics
