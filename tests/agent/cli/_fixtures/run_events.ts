/**
 * Child process for events_test.ts: runs `appliance events` with the given arguments and
 * exits with its code, so the test can send it a real SIGINT.
 */
import { eventsCommand } from "../../../../agent/cli/events.ts";

Deno.exit(await eventsCommand.run(Deno.args));
