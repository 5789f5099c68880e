import { runArea } from "./harness.ts";
import { ttlScenarios } from "./scenarios_ttl.ts";

runArea("ttl", ttlScenarios);
