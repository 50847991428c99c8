import { eventLogContract } from "../db/event_log_contract.ts";
import { MemoryEventLog } from "./memory_event_log.ts";

eventLogContract("MemoryEventLog", () => ({ log: new MemoryEventLog(), close: () => {} }));
