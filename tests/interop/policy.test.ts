import { runArea } from "./harness.ts";
import { policyScenarios } from "./scenarios_policy.ts";

runArea("policy", policyScenarios);
