import { runArea } from "./harness.ts";
import { consumerScenarios } from "./scenarios_consumers.ts";

runArea("consumers", consumerScenarios);
