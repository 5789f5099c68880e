// Exit codes (sysexits.h, as rabbitmqctl uses them) and the error that carries one to the exit.

export const ExitCode = {
  OK: 0,
  /** Bad command line: unknown command or option, wrong argument count, unknown column. */
  USAGE: 64,
  /** The broker refused the data: a missing object (404), invalid input (400), a bad file. */
  DATA: 65,
  /** The user a command is about does not exist (delete_user, change_password, …). */
  NO_USER: 67,
  /** Nothing answers at --host/--port, or the broker answers 503. */
  UNAVAILABLE: 69,
  /** The broker failed (500) or does not support the request (405). */
  SOFTWARE: 70,
  /** The request did not finish within --timeout. */
  TEMPFAIL: 75,
  /** The management API refused the credentials or the user's tags (401). */
  NO_PERM: 77,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure to report as `Error:` and the text, exiting with `code`. */
export class CtlError extends Error {
  constructor(readonly code: ExitCodeValue, message: string) {
    super(message);
  }
}

/** A command line that cannot run; the command's usage follows the message. */
export class CtlUsageError extends CtlError {
  constructor(message: string, readonly command?: string) {
    super(ExitCode.USAGE, message);
  }
}
