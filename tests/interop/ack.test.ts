import { runArea } from "./harness.ts";
import { ackScenarios } from "./scenarios_ack.ts";

runArea("ack", ackScenarios);
