import { runArea } from "./harness.ts";
import { consumeScenarios } from "./scenarios_consume.ts";

runArea("consume", consumeScenarios);
