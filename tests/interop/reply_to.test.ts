import { runArea } from "./harness.ts";
import { replyToScenarios } from "./scenarios_reply_to.ts";

runArea("reply_to", replyToScenarios);
