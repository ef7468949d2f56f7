import type { Logger } from 'pino';
import { describeNotifyError, type NotifyError, type NotifyErrorReason } from './notify-frames.js';

/**
 * Logs dropped notifications without letting a flood of them flood the log: the
 * first of each reason at once, then at most one line per reason per window,
 * saying how many were dropped since the last line.
 */
const DROP_LOG_WINDOW_MS = 10_000;

export class DropLog {
  private readonly last = new Map<NotifyErrorReason, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = DROP_LOG_WINDOW_MS,
  ) {}

  dropped(error: NotifyError, now: number): void {
    const seen = this.last.get(error.reason);
    if (seen !== undefined && now - seen.at < this.windowMs) {
      seen.suppressed += 1;
      return;
    }
    this.last.set(error.reason, { at: now, suppressed: 0 });
    const { level, message } = describeNotifyError(error);
    this.log[level]({ ...error, droppedSinceLastLine: seen?.suppressed ?? 0 }, message);
  }
}
