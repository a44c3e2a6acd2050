// Prometheus metrics: counters, gauges and histograms recorded with atomics from any thread
// (HTTP pool, CAF actors) and rendered on scrape as text exposition format 0.0.4. Debian 12
// ships no C++ Prometheus client, so this is the one place the format is written.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace metrics {

using label_values = std::vector<std::string>;

// Monotonic; a negative or NaN increment throws std::invalid_argument, because a counter
// that goes down makes rate() report a reset and a spike.
class counter {
public:
  void inc(double v = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

class gauge {
public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1);
  void dec(double v = 1) { inc(-v); }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

class histogram {
public:
  // `bounds` belongs to the family, which outlives its children.
  explicit histogram(const std::vector<double>& bounds);
  void observe(double v);

  struct snapshot {
    std::vector<std::uint64_t> cumulative; // one per bound, then +Inf
    double sum = 0;
  };
  snapshot read() const;

private:
  const std::vector<double>& bounds_;
  // Per-bucket (not cumulative) counts, the last one for +Inf: an observation touches one
  // bucket, and the count is derived from them so that +Inf always equals _count.
  std::vector<std::atomic<std::uint64_t>> buckets_;
  std::atomic<double> sum_{0};
};

namespace detail {

class family_base {
public:
  family_base(std::string name, std::string help, std::vector<std::string> label_names);
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;
  virtual ~family_base() = default;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual const char* type() const = 0;
  void render(std::string& out) const;

protected:
  virtual void render_samples(std::string& out) const = 0;
  void check_arity(const label_values& values) const;

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

// Children keyed by label values. Lookups share the lock and only the first use of a
// label combination takes it exclusively; callers on hot paths cache the reference.
// std::map keeps references stable and iterates in label order, which render relies on.
template <class Child> class children {
public:
  template <class... Args> Child& get(const label_values& values, const Args&... args) {
    {
      std::shared_lock lock{mutex_};
      if (auto it = map_.find(values); it != map_.end())
        return it->second;
    }
    std::unique_lock lock{mutex_};
    return map_.try_emplace(values, args...).first->second;
  }

  template <class F> void for_each(F&& f) const {
    std::shared_lock lock{mutex_};
    for (auto& [values, child] : map_)
      f(values, child);
  }

private:
  mutable std::shared_mutex mutex_;
  std::map<label_values, Child> map_;
};

} // namespace detail

class counter_family : public detail::family_base {
public:
  using family_base::family_base;
  // Throws std::invalid_argument unless there is one value per label name.
  counter& labels(const label_values& values = {});
  const char* type() const override { return "counter"; }

private:
  void render_samples(std::string& out) const override;
  detail::children<counter> children_;
};

class gauge_family : public detail::family_base {
public:
  using family_base::family_base;
  gauge& labels(const label_values& values = {});
  const char* type() const override { return "gauge"; }

private:
  void render_samples(std::string& out) const override;
  detail::children<gauge> children_;
};

class histogram_family : public detail::family_base {
public:
  histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                   std::vector<double> bounds);
  histogram& labels(const label_values& values = {});
  const char* type() const override { return "histogram"; }
  const std::vector<double>& bounds() const { return bounds_; }

private:
  void render_samples(std::string& out) const override;
  std::vector<double> bounds_;
  detail::children<histogram> children_;
};

// Rows of (label values, value) produced on each scrape.
using gauge_samples = std::vector<std::pair<label_values, double>>;
using gauge_source = std::function<gauge_samples()>;

class callback_gauge_family : public detail::family_base {
public:
  callback_gauge_family(std::string name, std::string help, std::vector<std::string> label_names,
                        gauge_source source);
  const char* type() const override { return "gauge"; }

private:
  void render_samples(std::string& out) const override;
  gauge_source source_;
};

// Owns every family. Families are never removed, so references returned here (and the
// children reached through them) stay valid for the registry's lifetime.
//
// Registering a name again returns the existing family if type, label names (and buckets)
// match, and throws std::logic_error otherwise; help text of the first registration wins.
// Malformed metric or label names throw std::invalid_argument.
class registry {
public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  counter_family& counter(const std::string& name, const std::string& help,
                          const std::vector<std::string>& label_names = {});
  gauge_family& gauge(const std::string& name, const std::string& help,
                      const std::vector<std::string>& label_names = {});
  // `bounds` must be strictly increasing; a trailing +Inf is implied and may be omitted.
  histogram_family& histogram(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names,
                              std::vector<double> bounds);
  // `source` runs on every render, possibly on several scrape threads at once, so it must
  // be thread-safe. Unlike the others this cannot be registered twice: two sources for one
  // name would silently hide one of them. If it throws, render() throws: a scrape that
  // fails is visible (up == 0), a series that quietly disappears is not.
  void gauge_callback(const std::string& name, const std::string& help,
                      const std::vector<std::string>& label_names, gauge_source source);

  // Families sorted by name, children by label values.
  std::string render() const;

private:
  template <class Family, class... Args>
  Family& add(const std::string& name, const std::string& help,
              const std::vector<std::string>& label_names, Args&&... args);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::family_base>> families_;
};

} // namespace metrics
