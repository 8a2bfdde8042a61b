// A suite on one AgentEnv whose set-up serves the store (store-v1, store-v2)
// and runs an agent on n1 and n2; the suite adds its own make_env() when it
// needs extra pods.
#pragma once

#include <vector>

#include "e2e/agent_env.h"
#include "e2e/shared_env.h"

namespace smi::test {

template <typename Suite>
class ServedAgentsTest : public SharedEnvTest<AgentEnv, Suite> {
 public:  // the suite hooks SharedEnvTest calls
  static Status set_up_suite() {
    auto servers = serve_store_and_start_agents(*SharedEnvTest<AgentEnv, Suite>::env_);
    if (!servers) return std::move(servers).error();
    servers_ = std::move(*servers);
    return ok();
  }
  static void tear_down_suite() { servers_.clear(); }

 protected:
  static inline std::vector<Process> servers_;
};

}  // namespace smi::test
