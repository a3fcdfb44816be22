// A fresh mkdtemp() directory for one test, removed with everything in it afterwards (write and
// search permission restored first, so a test may take them away).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace volley::test {

class TempDir {
 public:
  // `prefix` names the directory under the system temp dir: "<prefix>-XXXXXX".
  explicit TempDir(const std::string& prefix = "volley-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
  }
  ~TempDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& dir() const { return dir_; }
  // `rel` below the directory.
  [[nodiscard]] std::string path(const std::string& rel) const { return dir_ + "/" + rel; }

 private:
  std::string dir_;
};

}  // namespace volley::test
