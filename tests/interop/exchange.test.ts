import { runArea } from "./harness.ts";
import { exchangeScenarios } from "./scenarios_exchange.ts";

runArea("exchange", exchangeScenarios);
