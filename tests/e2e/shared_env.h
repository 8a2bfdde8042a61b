// SharedEnvTest<Env, Suite>: the base of an e2e suite whose tests share one
// environment (SockEnv, NodeDatapath, AgentEnv), built once per suite.
// Without root every test skips; when building the environment failed every
// test fails with the reason, so a broken fixture is never a silent pass.
//
// A suite may declare, as statics hiding the defaults below:
//   make_env()        how its environment is made (options, extra pods);
//   set_up_suite()    what else the suite needs once (servers, agents);
//   tear_down_suite() what to release before the environment goes;
// and override set_up_test() for what each test needs first.
#pragma once

#include <unistd.h>

#include <exception>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "base/result.h"

namespace smi::test {

template <typename Env, typename Suite>
class SharedEnvTest : public ::testing::Test {
 protected:
  static Result<std::unique_ptr<Env>> make_env() { return Env::create(); }
  static Status set_up_suite() { return ok(); }
  static void tear_down_suite() {}
  virtual void set_up_test() {}

  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    try {
      auto e = Suite::make_env();
      if (!e) return fail(e.error().message());
      env_ = e->release();
      if (auto st = Suite::set_up_suite(); !st) fail(st.error().message());
    } catch (const std::exception& x) {  // a fixture file, a YAML manifest, a certificate
      fail(x.what());
    }
  }
  static void TearDownTestSuite() {
    Suite::tear_down_suite();
    delete env_;
    env_ = nullptr;
    delete error_;
    error_ = nullptr;
  }
  void SetUp() final {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_EQ(error_, nullptr) << *error_;
    set_up_test();
  }

  static inline Env* env_ = nullptr;

 private:
  static void fail(const std::string& why) {
    if (error_ == nullptr) error_ = new std::string(why);
  }
  static inline std::string* error_ = nullptr;
};

}  // namespace smi::test
