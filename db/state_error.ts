/**
 * StateError: the local state database cannot be used as it is.
 *
 * Thrown for conditions a user fixes by hand (missing, corrupt, too new, not migrated);
 * the message says what is wrong, where, and what to do, so the CLI prints it as is,
 * without a stack trace.
 */
export class StateError extends Error {
  override name = "StateError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
