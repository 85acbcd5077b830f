// A fresh temporary directory for one test, removed with everything in it
// when the object goes.
#ifndef SEGMENTS_TESTS_TESTING_TEMP_DIR_H_
#define SEGMENTS_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "gtest/gtest.h"

namespace segments::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "segments_test") {
    std::string tmpl = ::testing::TempDir() + std::string(prefix) + "_XXXXXX";
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_TEMP_DIR_H_
