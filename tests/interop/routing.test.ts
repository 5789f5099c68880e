import { runArea } from "./harness.ts";
import { routingScenarios } from "./scenarios_routing.ts";

runArea("routing", routingScenarios);
