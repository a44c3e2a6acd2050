// The module boundary (docs/architecture.md "Rules") as a test: outside modules/<m>/, code may
// include only modules/<m>/api.hpp and modules/<m>/events.hpp (and modules/modules.cpp each
// module.hpp). Reads every #include of the source tree; also proves that it catches a planted
// violation, so it cannot pass by reading nothing.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

bool is_source(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".cpp" || ext == ".hpp" || ext == ".h" || ext == ".cc";
}

bool skipped(const fs::path& relative) {
  auto top = relative.begin()->string();
  return top.rfind("build", 0) == 0 || top == ".git" || top == "var";
}

// The module a path (relative to the root) lies in, or "" outside modules/<m>/.
std::string module_of(const fs::path& relative) {
  auto it = relative.begin();
  if (it == relative.end() || *it != "modules")
    return "";
  ++it;
  if (it == relative.end() || std::next(it) == relative.end())
    return ""; // modules/<file>: the module list itself
  return it->string();
}

struct scan_result {
  std::vector<std::string> violations;
  int files = 0;
  int includes = 0;
};

scan_result scan(const fs::path& root) {
  scan_result result;
  static const std::regex include_line{R"(^\s*#\s*include\s*["<]([^">]+)[">])"};
  for (auto i = fs::recursive_directory_iterator(root); i != fs::recursive_directory_iterator();
       ++i) {
    auto relative = fs::relative(i->path(), root);
    if (i->is_directory() && skipped(relative)) {
      i.disable_recursion_pending();
      continue;
    }
    if (!i->is_regular_file() || !is_source(i->path()))
      continue;
    ++result.files;
    auto own_module = module_of(relative);
    std::ifstream in{i->path()};
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::smatch m;
      if (!std::regex_search(line, m, include_line))
        continue;
      ++result.includes;
      fs::path target{m[1].str()};
      // Relative includes ("../other/x.hpp") are resolved against the including file.
      if (m[1].str().find("..") != std::string::npos)
        target = fs::relative((i->path().parent_path() / target).lexically_normal(), root);
      auto target_module = module_of(target);
      if (target_module.empty() || target_module == own_module)
        continue;
      auto file = target.filename().string();
      bool public_face = file == "api.hpp" || file == "events.hpp";
      bool registration = relative == fs::path{"modules/modules.cpp"} && file == "module.hpp";
      if (!public_face && !registration)
        result.violations.push_back(relative.string() + ":" + std::to_string(number) +
                                    " includes " + m[1].str());
    }
  }
  return result;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream{path} << text;
}

// A line including `what` (spelled so that this file's own lines are not includes).
std::string include_of(const std::string& what) {
  return std::string{"#"} + "include " + what + "\n";
}

} // namespace

BOOST_AUTO_TEST_CASE(no_code_reaches_into_another_modules_private_files) {
  auto result = scan(MONOLITH_SOURCE_DIR);
  BOOST_TEST(result.files > 20, "too few source files read: " << result.files);
  BOOST_TEST(result.includes > 100);
  for (auto& v : result.violations)
    BOOST_ERROR("module boundary crossed: " << v);
}

BOOST_AUTO_TEST_CASE(a_planted_violation_is_caught) {
  auto root = fs::temp_directory_path() / ("boundaries-" + std::to_string(::getpid()));
  write(root / "modules/orders/api.hpp", "#pragma once\n");
  write(root / "modules/orders/order_store.hpp", "#pragma once\n");
  write(root / "modules/orders/module.hpp", "#pragma once\n");
  write(root / "modules/orders/order_service.cpp",
        include_of(R"("order_store.hpp")") + include_of(R"("modules/orders/order_store.hpp")"));
  write(root / "modules/modules.cpp", include_of(R"("modules/orders/module.hpp")"));
  write(root / "http/orders_routes.cpp", include_of(R"("modules/orders/api.hpp")"));
  auto clean = scan(root);
  BOOST_TEST(clean.violations.empty());

  write(root / "http/sneaky.cpp", include_of(R"("modules/orders/order_store.hpp")"));
  write(root / "modules/inventory/listener.cpp", include_of(R"("../orders/order_store.hpp")"));
  write(root / "actors/registry.cpp", include_of("<modules/orders/module.hpp>"));
  auto dirty = scan(root);
  BOOST_TEST(dirty.violations.size() == 3u);
  fs::remove_all(root);
}
