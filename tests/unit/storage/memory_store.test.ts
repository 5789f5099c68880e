// The in-memory store against the store conformance suite.
import { MemoryStore } from "../../../storage/memory_store.ts";
import { runStoreConformance } from "./store_conformance.ts";

runStoreConformance({
  name: "memory",
  largeBody: 0,
  open: () => new MemoryStore(),
  reopen(store, crash) {
    const memory = store as MemoryStore;
    if (crash) memory.abandon();
    else memory.close();
    return new MemoryStore(memory.state);
  },
  cleanup() {},
});
