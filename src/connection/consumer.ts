// Consumer lives in channel.ts (a channel and its consumers refer to each other).
export { Consumer } from "./channel.ts";
